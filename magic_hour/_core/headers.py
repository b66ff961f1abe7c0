"""Checks of what a caller adds to requests (headers, query parameters) before anything is sent: a bad
name or value is an :class:`InvalidParameterError` naming it, never an injected header or an error from
deep inside httpx that quotes a secret."""

from __future__ import annotations

import sys
from typing import Dict, Mapping, Sequence, Tuple, Union, cast

from .._exceptions import InvalidParameterError

QueryValue = Union[str, int, float, bool, None, Sequence[Union[str, int, float, bool, None]]]

_TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key"})


def check_headers(headers: object, param: str) -> Mapping[str, str]:
    """Header names must be RFC 9110 tokens and values printable ASCII: a CR/LF or non-ASCII character
    would otherwise inject a header or fail later with an error that quotes the (maybe secret) value."""
    if not isinstance(headers, Mapping):
        raise InvalidParameterError(param, headers, "a mapping of header names to string values")
    checked: Dict[str, str] = {}
    items: Mapping[object, object] = headers  # pyright: ignore[reportUnknownVariableType]
    for k, v in items.items():
        if not isinstance(k, str) or not k or not _TOKEN_CHARS.issuperset(k):
            raise InvalidParameterError(
                f"{param} name", k, "a non-empty string of letters, digits and !#$%&'*+-.^_`|~"
            )
        shown = "<not shown>" if k.lower() in _SENSITIVE_HEADERS else v
        if not isinstance(v, str):
            raise InvalidParameterError(f"{param}[{k!r}]", shown, "a string")
        if not all(" " <= c <= "~" or c == "\t" for c in v):
            raise InvalidParameterError(
                f"{param}[{k!r}]",
                shown,
                "printable ASCII (no line breaks or control characters)",
            )
        checked[k] = v
    return checked


def merge_headers(*layers: Mapping[str, str]) -> Dict[str, str]:
    """Merge header mappings, later layers winning; names compare case-insensitively, so an override
    replaces a header instead of sending it twice."""
    merged: Dict[str, Tuple[str, str]] = {}
    for layer in layers:
        for name, value in layer.items():
            merged[name.lower()] = (name, value)
    return dict(merged.values())


_PRIMITIVES = (str, int, float, bool, type(None))


def _as_sequence(value: object) -> Sequence[object]:
    return cast("Sequence[object]", value) if isinstance(value, (list, tuple)) else [value]


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, e.g. from os.fsdecode of undecodable bytes
        return False
    return True


def _printable(number: int) -> bool:
    try:
        int.__repr__(number)
    except ValueError:  # more digits than sys.get_int_max_str_digits() allows
        return False
    return True


def check_params(params: object, param: str) -> Mapping[str, QueryValue]:
    """Query parameters: string names; str/int/float/bool/None values, or lists of them (repeated)."""
    if not isinstance(params, Mapping):
        raise InvalidParameterError(param, params, "a mapping of query parameter names to values")
    items: Mapping[object, object] = params  # pyright: ignore[reportUnknownVariableType]
    for k, v in items.items():
        if not isinstance(k, str) or not _encodable(k):
            raise InvalidParameterError(f"{param} name", k, "a string of Unicode text (no lone surrogates)")
        values = _as_sequence(v)
        if not all(isinstance(x, _PRIMITIVES) for x in values):
            raise InvalidParameterError(
                f"{param}[{k!r}]", v, "a str, int, float, bool or None, or a list of them"
            )
        if not all(_encodable(x) for x in values if isinstance(x, str)):
            raise InvalidParameterError(
                f"{param}[{k!r}]", v, "text that can be sent as UTF-8", reason="it contains a lone surrogate"
            )
        if not all(_printable(x) for x in values if isinstance(x, int)):
            raise InvalidParameterError(
                f"{param}[{k!r}]",
                v,
                f"integers of at most {sys.get_int_max_str_digits()} digits",
                reason="too long to write",
            )
    return items  # type: ignore[return-value]  # checked above
