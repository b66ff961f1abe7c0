"""What a job's request is checked for before anything is uploaded: mistakes that would otherwise be
found late, after the upload (or after the credits).

- An input whose kind cannot fit its field (a video in an image field): refused, naming the field,
  the file's kind and the extensions the field takes. The field's kind is our metadata's (``files``);
  a file's kind is its extension's.
- A value of a field with a known list of values that differs from one only by case: replaced by it,
  with a notice. Any other unknown value: a warning naming the closest known ones, and sent as given:
  the API may know values this version does not.
"""

from __future__ import annotations

import difflib
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union, cast

from .._extensions import EXTENSIONS, normalize_extension, type_for_extension
from ._output import Json, article, say
from ._parser import UsageError

Step = Union[str, int]


def _walk(node: Any, parts: Sequence[str], at: Tuple[Step, ...]) -> List[Tuple[Tuple[Step, ...], Any]]:
    """(location, value) of every value along a metadata path (``assets.face_mappings[].new_face``)."""
    if not parts:
        return [(at, node)]
    head, rest = parts[0], parts[1:]
    if head.endswith("[]"):
        found: List[Tuple[Tuple[Step, ...], Any]] = []
        items = cast(Json, node).get(head[:-2]) if isinstance(node, dict) else None
        for i, item in enumerate(cast("List[Any]", items) if isinstance(items, list) else []):  # type: ignore[redundant-cast]  # pyright needs it
            found += _walk(item, rest, (*at, head[:-2], i))
        return found
    if isinstance(node, dict) and head in node:
        return _walk(cast(Json, node)[head], rest, (*at, head))
    return []


def _path_text(location: Tuple[Step, ...]) -> str:
    out = ""
    for step in location:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else step)
    return out


def _flag_of(command: Json, location: Tuple[Step, ...]) -> str:
    """How the user named the field: its flag, else its path (given with --set or --body)."""
    path = ".".join(str(s) for s in location if not isinstance(s, int))
    for flag in command["flags"]:
        if flag["path"] == path:
            return str(flag["flag"])
    return _path_text(location)


def _is_url(value: str) -> bool:
    return value.lower().startswith(("http://", "https://"))


def check_input_kinds(command: Json, body: Json) -> None:
    """Every local file and ``api-assets/...`` path in a file field has an extension of the field's
    kind (URLs are the API's to judge); a :class:`UsageError` names the first that does not."""
    files: Dict[str, Any] = command.get("files") or {}
    for path, kinds in files.items():
        allowed: List[str] = [kinds] if isinstance(kinds, str) else list(kinds)
        for location, value in _walk(body, path.split("."), ()):
            if not isinstance(value, str) or not value or _is_url(value):
                continue
            ext = normalize_extension(os.path.splitext(value)[1])
            kind = type_for_extension(ext)
            if kind is None or any(ext in EXTENSIONS[k] for k in allowed if k in EXTENSIONS):  # type: ignore[index]
                continue  # an unknown extension is the upload check's to explain
            wanted = " or ".join(f"{article(k)} {k}" for k in allowed)
            exts = "; ".join(f"{k}: {', '.join(EXTENSIONS[k])}" for k in allowed if k in EXTENSIONS)  # type: ignore[index]
            raise UsageError(
                f"{_flag_of(command, location)} {value}: {article(kind)} {kind} file, but this input takes "
                f"{wanted} ({exts}); nothing was uploaded"
            )


def _closest(value: str, choices: Sequence[str]) -> List[str]:
    by_folded = {c.casefold(): c for c in choices}
    near = difflib.get_close_matches(value.casefold(), list(by_folded), n=3, cutoff=0.6)
    return [by_folded[n] for n in near]


def _known(flag: Json, value: Any) -> Any:
    """``value`` of ``flag`` as the known value it differs from only by case (with a notice), or as
    given (with a warning when unknown)."""
    choices: List[str] = flag["choices"]
    if not isinstance(value, str) or value in choices:
        return value
    same = [c for c in choices if c.casefold() == value.casefold()]
    if len(same) == 1:
        say(f"{flag['flag']} {value!r}: taken as {same[0]!r} (the known value that differs only by case)")
        return same[0]
    near = _closest(value, choices)
    hint = f"; closest: {', '.join(repr(n) for n in near)}" if near else ""
    say(
        f"warning: {flag['flag']} {value!r} is not one of the {len(choices)} values this version knows"
        f"{hint}; sent as given (the API decides)"
    )
    return value


def check_values(command: Json, body: Json, query: Json) -> None:
    """Values of fields with a known list, in ``body`` and ``query`` (whether set by their flag, by
    ``--set`` or by ``--body``): see the module's docstring. Changes ``body`` and ``query`` in place."""
    for flag in command["flags"]:
        if not flag.get("choices"):
            continue
        node: Any = body if flag["in"] == "body" else query
        parts = flag["path"].split(".") if flag["in"] == "body" else [flag["path"]]
        for part in parts[:-1]:
            node = cast(Json, node).get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            continue
        fields = cast(Json, node)
        leaf = parts[-1]
        value: Optional[Any] = fields.get(leaf)
        if isinstance(value, list):
            fields[leaf] = [_known(flag, v) for v in cast("List[Any]", value)]  # type: ignore[redundant-cast]  # pyright needs it
        elif value is not None:
            fields[leaf] = _known(flag, value)
