"""Tiny scripted HTTP/1.1 servers on 127.0.0.1, for the faults ``FakeMagicHour`` cannot produce.

:class:`RawServer` reads each request completely, records it, then does what its script says: answer,
close the connection without answering (FIN), reset it (RST), hang until the client gives up, or forward
the request to an upstream server (the fake) and relay its answer, optionally rewriting the body (to
point upload URLs at another server). Placed in front of the fake it becomes a fault-injecting proxy::

    with FakeMagicHour().serve() as fake_server, RawServer([Reset()], then=Forward(fake_server.url)) as proxy:
        client = Client(base_url=proxy.url, ...)   # first attempt reset, the retry reaches the fake
"""

from __future__ import annotations

import contextlib
import fcntl
import socket
import struct
import sys
import termios
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator, List, Optional, Sequence, Tuple, Union

import httpx
from conftest import default_ssl_context

__all__ = [
    "Close",
    "Drip",
    "Forward",
    "Hang",
    "RawServer",
    "Received",
    "Reset",
    "Respond",
    "Stall",
    "closed_port",
    "recv_head",
    "wait_until_acknowledged",
]


def recv_head(conn: socket.socket, data: bytes = b"", size: int = 65536) -> bytes:
    """Receives from ``conn`` until ``data`` holds a request's (or a response's) head, the blank line
    included; returns what it holds then, or what it got before the peer closed (no blank line)."""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(size)
        if not chunk:
            break
        data += chunk
    return data


