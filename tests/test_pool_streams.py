"""The network streams of the pools the SDK owns (``_core/deadline.py``): the socket is looked up once.

httpcore asks every pooled connection whether its socket is readable at every request (to drop the
connections the server closed), and anyio's answer is dear; the async stream wrapper keeps the socket
and polls it itself. The behaviour it serves
must not change: a keep-alive connection the server closed while idle is noticed and replaced, sync and
async, on a real socket.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any, Dict, Iterator, List, Optional

import httpcore
import pytest

from magic_hour._core.deadline import _AsyncStream

pytestmark = [pytest.mark.anyio, pytest.mark.full]


class _Inner(httpcore.AsyncNetworkStream):
    def __init__(self, answers: Dict[str, Any]) -> None:
        self.answers = answers
        self.asked: List[str] = []

    def get_extra_info(self, info: str) -> Any:
        self.asked.append(info)
        return self.answers.get(info)


def test_the_socket_is_looked_up_once_and_polled_for_readability() -> None:
    near, far = socket.socketpair()
    with near, far:
        inner = _Inner({"socket": near, "client_addr": ("127.0.0.1", 5)})
        stream = _AsyncStream(inner)
        assert stream.get_extra_info("is_readable") is False
        assert stream.get_extra_info("socket") is near
        far.sendall(b"x")
        assert stream.get_extra_info("is_readable") is True
        assert (
            stream.get_extra_info("client_addr") == stream.get_extra_info("client_addr") == ("127.0.0.1", 5)
        )
        assert inner.asked == ["socket", "client_addr", "client_addr"]
        near.recv(1)
        far.close()  # the server hung up: readable (the next read returns b"")
        assert stream.get_extra_info("is_readable") is True
    assert stream.get_extra_info("is_readable") is True  # closed here too: no descriptor, readable


def test_a_stream_without_a_socket_answers_for_itself() -> None:
    inner = _Inner({"is_readable": "its own answer"})
    stream = _AsyncStream(inner)
    assert stream.get_extra_info("socket") is None
    assert stream.get_extra_info("is_readable") == "its own answer"
    assert inner.asked == ["socket", "socket", "is_readable"]


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
