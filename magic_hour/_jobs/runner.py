"""The workflow runner: upload inputs -> create -> wait -> download, for both clients.

Generated resources call it in a few declarative lines (their ``generate``, ``wait``, ``check_result``);
:class:`SyncJobs` and :class:`AsyncJobs` differ only by ``await``; the pure steps around their I/O (checks,
the final event) are in :mod:`.steps`, the wait's in :mod:`.polling`. One runner per client (see
``magic_hour._jobs.sync_jobs``), which remembers the files that client uploaded.
"""

from __future__ import annotations

import time
from functools import cached_property
from typing import (
    TYPE_CHECKING,
    Any,
    Awaitable,
    Callable,
    Dict,
    List,
    Mapping,
    Optional,
    Tuple,
    Type,
    TypeVar,
)

from .._core.flows import arun_flow, run_flow
from .._core.preload import aload
from .._core.request import RequestOptions
from .._core.retry import DeadlineExceeded
from .._upload.batch import all_paths
from .downloads import AsyncDownloader, SyncDownloader
from .events import DownloadProgress, Emitter, ProjectStatus
from .inputs import UploadCache, UploadPlan, plan_body, resolve, substitute
from .names import check_save, plan_outputs
from .polling import TimedOut, WaitCall, project_request, setup_wait
from .steps import (
    check_create,
    check_download,
    end_job,
    note_started,
    outputs_to_download,
    start_check_result,
    start_generate,
    upload_progress,
)

if TYPE_CHECKING:
    from pydantic import BaseModel

    from .._core.transport import AsyncHTTP, SyncHTTP
    from .._upload.engine import AsyncUploader, SyncUploader
    from .events import JobProgressCallback

M = TypeVar("M", bound="BaseModel")
DEFAULT_DOWNLOAD_CONCURRENCY = 4
UPLOAD_CONCURRENCY = 4
"""A job's inputs uploaded at once (``upload_files``' default), within the client's transfer bound."""
Create = Callable[[Dict[str, Any]], Any]
"""The resource's ``create``, taking the body with uploaded file paths and returning ``{"id": ...}``."""
AsyncCreate = Callable[[Dict[str, Any]], Awaitable[Any]]
Check = Callable[[Dict[str, Any]], object]
"""The create's own checks of a body (pure: raises ``InvalidParameterError``), run before any upload."""


def sync_wait(
    http: SyncHTTP,
    call: WaitCall,
    model: Type[M],
    request_options: Optional[RequestOptions],
    sleep: Optional[Callable[[float], None]] = None,
) -> M:
    """Run a checked wait (:func:`~magic_hour._jobs.polling.setup_wait`): poll until the project ends or
    its deadline. ``sleep`` replaces the pause between polls (a batch's stops when it is interrupted)."""

    def poll(_: object) -> Any:
        if call.deadline is not None and time.monotonic() >= call.deadline:
            return TimedOut()
        try:
            return http.request(call.request, model, request_options, deadline=call.deadline)
        except DeadlineExceeded as exc:  # the wait's deadline cut the poll: the flow says so
            return TimedOut(exc)

    project: M = run_flow(call.flow, poll, wait=sleep)
    return project


async def async_wait(
    http: AsyncHTTP, call: WaitCall, model: Type[M], request_options: Optional[RequestOptions]
) -> M:
    """Run a checked wait (:func:`~magic_hour._jobs.polling.setup_wait`): poll until the project ends or
    its deadline (a cancellation stops it at once)."""

    async def poll(_: object) -> Any:
        if call.deadline is not None and time.monotonic() >= call.deadline:
            return TimedOut()
        try:
            return await http.request(call.request, model, request_options, deadline=call.deadline)
        except DeadlineExceeded as exc:  # the wait's deadline cut the poll: the flow says so
            return TimedOut(exc)

    project: M = await arun_flow(call.flow, poll)
    return project


