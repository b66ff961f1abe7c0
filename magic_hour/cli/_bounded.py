"""JSON from the command line and stdin (``--body``, ``--set``, a JSON option, a piped document), read
within bounds: a document nested deeper than :data:`MAX_DEPTH`, a list index above :data:`MAX_INDEX` or a
number JSON cannot hold is a usage error naming the limit, instead of a ``RecursionError``, an
exhausted memory (``--set 'x[999999999999]=1'`` would build a list that long) or an ``Infinity`` sent
to the API. No request body of the API comes near these bounds.
"""

from __future__ import annotations

import json
import math
from typing import Any, Dict, List, cast

MAX_DEPTH = 32
"""Levels of nesting (objects and lists) a body may have."""
MAX_INDEX = 999
"""The largest list index a field path may name (``assets.face_mappings[999]``)."""


class BoundError(ValueError):
    """JSON input past a bound; the message names it."""


def depth(value: Any) -> int:
    """Levels of nesting of a decoded JSON value (0 for a scalar), counted without recursion."""
    deepest = 0
    stack: List[Any] = [(value, 0)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children: List[Any] = list(cast("Dict[Any, Any]", node).values())  # type: ignore[redundant-cast]  # pyright needs it
        elif isinstance(node, list):
            children = cast("List[Any]", node)  # type: ignore[redundant-cast]  # pyright needs it
        else:
            continue
        deepest = max(deepest, level + 1)
        if deepest > MAX_DEPTH:
            break
        stack.extend((child, level + 1) for child in children)
    return deepest


def _refuse_constant(name: str) -> Any:
    raise BoundError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BoundError(f"the number {text} is out of range")
    return value


def load(text: str, room: int = MAX_DEPTH) -> Any:
    """``text`` decoded as JSON, nested at most ``room`` levels; ``ValueError`` if it is not JSON,
    :class:`BoundError` (a ``ValueError`` too) past a bound."""
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite)
    except RecursionError:
        raise BoundError(f"nested deeper than {room} levels (the most the command reads)") from None
    if depth(value) > room:
        raise BoundError(f"nested deeper than {room} levels (the most the command reads)")
    return value
