"""The network streams of the pools the SDK owns (``_core/asyncio_net.py`` under asyncio).

Under asyncio the SDK's own pool connects through asyncio's public transport API rather than anyio's
streams: it keeps reading while a body is written (a storage's early answer is kept), stops writing
once the server has answered, and tells httpcore's pool from its own state whether an idle connection
was closed by the server. The behaviour it serves: a keep-alive connection the server closed while idle
is noticed and replaced, sync and async, on a real socket.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any, Dict, Iterator, Optional

import httpcore
import pytest

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
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
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
