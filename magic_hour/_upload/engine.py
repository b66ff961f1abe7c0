"""The I/O drivers of the upload engine: :class:`SyncUploader` (a thread pool) and its twin
:class:`AsyncUploader` (anyio tasks), over the client's pooled httpx client.

Both run the pure per-file :func:`~magic_hour._upload.flow.upload_flow` and the batch bookkeeping of
``batch.py``; they differ only in how a file is read (``open`` in the uploading thread vs ``reading.py``,
so the event loop never waits for a disk) and how files run concurrently (``threads.py`` vs tasks).
"""

from __future__ import annotations

import contextlib
import time
from typing import (
    IO,
    TYPE_CHECKING,
    Any,
    Awaitable,
    Callable,
    ContextManager,
    Dict,
    List,
    Optional,
    Sequence,
)

import anyio
import anyio.abc
import httpx

from .._core.deadline import budget_for
from .._core.flows import arun_flow, run_flow
from .._core.preload import aload
from .._exceptions import MagicHourError
from .batch import (
    UploadResult,
    accept_batch,
    check_flag,
    completed,
    failed,
    file_outcome,
    log_uploaded,
    one_target,
    plan_batch,
)
from .bodies import (
    CallbackError,
    Progress,
    StreamedBody,
    SyncBody,
    check_end,
    check_progress,
    put_request,
    read_chunk,
    sync_chunks,
)
from .bodies import (
    ProgressCallback as ProgressCallback,
)
from .flow import CHUNK_SIZE, Presign, Put, UploadTarget, presign_batches, presign_request, upload_flow
from .inputs import Source, restore_position
from .logs import install_log_filter, sending_put
from .reading import ThreadReader
from .threads import CANCEL, Interrupt, run_pool

if TYPE_CHECKING:
    from .._core.transport import AsyncHTTP, SyncHTTP
    from ..types.models.v1_files_upload_urls_create_response import V1FilesUploadUrlsCreateResponse


_PRESIGN_MODEL = "types.models.v1_files_upload_urls_create_response"

# What asks the API for upload URLs: the engine's own request, or a resource's (client.v1.files).
PresignCall = Callable[[Sequence[Source]], Any]
AsyncPresignCall = Callable[[Sequence[Source]], Awaitable[Any]]


class SyncUploader:
    """Uploads files with a thread pool over the client's pooled :class:`httpx.Client`."""

    def __init__(self, http: SyncHTTP) -> None:
        self._http = http

    def _presign(self, sources: Sequence[Source]) -> V1FilesUploadUrlsCreateResponse:
        from ..types.models.v1_files_upload_urls_create_response import V1FilesUploadUrlsCreateResponse

        return self._http.request(presign_request(sources), V1FilesUploadUrlsCreateResponse, None)

    def upload(
        self,
        files: Sequence[object],
        *,
        type_: Optional[str] = None,
        extension: Optional[str] = None,
        max_concurrency: int = 4,
        on_progress: Optional[ProgressCallback] = None,
        from_current_position: bool = False,
        presign: Optional[PresignCall] = None,
    ) -> List[UploadResult]:
        check_progress(on_progress, is_async=False)
        results, sources = plan_batch(
            files, type_, extension, check_flag("from_current_position", from_current_position)
        )
        try:
            return self._upload(results, sources, max_concurrency, on_progress, presign or self._presign)
        except CallbackError as exc:
            raise exc.error from None
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
        presign: PresignCall,
    ) -> List[UploadResult]:
        install_log_filter()
        targets: Dict[int, UploadTarget] = {}
        for batch in presign_batches(sources):
            try:
                outcome: Any = presign(batch)
            except MagicHourError as exc:
                outcome = exc
            accept_batch(batch, outcome, results, targets)
        todo = [s for s in sources if s.index in targets]
        progress = Progress(on_progress)
        cancel = CANCEL.get() or Interrupt()  # Ctrl-C here, or a caller elsewhere (threads.CANCEL)

        def work(source: Source) -> UploadResult:
            return file_outcome(
                source, lambda: self._upload_one(source, targets[source.index], progress, cancel, presign)
            )

        for source, result in zip(todo, run_pool(work, todo, max_concurrency, cancel, "magic-hour-upload")):
            results[source.index] = result
        return completed(results)

    def _upload_one(
        self,
        source: Source,
        target: UploadTarget,
        progress: Progress,
        cancel: Interrupt,
        presign: PresignCall,
    ) -> str:
        def perform(action: object) -> Any:
            if isinstance(action, Presign):
                return one_target(source, presign([source]))
            assert isinstance(action, Put)
            with self._http.transfers.hold(cancel.event):  # the client-wide bound on transfers
                return self._put(action, progress, cancel)

        start = time.perf_counter()
        flow = upload_flow(source, target, max_retries=self._http.config.max_retries)
        path = run_flow(flow, perform, wait=cancel.sleep)
        log_uploaded(source, start, path)
        return path

    def _put(self, put: Put, progress: Progress, cancel: Interrupt) -> httpx.Response:
        source = put.source
        progress.emit(source, 0)
        if source.size == 0:  # a 0-byte body is complete at once: probe before sending
            with self._open(source) as f:
                check_end(source, read_chunk(source, f, 1))
        body = SyncBody(sync_chunks(lambda: self._open(source), source, progress, cancel.event))
        request = put_request(put, self._http.config.timeout, body)
        budget = budget_for(request)
        try:
            with sending_put(), cancel.tracking(budget):
                return self._http.send(request, budget, direct=True, auth=None, follow_redirects=False)
        finally:
            body.close()  # closes the file, also when the request ended before its body did

    @staticmethod
    def _open(source: Source) -> ContextManager[IO[bytes]]:
        if source.path is not None:
            # Unbuffered: the body reads whole chunks, which a buffer would only copy (and a small file
            # is then one read, without the buffer's set-up calls).
            return open(source.path, "rb", buffering=0)
        assert source.fileobj is not None
        if source.start is not None:
            source.fileobj.seek(source.start)
        return contextlib.nullcontext(source.fileobj)  # the caller's: left open


