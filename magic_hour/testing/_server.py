"""The real-socket front-end: a threaded HTTP/1.1 server on 127.0.0.1 over :class:`FakeMagicHour`."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any, Iterator, List, Optional, Set, Tuple, Type

from typing_extensions import Self

from .._exceptions import InvalidParameterError
from ._exchange import Reply

if TYPE_CHECKING:
    from .. import AsyncClient, Client
    from ._exchange import Exchange
    from ._fake import FakeMagicHour

__all__ = ["FakeServer"]

CHUNK = 1024 * 1024
_STATUSES = frozenset(int(s) for s in HTTPStatus)
IDLE_TIMEOUT = 60.0


class _BadFraming(Exception):
    pass


class _ClientGone(Exception):
    pass


class _HTTPServer(HTTPServer):
    """Threaded, quiet, and able to close its live connections on stop."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # many clients connect at once in upload tests

    def __init__(self, address: Tuple[str, int], front: FakeServer) -> None:
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
        server: _HTTPServer = self.server  # type: ignore[assignment]
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

    def _handle_request(self, front: FakeServer) -> None:
        url = front.url + self.path
        exchange = front.fake.begin_request(
            self.command, url, list(self.headers.items()), storage_base=front.storage_url
        )
        if exchange.delay:
            front._stopping.wait(exchange.delay)  # pyright: ignore[reportPrivateUsage]
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
        # Head and body in one write: one TCP segment for small replies.
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        self.wfile.flush()

    def _send_bad_request(self) -> None:
        body = b'{"message":"Bad Request: malformed body framing"}'
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        self._send(Reply(400, [*headers, ("Connection", "close")], body))


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

    def __init__(self, fake: FakeMagicHour, *, host: str = "127.0.0.1", port: int = 0) -> None:
        if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
            raise InvalidParameterError("port", port, "an integer from 0 (any free port) to 65535")
        self.fake = fake
        self._httpd = _HTTPServer((host, port), self)
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
        self._stopping = threading.Event()  # wakes handlers sleeping out a latency knob
        self._thread.start()

    def _accept_loop(self) -> None:
        listener = self._httpd.socket
        while not self._stopped:
            try:
                conn, address = listener.accept()
            except OSError:
                if self._stopped:
                    return
                continue  # e.g. ECONNABORTED: keep serving
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
        self._stopping.set()
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
