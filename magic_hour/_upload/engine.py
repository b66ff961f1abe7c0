"""The I/O shell of the upload engine: the sync driver (a thread pool) here, the async driver (anyio
tasks) in ``aengine.py``.

Both run the same pure :func:`~magic_hour._upload.flow.upload_flow` per file; they differ only in how a
file is read (``open`` vs worker threads, see ``reading.py``) and how files run concurrently.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import (
    IO,
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Generator,
    List,
    Optional,
    Sequence,
    Tuple,
)

import httpx

from .._core.deadline import budget_for
from .._core.flows import run_flow
from .._exceptions import MagicHourError
from .bodies import (
    Progress,
    check_end,
    check_progress,
    put_request,
    read_chunk,
    sync_chunks,
)
from .bodies import (
    ProgressCallback as ProgressCallback,
)
from .flow import (
    Presign,
    Put,
    Target,
    batches,
    presign_request,
    upload_flow,
)
from .inputs import Source, restore_position
from .logs import install_log_filter, sending_put
from .plan import (
    accept_batch,
    check_flag,
    file_outcome,
    finish,
    log_uploaded,
    one_target,
    plan,
    reraise_callback_errors,
)
from .results import UploadResult
from .threads import Interrupt, run_pool

if TYPE_CHECKING:
    from .._core.transport import SyncHTTP
    from ..types.models.v1_files_upload_urls_create_response import V1FilesUploadUrlsCreateResponse

logger = logging.getLogger("magic_hour")

# What asks the API for upload URLs: the engine's own request, or a resource's (client.v1.files).
PresignCall = Callable[[Sequence[Source]], Any]

# Errors that fail one file of a batch (recorded in its UploadResult); anything else propagates.
FILE_ERRORS: Tuple[type[BaseException], ...] = (MagicHourError, OSError)


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
        results, sources = plan(
            files, type_, extension, check_flag("from_current_position", from_current_position)
        )
        try:
            return reraise_callback_errors(
                lambda: self._upload(results, sources, max_concurrency, on_progress, presign or self._presign)
            )
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
        targets: Dict[int, Target] = {}
        for batch in batches(sources):
            try:
                outcome: Any = presign(batch)
            except MagicHourError as exc:
                outcome = exc
            accept_batch(batch, outcome, results, targets)
        todo = [s for s in sources if s.index in targets]
        progress = Progress(on_progress)
        cancel = Interrupt()

        def work(source: Source) -> UploadResult:
            return file_outcome(
                source, lambda: self._upload_one(source, targets[source.index], progress, cancel, presign)
            )

        if len(todo) <= 1 or max_concurrency == 1:
            for s in todo:
                results[s.index] = work(s)
            return finish(results)
        run_pool(todo, work, min(max_concurrency, len(todo)), cancel, results)
        return finish(results)

    def _upload_one(
        self,
        source: Source,
        target: Target,
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
        body = sync_chunks(lambda: self._open(source), source, progress, cancel.event)
        request = put_request(put, self._http.config.timeout, body)
        budget = budget_for(request)
        try:
            with sending_put(), cancel.tracking(budget):
                return self._http.send(request, budget, auth=None, follow_redirects=False)
        finally:
            body.close()  # closes the file, also when the request ended before its body did

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
