"""The compact schemas of request bodies and queries, as the generated resources declare them.

``Obj`` (a JSON object, its fields and hooks), ``Arr``, ``Scalar`` and the shared scalars ``STR``,
``INT``, ``NUM``, ``BOOL`` and ``ANY``: plain Python values, no pydantic. The checker (:mod:`.body`) and
its fast path (:mod:`.compiled`) both read them; this module imports neither.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Tuple, Union

__all__ = ["ANY", "BOOL", "INT", "NUM", "STR", "Arr", "Field", "Hook", "Obj", "Scalar", "Schema"]


class Scalar:
    """A JSON scalar: ``str``, ``int`` (integral numbers), ``num`` (any number), ``bool``, ``any``."""

    __slots__ = ("exact", "kind", "nullable")

    def __init__(self, kind: str, nullable: bool = False) -> None:
        self.kind = kind
        self.nullable = nullable
        # Exact types accepted without further thought (the hot path); subclasses etc. take the slow one.
        self.exact: Tuple[type, ...] = _EXACT[kind]

    def describe(self) -> str:
        return _DESCRIPTIONS[self.kind] + (" or None" if self.nullable else "")


class Arr:
    """A JSON array of ``item``."""

    __slots__ = ("item", "nullable")

    def __init__(self, item: Schema, nullable: bool = False) -> None:
        self.item = item
        self.nullable = nullable

    def describe(self) -> str:
        return "a list" + (" or None" if self.nullable else "")


_EXACT: Dict[str, Tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "num": (int, float),
    "bool": (bool,),
    "any": (str, int, float, bool, list, dict),
}

Field = Tuple[str, bool, "Schema"]  # (wire name, required, schema)

Hook = Tuple[Callable[[Any], Any], Optional[Callable[[Any, Any], Any]]]
"""A field's own check, run before the generic one (returns the value to send, or raises), and the fast
path's schema for the field: (``pydantic_core.core_schema``, the strict schema compiled for the field)
-> the strict schema of exactly the values the check returns unchanged (``None``: such bodies take the
checker)."""


class Obj:
    """A JSON object: Python name -> (wire name, required, schema). ``hooks``: Python name -> :data:`Hook`.
    ``open``: keys beyond ``fields`` are allowed (``additionalProperties``) and sent as given."""

    __slots__ = ("allowed", "fields", "hooks", "name", "nullable", "open", "required_count", "wire_names")

    def __init__(
        self,
        name: str,
        fields: Dict[str, Field],
        nullable: bool = False,
        hooks: Optional[Dict[str, Hook]] = None,
        open: bool = False,
    ) -> None:
        self.name = name
        self.fields = fields
        self.nullable = nullable
        self.open = open
        self.hooks = hooks or {}
        # The wire spelling is accepted too (``type`` for ``type_``), as the official serializer does.
        self.wire_names = {wire: py for py, (wire, _, _) in fields.items() if wire != py}
        self.allowed = ", ".join(fields)
        self.required_count = sum(1 for _, required, _ in fields.values() if required)

    def describe(self) -> str:
        return f"a dict ({self.name})" + (" or None" if self.nullable else "")


Schema = Union[Scalar, Arr, Obj]

STR, INT, NUM, BOOL, ANY = Scalar("str"), Scalar("int"), Scalar("num"), Scalar("bool"), Scalar("any", True)
_DESCRIPTIONS = {
    "str": "a string",
    "int": "an integer",
    "num": "a number",
    "bool": "True or False",
    "any": "any JSON value",
}
