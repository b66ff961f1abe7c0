"""``client.v1.files``: upload URLs and the upload engine (the official path of ``FilesClient``)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Callable, List, Literal, Optional, Sequence, Union

from ...._core.preload import aload
from .upload_urls import AsyncUploadUrls, UploadUrls

if TYPE_CHECKING:
    from ...._core.transport import AsyncHTTP, SyncHTTP
    from ...._jobs.events import DownloadProgress
    from ...._upload.engine import AsyncUploader, ProgressCallback, SyncUploader
    from ...._upload.inputs import FileInput, Source

# The upload engine (and _upload.batch's helpers below) is imported on first use: `import magic_hour`
# stays as cheap as httpx itself, and a first API request does not load it.

__all__ = ["AsyncFiles", "AsyncFilesClient", "Files", "FilesClient"]

AssetType = Literal["video", "audio", "image"]
DownloadSource = Union[str, Sequence[Any], Any]
"""What ``download`` takes: a URL, a list of URLs or of items with ``.url``, or a project."""


def upload_items(sources: Sequence[Source]) -> Any:
    """The ``items`` of ``upload_urls.create`` for ``sources``."""
    return [{"extension": s.extension, "type_": s.type_} for s in sources]


class FilesClient:
    """Files in Magic Hour's storage: pre-signed URLs and uploads."""

    def __init__(self, http: SyncHTTP) -> None:
        self._http = http
        self.upload_urls = UploadUrls(http)

    def _uploader(self) -> SyncUploader:
        from ...._jobs import sync_jobs

        return sync_jobs(self._http).uploader  # the client's one engine, shared with its jobs

    def _presign(self, sources: Sequence[Source]) -> Any:
        # Through this namespace's own upload_urls.create, so code that patches it (as the official
        # package's tests do) sees the call.
        return self.upload_urls.create(items=upload_items(sources))

    def upload_file(
        self,
        file: FileInput,
        *,
        type_: Optional[AssetType] = None,
        extension: Optional[str] = None,
        on_progress: Optional[ProgressCallback] = None,
        from_current_position: bool = False,
    ) -> str:
        """Upload one file to Magic Hour's storage and return its ``file_path`` for other API calls.

        ``file`` is a path (``str`` or ``os.PathLike``) or a binary file object (with a ``.name``, or pass
        ``extension=``). http(s) URLs and ``api-assets/...`` strings are returned unchanged, with no request.
        The type is inferred from the extension (``type_=`` overrides it). The file is streamed from disk
        with constant memory; failed attempts are retried from the first byte; an expired URL is renewed.
        ``on_progress`` receives :class:`~magic_hour.UploadProgress` events.

        A file object is uploaded whole, from byte 0, and put back at its position afterwards (success or
        failure). ``from_current_position=True`` uploads from where it is instead: required for a stream
        that cannot seek (a pipe; it needs a ``len()``), which is otherwise refused before any request.

        Raises:
            InvalidFileError: the file cannot be uploaded (before any request).
            StorageError: the storage refused the upload.
            ApiError: the API refused to issue an upload URL.
            ApiConnectionError: no response after the retries.

        Example::

            file_path = client.v1.files.upload_file("clip.mp4")
        """
        from ...._upload.batch import one_path

        return one_path(
            self._uploader().upload(
                [file],
                type_=type_,
                extension=extension,
                on_progress=on_progress,
                from_current_position=from_current_position,
                presign=self._presign,
            )
        )

    def upload_files(
        self,
        files: Sequence[FileInput],
        *,
        max_concurrency: int = 4,
        on_progress: Optional[ProgressCallback] = None,
        from_current_position: bool = False,
    ) -> List[str]:
        """Upload several files; return their ``file_path`` values in input order.

        All files are checked before any request, presigned in as few ``upload-urls`` calls as possible,
        then uploaded ``max_concurrency`` at a time (within the client's ``max_concurrent_transfers``,
        shared by all its calls). Inputs, and ``from_current_position`` for every file object among them,
        are as for :meth:`upload_file`.

        Raises:
            InvalidFileError: an input cannot be uploaded (before any request).
            UploadError: some uploads failed; ``.results`` says which succeeded (with ``file_path``) and why
                the others failed.
            ApiError: the API refused to issue the upload URLs (nothing was uploaded); also
                ``ApiConnectionError``, ``UploadUrlsMismatchError``: that call's own error, as ``upload_file``.

        Example::

            paths = client.v1.files.upload_files(["a.mp4", "b.png"], max_concurrency=4)
        """
        from ...._upload.batch import all_paths, check_concurrency, check_files

        items = check_files(files)
        limit = check_concurrency(max_concurrency)
        return all_paths(
            self._uploader().upload(
                items,
                max_concurrency=limit,
                on_progress=on_progress,
                from_current_position=from_current_position,
                presign=self._presign,
            )
        )

    def download(
        self,
        urls: DownloadSource,
        *,
        directory: Union[str, os.PathLike[str], None] = None,
        max_concurrency: int = 4,
        on_progress: Optional[Callable[[DownloadProgress], object]] = None,
        overwrite: bool = False,
    ) -> List[str]:
        """Download files (a project's outputs) into ``directory``; return the paths written, in order.

        ``urls`` is a URL, a list of URLs, a list of items with a ``.url`` (a project's ``downloads``, a
        face detection's ``faces``) or the project itself. Each file is streamed to a temporary file in
        ``directory`` (created if missing; the current directory by default) and moved into place once
        complete and its length checked; a dropped connection resumes with ``Range``. Names come from the
        URL's path, sanitised (``name-1.png`` when two are alike), or from the project's id when given the
        project (``<id>.png``). An existing file is never replaced unless ``overwrite``: the output is saved
        as ``<name>-1.png`` (``-2``...) instead. ``on_progress`` receives
        :class:`~magic_hour.DownloadProgress` events. See docs/jobs.md.

        Raises:
            InvalidParameterError: ``urls`` or ``directory`` is not usable (before any request).
            DownloadError: a file could not be downloaded (``DownloadWriteError``: not written).

        Example::

            paths = client.v1.files.download(project.downloads, directory="outputs")
        """
        from ...._jobs import sync_jobs

        return sync_jobs(self._http).download(
            urls, directory, max_concurrency=max_concurrency, on_progress=on_progress, overwrite=overwrite
        )


