"""The I/O of downloads: the sync driver (a thread pool) and the async driver (anyio tasks).

Both run the pure :func:`~magic_hour._jobs.download_flow.download_flow` per output; they differ only in
how bytes reach the disk (directly, or in worker threads so that the event loop never blocks) and how
outputs run concurrently.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
import time
from typing import IO, TYPE_CHECKING, Any, AsyncGenerator, Callable, Generator, List, Optional, Sequence

import anyio
import anyio.abc
import anyio.to_thread
import httpx

from .._core.config import USER_AGENT
from .._core.deadline import Budget, budget_for
from .._core.flows import arun_flow, run_flow
from .._core.transfers import TaskAttempt, ThreadAttempt
from .._redact import request_of, safe_url, scrub_text
from .._upload.logs import install_log_filter, sending_put
from .._upload.threads import CANCEL, Cancelled, Interrupt, run_pool
from .disk import (
    WriteBuffer,
    claim,
    make_directory,
    open_temporary,
    place,
    remove_temporary,
    rewind,
    write_error,
    write_parts,
)
from .download_flow import BodyDecoder, Discard, Open, Write, Written, already_read, download_flow
from .events import DownloadProgress, Emitter
from .names import OutputFile, OutputPlan, output_files

if TYPE_CHECKING:
    from .._core.transport import AsyncHTTP, SyncHTTP

logger = logging.getLogger("magic_hour")

_DOWNLOADING: contextvars.ContextVar[bool] = contextvars.ContextVar("magic_hour_downloading", default=False)


def download_request(target: OutputFile, offset: int, timeout: httpx.Timeout) -> httpx.Request:
    """The GET of ``target`` from byte ``offset``."""
    # Built by hand: no Authorization and none of the API's headers go to the download host. Identity
    # encoding, so that byte offsets (Range) and Content-Length count the file's own bytes.
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if offset > 0:
        headers["Range"] = f"bytes={offset}-"
    return httpx.Request("GET", target.url, headers=headers, extensions={"timeout": timeout.as_dict()})


class _RedactDownloadQuery(logging.Filter):
    """Rewrites httpx's ``HTTP Request: GET <url> ...`` line for our downloads to hide the signed query and
    credentials (only records emitted while a download is being sent; the application's own traffic is
    untouched)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _DOWNLOADING.get() and isinstance(record.args, tuple):
            record.args = tuple(safe_url(a) if isinstance(a, httpx.URL) else a for a in record.args)
        return True


_FILTER = _RedactDownloadQuery()


@contextlib.contextmanager
def downloading() -> Generator[None, None, None]:
    """Mark the requests sent inside as downloads (for the log filter)."""
    httpx_logger = logging.getLogger("httpx")
    if _FILTER not in httpx_logger.filters:  # logging.config may have rebuilt the logger since last time
        httpx_logger.addFilter(_FILTER)
    token = _DOWNLOADING.set(True)
    # The upload engine's filter also covers httpcore's DEBUG records, which quote a redirect's
    # Location (another signed URL) and userinfo.
    install_log_filter()
    try:
        with sending_put():
            yield
    finally:
        _DOWNLOADING.reset(token)


def body_pieces(response: httpx.Response) -> Generator[bytes, None, None]:
    """The body's pieces as received (compressed, when it is), for :meth:`BodyDecoder.feed`."""
    content = already_read(response)
    if content is not None:
        yield content
        return
    yield from response.iter_raw()


async def abody_pieces(response: httpx.Response) -> AsyncGenerator[bytes, None]:
    """:func:`body_pieces` for an async response."""
    content = already_read(response)
    if content is not None:
        yield content
        return
    async for piece in response.aiter_raw():
        yield piece


class WriteBehind:
    """An async download's disk writes, behind the network: a worker thread writes one chunk while the
    next is received (awaiting each write before reading on would stall the connection for a thread
    round trip per chunk). At most one write in flight, so memory stays bounded and progress events
    follow the file in order; :meth:`wait` before the file is rewound, closed or reported on.

    Never raises into the task group it starts writes in (anyio would wrap the error in an
    ``ExceptionGroup``): a failed write is raised by the next :meth:`start` or :meth:`wait`.
    """

    def __init__(self, write: Callable[[List[bytes]], None], emit: Emitter) -> None:
        self._write, self._emit = write, emit
        self._done: Optional[anyio.Event] = None
        self._event: Optional[DownloadProgress] = None
        self._error: Optional[Exception] = None

    async def _run(self, data: List[bytes], done: anyio.Event) -> None:
        try:
            await anyio.to_thread.run_sync(self._write, data)  # not abandoned on cancel: the file stays ours
        except Exception as exc:
            self._error = exc
        finally:
            done.set()

    async def start(self, tg: anyio.abc.TaskGroup, data: List[bytes], event: DownloadProgress) -> None:
        """Write ``data`` in a worker thread once the write in flight is done; ``event`` is emitted when
        it is written."""
        await self.wait()
        self._done, self._event = anyio.Event(), event
        tg.start_soon(self._run, data, self._done)

    async def wait(self) -> None:
        """Wait for the write in flight: emit its progress event, or raise its error."""
        done, event = self._done, self._event
        if done is None or event is None:
            return
        await done.wait()
        self._done = self._event = None
        error, self._error = self._error, None
        if error is not None:
            raise error
        self._emit(event)


