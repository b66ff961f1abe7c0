"""The HTTP/1.1 machinery of the real server: accepting, body framing, replies (no fake logic here).

``_server.FakeServer`` runs it; the handler only needs a :class:`Front`: the fake to ask, the URLs it
serves under, where to keep unexpected errors, and an event that wakes latency sleeps on stop.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import struct
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import TYPE_CHECKING, Any, Iterator, List, Optional, Set, Tuple

import httpx
from typing_extensions import Protocol

from ._exchange import Reply

if TYPE_CHECKING:
    from ._exchange import Exchange
    from ._state import FakeState

__all__ = ["Front", "HTTPServer11"]

CHUNK = 1024 * 1024
_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*")
_STATUSES = frozenset(int(s) for s in HTTPStatus)
IDLE_TIMEOUT = 60.0


class Front(Protocol):
    """What the handler needs from the server that runs it."""

    @property
    def fake(self) -> FakeState: ...
    @property
    def url(self) -> str: ...
    @property
    def storage_url(self) -> str: ...
    @property
    def errors(self) -> List[BaseException]: ...
    @property
    def stopping(self) -> threading.Event: ...


class _BadFraming(Exception):
    pass


class _ClientGone(Exception):
    pass


class HTTPServer11(HTTPServer):
    """Threaded, quiet, and able to close its live connections on stop."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # many clients connect at once in upload tests

    def __init__(self, address: Tuple[str, int], front: Front) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.front = front
        self.connections: Set[socket.socket] = set()
        self.threads: Set[threading.Thread] = set()
        self.conn_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self._serve_connection,
            args=(request, client_address),
            name="FakeMagicHour-conn",
            daemon=True,
        )
        with self.conn_lock:
            self.connections.add(request)
            self.threads.add(thread)
        thread.start()

    def _serve_connection(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            pass
        finally:
            self.shutdown_request(request)
            with self.conn_lock:
                self.connections.discard(request)
                self.threads.discard(threading.current_thread())

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # quiet: the client sees the failure


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeMagicHour"
    sys_version = ""
    timeout = IDLE_TIMEOUT

    def log_message(self, format: str, *args: Any) -> None:
        pass  # print nothing

    def _handle(self) -> None:
        server: HTTPServer11 = self.server  # type: ignore[assignment]
        try:
            self._handle_request(server.front)
        except Exception as exc:
            # A bug in the fake, or e.g. a full spool disk: answer 500 (if we still can), keep the
            # exception for the test to look at, print nothing.
            server.front.errors.append(exc)
            self.close_connection = True
            body = f'{{"message":"FakeMagicHour internal error: {type(exc).__name__}"}}'.encode()
            headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
            with contextlib.suppress(OSError):
                self._send(Reply(500, [*headers, ("Connection", "close")], body))

    def _target(self) -> Optional[str]:
        """The path and query of the request target; absolute-form (``GET http://host/v1/x``) is
        accepted as servers must (RFC 9112, 3.2.2). ``None`` for anything else (``*``, garbage)."""
        if self.path.startswith("/"):
            return self.path
        found = _ABSOLUTE.match(self.path)
        if found is None:
            return None
        rest = self.path[found.end() :]
        return rest if rest.startswith("/") else "/" + rest

    def _handle_request(self, front: Front) -> None:
        target = self._target()
        # Header bytes as received (http.server decoded them as latin-1): a non-ASCII value is just
        # a value that matches no token, not an error.
        headers = httpx.Headers(
            [
                (k.encode("latin-1", "replace"), v.encode("latin-1", "replace"))
                for k, v in self.headers.items()
            ]
        )
        try:
            if target is None:
                raise httpx.InvalidURL(f"unsupported request target {self.path!r}")
            exchange = front.fake.begin_request(
                self.command, front.url + target, headers, storage_base=front.storage_url
            )
        except httpx.InvalidURL:
            self._send_bad_request("Bad Request: invalid request target")
            return
        if exchange.delay:
            front.stopping.wait(exchange.delay)
        try:
            if exchange.drop_after is not None:
                self._drop(exchange, exchange.drop_after)
                return
            for chunk in self._body():
                exchange.feed(chunk)
        except _BadFraming:
            exchange.abort()
            self._send_bad_request()
            return
        except (_ClientGone, OSError):
            exchange.abort()
            self.close_connection = True
            return
        self._send(exchange.finish())

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _handle

    # ---------------------------------------------------------------- body framing

    def _body(self) -> Iterator[bytes]:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            yield from self._chunked_body()
            return
        raw = self.headers.get("Content-Length")
        if raw is None:
            return
        try:
            remaining = int(raw)
        except ValueError:
            raise _BadFraming() from None
        if remaining < 0:
            raise _BadFraming()
        while remaining > 0:
            data = self.rfile.read(min(remaining, CHUNK))
            if not data:
                raise _ClientGone()
            remaining -= len(data)
            yield data

    def _chunked_body(self) -> Iterator[bytes]:
        while True:
            line = self.rfile.readline(65537)
            if not line:
                raise _ClientGone()
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _BadFraming() from None
            if size == 0:
                while True:  # trailers, up to the blank line
                    trailer = self.rfile.readline(65537)
                    if not trailer:
                        raise _ClientGone()
                    if trailer in (b"\r\n", b"\n"):
                        return
            while size > 0:
                data = self.rfile.read(min(size, CHUNK))
                if not data:
                    raise _ClientGone()
                size -= len(data)
                yield data
            if self.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise _BadFraming()

    def _drop(self, exchange: Exchange, after: int) -> None:
        """Read ``after`` bytes of the body, then reset the connection without answering."""
        try:
            for chunk in self._body():
                need = after - exchange.record.body_size
                if need <= 0:
                    break
                exchange.feed(chunk[:need])
                if len(chunk) >= need:
                    break
        except (_BadFraming, _ClientGone, OSError):
            pass
        exchange.dropped()
        self.close_connection = True
        # SO_LINGER 0: closing sends a TCP reset, as when a server or proxy dies mid-upload.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    # ---------------------------------------------------------------- replies

    def setup(self) -> None:
        super().setup()
        # Small replies go out at once (no Nagle delay waiting for the client's delayed ACK).
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _send(self, reply: Reply) -> None:
        phrase = HTTPStatus(reply.status).phrase if reply.status in _STATUSES else ""
        lines = [
            f"HTTP/1.1 {reply.status} {phrase}",
            f"Server: {self.server_version}",
            f"Date: {self.date_time_string()}",
            *(f"{name}: {value}" for name, value in reply.headers),
        ]
        if reply.closes_connection:
            self.close_connection = True
        body = reply.body if self.command != "HEAD" else b""
        cut = reply.cut_after is not None and self.command != "HEAD"
        if cut:
            body = body[: reply.cut_after]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if len(body) <= CHUNK:  # head and body in one write: one TCP segment for small replies
            self.wfile.write(head + body)
        else:  # big downloads: no copy of the body
            self.wfile.write(head)
            self.wfile.write(memoryview(body))
        self.wfile.flush()
        if cut:  # then a TCP reset, as when a server or proxy dies mid-download
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    def _send_bad_request(self, message: str = "Bad Request: malformed body framing") -> None:
        body = json.dumps({"message": message}, separators=(",", ":")).encode()
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        self._send(Reply(400, [*headers, ("Connection", "close")], body))
