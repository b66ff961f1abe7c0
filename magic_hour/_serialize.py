"""One generic path from request params (TypedDicts) to JSON: a cached pydantic ``TypeAdapter``.

Field names that clash with Python keywords end in ``_`` in our TypedDicts and carry a pydantic alias
with the wire name (``type_`` -> ``type``), so no per-type serializer class is needed.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Dict, List, Tuple

if TYPE_CHECKING:
    from pydantic import TypeAdapter


@functools.cache
def _adapter(tp: Any) -> TypeAdapter[Any]:
    from pydantic import TypeAdapter

    return TypeAdapter(tp)


def to_wire(tp: Any, value: Any) -> Any:
    """Serialise ``value`` (already checked) as the JSON-ready body of type ``tp``, using wire names."""
    return _adapter(tp).dump_python(value, by_alias=True, mode="json", exclude_unset=True)


_MEMO_MAX = 4096


@functools.lru_cache(maxsize=_MEMO_MAX)
def _flat_to_wire(tp: Any, fields: Tuple[Tuple[str, Any], ...]) -> Any:
    return to_wire(tp, dict(fields))


def to_wire_each(tp: Any, values: List[Dict[str, Any]]) -> List[Any]:
    """``[to_wire(tp, v) for v in values]``, memoised for flat dicts of scalars.

    Lists of items repeat the same few values (``{"extension": "mp4", "type_": "video"}``), so each
    distinct one goes through the TypeAdapter once; the result is shared and must not be mutated.
    """
    return [_flat_to_wire(tp, tuple(v.items())) for v in values]