class AsyncFilesClient:
    """Files in Magic Hour's storage: pre-signed URLs and uploads."""

    def __init__(self, http: AsyncHTTP) -> None:
        self._http = http
        self.upload_urls = AsyncUploadUrls(http)

    async def _uploader(self) -> AsyncUploader:
        # Imported in a worker thread the first time, not on the event loop.
        await aload("_jobs.runner")
        await aload("_upload.engine")
        from ...._jobs import async_jobs

        return async_jobs(self._http).uploader  # the client's one engine, shared with its jobs

    async def _presign(self, sources: Sequence[Source]) -> Any:
        # Through this namespace's own upload_urls.create (see FilesClient._presign).
        return await self.upload_urls.create(items=upload_items(sources))

    async def upload_file(
        self,
        file: FileInput,
        *,
        type_: Optional[AssetType] = None,
        extension: Optional[str] = None,
        on_progress: Optional[ProgressCallback] = None,
        from_current_position: bool = False,
    ) -> str:
        """Upload one file to Magic Hour's storage and return its ``file_path`` for other API calls.

        ``file`` is a path (``str`` or ``os.PathLike``) or a binary file object (with a ``.name``, or pass
        ``extension=``). http(s) URLs and ``api-assets/...`` strings are returned unchanged, with no request.
        The type is inferred from the extension (``type_=`` overrides it). The file is streamed from disk
        with constant memory; failed attempts are retried from the first byte; an expired URL is renewed.
        ``on_progress`` receives :class:`~magic_hour.UploadProgress` events.

        A file object is uploaded whole, from byte 0, and put back at its position afterwards (success or
        failure). ``from_current_position=True`` uploads from where it is instead: required for a stream
        that cannot seek (a pipe; it needs a ``len()``), which is otherwise refused before any request.

        Raises:
            InvalidFileError: the file cannot be uploaded (before any request).
            StorageError: the storage refused the upload.
            ApiError: the API refused to issue an upload URL.
            ApiConnectionError: no response after the retries.

        Example::

            file_path = client.v1.files.upload_file("clip.mp4")
        """
        uploader = await self._uploader()  # loads the engine and _upload.batch off the event loop
        from ...._upload.batch import one_path

        return one_path(
            await uploader.upload(
                [file],
                type_=type_,
                extension=extension,
                on_progress=on_progress,
                from_current_position=from_current_position,
                presign=self._presign,
            )
        )

    async def upload_files(
        self,
        files: Sequence[FileInput],
        *,
        max_concurrency: int = 4,
        on_progress: Optional[ProgressCallback] = None,
        from_current_position: bool = False,
    ) -> List[str]:
        """Upload several files; return their ``file_path`` values in input order.

        All files are checked before any request, presigned in as few ``upload-urls`` calls as possible,
        then uploaded ``max_concurrency`` at a time (within the client's ``max_concurrent_transfers``,
        shared by all its calls). Inputs, and ``from_current_position`` for every file object among them,
        are as for :meth:`upload_file`.

        Raises:
            InvalidFileError: an input cannot be uploaded (before any request).
            UploadError: some uploads failed; ``.results`` says which succeeded (with ``file_path``) and why
                the others failed.
            ApiError: the API refused to issue the upload URLs (nothing was uploaded); also
                ``ApiConnectionError``, ``UploadUrlsMismatchError``: that call's own error, as ``upload_file``.

        Example::

            paths = client.v1.files.upload_files(["a.mp4", "b.png"], max_concurrency=4)
        """
        uploader = await self._uploader()  # loads the engine and _upload.batch off the event loop
        from ...._upload.batch import all_paths, check_concurrency, check_files

        items = check_files(files)
        limit = check_concurrency(max_concurrency)
        return all_paths(
            await uploader.upload(
                items,
                max_concurrency=limit,
                on_progress=on_progress,
                from_current_position=from_current_position,
                presign=self._presign,
            )
        )

    async def download(
        self,
        urls: DownloadSource,
        *,
        directory: Union[str, os.PathLike[str], None] = None,
        max_concurrency: int = 4,
        on_progress: Optional[Callable[[DownloadProgress], object]] = None,
        overwrite: bool = False,
    ) -> List[str]:
        """Download files (a project's outputs) into ``directory``; return the paths written, in order.

        ``urls`` is a URL, a list of URLs, a list of items with a ``.url`` (a project's ``downloads``, a
        face detection's ``faces``) or the project itself. Each file is streamed to a temporary file in
        ``directory`` (created if missing; the current directory by default) and moved into place once
        complete and its length checked; a dropped connection resumes with ``Range``. Names come from the
        URL's path, sanitised (``name-1.png`` when two are alike), or from the project's id when given the
        project (``<id>.png``). An existing file is never replaced unless ``overwrite``: the output is saved
        as ``<name>-1.png`` (``-2``...) instead. ``on_progress`` receives
        :class:`~magic_hour.DownloadProgress` events. See docs/jobs.md.

        Raises:
            InvalidParameterError: ``urls`` or ``directory`` is not usable (before any request).
            DownloadError: a file could not be downloaded (``DownloadWriteError``: not written).

        Example::

            paths = client.v1.files.download(project.downloads, directory="outputs")
        """
        await aload("_jobs.runner")  # the first time in a worker thread, not on the event loop
        from ...._jobs import async_jobs

        return await async_jobs(self._http).download(
            urls, directory, max_concurrency=max_concurrency, on_progress=on_progress, overwrite=overwrite
        )


# The names of this SDK before it took the official module layout; kept so that older code still runs.
Files = FilesClient
AsyncFiles = AsyncFilesClient
