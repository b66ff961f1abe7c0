"""The I/O shell of the upload engine: a sync driver (threads) and an async driver (anyio tasks).

Both run the same pure :func:`~magic_hour._upload.flow.upload_flow` per file; they differ only in how a
file is read (``open`` vs ``anyio.open_file``/worker threads) and how files run concurrently.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import (
    IO,
    TYPE_CHECKING,
    Any,
    AsyncIterator,
    Awaitable,
    Callable,
    Dict,
    Generator,
    Iterator,
    List,
    Optional,
    Sequence,
    Tuple,
)

import anyio
import anyio.to_thread
import httpx

from .._core.transport import arun_flow, run_flow
from .._exceptions import InvalidFileError, InvalidParameterError, MagicHourError
from .flow import (
    CHUNK_SIZE,
    Presign,
    Put,
    Target,
    UploadProgress,
    batches,
    check_presigned,
    parse_expires_at,
    presign_items,
    upload_flow,
)
from .inputs import Passthrough, Source, inspect_input, restore_position
from .logs import install_log_filter, sending_put
from .results import UploadResult

if TYPE_CHECKING:
    from .._core.transport import AsyncHTTP, SyncHTTP
    from ..resources.v1.files.upload_urls import AsyncUploadUrls, UploadUrls
    from ..types.models import V1FilesUploadUrlsCreateResponse

logger = logging.getLogger("magic_hour")

ProgressCallback = Callable[[UploadProgress], None]

# Errors that fail one file of a batch (recorded in its UploadResult); anything else propagates.
FILE_ERRORS: Tuple[type[BaseException], ...] = (MagicHourError, OSError)


class _Cancelled(Exception):
    """Raised inside a worker thread's body when the batch was interrupted."""


class _Progress:
    """Calls the user's callback from one thread at a time."""

    def __init__(self, callback: Optional[ProgressCallback]) -> None:
        self._callback = callback
        self._lock = threading.Lock()

    def emit(self, source: Source, sent: int) -> None:
        if self._callback is not None:
            with self._lock:
                self._callback(UploadProgress(source.index, source.name, sent, source.size))


