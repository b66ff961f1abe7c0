"""The real-socket front-end: a threaded HTTP/1.1 server on 127.0.0.1 over the fake."""

from __future__ import annotations

import contextlib
import errno
import socket
import threading
from types import TracebackType
from typing import TYPE_CHECKING, Any, List, Optional, Type

from typing_extensions import Self

from .._exceptions import InvalidParameterError
from ._http import HTTPServer11

if TYPE_CHECKING:
    from .. import AsyncClient, Client
    from ._state import FakeState

__all__ = ["FakeServer"]

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
