"""Request params (TypedDicts) and response models (pydantic), loaded on first use.

``from magic_hour.types import models, params`` works; importing ``magic_hour`` alone does not load
pydantic's model machinery, which keeps ``import magic_hour`` fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import models, params

__all__ = ["models", "params"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
