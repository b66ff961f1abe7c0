"""One generic path from request params (TypedDicts) to JSON: a cached pydantic ``TypeAdapter``.

Field names that clash with Python keywords end in ``_`` in our TypedDicts and carry a pydantic alias
with the wire name (``type_`` -> ``type``), so no per-type serializer class is needed.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import TypeAdapter


@functools.cache
def _adapter(tp: Any) -> TypeAdapter[Any]:
    from pydantic import TypeAdapter

    return TypeAdapter(tp)


def to_wire(tp: Any, value: Any) -> Any:
    """Serialise ``value`` (already checked) as the JSON-ready body of type ``tp``, using wire names."""
    return _adapter(tp).dump_python(value, by_alias=True, mode="json", exclude_unset=True)