def check_concurrency(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidParameterError("max_concurrency", value, "an integer >= 1")
    return value


def check_progress(on_progress: object) -> None:
    if on_progress is not None and not callable(on_progress):
        raise InvalidParameterError(
            "on_progress", on_progress, "a callable taking an UploadProgress event, or None"
        )


def check_files(files: object) -> List[object]:
    if isinstance(files, (str, bytes)) or not isinstance(files, (list, tuple)):
        raise InvalidParameterError("files", files, "a list of paths or binary file objects")
    return list(files)  # pyright: ignore[reportUnknownArgumentType]


def check_flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidParameterError(name, value, "True or False")
    return value


def _plan(
    files: Sequence[object], type_: Optional[str], extension: Optional[str], from_current_position: bool
) -> Tuple[List[Optional[UploadResult]], List[Source]]:
    """Check every input before any request; pass URLs and api-assets paths straight through."""
    results: List[Optional[UploadResult]] = [None] * len(files)
    sources: List[Source] = []
    objects: Dict[int, int] = {}  # id(file object) -> first index
    for i, file in enumerate(files):
        checked = inspect_input(
            file, i, type_=type_, extension=extension, from_current_position=from_current_position
        )
        if isinstance(checked, Passthrough):
            results[i] = UploadResult(i, checked.value, file_path=checked.value)
            continue
        if checked.fileobj is not None:
            # Two uploads would share one file position and interleave their reads: wrong bytes.
            first = objects.setdefault(id(checked.fileobj), i)
            if first != i:
                raise InvalidFileError(
                    f"files[{i}]",
                    checked.name,
                    "each file object once (pass a path, or open the file again, to upload it twice)",
                    reason=f"it is the same file object as files[{first}]",
                )
        sources.append(checked)
    return results, sources


def _targets(response: V1FilesUploadUrlsCreateResponse) -> List[Target]:
    return [Target(it.file_path, it.upload_url, parse_expires_at(it.expires_at)) for it in response.items]


def _accept_batch(
    batch: List[Source],
    outcome: V1FilesUploadUrlsCreateResponse | MagicHourError,
    results: List[Optional[UploadResult]],
    targets: Dict[int, Target],
) -> None:
    """Record the presign of one batch: its targets, or the error that fails all of its files."""
    if not isinstance(outcome, MagicHourError):
        found = _targets(outcome)
        try:
            check_presigned(batch, found)
        except MagicHourError as exc:
            outcome = exc
        else:
            targets.update(zip((s.index for s in batch), found))
            return
    for s in batch:
        results[s.index] = UploadResult(s.index, s.name, error=outcome)


def _one_target(source: Source, response: V1FilesUploadUrlsCreateResponse) -> Target:
    """The new target of a file re-presigned alone."""
    found = _targets(response)
    check_presigned([source], found)
    return found[0]


def _log_uploaded(source: Source, start: float, path: str) -> None:
    logger.info(
        "%s: uploaded %d bytes in %.2fs as %s", source.name, source.size, time.perf_counter() - start, path
    )


def _put_request(put: Put, timeout: httpx.Timeout, content: Any) -> httpx.Request:
    # Built by hand: no Authorization, no API headers, the URL exactly as the API gave it, and an
    # explicit Content-Length so httpx does not fall back to a chunked body (pre-signed PUTs refuse it).
    # Sent with follow_redirects=False even through a lent client that follows them: a pre-signed URL
    # does not redirect, and a streamed body could not be sent again to the new location.
    stream = content if isinstance(content, httpx.AsyncByteStream) else None
    request = httpx.Request(
        "PUT",
        put.target.upload_url,
        headers={"Content-Length": str(put.source.size)},
        content=None if stream is not None else content,
        extensions={"timeout": timeout.as_dict()},
    )
    if stream is not None:  # our own stream, used as is (Request(stream=...) would skip the Host header)
        request.stream = stream
    return request


class _AsyncChunks(httpx.AsyncByteStream):
    """The body of one async PUT attempt: the file, ``CHUNK_SIZE`` bytes at a time, with progress events.

    An iterator class handed to httpx as the request's stream, not an async generator: when an upload
    is cancelled mid-body, an async generator (ours, or the one httpx wraps around any other iterable)
    is left unfinished for the garbage collector, which trio reports as a ResourceWarning.
    """

    def __init__(
        self,
        read: Callable[[int], Awaitable[bytes]],
        source: Source,
        progress: _Progress,
        size_now: Optional[Callable[[], int]] = None,
    ) -> None:
        self._read = read
        self._size_now = size_now
        self._source = source
        self._progress = progress
        self._sent = 0
        self._unreported = False

    def __aiter__(self) -> AsyncIterator[bytes]:  # pyright: ignore[reportIncompatibleMethodOverride]
        return self

    async def __anext__(self) -> bytes:
        source = self._source
        if self._unreported:  # the previous chunk has been taken by the connection
            self._progress.emit(source, self._sent)
            self._unreported = False
        if self._sent >= source.size:
            raise StopAsyncIteration
        chunk = await self._read(min(CHUNK_SIZE, source.size - self._sent))
        if not chunk:
            raise _short_read(source, self._sent)
        self._sent += len(chunk)
        if self._sent == source.size and self._size_now is not None:
            _check_unchanged(source, self._size_now())
        self._unreported = True
        return chunk


def _check_unchanged(source: Source, size_now: int) -> None:
    """Before the last chunk goes out: a file that grew since it was checked would be stored truncated
    (its Content-Length is fixed), so the PUT is abandoned instead and nothing is stored."""
    if size_now != source.size:
        raise InvalidFileError(
            "file",
            source.name,
            "a file that does not change while it is uploaded",
            reason=f"it was {source.size} bytes when checked and is {size_now} now",
        )


def _short_read(source: Source, sent: int) -> InvalidFileError:
    return InvalidFileError(
        "file",
        source.name,
        "a file that does not shrink while it is uploaded",
        reason=f"it ended after {sent} of {source.size} bytes",
    )


def _finish(results: List[Optional[UploadResult]]) -> List[UploadResult]:
    done = [r for r in results if r is not None]
    assert len(done) == len(results)
    return done


def _run_pool(
    todo: Sequence[Source],
    work: Callable[[Source], UploadResult],
    workers: int,
    cancel: threading.Event,
    results: List[Optional[UploadResult]],
) -> None:
    """Run ``work`` over ``todo`` in a thread pool, driven from a coordinator thread.

    The calling thread only waits. A KeyboardInterrupt (Ctrl-C) or SystemExit lands there, wherever it
    was, never half-way through starting a worker (``ThreadPoolExecutor.submit`` interrupted inside
    ``Thread.start()`` would leave a worker the pool does not know of, still uploading). On such an
    interruption the cancel event stops in-flight bodies at their next chunk, queued files never start,
    and the interruption is re-raised once every worker has stopped.
    """
    failure: List[BaseException] = []
    done = threading.Event()

    def coordinate() -> None:
        try:
            if cancel.is_set():  # interrupted while this thread was being started
                return
            pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="magic-hour-upload")
            try:
                futures = [pool.submit(work, s) for s in todo]
                for future in as_completed(futures):
                    result = future.result()
                    results[result.index] = result
            except BaseException as exc:  # e.g. the progress callback raised: stop the others, re-raise
                cancel.set()
                failure.append(exc)
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
        finally:
            done.set()

    coordinator = threading.Thread(target=coordinate, name="magic-hour-upload-batch", daemon=True)
    try:
        coordinator.start()
        # An Event, not join(): a join() interrupted by Ctrl-C may mark a running thread as stopped
        # (CPython bpo-45274), and the second join() would then return at once.
        done.wait()
    except BaseException:
        cancel.set()
        if coordinator.is_alive():  # if start() itself was interrupted, the thread returns at once
            done.wait()
        raise
    if failure:
        raise failure[0]