def _checked(operation: Callable[..., object], target: OutputFile, *args: Any) -> None:
    """A file operation whose OSError becomes a :class:`DownloadWriteError` (disk full, ...)."""
    try:
        operation(*args)
    except OSError as exc:
        raise write_error(target, exc, "write") from None


def _log_done(target: OutputFile, path: str, size: int, start: float) -> None:
    logger.info(
        "%s: downloaded %d bytes in %.2fs to %s", target.shown, size, time.perf_counter() - start, path
    )


def _prepare(planned: List[OutputFile]) -> List[OutputFile]:
    """The directory made, and the targets under free names (:func:`~magic_hour._jobs.disk.claim`)."""
    make_directory(planned[0])
    return claim(planned)


async def _aclose(response: httpx.Response, pieces: AsyncGenerator[bytes, None]) -> None:
    """Close ``response`` and finish its body's iterator, also when the body was left half-read (a bomb,
    a cancellation): an async generator left unfinished (httpx nests several) is an error under trio
    when it is collected; one that ran into an exception is finished."""
    with anyio.CancelScope(shield=True):
        await response.aclose()
        with contextlib.suppress(Exception):
            async for _ in pieces:
                pass


class SyncDownloader:
    """Downloads outputs with a thread pool over the client's pooled :class:`httpx.Client`."""

    def __init__(self, http: SyncHTTP) -> None:
        self._http = http

    def download(self, urls: Sequence[str], plan: OutputPlan, emit: Emitter) -> List[str]:
        planned = output_files(urls, plan)
        if not planned:
            return []
        planned = _prepare(planned)
        # Ctrl-C in the calling thread sets it (or a caller in another thread, through threads.CANCEL): workers
        # stop at their next piece, and one blocked in a read (a server that stalls) has its socket shut
        # down, instead of waiting for the read timeout.
        cancel = CANCEL.get() or Interrupt()

        def one(target: OutputFile) -> str:
            return self._one(target, emit, cancel)

        return run_pool(one, planned, plan.max_concurrency, cancel, "magic-hour-download")

    def _one(self, target: OutputFile, emit: Emitter, cancel: Interrupt) -> str:
        with self._http.transfers.attempt(cancel.event) as attempt:  # the client-wide bound on transfers
            attempt.start()  # before the temporary file: a download waiting for a slot leaves no trace
            return self._download(target, emit, cancel, attempt)

    def _download(self, target: OutputFile, emit: Emitter, cancel: Interrupt, attempt: ThreadAttempt) -> str:
        start = time.perf_counter()
        f, tmp = open_temporary(target)
        try:

            def perform(action: object) -> Any:
                if isinstance(action, Open):  # an attempt holds a slot from its GET to its body's end
                    attempt.start()
                    request = action.request
                    if request is None:
                        request = download_request(target, action.offset, self._http.config.timeout)
                    budget = budget_for(request)
                    with downloading(), attempt.ended_by_errors(), cancel.tracking(budget):
                        return self._http.send(
                            request, budget, stream=True, auth=None, follow_redirects=False
                        )
                with attempt.ended_after():
                    if isinstance(action, Write):
                        return self._write(target, f, action, emit, cancel)
                    assert isinstance(action, Discard)
                    action.response.close()
                    return None

            flow = download_flow(target.url, target.path, max_retries=self._http.config.max_retries)
            size = run_flow(flow, perform, wait=cancel.sleep)
            path = place(target, f, tmp)
        except BaseException:
            remove_temporary(f, tmp)
            raise
        _log_done(target, path, size, start)
        return path

    @staticmethod
    def _write(target: OutputFile, f: IO[bytes], action: Write, emit: Emitter, cancel: Interrupt) -> Written:
        response, buffer = action.response, WriteBuffer(target, action)
        pieces = body_pieces(response)
        # The connection the body comes through (httpcore's public network_stream), for Interrupt.
        reading = Budget(None, stream=response.extensions.get("network_stream"))
        error: Optional[Exception] = None
        try:
            with cancel.tracking(reading):
                _checked(rewind, target, f, action.offset)
                emit(buffer.event())
                decoder = BodyDecoder(response, target)
                try:
                    for raw in pieces:
                        for chunk in decoder.feed(raw):
                            if cancel.is_set():
                                raise Cancelled()
                            if buffer.add(chunk):
                                _checked(write_parts, target, f, buffer.take())
                                emit(buffer.event())
                    buffer.add(decoder.flush())
                except httpx.TransportError as exc:
                    error = type(exc)(scrub_text(str(exc)), request=request_of(response))
                if buffer.pending:  # what arrived before a drop is kept: the resume starts after it
                    _checked(write_parts, target, f, buffer.take())
                    emit(buffer.event())
        finally:
            pieces.close()
            response.close()
        return Written(buffer.count, error)


