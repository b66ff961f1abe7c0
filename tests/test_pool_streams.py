"""The network streams of the pools the SDK owns (``_core/asyncio_net.py`` under asyncio).

Under asyncio the SDK's own pool connects through asyncio's public transport API rather than anyio's
streams: it keeps reading while a body is written (a storage's early answer is kept), stops writing
once the server has answered, and tells httpcore's pool from its own state whether an idle connection
was closed by the server. The behaviour it serves: a keep-alive connection the server closed while idle
is noticed and replaced, sync and async, on a real socket.

Over any network backend, the SDK's streams (``_core/deadline.py``) send a request's head with a small
body in one write, and keep what httpcore does when a write fails (the answer is read).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any, AsyncIterator, Callable, Dict, Iterator, List, Optional

import httpcore
import pytest
from _servers import recv_head

from magic_hour._core.asyncio_net import AioBackend

pytestmark = pytest.mark.anyio


@pytest.fixture
def peer() -> Iterator[socket.socket]:
    """A listening socket on 127.0.0.1: the test accepts the stream's connection and plays the server."""
    listener = socket.create_server(("127.0.0.1", 0))
    with listener:
        yield listener


async def _accept(listener: socket.socket) -> socket.socket:
    conn, _ = await asyncio.get_running_loop().run_in_executor(None, listener.accept)
    return conn


async def _write(stream: Any, times: int, size: int, *, timeout: float) -> None:
    for _ in range(times):
        await stream.write(b"x" * size, timeout=timeout)


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_readability_is_the_streams_own_state_and_the_socket(peer: socket.socket) -> None:
    stream = await AioBackend().connect_tcp("127.0.0.1", peer.getsockname()[1], timeout=5)
    conn = await _accept(peer)
    try:
        assert stream.get_extra_info("is_readable") is False
        assert stream.get_extra_info("server_addr") == peer.getsockname()
        conn.sendall(b"x")
        assert stream.get_extra_info("is_readable") is True  # in the kernel, or taken in already
        assert await stream.read(10, timeout=5) == b"x"
        conn.close()  # the server hung up: readable (the next read returns b"")
        await asyncio.sleep(0.05)
        assert stream.get_extra_info("is_readable") is True
        assert await stream.read(10, timeout=5) == b""
    finally:
        await stream.aclose()


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_an_early_answer_stops_the_writes_and_is_read(peer: socket.socket) -> None:
    """A storage that answers (and closes) before the body is sent: the next write raises WriteError
    (httpcore then reads the response) and the answer is there, even after the server closed."""
    stream = await AioBackend().connect_tcp("127.0.0.1", peer.getsockname()[1], timeout=5)
    conn = await _accept(peer)
    answer = b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    try:
        await stream.write(b"PUT / HTTP/1.1\r\nContent-Length: 100000000\r\n\r\n", timeout=5)
        conn.sendall(answer)
        conn.close()  # with the body unread: the kernel answers our next writes with a reset
        await asyncio.sleep(0.05)
        with pytest.raises(httpcore.WriteError):
            await _write(stream, 100, 65536, timeout=5)
        assert await stream.read(65536, timeout=5) == answer
    finally:
        await stream.aclose()


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_reads_and_writes_time_out(peer: socket.socket) -> None:
    stream = await AioBackend().connect_tcp("127.0.0.1", peer.getsockname()[1], timeout=5)
    conn = await _accept(peer)
    try:
        with pytest.raises(httpcore.ReadTimeout):
            await stream.read(10, timeout=0.05)
        with pytest.raises(httpcore.WriteTimeout):  # the peer reads nothing: the buffers fill up
            await _write(stream, 10_000, 1024 * 1024, timeout=0.1)
    finally:
        await stream.aclose()
        conn.close()


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_refused_connection_is_a_connect_error() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()
    with pytest.raises(httpcore.ConnectError):
        await AioBackend().connect_tcp("127.0.0.1", port, timeout=5)


BODY = b'{"items":[{"upload_url":"https://storage.test/a?sig=1","expires_at":"2030-01-01T00:00:00Z","file_path":"api-assets/a.png"}]}'


@pytest.fixture
def closing_server() -> Iterator[Dict[str, Any]]:
    """Answers one request per connection (keep-alive announced), then closes that connection while
    it is idle in the client's pool."""
    listener = socket.create_server(("127.0.0.1", 0))
    state: Dict[str, Any] = {"url": f"http://127.0.0.1:{listener.getsockname()[1]}", "connections": 0}
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            state["connections"] += 1
            with conn:
                data = recv_head(conn)
                length = 0
                for line in data.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = data.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in data else b""
                while len(body) < length:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    body += chunk
                head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(BODY)}\r\n"
                conn.sendall(head.encode() + b"Connection: keep-alive\r\n\r\n" + BODY)
                time.sleep(0.05)  # then close it, idle in the client's pool

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        stop.set()
        thread.join()
        listener.close()


@pytest.mark.full  # real sleeps
async def test_a_connection_the_server_closed_while_idle_is_replaced(
    sdk: Any, closing_server: Dict[str, Any]
) -> None:
    client = sdk.client(base_url=closing_server["url"], max_retries=0)
    items = [{"extension": "png", "type_": "image"}]
    last: Optional[Any] = None
    for _ in range(3):
        last = await sdk.call(client.v1.files.upload_urls.create, items=items)
        time.sleep(0.5)  # the server closes the connection meanwhile (0.05 s after answering; room for load)
    assert last is not None and last.items[0].file_path == "api-assets/a.png"
    assert closing_server["connections"] == 3