class SyncUploader:
    """Uploads files with a thread pool over the client's pooled :class:`httpx.Client`."""

    def __init__(self, http: SyncHTTP, upload_urls: UploadUrls) -> None:
        self._http = http
        self._upload_urls = upload_urls

    def upload(
        self,
        files: Sequence[object],
        *,
        type_: Optional[str] = None,
        extension: Optional[str] = None,
        max_concurrency: int = 4,
        on_progress: Optional[ProgressCallback] = None,
        from_current_position: bool = False,
    ) -> List[UploadResult]:
        check_progress(on_progress)
        results, sources = _plan(
            files, type_, extension, check_flag("from_current_position", from_current_position)
        )
        try:
            return self._upload(results, sources, max_concurrency, on_progress)
        finally:
            # The caller's file objects go back where they were, on success, failure or interruption.
            for source in sources:
                restore_position(source)

    def _upload(
        self,
        results: List[Optional[UploadResult]],
        sources: List[Source],
        max_concurrency: int,
        on_progress: Optional[ProgressCallback],
    ) -> List[UploadResult]:
        install_log_filter()
        targets: Dict[int, Target] = {}
        for batch in batches(sources):
            try:
                outcome: Any = self._upload_urls.create(items=presign_items(batch))  # type: ignore[arg-type]
            except MagicHourError as exc:
                outcome = exc
            _accept_batch(batch, outcome, results, targets)
        todo = [s for s in sources if s.index in targets]
        progress = _Progress(on_progress)
        cancel = threading.Event()

        def work(source: Source) -> UploadResult:
            try:
                path = self._upload_one(source, targets[source.index], progress, cancel)
            except FILE_ERRORS as exc:
                logger.info("%s: upload failed: %s", source.name, exc)
                return UploadResult(source.index, source.name, error=exc)
            return UploadResult(source.index, source.name, file_path=path)

        if len(todo) <= 1 or max_concurrency == 1:
            for s in todo:
                results[s.index] = work(s)
            return _finish(results)
        _run_pool(todo, work, min(max_concurrency, len(todo)), cancel, results)
        return _finish(results)

    def _upload_one(
        self, source: Source, target: Target, progress: _Progress, cancel: threading.Event
    ) -> str:
        def perform(action: object) -> Any:
            if isinstance(action, Presign):
                return _one_target(source, self._upload_urls.create(items=presign_items([source])))  # type: ignore[arg-type]
            assert isinstance(action, Put)
            return self._put(action, progress, cancel)

        start = time.perf_counter()
        path = run_flow(upload_flow(source, target, max_retries=self._http.config.max_retries), perform)
        _log_uploaded(source, start, path)
        return path

    def _put(self, put: Put, progress: _Progress, cancel: threading.Event) -> httpx.Response:
        source = put.source
        progress.emit(source, 0)
        with self._open(source) as f:
            request = _put_request(put, self._http.config.timeout, self._chunks(f, source, progress, cancel))
            with sending_put():
                return self._http.send(request, auth=None, follow_redirects=False)

    @staticmethod
    @contextlib.contextmanager
    def _open(source: Source) -> Generator[IO[bytes], None, None]:
        if source.path is not None:
            with open(source.path, "rb") as f:
                yield f
            return
        assert source.fileobj is not None
        if source.start is not None:
            source.fileobj.seek(source.start)
        yield source.fileobj

    @staticmethod
    def _chunks(
        f: IO[bytes], source: Source, progress: _Progress, cancel: threading.Event
    ) -> Iterator[bytes]:
        sent = 0
        while sent < source.size:
            if cancel.is_set():
                raise _Cancelled()
            chunk = f.read(min(CHUNK_SIZE, source.size - sent))
            if not chunk:
                raise _short_read(source, sent)
            sent += len(chunk)
            if sent == source.size and source.path is not None:
                _check_unchanged(source, os.fstat(f.fileno()).st_size)
            yield chunk
            progress.emit(source, sent)


