"""Request bodies as JSON text, and the name of any value JSON cannot carry.

Every JSON body the SDK sends is written by :func:`dumps`. What JSON cannot carry is refused before any
request with an :class:`InvalidParameterError` naming the field's full path, never sent (``NaN`` and
``Infinity`` are not JSON: no API could parse them) and never left to fail deep in the stack: ``NaN``
and ``±inf``, an integer too long for the interpreter to write (``sys.set_int_max_str_digits``), text
with a lone surrogate (it cannot be UTF-8), keys and values of types that have no JSON form.

The search for the culprit runs only when encoding failed: a valid body costs nothing more.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any, List, Mapping, Optional, Tuple

from .._exceptions import InvalidParameterError
from .config import NotGiven

__all__ = ["dumps", "unsendable"]

_SCALARS = (str, int, float, type(None))


def dumps(body: Any, source: Any = None, prefix: str = "") -> bytes:
    """``body`` as compact UTF-8 JSON. When it cannot be written, the first value of ``source`` (the
    caller's arguments, named as the caller wrote them; ``body`` when not given) that JSON cannot carry
    is named, under ``prefix``."""
    try:
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
    except RecursionError:  # nested deeper than the encoder recurses
        raise InvalidParameterError(
            prefix or "request body",
            "<not shown>",
            "JSON a server can parse",
            reason="it is nested too deeply",
        ) from None
    except (ValueError, TypeError) as exc:  # UnicodeEncodeError is a ValueError
        # The caller's names first (``type_``, not ``type``); the body itself for what only it has.
        found = unsendable(source, prefix, any_mapping=True) if source is not None else None
        found = found or unsendable(body, prefix)
        if found is None:  # pragma: no cover - every failure of json.dumps has a culprit found above
            raise InvalidParameterError(
                prefix or "request body", "<not shown>", "a JSON value", reason=str(exc)
            ) from None
        raise found from None


def _problem(value: Any) -> Optional[Tuple[str, str]]:
    """(allowed, reason) if the scalar ``value`` cannot be sent as JSON, else ``None``."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # e.g. from os.fsdecode of undecodable bytes
            return "text that can be sent as UTF-8", "it contains a lone surrogate"
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return "a finite number", "JSON has no NaN or Infinity"
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            int.__repr__(value)
        except ValueError:  # more digits than sys.get_int_max_str_digits() allows
            return f"an integer of at most {sys.get_int_max_str_digits()} digits", "it has too many digits"
        return None
    if isinstance(value, (bool, type(None))):
        return None
    return "a JSON value (str, int, float, bool, None, list or dict)", f"got {type(value).__name__}"


def _pairs(container: Any) -> List[Tuple[Any, Any]]:
    """(key, value) of a mapping, (index, item) of a list or tuple."""
    pairs = container.items() if isinstance(container, Mapping) else enumerate(container)  # pyright: ignore[reportUnknownVariableType]
    return list(pairs)  # pyright: ignore[reportUnknownArgumentType]


def unsendable(value: Any, prefix: str = "", *, any_mapping: bool = False) -> Optional[InvalidParameterError]:
    """The error naming the first value (in document order) of ``value`` that JSON cannot carry, or
    ``None``. Walked without recursion: a structure nested too deeply is the encoder's to report.
    ``NOT_GIVEN`` values are skipped (they are never sent). Objects are ``dict``s, as for ``json``;
    with ``any_mapping``, any ``Mapping`` (the caller's arguments, which the checker turns into dicts)."""
    objects = Mapping if any_mapping else dict
    stack: List[Tuple[str, Any]] = [(prefix, value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, NotGiven):
            continue
        if isinstance(item, objects):
            children: List[Tuple[str, Any]] = []
            for key, sub in _pairs(item):
                bad = (
                    _problem(key)
                    if isinstance(key, _SCALARS)
                    else ("string keys", f"got {type(key).__name__}")
                )
                if bad is not None:
                    return InvalidParameterError(f"{path or 'request body'} key", key, bad[0], reason=bad[1])
                children.append((f"{path}.{key}" if path else str(key), sub))
            stack.extend(reversed(children))
        elif isinstance(item, (list, tuple)):
            stack.extend(reversed([(f"{path}[{i}]", sub) for i, sub in _pairs(item)]))
        else:
            bad = _problem(item)
            if bad is not None:
                return InvalidParameterError(path or "request body", item, bad[0], reason=bad[1])
    return None
