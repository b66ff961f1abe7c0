"""``client.v1``: version 1 of the Magic Hour API."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .files import AsyncFiles, Files

if TYPE_CHECKING:
    from ..._core.transport import AsyncHTTP, SyncHTTP

__all__ = ["V1", "AsyncV1"]


class V1:
    """Version 1 of the Magic Hour API."""

    def __init__(self, http: SyncHTTP) -> None:
        self.files = Files(http)


class AsyncV1:
    """Version 1 of the Magic Hour API."""

    def __init__(self, http: AsyncHTTP) -> None:
        self.files = AsyncFiles(http)