class SyncJobs:
    """Runs jobs for a :class:`~magic_hour.Client`."""

    def __init__(self, http: SyncHTTP) -> None:
        self._http = http
        self.cache = UploadCache()

    @cached_property
    def uploader(self) -> SyncUploader:
        """The client's upload engine (``client.v1.files`` uploads through it too); made on first use,
        so that a program that never uploads never imports it."""
        from .._upload.engine import SyncUploader

        return SyncUploader(self._http)

    def upload_inputs(
        self, body: Mapping[str, Any], files: Mapping[str, Tuple[str, ...]], emit: Optional[Emitter] = None
    ) -> Dict[str, Any]:
        """A copy of ``body`` whose local inputs (along ``files``) are uploaded ``file_path`` values."""
        return self._upload(body, plan_body(body, files, self.cache), emit)

    def _upload(
        self, body: Mapping[str, Any], plan: Optional[UploadPlan], emit: Optional[Emitter]
    ) -> Dict[str, Any]:
        if plan is None:
            return dict(body)
        paths: List[str] = []
        if plan.uploads:
            # A failed upload-urls call raises its own error (see _upload.batch.batch_failure).
            paths = all_paths(
                self.uploader.upload(
                    plan.uploads, max_concurrency=UPLOAD_CONCURRENCY, on_progress=upload_progress(emit)
                )
            )
        return substitute(body, resolve(plan, paths, self.cache))

    def wait(
        self,
        kind: str,
        id: str,
        model: Type[M],
        *,
        timeout: Optional[float],
        poll_interval: Optional[float] = None,
        raise_on_failure: bool = True,
        on_progress: Optional[Callable[[ProjectStatus], object]] = None,
        request_options: Optional[RequestOptions] = None,
        emit: Optional[Emitter] = None,
    ) -> M:
        """Poll the project until it ends (see :func:`~magic_hour._jobs.polling.wait_flow`); ``on_progress``
        gets a ``ProjectStatus`` at every poll."""
        call = setup_wait(kind, id, timeout, poll_interval, raise_on_failure, on_progress, emit)
        return sync_wait(self._http, call, model, request_options)

    def download(
        self,
        urls: object,
        directory: object = None,
        *,
        max_concurrency: int = DEFAULT_DOWNLOAD_CONCURRENCY,
        on_progress: Optional[Callable[[DownloadProgress], object]] = None,
        emit: Optional[Emitter] = None,
        overwrite: bool = False,
        output: Optional[str] = None,
    ) -> List[str]:
        """Download ``urls`` (URL strings, items with ``.url``, or a project) into ``directory`` (the current
        one by default), or as ``output``; return the paths written, in order (see ``names.plan_outputs``: no
        existing file is replaced unless ``overwrite``). ``on_progress`` gets ``DownloadProgress``."""
        call = check_download(urls, directory, max_concurrency, on_progress, emit)
        plan = plan_outputs(
            urls, call.urls, call.directory, call.max_concurrency, overwrite=overwrite, output=output
        )
        return SyncDownloader(self._http).download(call.urls, plan, call.emit)

    def check_result(
        self,
        kind: str,
        id: str,
        model: Type[M],
        *,
        wait_for_completion: bool,
        download_outputs: bool,
        download_directory: Optional[str] = None,
        timeout: Optional[float] = None,
        poll_interval: Optional[float] = None,
        raise_on_failure: bool = False,
        on_progress: Optional[JobProgressCallback] = None,
        started: Optional[float] = None,
        overwrite: bool = False,
        output: Optional[str] = None,
    ) -> M:
        """The official ``check_result``: fetch, optionally wait and download; a failed project is returned
        (or raised with ``raise_on_failure``)."""
        check_save(overwrite, output)
        call = start_check_result(
            kind,
            on_progress,
            started,
            download_directory,
            timeout,
            poll_interval,
            waits=wait_for_completion,
            downloads=download_outputs,
        )
        if not wait_for_completion:
            return self._http.request(project_request(call.spec, id), model, None)
        project = self.wait(
            kind,
            id,
            model,
            timeout=timeout,
            poll_interval=poll_interval,
            raise_on_failure=raise_on_failure,
            emit=call.emit,
        )
        urls = outputs_to_download(call, project, download_outputs)
        # The project itself: its URLs are the API's (one it gave that cannot be used is a DownloadError).
        paths = (
            self.download(project, call.directory, emit=call.emit, overwrite=overwrite, output=output)
            if urls
            else None
        )
        return end_job(call, project, id, paths)

    def generate(
        self,
        kind: str,
        model: Type[M],
        *,
        create: Create,
        body: Mapping[str, Any],
        files: Mapping[str, Tuple[str, ...]],
        check: Optional[Check] = None,
        wait_for_completion: bool = True,
        download_outputs: bool = True,
        download_directory: Optional[str] = None,
        timeout: Optional[float] = None,
        poll_interval: Optional[float] = None,
        raise_on_failure: bool = False,
        on_progress: Optional[JobProgressCallback] = None,
        request_options: Optional[RequestOptions] = None,
        overwrite: bool = False,
        output: Optional[str] = None,
    ) -> M:
        """Upload the local inputs of ``body`` in one batch, ``create(body)``, then :meth:`check_result`.

        Every argument is checked before the first request (``check``: the create's checks of the body;
        ``request_options``: the create's), so nothing is uploaded, nor any credit spent, for a call that
        cannot complete."""
        start, emit = start_generate(
            on_progress,
            download_directory,
            timeout,
            poll_interval,
            waits=wait_for_completion,
            downloads=download_outputs,
        )
        check_save(overwrite, output)
        plan = plan_body(body, files, self.cache)
        check_create(check, body, plan, self._http.config, request_options)
        created = create(self._upload(body, plan, emit))
        try:
            return self.check_result(
                kind,
                created.id,
                model,
                wait_for_completion=wait_for_completion,
                download_outputs=download_outputs,
                download_directory=download_directory,
                timeout=timeout,
                poll_interval=poll_interval,
                raise_on_failure=raise_on_failure,
                on_progress=on_progress,
                started=start,
                overwrite=overwrite,
                output=output,
            )
        except BaseException as exc:  # the project started: calling generate() again would bill another
            note_started(exc, kind, created.id)
            raise


