"""The body of one PUT attempt, sync and async: the file read a chunk at a time, with progress events.

Both check what the file really holds against the size announced in ``Content-Length``: a file that
grew (or that was empty when checked and has data now, like ``/proc`` files that stat as 0 bytes) is
refused before its last chunk goes out, so storage never keeps a truncated copy; one that shrank fails
when it runs out. Files are opened by the body itself, on its first chunk: only once the request has a
connection, so a batch never holds more open files than uploads in flight.
"""

from __future__ import annotations

import inspect
import threading
from typing import IO, Any, AsyncIterator, Awaitable, Callable, ContextManager, Generator, Iterator, Optional

import anyio
import httpx

from .._exceptions import InvalidFileError, InvalidParameterError
from .flow import CHUNK_SIZE, Put, UploadProgress
from .inputs import Source
from .threads import Cancelled

ProgressCallback = Callable[[UploadProgress], Any]


class CallbackError(Exception):
    """Carries an exception raised by the user's ``on_progress`` through the engine (an ``OSError``
    from it must not pass for a failure of the file); the engine re-raises ``.error`` itself."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(repr(error))
        self.error = error


def check_progress(on_progress: object, *, is_async: bool) -> None:
    if on_progress is None:
        return
    if not callable(on_progress):
        raise InvalidParameterError(
            "on_progress", on_progress, "a callable taking an UploadProgress event, or None"
        )
    if not is_async and is_coroutine_function(on_progress):
        raise InvalidParameterError(
            "on_progress",
            on_progress,
            "a plain function with Client (an async def callback needs AsyncClient, which awaits it)",
        )


def is_coroutine_function(fn: object) -> bool:
    call = type(fn).__call__ if not inspect.isfunction(fn) and not inspect.ismethod(fn) else None
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(call)


class Progress:
    """Calls the user's callback from one thread at a time; its exceptions become :class:`CallbackError`."""

    def __init__(self, callback: Optional[ProgressCallback]) -> None:
        self._callback = callback
        self._lock = threading.Lock()

    def emit(self, source: Source, sent: int) -> None:
        if self._callback is None:
            return
        with self._lock:
            try:
                result = self._callback(UploadProgress(source.index, source.name, sent, source.size))
            except BaseException as exc:
                if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                    raise
                raise CallbackError(exc) from exc
        if inspect.isawaitable(result):  # a sync client given a callable that returns a coroutine
            close = getattr(result, "close", None)
            if callable(close):
                close()
            raise CallbackError(
                InvalidParameterError("on_progress", self._callback, "a function that returns nothing")
            )

    async def aemit(self, source: Source, sent: int) -> None:
        """For the async engine: an ``async def`` callback is awaited."""
        if self._callback is None:
            return
        try:
            result = self._callback(UploadProgress(source.index, source.name, sent, source.size))
            if inspect.isawaitable(result):
                await result
        except BaseException as exc:
            if isinstance(exc, (KeyboardInterrupt, SystemExit, anyio.get_cancelled_exc_class())):
                raise
            raise CallbackError(exc) from exc


def put_request(put: Put, timeout: httpx.Timeout, content: Any) -> httpx.Request:
    # Built by hand: no Authorization, no API headers, the URL exactly as the API gave it, and an
    # explicit Content-Length so httpx does not fall back to a chunked body (pre-signed PUTs refuse it).
    # Sent with follow_redirects=False even through a lent client that follows them: a pre-signed URL
    # does not redirect, and a streamed body could not be sent again to the new location.
    stream = content if isinstance(content, (httpx.AsyncByteStream, httpx.SyncByteStream)) else None
    request = httpx.Request(
        "PUT",
        put.target.url or put.target.upload_url,
        headers={"Content-Length": str(put.source.size)},
        content=None if stream is not None else content,
        extensions={"timeout": timeout.as_dict()},
    )
    if stream is not None:  # our own stream, used as is (Request(stream=...) would skip the Host header)
        request.stream = stream
    return request


def grew(source: Source) -> InvalidFileError:
    """The file has more bytes than announced."""
    return InvalidFileError(
        "file",
        source.name,
        "a file that does not change while it is uploaded (and whose size is known: not a /proc file)",
        reason=f"it was {source.size} bytes when checked and has more now",
    )


def short_read(source: Source, sent: int) -> InvalidFileError:
    return InvalidFileError(
        "file",
        source.name,
        "a file that does not shrink while it is uploaded",
        reason=f"it ended after {sent} of {source.size} bytes",
    )


