"""The fast path of :mod:`.body`: a compact schema compiled once, at first use, into pydantic-core's
validator and JSON serializer (both in Rust), so that a valid body is checked, renamed (``type_`` ->
``type``) and encoded in one pass, without a Python step per field.

The fast path only *accepts*. Whatever it does not accept goes to the generic checker of ``body.py``,
which accepts it or refuses it with the precise message (the full path, what is allowed), so messages
never depend on pydantic's. It is therefore stricter than the checker on purpose, and must never be
looser nor send another JSON value; ``tests/test_body_fast.py`` checks both over every operation's
schema with mutated bodies. What it leaves to the checker:

- anything that is not the exact JSON type (``tuple`` for a list, a ``Mapping`` that is not a dict,
  ``None`` for an optional field, an integral float for an integer, a field under its wire name);
- every ``float``: Python and Rust print some of them differently (``1e+16`` / ``1e16``), and the wire
  bytes stay what ``json.dumps`` writes (``NaN`` and ``inf`` are refused there); so does every integer
  beyond 64 bits (pydantic-core writes one of any length, ``json.dumps`` refuses those longer than
  ``sys.get_int_max_str_digits()``);
- text that cannot be UTF-8 (a lone surrogate): the serializer fails, and the checker names the field;
- open objects (``additionalProperties``), free JSON values (``any``) and hooks without a schema:
  such bodies are not compiled at all;
- whatever a hook would change: a hook brings the schema of the values it leaves unchanged
  (``schema.Hook``), which stands in for the field's own.

The JSON is the same value as the checker's; keys come in the schema's order rather than the caller's.

The items of a top-level list of flat objects (the many items of ``upload_urls.create``) are validated
with ``extra_behavior="ignore"``: ``"forbid"`` looks each of their keys up once more, which cost as much
as the rest of their validation. An unknown key there is found by counting instead: the validator keeps
exactly the known keys an item was given, so the items' key counts add up to less after validation than
before only when one had a key the schema does not know, and the body then goes to the checker, which
names it. Other objects keep ``"forbid"``: for a few keys, one more lookup each costs less than a count
made in Python.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from .schema import Arr, Hook, Obj, Scalar, Schema

__all__ = ["FastBody", "compile_body"]

FastBody = Callable[[Mapping[str, Any]], Optional[bytes]]
"""Returns the encoded body, or ``None`` when the generic checker must decide."""


# Integers beyond these take the checker's path (see the module doc).
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1


class _NotCompiled(Exception):
    """This schema keeps the generic checker only."""


def _core_schema(cs: Any, schema: Schema) -> Any:
    if type(schema) is Scalar:
        kind = schema.kind
        if kind == "str":
            inner = cs.str_schema(strict=True)
        elif kind == "bool":
            inner = cs.bool_schema(strict=True)
        elif kind in ("int", "num"):  # floats and integers beyond 64 bits: the checker (module doc)
            inner = cs.int_schema(strict=True, ge=_INT_MIN, le=_INT_MAX)
        else:  # "any" (a free JSON value): the checker; a union schema for it is refused by current
            raise _NotCompiled(kind)  # pydantic-core (strict unions), so it would never have compiled
    elif type(schema) is Arr:
        inner = cs.list_schema(_core_schema(cs, schema.item), strict=True)
    else:
        assert isinstance(schema, Obj)
        if schema.open or schema.hooks:
            raise _NotCompiled(schema.name)
        inner = _typed_dict(cs, schema)
    return cs.nullable_schema(inner, strict=True) if schema.nullable else inner


def _typed_dict(
    cs: Any,
    schema: Obj,
    counted: Tuple[str, ...] = (),
    extra: str = "forbid",
    hooks: Optional[Mapping[str, Hook]] = None,
) -> Any:
    """``counted``: fields holding lists whose items ignore unknown keys, to be counted (module doc);
    ``hooks``: the top-level object's, whose schemas stand in for their fields'."""
    fields = {}
    for py, (wire, required, sub) in schema.fields.items():
        if py in counted:
            assert isinstance(sub, Arr)
            assert isinstance(sub.item, Obj)
            inner = cs.list_schema(_items(cs, sub.item), strict=True)
            value = cs.nullable_schema(inner, strict=True) if sub.nullable else inner
        else:
            value = _core_schema(cs, sub)
        hook = hooks.get(py) if hooks else None
        if hook is not None:
            assert hook[1] is not None  # compile_body leaves a hook without a schema to the checker
            value = hook[1](cs, value)
        alias = wire if wire != py else None
        fields[py] = cs.typed_dict_field(value, required=required, serialization_alias=alias)
    return cs.typed_dict_schema(fields, extra_behavior=extra, strict=True)


def _items(cs: Any, item: Obj) -> Any:
    if item.open or item.hooks:
        raise _NotCompiled(item.name)
    return _typed_dict(cs, item, extra="ignore")


def _counted(schema: Obj) -> Tuple[str, ...]:
    """The fields of ``schema`` that hold a list of objects with no object inside them."""

    def plain(sub: Schema) -> bool:
        return not isinstance(sub, Obj) and (not isinstance(sub, Arr) or plain(sub.item))

    return tuple(
        py
        for py, (_, _, sub) in schema.fields.items()
        if type(sub) is Arr
        and type(sub.item) is Obj
        and not sub.item.nullable
        and all(plain(f) for _, _, f in sub.item.fields.values())
    )


def compile_body(schema: Obj) -> Optional[FastBody]:
    """The fast path for bodies of ``schema``, or ``None`` if it keeps the generic checker only.

    Hooks are allowed on the top-level object only, and only those with a schema."""
    if any(fast_schema is None for _, fast_schema in schema.hooks.values()):
        return None
    try:
        from pydantic_core import SchemaSerializer, SchemaValidator
        from pydantic_core import core_schema as cs

        top = Obj(schema.name, schema.fields, schema.nullable, None, schema.open)
        if top.open:
            raise _NotCompiled(top.name)
        counted = _counted(top)
        validate = SchemaValidator(_typed_dict(cs, top, counted, hooks=schema.hooks)).validate_python
        # Written without the hooks' schemas: the same JSON, and a union's serializer tries its choices.
        to_json = SchemaSerializer(_typed_dict(cs, top, counted)).to_json
    except Exception:  # _NotCompiled, or a pydantic-core without these schemas
        return None

    def fast(body: Mapping[str, Any]) -> Optional[bytes]:
        try:
            data: Dict[str, Any] = validate(body, strict=True)
            for py in counted:
                items = data.get(py)  # each validated item has at most the keys it was given
                if items is not None and sum(map(len, body[py])) != sum(map(len, items)):
                    return None  # an item had a key the schema does not know: the checker names it
            encoded: bytes = to_json(data, by_alias=True)
        except Exception:  # whatever it is, the checker names it precisely
            return None
        return encoded

    return fast
