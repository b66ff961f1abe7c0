"""The I/O shell of downloads: a sync driver (threads) and an async driver (anyio tasks).

Both run the pure :func:`~magic_hour._jobs.download_flow.download_flow` per output; they differ only in
how bytes reach the disk (directly vs in worker threads, so the event loop never blocks) and how outputs
run concurrently.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from typing import IO, TYPE_CHECKING, Any, AsyncGenerator, Callable, List, Optional, Sequence

import anyio
import anyio.to_thread
import httpx

from .._core.deadline import Budget, budget_for
from .._core.flows import arun_flow, run_flow
from .._core.transfers import TaskAttempt, ThreadAttempt
from .._redact import request_of
from .._upload.threads import Cancelled, Interrupt
from .decoding import BodyDecoder, abody_pieces, body_pieces
from .download_flow import Discard, Open, Write, Written, download_flow
from .events import Emitter
from .files import (
    Target,
    WriteBuffer,
    claim,
    discard,
    downloading,
    finish,
    get_request,
    make_directory,
    open_temporary,
    rewind,
    scrub,
    targets,
    write_error,
    write_parts,
)
from .names import Plan
from .threads import run_threads
from .writebehind import WriteBehind

if TYPE_CHECKING:
    from .._core.transport import AsyncHTTP, SyncHTTP

logger = logging.getLogger("magic_hour")


def _checked(operation: Callable[..., object], target: Target, *args: Any) -> None:
    """A file operation whose OSError becomes a :class:`DownloadWriteError` (disk full, ...)."""
    try:
        operation(*args)
    except OSError as exc:
        raise write_error(target, exc, "write") from None


def _log_done(target: Target, path: str, size: int, start: float) -> None:
    logger.info(
        "%s: downloaded %d bytes in %.2fs to %s", target.shown, size, time.perf_counter() - start, path
    )


def _prepare(planned: List[Target]) -> List[Target]:
    """The directory made, and the targets under free names (:func:`~.files.claim`)."""
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

    def download(self, urls: Sequence[str], plan: Plan, emit: Emitter) -> List[str]:
        planned = targets(urls, plan.directory, plan.names, exact=plan.exact, overwrite=plan.overwrite)
        if not planned:
            return []
        planned = _prepare(planned)
        paths = [t.path for t in planned]
        # Ctrl-C in the calling thread sets it: workers stop at their next piece, and one blocked in a read
        # (a server that stalls) has its socket shut down, instead of waiting for the read timeout.
        cancel = Interrupt()

        def one(target: Target) -> None:
            paths[target.index] = self._one(target, emit, cancel)

        if len(planned) == 1 or plan.max_concurrency == 1:
            for target in planned:
                one(target)
        else:
            jobs = [functools.partial(one, t) for t in planned]
            run_threads(jobs, min(plan.max_concurrency, len(planned)), cancel)
        return paths

    def _one(self, target: Target, emit: Emitter, cancel: Interrupt) -> str:
        with self._http.transfers.attempt(cancel.event) as attempt:  # the client-wide bound on transfers
            attempt.start()  # before the temporary file: a download waiting for a slot leaves no trace
            return self._download(target, emit, cancel, attempt)

    def _download(self, target: Target, emit: Emitter, cancel: Interrupt, attempt: ThreadAttempt) -> str:
        start = time.perf_counter()
        f, tmp = open_temporary(target)
        try:

            def perform(action: object) -> Any:
                if isinstance(action, Open):  # an attempt holds a slot from its GET to its body's end
                    attempt.start()
                    request = action.request
                    if request is None:
                        request = get_request(target, action.offset, self._http.config.timeout)
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
            path = finish(target, f, tmp)
        except BaseException:
            discard(f, tmp)
            raise
        _log_done(target, path, size, start)
        return path

    @staticmethod
    def _write(target: Target, f: IO[bytes], action: Write, emit: Emitter, cancel: Interrupt) -> Written:
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
                    error = type(exc)(scrub(str(exc)), request=request_of(response))
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

    async def download(self, urls: Sequence[str], plan: Plan, emit: Emitter) -> List[str]:
        planned = targets(urls, plan.directory, plan.names, exact=plan.exact, overwrite=plan.overwrite)
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

        async def work(target: Target, scope: anyio.CancelScope) -> None:
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

    async def _one(self, target: Target, emit: Emitter) -> str:
        async with self._http.transfers.attempt() as attempt:  # the client-wide bound on transfers
            await attempt.start()  # before the temporary file: a download waiting for a slot leaves no trace
            return await self._download(target, emit, attempt)

    async def _download(self, target: Target, emit: Emitter, attempt: TaskAttempt) -> str:
        start = time.perf_counter()
        f, tmp = await anyio.to_thread.run_sync(open_temporary, target)
        try:

            async def perform(action: object) -> Any:
                if isinstance(action, Open):  # an attempt holds a slot from its GET to its body's end
                    await attempt.start()
                    request = action.request
                    if request is None:
                        request = get_request(target, action.offset, self._http.config.timeout)
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
            path = await anyio.to_thread.run_sync(finish, target, f, tmp)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(discard, f, tmp)
            raise
        _log_done(target, path, size, start)
        return path

    @staticmethod
    async def _write(target: Target, f: IO[bytes], action: Write, emit: Emitter) -> Written:
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
                        error = type(exc)(scrub(str(exc)), request=request_of(response))
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