# ------------------------------------------------------- a request's head and a small body, one write


class _Recording(httpcore.NetworkStream, httpcore.AsyncNetworkStream):  # type: ignore[misc]
    """A connection that records every write reaching the socket layer and answers ``answer``; with
    ``refuse_writes`` every write fails as one to a server that answered early and closed."""

    def __init__(self, answer: bytes, refuse_writes: bool = False) -> None:
        self.writes: List[bytes] = []
        self.answer = [answer]
        self.refuse_writes = refuse_writes
        self.on_connect: Callable[[], None] = lambda: None

    def read(self, max_bytes: int, timeout: Optional[float] = None) -> bytes:
        return self.answer.pop(0) if self.answer else b""

    def write(self, buffer: bytes, timeout: Optional[float] = None) -> None:
        if self.refuse_writes:
            raise httpcore.WriteError("the server closed the connection")
        self.writes.append(bytes(buffer))

    def close(self) -> None:
        pass

    def get_extra_info(self, info: str) -> Any:
        return None


class _AsyncRecording(httpcore.AsyncNetworkStream):
    def __init__(self, sync: _Recording) -> None:
        self.sync = sync

    async def read(self, max_bytes: int, timeout: Optional[float] = None) -> bytes:
        return self.sync.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: Optional[float] = None) -> None:
        self.sync.write(buffer, timeout)

    async def aclose(self) -> None:
        pass

    def get_extra_info(self, info: str) -> Any:
        return None


class _To(httpcore.NetworkBackend, httpcore.AsyncNetworkBackend):  # type: ignore[misc]
    def __init__(self, stream: _Recording, is_async: bool) -> None:
        self.stream = stream
        self.is_async = is_async

    def connect_tcp(self, *args: Any, **kwargs: Any) -> Any:
        return self._connected()

    def _connected(self) -> Any:
        self.stream.on_connect()
        return _AsyncRecording(self.stream) if self.is_async else self.stream


async def _put(
    is_async: bool, stream: _Recording, content: List[bytes], first: Callable[[], None] = lambda: None
) -> httpcore.Response:
    """A PUT through an httpcore pool over the SDK's network backend (``_core/deadline.py``); ``first``
    runs when the pool asks for the body's first piece."""
    from magic_hour._core.deadline import AsyncBackend, Backend

    headers = {"Host": "storage.example", "Content-Length": str(sum(len(c) for c in content))}

    def body() -> Iterator[bytes]:
        first()
        yield from content

    if not is_async:
        pool = httpcore.ConnectionPool(network_backend=Backend(_To(stream, False)))
        return pool.request("PUT", "http://storage.example/a", headers=headers, content=body())

    class Connect(_To):
        async def connect_tcp(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
            return self._connected()

    async def abody() -> AsyncIterator[bytes]:
        for chunk in body():
            yield chunk

    apool = httpcore.AsyncConnectionPool(network_backend=AsyncBackend(Connect(stream, True)))
    return await apool.request("PUT", "http://storage.example/a", headers=headers, content=abody())


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
async def test_a_request_head_goes_out_with_a_small_body_in_one_write(is_async: bool) -> None:
    stream = _Recording(OK)
    response = await _put(is_async, stream, [b"x" * 10240])
    assert response.status == 200
    [write] = stream.writes
    assert write.startswith(b"PUT /a HTTP/1.1\r\n") and write.endswith(b"\r\n\r\n" + b"x" * 10240)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
async def test_a_large_body_is_not_copied_to_join_the_head(is_async: bool) -> None:
    stream = _Recording(OK)
    big = [b"a" * (1 << 20), b"b" * (1 << 20), b"c" * 100]
    await _put(is_async, stream, big)
    head, *body = stream.writes
    assert head.startswith(b"PUT /a HTTP/1.1\r\n") and head.endswith(b"\r\n\r\n")
    assert body == big  # each piece as it came; the small last one before the answer is read


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
async def test_an_early_answer_is_read_when_the_joined_write_fails(is_async: bool) -> None:
    """A server that refused the request and closed: the failed write is left for the answer to be read
    (httpcore's behaviour for a write that fails), whether the head went alone (no body) or joined."""
    refused = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 7\r\n\r\nexpired"
    for content in ([b"x" * 100], []):
        response = await _put(is_async, _Recording(refused, refuse_writes=True), content)
        assert response.status == 403 and response.content == b"expired"


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
async def test_a_held_head_already_names_the_stream_and_keeps_the_deadline(is_async: bool) -> None:
    """The head waits for the body, but the attempt's stream is known at once (a Ctrl-C shuts its socket
    down while the body is read) and an expired deadline fails it as a write would."""
    from magic_hour._core.deadline import CURRENT, Budget

    budget = Budget(None)
    stream = _Recording(OK)
    seen: List[Any] = []
    token = CURRENT.set(budget)
    try:
        await _put(is_async, stream, [b"x" * 10], lambda: seen.append(budget.stream))
        assert len(seen) == 1 and seen[0] is not None  # the stream under the SDK's wrapper
        if not is_async:
            assert seen == [stream]
        late = Budget(None, call_deadline=time.monotonic() + 60)
        CURRENT.set(late)
        stream = _Recording(OK)
        stream.on_connect = lambda: setattr(late, "call_deadline", time.monotonic() - 1)  # just in time
        with pytest.raises(httpcore.WriteTimeout):
            await _put(
                is_async, stream, [b"x" * 10], lambda: pytest.fail("the head was held past its deadline")
            )
    finally:
        CURRENT.reset(token)