def wait_until_acknowledged(conn: socket.socket, timeout: float = 5.0) -> None:
    """Waits until the peer's kernel has acknowledged every byte sent on ``conn`` (Linux's SIOCOUTQ;
    elsewhere a short pause). A server that answers and then closes with the request's body unread
    resets the connection, and a reset discards what is not sent yet: an answer Nagle's algorithm held
    back behind earlier bytes (a TLS session ticket) would never leave."""
    if not hasattr(termios, "TIOCOUTQ") or not sys.platform.startswith("linux"):
        time.sleep(0.05)
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = struct.unpack("i", fcntl.ioctl(conn.fileno(), termios.TIOCOUTQ, b"\0\0\0\0"))[0]
        if left == 0:
            return
        time.sleep(0.001)


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (connecting is refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    """One request the server read completely."""

    method: str
    target: str
    headers: List[Tuple[str, str]]
    body: bytes
    action: str = ""

    def header(self, name: str) -> Optional[str]:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None


@dataclass(frozen=True)
class Respond:
    """Answer with this status, headers (``Content-Length`` is added) and body."""

    status: int
    headers: Sequence[Tuple[str, str]] = ()
    body: bytes = b""


@dataclass(frozen=True)
class Close:
    """Close the connection without answering (a clean FIN: "server disconnected")."""


@dataclass(frozen=True)
class Reset:
    """Reset the connection without answering (RST, as when a server or proxy dies)."""


@dataclass(frozen=True)
class Hang:
    """Never answer; close after ``seconds`` (or when the server stops)."""

    seconds: float = 30.0


@dataclass(frozen=True)
class Forward:
    """Relay the request to ``upstream`` (same method, path, query, headers and body) and its answer back.

    ``rewrite`` replaces bytes in the upstream's answer body (e.g. the storage base of upload URLs).
    """

    upstream: str
    rewrite: Tuple[Tuple[bytes, bytes], ...] = ()


@dataclass(frozen=True)
class Drip:
    """Answer with ``reply``, ``size`` bytes every ``every`` seconds (a server that is slow, not silent:
    no single read waits long enough to time out)."""

    reply: Respond
    every: float = 0.05
    size: int = 1


@dataclass(frozen=True)
class Stall:
    """Send ``reply``'s head and its first ``sent`` body bytes, then nothing until ``seconds`` passed (or
    the server stops), then close: a server that stops in the middle of a body."""

    reply: Respond
    sent: int = 0
    seconds: float = 30.0


@dataclass(frozen=True)
class Unframed:
    """Answer with ``reply`` without ``Content-Length`` (nor chunking), then close: the body ends with the
    connection, as an HTTP/1.0-style server sends it."""

    reply: Respond


Action = Union[Respond, Close, Reset, Hang, Forward, Drip, Unframed, Stall]
Script = Union[Sequence[Action], Callable[[Received], Action]]

_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@dataclass
class _State:
    script: List[Action]
    then: Action
    lock: threading.Lock = field(default_factory=threading.Lock)


class RawServer:
    """A threaded HTTP/1.1 server (keep-alive) on 127.0.0.1 that follows a script, one action per request.

    Args:
        script: actions for the first requests, in order, or a function choosing an action per request.
        then: the action for every request after the script (default: ``Respond(404)``).
        host: where to listen (``"127.0.0.1"``; ``"localhost"`` is another origin for the same machine).

    Attributes:
        url: ``http://<host>:<port>``.
        received: every request read, in order (thread-safe snapshot via :attr:`requests`).
    """

    def __init__(
        self,
        script: Script = (),
        *,
        then: Action = Respond(404),
        host: str = "127.0.0.1",
    ) -> None:
        self._chooser = script if callable(script) else None
        self._state = _State(list(script) if not callable(script) else [], then)
        self._lock = threading.Lock()
        self._received: List[Received] = []
        self._stop = threading.Event()
        self._conns: List[socket.socket] = []
        self._threads: List[threading.Thread] = []
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self._listener.settimeout(1.0)
        self.port = int(self._listener.getsockname()[1])
        self.host = host
        self.url = f"http://{host}:{self.port}"
        # Made now, not on the first Forward: that one may run under a client's short timeout.
        self._upstream: Optional[httpx.Client] = httpx.Client(timeout=30, verify=default_ssl_context())
        self._accept_thread = threading.Thread(target=self._accept_loop, name="RawServer", daemon=True)
        self._accept_thread.start()

    # ---------------------------------------------------------------- public

    @property
    def requests(self) -> List[Received]:
        with self._lock:
            return list(self._received)

    def stop(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() at once
        self._accept_thread.join()
        self._listener.close()
        with self._lock:
            conns, threads = list(self._conns), list(self._threads)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for t in threads:
            t.join(timeout=5)
        if self._upstream is not None:
            self._upstream.close()

    def __enter__(self) -> RawServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---------------------------------------------------------------- serving

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(None)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            t = threading.Thread(target=self._serve, args=(conn,), name="RawServer-conn", daemon=True)
            with self._lock:
                self._conns.append(conn)
                self._threads.append(t)
            t.start()

    def _next_action(self, request: Received) -> Action:
        if self._chooser is not None:
            return self._chooser(request)
        with self._state.lock:
            return self._state.script.pop(0) if self._state.script else self._state.then

    def _serve(self, conn: socket.socket) -> None:
        rfile = conn.makefile("rb")
        try:
            while not self._stop.is_set():
                request = _read_request(rfile)
                if request is None:
                    return
                action = self._next_action(request)
                request.action = type(action).__name__
                with self._lock:
                    self._received.append(request)
                if isinstance(action, Reset):
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return
                if isinstance(action, Close):
                    return
                if isinstance(action, Hang):
                    self._stop.wait(action.seconds)
                    return
                if isinstance(action, Forward):
                    action = self._forward(action, request)
                if isinstance(action, Unframed):
                    head = _encode(Respond(action.reply.status, action.reply.headers))
                    head = head.replace(b"Content-Length: 0\r\n", b"Connection: close\r\n")
                    conn.sendall(head)
                    conn.sendall(action.reply.body)
                    return
                if isinstance(action, Stall):
                    data = _encode(action.reply)
                    conn.sendall(data[: len(data) - len(action.reply.body) + action.sent])
                    self._stop.wait(action.seconds)
                    return
                if isinstance(action, Drip):
                    data = _encode(action.reply)
                    for i in range(0, len(data), action.size):
                        if self._stop.wait(action.every):
                            return
                        conn.sendall(data[i : i + action.size])
                    continue
                conn.sendall(_encode(action))
        except OSError:
            return
        finally:
            rfile.close()
            with contextlib.suppress(OSError):
                conn.close()
            with self._lock:
                if conn in self._conns:
                    self._conns.remove(conn)

    def _forward(self, forward: Forward, request: Received) -> Respond:
        with self._lock:
            if self._upstream is None:
                self._upstream = httpx.Client(timeout=30, verify=default_ssl_context())
            upstream = self._upstream
        headers = [(k, v) for k, v in request.headers if k.lower() not in _HOP_HEADERS]
        response = upstream.request(
            request.method, forward.upstream + request.target, headers=headers, content=request.body
        )
        body = response.content
        for old, new in forward.rewrite:
            body = body.replace(old, new)
        kept = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _HOP_HEADERS]
        return Respond(response.status_code, kept, body)


def _read_request(rfile: object) -> Optional[Received]:
    f = rfile  # a buffered socket file
    line = f.readline(65537)  # type: ignore[attr-defined]
    if not line:
        return None
    method, target, _ = line.decode("latin-1").split(" ", 2)
    headers: List[Tuple[str, str]] = []
    while True:
        h = f.readline(65537)  # type: ignore[attr-defined]
        if h in (b"\r\n", b"\n", b""):
            break
        name, _, value = h.decode("latin-1").partition(":")
        headers.append((name.strip(), value.strip()))
    length = next((int(v) for k, v in headers if k.lower() == "content-length"), 0)
    body = b""
    chunks: List[bytes] = []
    remaining = length
    while remaining > 0:
        data = f.read(min(remaining, 1 << 20))  # type: ignore[attr-defined]
        if not data:
            return None
        chunks.append(data)
        remaining -= len(data)
    body = b"".join(chunks)
    return Received(method, target, headers, body)


def _encode(reply: Respond) -> bytes:
    phrase = httpx.codes.get_reason_phrase(reply.status) or "Status"
    lines = [f"HTTP/1.1 {reply.status} {phrase}"]
    lines += [f"{k}: {v}" for k, v in reply.headers if k.lower() != "content-length"]
    lines.append(f"Content-Length: {len(reply.body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + reply.body


@contextlib.contextmanager
def serving(*servers: RawServer) -> Iterator[None]:
    """Stop every server on exit."""
    try:
        yield
    finally:
        for s in servers:
            s.stop()
