"""The network backend of the SDK's own async pools under asyncio: sockets through asyncio's public
transport and protocol API (``loop.create_connection``, ``loop.start_tls``), behind httpcore's public
``AsyncNetworkBackend`` interface.

Why not httpcore's default (anyio's streams): anyio stops reading a socket between two receives. A
storage that refuses an upload answers early ("403 expired", "413") and closes while the body is still
being written. Written into while reading is stopped, the answer waits in the kernel, the next write
fails, asyncio closes the socket, and the answer is lost: a connection error (and a retry of what will
fail again) instead of the storage's reason. This protocol keeps reading while writing (up to a bound),
and stops writing once the server has answered (RFC 9112 9.5: a client that sees an early answer stops
sending the body), so httpcore, which reads the response after a failed write, finds it. One window is
left to close: an answer and the reset behind it that arrive after the loop last looked at the socket and
before the next write. That write fails, asyncio stops reading and closes the socket, with the answer
still in the kernel; so the protocol reads what the kernel holds when the connection is lost to an error
(asyncio closes the socket only after ``connection_lost`` returns). Through TLS, asyncio's TLS layer
hands the loss on only after the socket is closed, so the socket's protocol (the TLS layer) is wrapped
to give it what the kernel still holds first, through its public protocol methods. Under trio the SDK
uses httpcore's trio backend: a trio socket keeps unread data in the kernel.
"""

from __future__ import annotations

import asyncio
import os
import select
import socket
import ssl
import sys
from collections import deque
from typing import Any, Deque, Iterable, List, Optional, Tuple

import httpcore

_HIGH = 64 * 1024
"""Bytes read ahead of httpcore (which reads 64 KiB at a time) before reading pauses: a download's
back-pressure: little more is held than anyio's streams hold (they pause after every receive)."""


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: Any = None
        self.chunks: Deque[bytes] = deque()
        self.size = 0
        self.eof = False
        self.lost = False
        self.error: Optional[BaseException] = None
        self.tls = False  # the transport is asyncio's TLS layer: the socket under it carries ciphertext
        self.paused = False  # reading paused: more than _HIGH bytes unread
        self.reader: Optional[asyncio.Future[None]] = None  # a read waiting for data
        self.writer: Optional[asyncio.Future[None]] = None  # a write waiting for the buffer to drain

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.chunks.append(bytes(data))
        self.size += len(data)
        if self.size > _HIGH and not self.paused:
            self.paused = True
            self.transport.pause_reading()
        self._wake_reader()

    def eof_received(self) -> Optional[bool]:
        self.eof = True
        self._wake_reader()
        return None  # the transport closes itself: nothing more is written once the server is done

    def connection_lost(self, exc: Optional[Exception]) -> None:
        if exc is not None and not self.tls and not self.paused and self.transport is not None:
            self._drain()
        self.lost = True
        self.error = exc
        self._wake_reader()
        self._wake_writer()

    def _drain(self) -> None:
        found, ended = _left_in_kernel(self.transport, _HIGH - self.size + 1)
        self.eof = self.eof or ended
        self.chunks.extend(found)
        self.size += sum(map(len, found))

    def pause_writing(self) -> None:
        if self.writer is None or self.writer.done():
            self.writer = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        self._wake_writer()

    def _wake_reader(self) -> None:
        fut, self.reader = self.reader, None
        if fut is not None and not fut.done():
            fut.set_result(None)

    def _wake_writer(self) -> None:
        fut, self.writer = self.writer, None
        if fut is not None and not fut.done():
            fut.set_result(None)

    def take(self, max_bytes: int) -> bytes:
        chunk = self.chunks.popleft()
        if len(chunk) > max_bytes:
            self.chunks.appendleft(chunk[max_bytes:])
            chunk = chunk[:max_bytes]
        self.size -= len(chunk)
        if self.paused and self.size <= _HIGH // 2 and not self.lost:
            self.paused = False
            self.transport.resume_reading()
        return chunk


def _left_in_kernel(transport: Any, limit: int) -> Tuple[List[bytes], bool]:
    """What the kernel still holds of a socket asyncio gave up on (a write failed with the reset that
    followed an early answer, before the loop's read of that answer ran), up to about ``limit`` bytes,
    and whether the stream ended: read through a duplicate of its descriptor, as asyncio no longer
    reads it and closes it once ``connection_lost`` returns."""
    sock = transport.get_extra_info("socket")
    if sock is None or sock.fileno() < 0:
        return [], False
    try:
        dup = socket.socket(sock.family, sock.type, sock.proto, fileno=os.dup(sock.fileno()))
    except OSError:
        return [], False
    found: List[bytes] = []
    with dup:
        dup.setblocking(False)
        while limit > 0:
            try:
                data = dup.recv(65536)
            except OSError:  # nothing more (EAGAIN), or the reset once the data is read
                break
            if not data:
                return found, True
            found.append(data)
            limit -= len(data)
    return found, False


