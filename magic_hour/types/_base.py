"""The base of every generated response model (hand-written; the models themselves are generated).

- Unknown fields the API adds are kept (``extra="allow"``), never an error.
- Python names and wire names both populate a model (``type_`` / ``type``).
- Reprs (and so ``str()`` and log lines) never show the query or the user:password of a URL: signed
  URLs are credentials (``https://<redacted>@host/a.mp4?<redacted>``, ``_redact.safe_url``).
  The values themselves are intact (``res.items[0].upload_url`` is the full URL).
"""

from __future__ import annotations

from typing import Any, Iterator, Tuple

import pydantic

from .._redact import safe_url

__all__ = ["BaseModel", "NoContent"]


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return safe_url(value, mark_credentials=True, urls_only=True)
    if isinstance(value, list):
        return [_redact(v) for v in value]  # pyright: ignore[reportUnknownVariableType]
    if isinstance(value, dict):  # unknown fields the API added are kept as plain dicts
        return {k: _redact(v) for k, v in value.items()}  # pyright: ignore[reportUnknownVariableType]
    return value


class BaseModel(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="allow", populate_by_name=True, protected_namespaces=())

    def __repr_args__(self) -> Iterator[Tuple[Any, Any]]:  # pyright: ignore[reportIncompatibleMethodOverride]
        for name, value in super().__repr_args__():
            yield name, _redact(value)


class NoContent(BaseModel):
    """What an operation that answers without a body (``204``) parses to; its method returns ``None``."""

    @classmethod
    def model_validate_json(cls, json_data: Any, **_: Any) -> NoContent:  # pyright: ignore[reportIncompatibleMethodOverride]
        return cls()
