"""``client.v1.files``: upload URLs and the upload engine."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .upload_urls import AsyncUploadUrls, UploadUrls

if TYPE_CHECKING:
    from ...._core.transport import AsyncHTTP, SyncHTTP

__all__ = ["AsyncFiles", "AsyncUploadUrls", "Files", "UploadUrls"]


class Files:
    """Files in Magic Hour's storage."""

    def __init__(self, http: SyncHTTP) -> None:
        self._http = http
        self.upload_urls = UploadUrls(http)


class AsyncFiles:
    """Files in Magic Hour's storage."""

    def __init__(self, http: AsyncHTTP) -> None:
        self._http = http
        self.upload_urls = AsyncUploadUrls(http)
