"""Items for the paginated lists (``saved_items.list``), built from the documented example."""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Mapping, Optional, Sequence, cast

from .._exceptions import InvalidParameterError
from ._projects import new_id
from ._schema import Schema, example
from ._spec import ApiSpec, Operation

__all__ = ["item_schema", "seed_items"]


def item_schema(op: Operation) -> Optional[Schema]:
    """The schema of one item of a cursor-paginated list, or ``None`` when ``op`` is not one."""
    _, content = op.success
    props: Schema = (content or {}).get("schema", {}).get("properties", {})
    if "cursor" not in op.query_params or "next_cursor" not in props:
        return None
    for sub in props.values():
        if sub.get("type") == "array" and "items" in sub:
            return cast(Schema, sub["items"])
    return None


def _vary(item: Dict[str, Any], schema: Schema, index: int) -> Dict[str, Any]:
    """Item ``index``: a fresh id, the name numbered, each enum field at its ``index``-th value."""
    props: Mapping[str, Any] = schema.get("properties", {})
    for name, sub in props.items():
        enum = sub.get("enum")
        if enum and name in item:
            item[name] = enum[index % len(enum)]
    if isinstance(item.get("name"), str):
        item["name"] = f"{item['name']} {index + 1}"
    if "id" in item:
        item["id"] = new_id()
    return item


def seed_items(spec: ApiSpec, route: str, items: Optional[Sequence[Any]], count: Optional[int]) -> List[Any]:
    op = spec.by_route(route)
    schema = item_schema(op) if op is not None else None
    if op is None or schema is None:
        lists = [o.route for o in spec.operations.values() if item_schema(o) is not None]
        raise InvalidParameterError("route", route, "a paginated list: " + ", ".join(map(repr, lists)))
    if (items is None) == (count is None):
        raise InvalidParameterError("count", count, "either items=[...] or count=N, not both")
    if items is not None:
        if isinstance(items, (str, bytes)) or not all(isinstance(i, dict) for i in items):
            raise InvalidParameterError("items", items, "a list of JSON objects")
        return [copy.deepcopy(i) for i in items]
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise InvalidParameterError("count", count, "an integer >= 0")
    base = example(schema, spec.document)
    return [_vary(copy.deepcopy(cast(Dict[str, Any], base)), schema, i) for i in range(count)]