class _Drained(asyncio.BufferedProtocol):
    """Stands between a socket and asyncio's TLS layer (its protocol after ``loop.start_tls``): passes
    everything on, and on a loss with an error first hands the TLS layer what the kernel still holds,
    which it decrypts to our protocol at once. Through the public protocol interface only (the TLS
    layer is a buffered protocol from Python 3.11, a plain one before)."""

    def __init__(self, inner: Any, transport: Any, app: _Protocol) -> None:
        self._inner = inner
        self._transport = transport
        self._app = app
        self._scratch = bytearray()  # the read buffer a plain (pre-3.11) TLS layer's data is read into

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._inner.connection_made(transport)

    def get_buffer(self, sizehint: int) -> Any:
        if isinstance(self._inner, asyncio.BufferedProtocol):
            return self._inner.get_buffer(sizehint)
        if len(self._scratch) < max(sizehint, 65536):
            self._scratch = bytearray(max(sizehint, 65536))
        return self._scratch

    def buffer_updated(self, nbytes: int) -> None:
        if isinstance(self._inner, asyncio.BufferedProtocol):
            self._inner.buffer_updated(nbytes)
        else:
            self._inner.data_received(bytes(self._scratch[:nbytes]))

    def _feed(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            if isinstance(self._inner, asyncio.BufferedProtocol):
                buffer = memoryview(self._inner.get_buffer(len(view))).cast("B")
                n = min(len(buffer), len(view))
                buffer[:n] = view[:n]
                self._inner.buffer_updated(n)
            else:
                n = len(view)
                self._inner.data_received(bytes(view))
            view = view[n:]

    def eof_received(self) -> Optional[bool]:
        return self._inner.eof_received()  # type: ignore[no-any-return]

    def connection_lost(self, exc: Optional[Exception]) -> None:
        if exc is not None and not self._app.paused:
            found, _ = _left_in_kernel(self._transport, _HIGH - self._app.size + 1)
            try:
                for data in found:
                    self._feed(data)
            except Exception:  # what the TLS layer cannot take: the loss is reported as it was
                pass
        self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


def _expire(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_exception(TimeoutError())


_TIMEOUTS = (TimeoutError, asyncio.TimeoutError)  # distinct classes before Python 3.11


async def _wait(fut: asyncio.Future[None], timeout: Optional[float]) -> None:
    """Waits for ``fut`` at most ``timeout`` seconds (``TimeoutError``), with one timer and no task."""
    if timeout is None:
        await fut
        return
    if timeout <= 0:
        raise TimeoutError()
    handle = asyncio.get_running_loop().call_later(timeout, _expire, fut)
    try:
        await fut
    finally:
        handle.cancel()


async def _within(coro: Any, timeout: Optional[float]) -> Any:
    if timeout is not None and timeout <= 0:
        coro.close()
        raise TimeoutError()
    if timeout is None:
        return await coro
    return await asyncio.wait_for(coro, timeout)


def _readable(sock: Any) -> bool:
    """httpcore's readability check of an idle pooled socket (data or the end waiting; closed counts)."""
    fd = sock.fileno()
    if fd < 0:
        return True
    if sys.platform == "win32" or getattr(select, "poll", None) is None:
        return bool(select.select([fd], [], [], 0)[0])
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


class AioStream(httpcore.AsyncNetworkStream):
    """One connection: reads from what the protocol has taken in, writes through the transport."""

    def __init__(self, transport: Any, protocol: _Protocol) -> None:
        self._transport = transport
        self._protocol = protocol

    async def read(self, max_bytes: int, timeout: Optional[float] = None) -> bytes:
        protocol = self._protocol
        while not protocol.chunks:
            if protocol.eof or protocol.lost:
                if protocol.error is not None and not protocol.eof:
                    raise httpcore.ReadError(str(protocol.error) or type(protocol.error).__name__)
                return b""
            fut = protocol.reader = asyncio.get_running_loop().create_future()
            try:
                await _wait(fut, timeout)
            except _TIMEOUTS:
                raise httpcore.ReadTimeout("timed out reading the response") from None
        return protocol.take(max_bytes)

    async def write(self, buffer: bytes, timeout: Optional[float] = None) -> None:
        if not buffer:
            return
        protocol = self._protocol
        if protocol.chunks or protocol.eof:
            # The server answered (or closed) before the request was sent: stop sending; httpcore
            # reads the answer next.
            raise httpcore.WriteError("the server answered before the request was sent")
        if protocol.lost or self._transport.is_closing():
            raise httpcore.WriteError(str(protocol.error or "the connection is closed"))
        self._transport.write(buffer)
        fut = protocol.writer  # set while the kernel has not taken all of it
        if fut is not None and not protocol.lost:
            try:
                await _wait(fut, timeout)
            except _TIMEOUTS:
                raise httpcore.WriteTimeout("timed out sending the request") from None
        else:
            # A checkpoint, as anyio's streams have: a cancellation requested mid-body stops the body at
            # the next chunk even when the kernel takes every chunk at once (a fast local server).
            await asyncio.sleep(0)
        if protocol.lost and protocol.error is not None:
            raise httpcore.WriteError(str(protocol.error))

    async def aclose(self) -> None:
        # As httpcore's other backends: no graceful TLS shutdown, nothing unsent kept (a cancelled
        # upload's rest); asyncio closes the socket in the loop's next step, which this waits for.
        self._transport.abort()
        await asyncio.sleep(0)

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            transport = await _within(
                loop.start_tls(self._transport, self._protocol, ssl_context, server_hostname=server_hostname),
                timeout,
            )
        except _TIMEOUTS:
            self._transport.abort()
            raise httpcore.ConnectTimeout("timed out during the TLS handshake") from None
        except (OSError, ssl.SSLError, ConnectionError) as exc:
            self._transport.abort()
            raise httpcore.ConnectError(str(exc)) from exc
        if transport is None:  # the connection was lost during the handshake
            raise httpcore.ConnectError("the connection closed during the TLS handshake")
        self._protocol.transport = transport
        self._protocol.tls = True
        raw = self._transport
        raw.set_protocol(_Drained(raw.get_protocol(), raw, self._protocol))
        # (The TLS transport keeps its own write limits: asyncio's TLS layer pauses at a buffer ">=" its
        # high-water mark, so a limit of 0 would pause every write until the next answer arrives. The
        # socket under it keeps the limit of 0 set at connect.)
        await _handed_over(transport)
        return AioStream(transport, self._protocol)

    def get_extra_info(self, info: str) -> Any:
        transport = self._transport
        if info == "ssl_object":
            return transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return transport.get_extra_info("sockname")
        if info == "server_addr":
            return transport.get_extra_info("peername")
        if info == "socket":
            return transport.get_extra_info("socket")
        if info == "is_readable":
            protocol = self._protocol
            if protocol.chunks or protocol.eof or protocol.lost:
                return True
            sock = transport.get_extra_info("socket")
            return sock is None or _readable(sock)
        return None


class AioBackend(httpcore.AsyncNetworkBackend):
    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: Optional[float] = None,
        local_address: Optional[str] = None,
        socket_options: Optional[Iterable[Any]] = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        local = None if local_address is None else (local_address, 0)
        try:
            transport, protocol = await _within(
                # No happy_eyeballs_delay: asyncio's staggered race leaks a connection that completes
                # while the connecting task is cancelled (tests/test_cancellation.py::test_cancel_mid_body).
                loop.create_connection(_Protocol, host, port, local_addr=local),
                timeout,
            )
        except _TIMEOUTS:
            raise httpcore.ConnectTimeout(f"timed out connecting to {host}:{port}") from None
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        await _handed_over(transport)
        return _ready(transport, protocol, socket_options)

    async def connect_unix_socket(
        self, path: str, timeout: Optional[float] = None, socket_options: Optional[Iterable[Any]] = None
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            transport, protocol = await _within(loop.create_unix_connection(_Protocol, path), timeout)
        except _TIMEOUTS:
            raise httpcore.ConnectTimeout(f"timed out connecting to {path}") from None
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        await _handed_over(transport)
        return _ready(transport, protocol, socket_options)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


async def _handed_over(transport: Any) -> None:
    """A checkpoint before httpcore takes a new connection: a cancellation that arrived while it was being
    made is raised here, inside httpcore's connect, which then counts the connection failed. Raised later
    (at httpcore's first await after the connect), it would leave a connection that never carries a
    request and is never closed in the pool (anyio's streams have such a checkpoint of their own)."""
    try:
        await asyncio.sleep(0)
    except BaseException:
        transport.abort()
        raise


def _ready(transport: Any, protocol: _Protocol, socket_options: Optional[Iterable[Any]]) -> AioStream:
    sock: Optional[socket.socket] = transport.get_extra_info("socket")
    for option in socket_options or ():
        if sock is not None:
            sock.setsockopt(*option)
    # Like anyio's streams: a write returns once the kernel has taken all of it (back-pressure, and no
    # second copy of a large chunk held in asyncio's buffer).
    transport.set_write_buffer_limits(0)
    return AioStream(transport, protocol)
