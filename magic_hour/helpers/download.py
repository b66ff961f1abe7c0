"""``download_files_sync`` / ``download_files_async``: the official SDK's helpers, on our download engine.

Same signatures and results as the official ones (each file named after its URL's path, written into
``download_directory`` or the current directory, the paths returned in order), with what
``client.v1.files.download`` does better: streamed to a temporary file renamed into place when complete
(never a half-written file under its name), resumed with ``Range`` after a dropped connection, retried,
several at once, names made safe and unique, the directory created if missing, and signed URLs never
logged. A file that cannot be downloaded raises a :class:`~magic_hour.DownloadError` that is also the
httpx error the official raised in its place (:class:`~magic_hour.DownloadStatusError` is an
``httpx.HTTPStatusError``, :class:`~magic_hour.DownloadConnectionError` an ``httpx.TransportError``).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, List, Union

if TYPE_CHECKING:
    from ..resources.v1.files.client import DownloadSource

__all__ = ["download_files_async", "download_files_sync"]

# The client these helpers make only downloads (signed URLs, no token): the API's own base URL is named
# so that neither $MAGIC_HOUR_API_TOKEN nor $MAGIC_HOUR_BASE_URL is read, let alone refused.
_NO_TOKEN = ""
_BASE_URL = "https://api.magichour.ai"


def download_files_sync(
    downloads: DownloadSource, download_directory: Union[str, os.PathLike[str], None] = None
) -> List[str]:
    """Download ``downloads`` (a project's ``downloads``: items with a ``.url``; also URL strings, a face
    detection's ``faces`` or the project itself) into ``download_directory`` (``None`` or ``""``: the
    current directory); return the paths written, in order.

    Raises:
        InvalidParameterError: ``downloads`` or ``download_directory`` is not usable (nothing is fetched).
        DownloadError: a file could not be downloaded or written (nothing is left under its name).
    """
    from .._client import Client

    with Client(token=_NO_TOKEN, base_url=_BASE_URL) as client:
        return client.v1.files.download(downloads, directory=download_directory)


async def download_files_async(
    downloads: DownloadSource, download_directory: Union[str, os.PathLike[str], None] = None
) -> List[str]:
    """:func:`download_files_sync` for async code (asyncio or trio): the event loop never blocks."""
    from .._client import AsyncClient

    async with AsyncClient(token=_NO_TOKEN, base_url=_BASE_URL) as client:
        return await client.v1.files.download(downloads, directory=download_directory)