class AsyncUploader:
    """Uploads files with anyio tasks over the client's pooled :class:`httpx.AsyncClient`.

    File reads never make the event loop wait for a disk (asyncio and trio: ``reading.py``). A file
    is opened by its request body, once the request has a connection (see ``bodies.py``).
    """

    def __init__(self, http: AsyncHTTP) -> None:
        self._http = http

    async def _presign(self, sources: Sequence[Source]) -> V1FilesUploadUrlsCreateResponse:
        await aload(_PRESIGN_MODEL)  # the first time in a worker thread, not on the event loop
        from ..types.models.v1_files_upload_urls_create_response import V1FilesUploadUrlsCreateResponse

        return await self._http.request(presign_request(sources), V1FilesUploadUrlsCreateResponse, None)

    async def upload(
        self,
        files: Sequence[object],
        *,
        type_: Optional[str] = None,
        extension: Optional[str] = None,
        max_concurrency: int = 4,
        on_progress: Optional[ProgressCallback] = None,
        from_current_position: bool = False,
        presign: Optional[AsyncPresignCall] = None,
    ) -> List[UploadResult]:
        check_progress(on_progress, is_async=True)
        results, sources = plan_batch(
            files, type_, extension, check_flag("from_current_position", from_current_position)
        )
        try:
            return await self._upload(
                results, sources, max_concurrency, on_progress, presign or self._presign
            )
        except CallbackError as exc:
            raise exc.error from None
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
        presign: AsyncPresignCall,
    ) -> List[UploadResult]:
        install_log_filter()
        targets: Dict[int, UploadTarget] = {}
        for batch in presign_batches(sources):
            try:
                outcome: Any = await presign(batch)
            except MagicHourError as exc:
                outcome = exc
            accept_batch(batch, outcome, results, targets)
        todo = [s for s in sources if s.index in targets]
        progress = Progress(on_progress)
        failure: List[BaseException] = []
        scopes: List[anyio.CancelScope] = []

        async def work(source: Source) -> None:
            try:
                path = await self._upload_one(source, targets[source.index], progress, presign)
            except (MagicHourError, OSError) as exc:
                results[source.index] = failed(source, exc)
            except Exception as exc:  # e.g. the progress callback raised: stop the others
                failure.append(exc)
                for scope in scopes:
                    scope.cancel()
            else:
                results[source.index] = UploadResult(source.index, source.name, file_path=path)

        # max_concurrency workers take the files in order: cheaper per file than a task per file
        # waiting on a limiter.
        queue = iter(todo)

        async def worker() -> None:
            for source in queue:
                await work(source)
                if failure:
                    return

        if len(todo) == 1:
            await work(todo[0])
        elif todo:
            async with anyio.create_task_group() as tg:
                scopes.append(tg.cancel_scope)
                for _ in range(min(max_concurrency, len(todo))):
                    tg.start_soon(worker)
        if failure:
            # The exception itself, as the sync engine raises it, not an ExceptionGroup of the task group.
            raise failure[0]
        return completed(results)

    async def _upload_one(
        self,
        source: Source,
        target: UploadTarget,
        progress: Progress,
        presign: AsyncPresignCall,
    ) -> str:
        async def perform(action: object) -> Any:
            if isinstance(action, Presign):
                return one_target(source, await presign([source]))
            assert isinstance(action, Put)
            async with self._http.transfers.hold():  # the client-wide bound on transfers
                return await self._put(action, progress)

        start = time.perf_counter()
        path = await arun_flow(
            upload_flow(source, target, max_retries=self._http.config.max_retries), perform
        )
        log_uploaded(source, start, path)
        return path

    async def _put(self, put: Put, progress: Progress) -> httpx.Response:
        source = put.source
        await progress.aemit(source, 0)
        readers: List[ThreadReader] = []
        try:
            if source.size <= CHUNK_SIZE:  # read in one worker-thread call: no read-ahead task
                return await self._send_put(put, progress, None, readers)
            # A larger file's read-ahead task lives in a task group around the whole request. The
            # request's exception leaves the group unwrapped (trio would put it in an ExceptionGroup).
            error: Optional[Exception] = None
            response: Optional[httpx.Response] = None
            async with anyio.create_task_group() as tg:
                try:
                    response = await self._send_put(put, progress, tg, readers)
                except Exception as exc:
                    error = exc
                finally:
                    for reader in readers:  # a reading thread waiting for the body to take a chunk
                        reader.stop()
                    tg.cancel_scope.cancel()
            if error is not None:
                raise error
            assert response is not None
            return response
        finally:
            for reader in readers:  # once no worker thread reads its file any more
                reader.close()

    async def _send_put(
        self,
        put: Put,
        progress: Progress,
        tg: Optional[anyio.abc.TaskGroup],
        readers: List[ThreadReader],
    ) -> httpx.Response:
        source = put.source

        async def open_() -> Callable[[int], Awaitable[bytes]]:
            reader = ThreadReader(source)
            readers.append(reader)
            await reader.start(tg)
            return reader.read

        if source.size == 0:  # a 0-byte body is complete at once: probe before sending
            check_end(source, await (await open_())(1))
        body = StreamedBody(open_, source, progress)
        request = put_request(put, self._http.config.timeout, body)
        with sending_put():
            return await self._http.send(
                request, budget_for(request), direct=True, auth=None, follow_redirects=False
            )
