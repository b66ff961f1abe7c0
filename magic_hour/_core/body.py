"""The one generic path from a method's arguments to the request: check and convert in one pass.

Each generated resource module describes its operations with :class:`Endpoint` and the compact schemas
of :mod:`.schema` (plain Python literals, no pydantic). The endpoint's :meth:`~Endpoint.build` turns the
arguments (Python names, ``NOT_GIVEN`` for what was not passed) into an :class:`ApiRequest` with wire
names, refusing before any network call what can never succeed: a missing required field, an unknown
key (a typo), a value of the wrong JSON type. Errors name the full path (``assets.face_mappings[0].new_face``) and what is expected.

A valid body takes a fast path: the schema compiled once, at first use, into pydantic-core's validator
and serializer (:mod:`.compiled`), which only accepts; anything it does not accept is decided here, so
every refusal and its message comes from this module.

A value of another Python type is converted as the official SDK's pydantic serializer converts it (its
"lax" mode: ``"5"`` or ``True`` for a number, ``"true"`` or ``1`` for a boolean, a set for a list), so
code written for it keeps working; only what it refuses too is refused.

Enum values and numeric bounds are *not* checked here: they are typed (``Literal``) for static checkers
and left to the API at run time, which adds options faster than SDKs are released. The one deliberate
exception is a field *hook* the generated code passes in (a check named in ``spec/metadata.json``,
``checks``), run before the generic check; this module knows no operation and no hook by name.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Dict, Mapping, Optional, Union, cast

from .._exceptions import InvalidParameterError
from .compiled import FastBody, compile_body
from .config import NOT_GIVEN
from .jsonbody import dumps, unsendable
from .request import ApiRequest, path_segment
from .schema import ANY, Arr, Obj, Scalar, Schema

__all__ = ["Endpoint", "to_wire"]


def _wrong(path: str, value: object, schema: Schema) -> InvalidParameterError:
    return InvalidParameterError(path, value, schema.describe(), reason=f"got {type(value).__name__}")


def _child_path(prefix: str, key: Union[str, int]) -> str:
    # Paths are built only when needed (an error, or the prefix of a nested container): the hot path
    # of a valid body concatenates no strings.
    return f"{prefix}[{key}]" if type(key) is int else f"{prefix}{key}"


def _check(schema: Schema, value: Any, prefix: str, key: Union[str, int]) -> Any:
    if type(schema) is Scalar:
        if type(value) in schema.exact:  # the common case: one tuple lookup
            return value
        return _scalar(schema, value, _child_path(prefix, key))
    if value is None:
        if schema.nullable:
            return None
        raise InvalidParameterError(
            _child_path(prefix, key), None, schema.describe(), reason="None is not allowed here"
        )
    path = _child_path(prefix, key)
    if type(schema) is Arr:
        if not isinstance(value, (list, tuple)):
            # Any other iterable but a string or a mapping (a set, a generator), as pydantic's list does
            given: object = value
            if isinstance(given, (str, bytes, bytearray, Mapping)) or not isinstance(given, Iterable):
                raise _wrong(path, value, schema)
            value = list(cast(Any, given))
        item = schema.item
        if type(item) is Scalar:
            exact = item.exact
            return [v if type(v) in exact else _check(item, v, path, i) for i, v in enumerate(value)]  # pyright: ignore[reportUnknownArgumentType, reportUnknownVariableType]
        return [_check(item, v, path, i) for i, v in enumerate(value)]  # pyright: ignore[reportUnknownArgumentType, reportUnknownVariableType]
    assert isinstance(schema, Obj)
    if type(value) is not dict and not isinstance(value, Mapping):
        raise _wrong(path, value, schema)
    return _object(schema, value, path + ".")  # pyright: ignore[reportUnknownArgumentType]


def _scalar(schema: Scalar, value: Any, path: str) -> Any:
    """The slow path of a scalar: None, subclasses (an IntEnum, a str Enum), integral floats, errors."""
    if value is None:
        if schema.nullable:
            return None
        raise InvalidParameterError(path, None, schema.describe(), reason="None is not allowed here")
    kind = schema.kind
    ok = (
        (kind == "str" and isinstance(value, str))
        or (kind == "bool" and isinstance(value, bool))
        or (kind == "num" and isinstance(value, (int, float)) and not isinstance(value, bool))
        or (kind == "int" and not isinstance(value, bool) and isinstance(value, int))
        or kind == "any"
    )
    if not ok:
        return _lax(schema, value, path)  # an integral float becomes an int there, as the official sends it
    return value


_LAX: Dict[str, Any] = {}


def _lax(schema: Scalar, value: Any, path: str) -> Any:
    """``value`` converted as the official SDK's serializer (pydantic, lax mode) converts it for a field
    of this kind (``"5"`` -> 5.0, ``True`` -> 1, ``"yes"`` -> True, ``b"x"`` -> ``"x"``), or the error
    it would refuse it with too. A number must stay finite: JSON has no NaN or infinity."""
    adapter = _LAX.get(schema.kind)
    if adapter is None:
        from pydantic import TypeAdapter  # only for values of another type: no cost to a valid body

        python_type = {"str": str, "int": int, "num": float, "bool": bool}[schema.kind]
        adapter = _LAX[schema.kind] = TypeAdapter(python_type)
    try:
        converted = adapter.validate_python(value)
    except Exception:  # pydantic's ValidationError, or whatever a strange value raises
        raise _wrong(path, value, schema) from None
    # pydantic's int hands back a plain Enum member's value unchecked (a str, 3.5, None, a dict):
    # sending that would put another JSON type on the wire, which is refused here as any wrong type.
    if type(converted) not in schema.exact:
        raise _wrong(path, value, schema)
    if isinstance(converted, float) and not math.isfinite(converted):
        raise InvalidParameterError(path, value, schema.describe(), reason="JSON has no NaN or infinity")
    return converted


def _object(schema: Obj, value: Mapping[Any, Any], prefix: str) -> Dict[str, Any]:
    """Check a dict of Python (or wire) names; return it with wire names, ``NOT_GIVEN`` dropped."""
    out: Dict[str, Any] = {}
    fields = schema.fields
    hooks = schema.hooks
    seen = 0
    for key, item in value.items():
        spec = fields.get(key)
        if spec is None:
            py = schema.wire_names.get(key) if isinstance(key, str) else None
            if py is None and schema.open and isinstance(key, str):
                if item is not NOT_GIVEN:
                    out[key] = _check(ANY, item, prefix, key)
                continue
            if py is None:
                where = prefix[:-1] or schema.name
                raise InvalidParameterError(
                    f"{where} key", key, f"keys {schema.allowed}", reason=f"unknown key for {schema.name}"
                )
            if py in value and value[py] is not NOT_GIVEN and item is not NOT_GIVEN:
                raise InvalidParameterError(
                    prefix + py, item, f"one of {py} or {key}", reason="given under both names"
                )
            spec = fields[py]
            key = py
        if item is NOT_GIVEN:
            continue
        wire, required, sub = spec
        if hooks:
            hook = hooks.get(key)
            if hook is not None:
                item = hook[0](item)
        if type(sub) is Scalar and type(item) in sub.exact:
            out[wire] = item  # inlined fast path of _check
        elif item is None and not required and not sub.nullable:
            continue  # an optional field set to None is left out, as if not given
        else:
            out[wire] = _check(sub, item, prefix, key)
        seen += required
    if seen < schema.required_count:
        for py, (wire, required, sub) in fields.items():
            if required and wire not in out:
                raise InvalidParameterError(prefix + py, None, sub.describe(), reason="missing")
    return out


def to_wire(schema: Obj, value: Mapping[str, Any], path: str = "") -> Dict[str, Any]:
    """The JSON-ready body for ``value`` (Python names), checked against ``schema``."""
    return _object(schema, value, f"{path}." if path else "")


_UNCOMPILED: Any = object()


class Endpoint:
    """One operation, declared by a generated resource: HTTP method, path template, compact schemas.

    Its body schema is compiled at first use into a fast path (:mod:`.compiled`) that accepts and encodes
    a valid body in one pass; whatever it does not accept is decided by :func:`to_wire`. ``creates``:
    the kind of project the operation starts (and bills), which the core retries only when nothing
    started (``spec/metadata.json``)."""

    __slots__ = ("_fast", "body", "creates", "method", "path", "query")

    def __init__(
        self,
        method: str,
        path: str,
        body: Optional[Obj] = None,
        query: Optional[Obj] = None,
        *,
        creates: Optional[str] = None,
    ) -> None:
        self.method = method
        self.path = path
        self.body = body
        self.query = query
        self.creates = creates
        self._fast: Optional[FastBody] = _UNCOMPILED

    def _encode(self, schema: Obj, body: Mapping[str, Any]) -> Optional[bytes]:
        fast = self._fast
        if fast is _UNCOMPILED:
            fast = self._fast = compile_body(schema)
        if fast is None:
            return None
        # Arguments not given are dropped here; an unknown key is kept, for the checker to name.
        fields = schema.fields
        return fast({k: v for k, v in body.items() if v is not NOT_GIVEN or k not in fields})

    def build(
        self,
        body: Optional[Mapping[str, Any]] = None,
        *,
        path: Optional[Mapping[str, object]] = None,
        query: Optional[Mapping[str, Any]] = None,
        extra: object = None,
    ) -> ApiRequest:
        """The request for these arguments (Python names). ``extra``: the ``additional_properties=`` of an
        open body, merged under the named arguments (a named argument wins, even when not given)."""
        url = self.path
        if path:
            url = url.format_map({k: path_segment(k, v) for k, v in path.items()})
        params: Optional[Dict[str, Any]] = None
        if self.query is not None and query is not None:
            params = to_wire(self.query, query) or None
            if params:
                bad = unsendable(query, any_mapping=True)  # a lone surrogate, an int too long to write
                if bad is not None:
                    raise bad
        json_bytes: Optional[bytes] = None
        if self.body is not None:
            if extra is not None and extra is not NOT_GIVEN:
                if not isinstance(extra, Mapping):
                    raise InvalidParameterError("additional_properties", extra, "a dict of extra body fields")
                body = {**extra, **(body or {})}  # pyright: ignore[reportUnknownArgumentType]
            json_bytes = self._encode(self.body, body or {})
            if json_bytes is None:
                json_bytes = dumps(to_wire(self.body, body or {}), source=body)
        return ApiRequest(self.method, url, params=params, json_bytes=json_bytes, creates=self.creates)