class AsyncJobs:
    """Runs jobs for a :class:`~magic_hour.AsyncClient`."""

    def __init__(self, http: AsyncHTTP) -> None:
        self._http = http
        self.cache = UploadCache()

    @cached_property
    def uploader(self) -> AsyncUploader:
        """The client's upload engine (``client.v1.files`` uploads through it too); made on first use,
        so that a program that never uploads never imports it."""
        from .._upload.engine import AsyncUploader

        return AsyncUploader(self._http)

    async def upload_inputs(
        self, body: Mapping[str, Any], files: Mapping[str, Tuple[str, ...]], emit: Optional[Emitter] = None
    ) -> Dict[str, Any]:
        """A copy of ``body`` whose local inputs (along ``files``) are uploaded ``file_path`` values."""
        return await self._upload(body, plan_body(body, files, self.cache), emit)

    async def _upload(
        self, body: Mapping[str, Any], plan: Optional[UploadPlan], emit: Optional[Emitter]
    ) -> Dict[str, Any]:
        if plan is None:
            return dict(body)
        paths: List[str] = []
        if plan.uploads:
            await aload("_upload.engine")  # the first time in a worker thread, not on the event loop
            # A failed upload-urls call raises its own error (see _upload.batch.batch_failure).
            paths = all_paths(
                await self.uploader.upload(
                    plan.uploads, max_concurrency=UPLOAD_CONCURRENCY, on_progress=upload_progress(emit)
                )
            )
        return substitute(body, resolve(plan, paths, self.cache))

    async def wait(
        self,
        kind: str,
        id: str,
        model: Type[M],
        *,
        timeout: Optional[float],
        poll_interval: Optional[float] = None,
        raise_on_failure: bool = True,
        on_progress: Optional[Callable[[ProjectStatus], object]] = None,
        request_options: Optional[RequestOptions] = None,
        emit: Optional[Emitter] = None,
    ) -> M:
        """Poll the project until it ends (see :func:`~magic_hour._jobs.polling.wait_flow`); ``on_progress``
        gets a ``ProjectStatus`` at every poll."""
        call = setup_wait(kind, id, timeout, poll_interval, raise_on_failure, on_progress, emit)
        return await async_wait(self._http, call, model, request_options)

    async def download(
        self,
        urls: object,
        directory: object = None,
        *,
        max_concurrency: int = DEFAULT_DOWNLOAD_CONCURRENCY,
        on_progress: Optional[Callable[[DownloadProgress], object]] = None,
        emit: Optional[Emitter] = None,
        overwrite: bool = False,
        output: Optional[str] = None,
    ) -> List[str]:
        """Download ``urls`` (URL strings, items with ``.url``, or a project) into ``directory`` (the current
        one by default), or as ``output``; return the paths written, in order (see ``names.plan_outputs``: no
        existing file is replaced unless ``overwrite``). ``on_progress`` gets ``DownloadProgress``."""
        call = check_download(urls, directory, max_concurrency, on_progress, emit)
        plan = plan_outputs(
            urls, call.urls, call.directory, call.max_concurrency, overwrite=overwrite, output=output
        )
        return await AsyncDownloader(self._http).download(call.urls, plan, call.emit)

    async def check_result(
        self,
        kind: str,
        id: str,
        model: Type[M],
        *,
        wait_for_completion: bool,
        download_outputs: bool,
        download_directory: Optional[str] = None,
        timeout: Optional[float] = None,
        poll_interval: Optional[float] = None,
        raise_on_failure: bool = False,
        on_progress: Optional[JobProgressCallback] = None,
        started: Optional[float] = None,
        overwrite: bool = False,
        output: Optional[str] = None,
    ) -> M:
        """The official ``check_result``: fetch, optionally wait and download; a failed project is returned
        (or raised with ``raise_on_failure``)."""
        check_save(overwrite, output)
        call = start_check_result(
            kind,
            on_progress,
            started,
            download_directory,
            timeout,
            poll_interval,
            waits=wait_for_completion,
            downloads=download_outputs,
        )
        if not wait_for_completion:
            return await self._http.request(project_request(call.spec, id), model, None)
        project = await self.wait(
            kind,
            id,
            model,
            timeout=timeout,
            poll_interval=poll_interval,
            raise_on_failure=raise_on_failure,
            emit=call.emit,
        )
        urls = outputs_to_download(call, project, download_outputs)
        # The project itself: its URLs are the API's (one it gave that cannot be used is a DownloadError).
        paths = (
            await self.download(project, call.directory, emit=call.emit, overwrite=overwrite, output=output)
            if urls
            else None
        )
        return end_job(call, project, id, paths)

    async def generate(
        self,
        kind: str,
        model: Type[M],
        *,
        create: AsyncCreate,
        body: Mapping[str, Any],
        files: Mapping[str, Tuple[str, ...]],
        check: Optional[Check] = None,
        wait_for_completion: bool = True,
        download_outputs: bool = True,
        download_directory: Optional[str] = None,
        timeout: Optional[float] = None,
        poll_interval: Optional[float] = None,
        raise_on_failure: bool = False,
        on_progress: Optional[JobProgressCallback] = None,
        request_options: Optional[RequestOptions] = None,
        overwrite: bool = False,
        output: Optional[str] = None,
    ) -> M:
        """Upload the local inputs of ``body`` in one batch, ``create(body)``, then :meth:`check_result`.

        Every argument is checked before the first request (``check``: the create's checks of the body;
        ``request_options``: the create's), so nothing is uploaded, nor any credit spent, for a call that
        cannot complete."""
        start, emit = start_generate(
            on_progress,
            download_directory,
            timeout,
            poll_interval,
            waits=wait_for_completion,
            downloads=download_outputs,
        )
        check_save(overwrite, output)
        plan = plan_body(body, files, self.cache)
        check_create(check, body, plan, self._http.config, request_options)
        created = await create(await self._upload(body, plan, emit))
        try:
            return await self.check_result(
                kind,
                created.id,
                model,
                wait_for_completion=wait_for_completion,
                download_outputs=download_outputs,
                download_directory=download_directory,
                timeout=timeout,
                poll_interval=poll_interval,
                raise_on_failure=raise_on_failure,
                on_progress=on_progress,
                started=start,
                overwrite=overwrite,
                output=output,
            )
        except BaseException as exc:  # the project started: calling generate() again would bill another
            note_started(exc, kind, created.id)
            raise