class AsyncDownloader:
    """Downloads outputs with anyio tasks over the client's pooled :class:`httpx.AsyncClient`.

    Disk writes run in worker threads, so the event loop never blocks on the disk (asyncio and trio).
    """

    def __init__(self, http: AsyncHTTP) -> None:
        self._http = http

    async def download(self, urls: Sequence[str], plan: OutputPlan, emit: Emitter) -> List[str]:
        planned = output_files(urls, plan)
        if not planned:
            return []
        planned = await anyio.to_thread.run_sync(_prepare, planned)
        paths = [t.path for t in planned]
        if len(planned) == 1 or plan.max_concurrency == 1:
            for target in planned:
                paths[target.index] = await self._one(target, emit)
            return paths
        limiter = anyio.CapacityLimiter(plan.max_concurrency)
        failure: List[BaseException] = []

        async def work(target: OutputFile, scope: anyio.CancelScope) -> None:
            async with limiter:
                try:
                    paths[target.index] = await self._one(target, emit)
                except Exception as exc:  # stop the others; raised as itself, not as an ExceptionGroup
                    failure.append(exc)
                    scope.cancel()

        async with anyio.create_task_group() as tg:
            for target in planned:
                tg.start_soon(work, target, tg.cancel_scope)
        if failure:
            raise failure[0]
        return paths

    async def _one(self, target: OutputFile, emit: Emitter) -> str:
        async with self._http.transfers.attempt() as attempt:  # the client-wide bound on transfers
            await attempt.start()  # before the temporary file: a download waiting for a slot leaves no trace
            return await self._download(target, emit, attempt)

    async def _download(self, target: OutputFile, emit: Emitter, attempt: TaskAttempt) -> str:
        start = time.perf_counter()
        f, tmp = await anyio.to_thread.run_sync(open_temporary, target)
        try:

            async def perform(action: object) -> Any:
                if isinstance(action, Open):  # an attempt holds a slot from its GET to its body's end
                    await attempt.start()
                    request = action.request
                    if request is None:
                        request = download_request(target, action.offset, self._http.config.timeout)
                    with downloading(), attempt.ended_by_errors():
                        return await self._http.send(request, stream=True, auth=None, follow_redirects=False)
                with attempt.ended_after():
                    if isinstance(action, Write):
                        return await self._write(target, f, action, emit)
                    assert isinstance(action, Discard)
                    with anyio.CancelScope(shield=True):
                        await action.response.aclose()
                    return None

            flow = download_flow(target.url, target.path, max_retries=self._http.config.max_retries)
            size = await arun_flow(flow, perform)
            path = await anyio.to_thread.run_sync(place, target, f, tmp)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(remove_temporary, f, tmp)
            raise
        _log_done(target, path, size, start)
        return path

    @staticmethod
    async def _write(target: OutputFile, f: IO[bytes], action: Write, emit: Emitter) -> Written:
        response, buffer = action.response, WriteBuffer(target, action)
        pieces = abody_pieces(response)
        behind = WriteBehind(functools.partial(_checked, write_parts, target, f), emit)
        error: Optional[Exception] = None
        failure: List[Exception] = []
        try:
            await anyio.to_thread.run_sync(_checked, rewind, target, f, action.offset)
            emit(buffer.event())
            decoder = BodyDecoder(response, target)
            async with anyio.create_task_group() as tg:
                try:
                    try:
                        async for raw in pieces:
                            for chunk in decoder.feed(raw):
                                if buffer.add(chunk):
                                    await behind.start(tg, buffer.take(), buffer.event())
                        buffer.add(decoder.flush())
                    except httpx.TransportError as exc:
                        error = type(exc)(scrub_text(str(exc)), request=request_of(response))
                    await behind.wait()
                except Exception as exc:  # raised below as itself, not in an ExceptionGroup
                    failure.append(exc)
            if failure:
                raise failure[0]
            if buffer.pending:  # what arrived before a drop is kept: the resume starts after it
                await anyio.to_thread.run_sync(_checked, write_parts, target, f, buffer.take())
                emit(buffer.event())
        finally:
            await _aclose(response, pieces)
        return Written(buffer.count, error)