def sync_chunks(
    open_: Callable[[], ContextManager[IO[bytes]]],
    source: Source,
    progress: Progress,
    cancel: threading.Event,
) -> Generator[bytes, None, None]:
    """The body of a sync PUT: ``source.size`` bytes of the file (opened on the first chunk, once the
    request has a connection), then a check that nothing follows.

    Between two chunks it yields an empty one, which puts nothing on the wire: httpx and httpcore keep
    the chunk just sent alive until the next arrives, and the empty one frees it before the next read, so
    an upload thread holds one chunk, not two. The chunks stay ``bytes`` read whole: h11 sends ``bytes``
    as is and copies anything else (a reused ``bytearray`` would cost a new chunk and a copy).
    """
    sent = 0
    with open_() as f:
        while sent < source.size:
            if cancel.is_set():
                raise Cancelled()
            chunk = read_chunk(source, f, min(CHUNK_SIZE, source.size - sent))
            if not chunk:
                raise short_read(source, sent)
            sent += len(chunk)
            if sent == source.size:
                check_end(source, read_chunk(source, f, 1))  # before the last chunk goes out
            yield chunk
            del chunk
            progress.emit(source, sent)
            if sent < source.size:  # not after the last chunk: a one-chunk file costs no extra step
                yield b""


class SyncBody(httpx.SyncByteStream):
    """A sync PUT's body (:func:`sync_chunks`) handed to httpx as the request's stream, as is: httpx
    would wrap a generator given as ``content`` after probing it for a file length (two exceptions
    raised and caught per request). Iterated once, like httpx's own iterator streams."""

    def __init__(self, chunks: Generator[bytes, None, None]) -> None:
        self._chunks: Optional[Generator[bytes, None, None]] = chunks
        self._close = chunks.close

    def __iter__(self) -> Iterator[bytes]:
        chunks, self._chunks = self._chunks, None
        if chunks is None:
            raise httpx.StreamConsumed()
        return chunks

    def close(self) -> None:
        self._close()


def read_chunk(source: Source, f: IO[bytes], n: int) -> bytes:
    """``f.read(n)``: ``bytes``, at most ``n`` of them, or the :class:`InvalidFileError` saying what the
    file object did instead. A caller's object was probed when checked (``inputs._probe``), but its
    ``read`` may still return ``str``, ``None`` or too much later, or raise anything: left alone, httpx
    would fail with a ``TypeError`` mid-request, or the transport would take the exception for a
    connection failure and retry it. An ``OSError`` stays one (the engine reports it for the file)."""
    if source.path is not None:  # our own open(..., "rb")
        return f.read(n)
    try:
        data: object = f.read(n)
    except OSError:
        raise
    except Exception as exc:
        raise InvalidFileError(
            "file",
            source.name,
            "a binary file object whose read(size) returns bytes",
            reason=f"read({n}) raised {type(exc).__name__}: {exc}",
        ) from exc
    if type(data) is bytes and len(data) <= n:
        return data
    if isinstance(data, (bytes, bytearray, memoryview)):
        data = bytes(data)  # h11 would copy it anyway
        if len(data) <= n:
            return data
        reason = f"read({n}) returned {len(data)} bytes"
    elif isinstance(data, str):
        reason = "it is in text mode: its read() returns str"
    else:
        reason = f"read({n}) returned {type(data).__name__}" + (
            " (a non-blocking stream with nothing to read?)" if data is None else ""
        )
    allowed = (
        "a file opened in binary mode ('rb')"
        if isinstance(data, str)
        else "a binary file object whose read(size) returns at most size bytes"
    )
    raise InvalidFileError("file", source.name, allowed, reason=reason)


def check_end(source: Source, extra: bytes) -> None:
    """``extra`` is what one more read returned after ``source.size`` bytes: it must be nothing. (Empty
    files are probed this way before their request is sent: a 0-byte body is complete at once.)"""
    if extra:
        raise grew(source)


class StreamedBody(httpx.AsyncByteStream):
    """The body of one async PUT attempt: the file, ``CHUNK_SIZE`` bytes at a time, with progress events.

    An iterator class handed to httpx as the request's stream, not an async generator: when an upload
    is cancelled mid-body, an async generator (ours, or the one httpx wraps around any other iterable)
    is left unfinished for the garbage collector, which trio reports as a ResourceWarning. ``open``
    gives the read function on the first chunk; ``close`` (if given) runs once the whole body is sent.
    """

    def __init__(
        self,
        open_: Callable[[], Awaitable[Callable[[int], Awaitable[bytes]]]],
        source: Source,
        progress: Progress,
        close: Optional[Callable[[], Awaitable[None]]] = None,
    ) -> None:
        self._open = open_
        self._close = close
        self._read: Optional[Callable[[int], Awaitable[bytes]]] = None
        self._source = source
        self._progress = progress
        self._sent = 0
        self._unreported = False

    def __aiter__(self) -> AsyncIterator[bytes]:  # pyright: ignore[reportIncompatibleMethodOverride]
        return self

    async def __anext__(self) -> bytes:
        source = self._source
        if self._read is None:
            self._read = await self._open()
        if self._unreported:  # the previous chunk has been taken by the connection
            await self._progress.aemit(source, self._sent)
            self._unreported = False
        if self._sent >= source.size:
            if self._close is not None:  # the file is not needed for the answer: free it now
                await self._close()
            raise StopAsyncIteration
        chunk = await self._read(min(CHUNK_SIZE, source.size - self._sent))
        if not chunk:
            raise short_read(source, self._sent)
        self._sent += len(chunk)
        if self._sent == source.size:
            check_end(source, await self._read(1))  # before the last chunk goes out
        self._unreported = True
        return chunk
