"""The real-socket front-end: a threaded HTTP/1.1 server on 127.0.0.1 over the fake.

The HTTP machinery (accepting, body framing, replies) holds no fake logic: the handler only needs a
:class:`Front`: the fake to ask, the URLs it serves under, where to keep unexpected errors, and an
event that wakes latency sleeps on stop.
"""

from __future__ import annotations

import contextlib
import errno
import json
import re
import socket
import struct
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any, Iterator, List, Optional, Set, Tuple, Type

import httpx
from typing_extensions import Protocol, Self

from .._exceptions import InvalidParameterError
from ._exchange import Reply

if TYPE_CHECKING:
    from .. import AsyncClient, Client
    from ._exchange import Exchange
    from ._state import FakeState


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


MAX_ACCEPT_BACKOFF = 0.1
_RESOURCE_ERRORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


class FakeServer:
    """A running HTTP/1.1 server (threaded, keep-alive) for one :class:`FakeMagicHour`.

    Made by :meth:`FakeMagicHour.serve`; it is already running. Use it as a context manager (stopped
    on exit) or call :meth:`stop`. It prints nothing.

    Attributes:
        url: ``http://127.0.0.1:<port>``, the API base URL (``Client(base_url=server.url)``).
        storage_url: ``<url>/storage``; upload URLs point under it, on this same server.
        fake: the :class:`FakeMagicHour` it serves (inspect ``server.fake.requests`` / ``.files``).
        errors: exceptions raised while handling a request (a bug, a full spool disk...); each was
            answered with a 500. Empty in a healthy run.

    Example::

        from magic_hour import Client
        from magic_hour.testing import FakeMagicHour

        fake = FakeMagicHour()
        with fake.serve() as server:
            client = Client(token=fake.token, base_url=server.url)
    """

    def __init__(self, fake: FakeState, *, host: str = "127.0.0.1", port: int = 0) -> None:
        if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
            raise InvalidParameterError("port", port, "an integer from 0 (any free port) to 65535")
        self.fake = fake
        self._httpd = HTTPServer11((host, port), self)
        bound_host, bound_port = self._httpd.server_address[:2]
        self.host = str(bound_host)
        self.port = int(bound_port)
        shown = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"http://{shown}:{self.port}"
        self.storage_url = f"{self.url}/storage"
        self.errors: List[BaseException] = []
        self._thread = threading.Thread(target=self._accept_loop, name="FakeMagicHour-server")
        self._thread.daemon = True
        self._stopped = False
        self.stopping = threading.Event()  # wakes handlers sleeping out a latency knob
        self._thread.start()

    def _accept_loop(self) -> None:
        listener = self._httpd.socket
        backoff = 0.0
        while not self._stopped:
            try:
                conn, address = listener.accept()
            except OSError as exc:
                if self._stopped:
                    return
                if exc.errno in _RESOURCE_ERRORS:
                    # Out of file descriptors (or memory): the pending connection stays in the backlog
                    # and accept() would fail again at once; wait for handlers to free some instead of
                    # spinning a core. stop() wakes the wait.
                    backoff = min(max(backoff * 2, 0.005), MAX_ACCEPT_BACKOFF)
                    self.stopping.wait(backoff)
                continue  # e.g. ECONNABORTED: keep serving
            backoff = 0.0
            if self._stopped:
                conn.close()
                return
            self._httpd.process_request(conn, address)

    @property
    def base_url(self) -> str:
        """Same as :attr:`url`."""
        return self.url

    @property
    def token(self) -> str:
        """The fake's (first) accepted token."""
        return self.fake.token

    def client(self, **kwargs: Any) -> Client:
        """A :class:`magic_hour.Client` for this server (``kwargs`` go to ``Client``)."""
        from .. import Client

        kwargs.setdefault("token", self.fake.token)
        return Client(base_url=self.url, **kwargs)

    def async_client(self, **kwargs: Any) -> AsyncClient:
        """A :class:`magic_hour.AsyncClient` for this server (``kwargs`` go to ``AsyncClient``)."""
        from .. import AsyncClient

        kwargs.setdefault("token", self.fake.token)
        return AsyncClient(base_url=self.url, **kwargs)

    @property
    def running(self) -> bool:
        return not self._stopped

    def stop(self) -> None:
        """Stop accepting, close live connections and wait for their threads (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        self.stopping.set()
        # Wake the blocking accept() with a connection of our own (no polling, so stop is instant).
        try:
            socket.create_connection((self.host, self.port), timeout=1.0).close()
        except OSError:
            with contextlib.suppress(OSError):
                self._httpd.socket.shutdown(socket.SHUT_RDWR)
        self._thread.join()
        self._httpd.server_close()
        with self._httpd.conn_lock:
            connections: List[socket.socket] = list(self._httpd.connections)
            threads = list(self._httpd.threads)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join(timeout=5.0)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"FakeServer({self.url}, {state})"


__all__ = ["FakeServer", "Front", "HTTPServer11"]