class AsyncUploader:
    """Uploads files with anyio tasks over the client's pooled :class:`httpx.AsyncClient`.

    File reads run in worker threads, so the event loop never blocks on disk (asyncio and trio).
    """

    def __init__(self, http: AsyncHTTP, upload_urls: AsyncUploadUrls) -> None:
        self._http = http
        self._upload_urls = upload_urls

    async def upload(
        self,
        files: Sequence[object],
        *,
        type_: Optional[str] = None,
        extension: Optional[str] = None,
        max_concurrency: int = 4,
        on_progress: Optional[ProgressCallback] = None,
        from_current_position: bool = False,
    ) -> List[UploadResult]:
        check_progress(on_progress)
        results, sources = _plan(
            files, type_, extension, check_flag("from_current_position", from_current_position)
        )
        try:
            return await self._upload(results, sources, max_concurrency, on_progress)
        finally:
            # Synchronous even in async code: a seek is not blocking I/O, and it must run when cancelled.
            for source in sources:
                restore_position(source)

    async def _upload(
        self,
        results: List[Optional[UploadResult]],
        sources: List[Source],
        max_concurrency: int,
        on_progress: Optional[ProgressCallback],
    ) -> List[UploadResult]:
        install_log_filter()
        targets: Dict[int, Target] = {}
        for batch in batches(sources):
            try:
                outcome: Any = await self._upload_urls.create(items=presign_items(batch))  # type: ignore[arg-type]
            except MagicHourError as exc:
                outcome = exc
            _accept_batch(batch, outcome, results, targets)
        todo = [s for s in sources if s.index in targets]
        progress = _Progress(on_progress)
        limiter = anyio.CapacityLimiter(max_concurrency)

        failure: List[BaseException] = []
        scopes: List[anyio.CancelScope] = []

        async def work(source: Source) -> None:
            async with limiter:
                try:
                    path = await self._upload_one(source, targets[source.index], progress)
                except FILE_ERRORS as exc:
                    logger.info("%s: upload failed: %s", source.name, exc)
                    results[source.index] = UploadResult(source.index, source.name, error=exc)
                    return
                except Exception as exc:  # e.g. the progress callback raised: stop the others
                    failure.append(exc)
                    for scope in scopes:
                        scope.cancel()
                    return
                results[source.index] = UploadResult(source.index, source.name, file_path=path)

        if len(todo) == 1:
            await work(todo[0])
        elif todo:
            async with anyio.create_task_group() as tg:
                scopes.append(tg.cancel_scope)
                for s in todo:
                    tg.start_soon(work, s)
        if failure:
            # The exception itself, as the sync engine raises it, not an ExceptionGroup of the task group.
            raise failure[0]
        return _finish(results)

    async def _upload_one(self, source: Source, target: Target, progress: _Progress) -> str:
        async def perform(action: object) -> Any:
            if isinstance(action, Presign):
                return _one_target(source, await self._upload_urls.create(items=presign_items([source])))  # type: ignore[arg-type]
            assert isinstance(action, Put)
            return await self._put(action, progress)

        start = time.perf_counter()
        path = await arun_flow(
            upload_flow(source, target, max_retries=self._http.config.max_retries), perform
        )
        _log_uploaded(source, start, path)
        return path

    async def _put(self, put: Put, progress: _Progress) -> httpx.Response:
        source = put.source
        progress.emit(source, 0)
        if source.path is not None:
            async with await anyio.open_file(source.path, "rb") as f:
                fd = f.wrapped.fileno()
                body = _AsyncChunks(f.read, source, progress, lambda: os.fstat(fd).st_size)
                request = _put_request(put, self._http.config.timeout, body)
                with sending_put():
                    return await self._http.send(request, auth=None, follow_redirects=False)
        fileobj = source.fileobj
        assert fileobj is not None
        if source.start is not None:
            await anyio.to_thread.run_sync(fileobj.seek, source.start)

        def read(n: int) -> Awaitable[bytes]:
            return anyio.to_thread.run_sync(fileobj.read, n)

        request = _put_request(put, self._http.config.timeout, _AsyncChunks(read, source, progress))
        with sending_put():
            return await self._http.send(request, auth=None, follow_redirects=False)
