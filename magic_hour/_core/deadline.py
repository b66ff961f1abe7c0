"""Real deadlines: httpx's timeouts bound each socket operation, not a response or a call.

A server that drips its answer one byte per second never trips a 1 s read timeout. So the SDK sets, for
the request being sent, a :class:`Budget` in a context variable (per thread, per task), and the network
backend of the pools it owns (:class:`Backend`, :class:`AsyncBackend`, given to httpcore's pools by
``owned.py``) gives each read, write and connect at most what is left of it:

- the **response** of an attempt (status line, headers and body) must arrive within the ``read``
  timeout, counted from its first byte read;
- the **call** (every attempt and the waits between them) ends at ``total_timeout``, if one is given.

A lent ``httpx_client`` is the caller's, used as it is: there, the body read checks the deadline between
pieces and the total deadline shortens each operation's timeout (see ``transport.py``); the headers of
an answer are bounded by the ``read`` timeout of each socket read only (docs/client.md).

The same streams also send a request's head with a small body (or the first piece of a larger one) in
one write: httpcore writes them one after the other, each a system call and, with ``TCP_NODELAY``, a
packet of its own that wakes the server up once more (a small file's upload is mostly such costs).
"""

from __future__ import annotations

import contextvars
import time
from typing import Any, Callable, ContextManager, Mapping, Optional

import httpcore
import httpx


class Budget:
    """The deadlines of the request being sent."""

    # A plain class, not a dataclass: made at import in a fraction of the time (a first request pays for
    # every class its imports define).
    __slots__ = ("call_deadline", "response", "response_deadline", "stream")

    def __init__(
        self,
        response: Optional[float],
        call_deadline: Optional[float] = None,
        response_deadline: Optional[float] = None,
        stream: Any = None,
    ) -> None:
        self.response = response
        """Seconds for the whole response, from the first byte read (``None``: no limit)."""
        self.call_deadline = call_deadline
        """``time.monotonic()`` at which the whole call must be over (``None``: no limit)."""
        self.response_deadline = response_deadline
        self.stream = stream
        """The network stream the attempt uses, once known (so that it can be shut down from elsewhere)."""

    def __repr__(self) -> str:
        return (
            f"Budget(response={self.response!r}, call_deadline={self.call_deadline!r}, "
            f"response_deadline={self.response_deadline!r}, stream={self.stream!r})"
        )

    def remaining(self, timeout: Optional[float], *, reading: bool) -> Optional[float]:
        """``timeout`` shortened to what is left; raises the matching httpcore timeout when nothing is."""
        now = time.monotonic()
        limit = timeout
        if reading and self.response is not None:
            if self.response_deadline is None:
                self.response_deadline = now + self.response
            limit = _min(limit, self.response_deadline - now)
        if self.call_deadline is not None:
            limit = _min(limit, self.call_deadline - now)
        if limit is not None and limit <= 0:
            exc = httpcore.ReadTimeout if reading else httpcore.WriteTimeout
            raise exc("the deadline has passed")
        return limit

    def deadline(self) -> Optional[float]:
        """The earliest absolute deadline set so far (for checks between body pieces)."""
        found = [d for d in (self.response_deadline, self.call_deadline) if d is not None]
        return min(found) if found else None


def _min(a: Optional[float], b: float) -> float:
    return b if a is None else min(a, b)


def pool_timeout(request: httpx.Request, budget: Budget) -> Optional[float]:
    """The wait for a free connection: the request's ``pool`` timeout, within the call's deadline."""
    timeout: Mapping[str, object] = request.extensions.get("timeout") or {}
    value = timeout.get("pool")
    seconds = float(value) if isinstance(value, (int, float)) else None
    if budget.call_deadline is not None:
        left = max(0.0, budget.call_deadline - time.monotonic())
        seconds = left if seconds is None else min(seconds, left)
    return seconds


def budget_for(request: httpx.Request, call_deadline: Optional[float] = None) -> Budget:
    timeout: Mapping[str, object] = request.extensions.get("timeout") or {}
    read = timeout.get("read")
    return Budget(float(read) if isinstance(read, (int, float)) else None, call_deadline)


def lent_timeouts(request: httpx.Request, budget: Budget) -> float:
    """For a lent client (its streams are not wrapped): each operation's timeout shortened to what is
    left of the call; returns the deadline the body read checks between pieces."""
    start = time.monotonic()
    deadline = start + budget.response if budget.response is not None else float("inf")
    if budget.call_deadline is not None:
        left = max(budget.call_deadline - start, 1e-3)
        timeout: Mapping[str, Any] = request.extensions.get("timeout") or {}
        request.extensions["timeout"] = {k: left if v is None else min(v, left) for k, v in timeout.items()}
        deadline = min(deadline, budget.call_deadline)
    return deadline


def call_deadline(total: Optional[float]) -> Optional[float]:
    return None if total is None else time.monotonic() + total


CURRENT: contextvars.ContextVar[Optional[Budget]] = contextvars.ContextVar("magic_hour_budget", default=None)

ATTEMPT: contextvars.ContextVar[Optional[Callable[[Budget], ContextManager[None]]]] = contextvars.ContextVar(
    "magic_hour_attempt", default=None
)
"""Wraps each attempt of the sync API calls made in this context, given its :class:`Budget` (whose
``stream`` the SDK's pool fills in): a batch's worker, which sees no Ctrl-C of its own, sets one that
shuts down the socket of a poll blocked on a stalled server when the batch stops. Never around a create
(``transport.py``): once sent, only its answer tells whether a project was started and billed."""


def _cap(stream: object, timeout: Optional[float], *, reading: bool) -> Optional[float]:
    budget = CURRENT.get()
    if budget is None:
        return timeout
    budget.stream = stream
    return budget.remaining(timeout, reading=reading)


def _connect_cap(timeout: Optional[float]) -> Optional[float]:
    budget = CURRENT.get()
    if budget is None or budget.call_deadline is None:
        return timeout
    left = budget.call_deadline - time.monotonic()
    if left <= 0:
        raise httpcore.ConnectTimeout("the deadline has passed")
    return _min(timeout, left)


JOIN = 64 * 1024
"""A write of up to this many bytes waits for the next one (a request's head for its body) and goes out
with it, joined when that one is this small too; any read or TLS start sends it first, and a close drops
it (the request was given up)."""


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner
        self._held: Optional[bytes] = None  # a small write not sent yet, and its timeout
        self._held_timeout: Optional[float] = None

    def read(self, max_bytes: int, timeout: Optional[float] = None) -> bytes:
        if self._held is not None:
            self._flush()
        return self._inner.read(max_bytes, _cap(self._inner, timeout, reading=True))

    def write(self, buffer: bytes, timeout: Optional[float] = None) -> None:
        if not buffer:
            return
        held = self._held
        if held is None:
            if len(buffer) <= JOIN:
                # Checked now as a write would be (the deadline; the stream recorded for a Ctrl-C).
                _cap(self._inner, timeout, reading=False)
                self._held, self._held_timeout = buffer, timeout
                return
        else:
            self._held = None
            if len(buffer) <= JOIN:
                buffer = held + buffer
            else:
                self._inner.write(held, _cap(self._inner, timeout, reading=False))
        self._inner.write(buffer, _cap(self._inner, timeout, reading=False))

    def _flush(self, *, before_read: bool = True) -> None:
        held, self._held = self._held, None
        assert held is not None
        try:
            self._inner.write(held, _cap(self._inner, self._held_timeout, reading=False))
        except httpcore.WriteError:
            if not before_read:
                raise
            # As httpcore does when a request's write fails: the answer may be there to read (a server
            # that refused the request and closed).

    def close(self) -> None:
        self._held = None
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: Optional[str] = None, timeout: Optional[float] = None
    ) -> httpcore.NetworkStream:
        if self._held is not None:
            self._flush(before_read=False)
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, _connect_cap(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class Backend(httpcore.NetworkBackend):
    """A network backend whose connections keep the deadlines of the request being sent."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: Optional[float] = None,
        local_address: Optional[str] = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        return _Stream(
            self._inner.connect_tcp(host, port, _connect_cap(timeout), local_address, socket_options)
        )

    def connect_unix_socket(
        self, path: str, timeout: Optional[float] = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        return _Stream(self._inner.connect_unix_socket(path, _connect_cap(timeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _AsyncStream(httpcore.AsyncNetworkStream):
    """:class:`_Stream` for async pools."""

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._held: Optional[bytes] = None
        self._held_timeout: Optional[float] = None

    async def read(self, max_bytes: int, timeout: Optional[float] = None) -> bytes:
        if self._held is not None:
            await self._flush()
        return await self._inner.read(max_bytes, _cap(self._inner, timeout, reading=True))

    async def write(self, buffer: bytes, timeout: Optional[float] = None) -> None:
        if not buffer:
            return
        held = self._held
        if held is None:
            if len(buffer) <= JOIN:
                _cap(self._inner, timeout, reading=False)
                self._held, self._held_timeout = buffer, timeout
                return
        else:
            self._held = None
            if len(buffer) <= JOIN:
                buffer = held + buffer
            else:
                await self._inner.write(held, _cap(self._inner, timeout, reading=False))
        await self._inner.write(buffer, _cap(self._inner, timeout, reading=False))

    async def _flush(self, *, before_read: bool = True) -> None:
        held, self._held = self._held, None
        assert held is not None
        try:
            await self._inner.write(held, _cap(self._inner, self._held_timeout, reading=False))
        except httpcore.WriteError:
            if not before_read:
                raise

    async def aclose(self) -> None:
        self._held = None
        await self._inner.aclose()

    async def start_tls(
        self, ssl_context: Any, server_hostname: Optional[str] = None, timeout: Optional[float] = None
    ) -> httpcore.AsyncNetworkStream:
        if self._held is not None:
            await self._flush(before_read=False)
        return _AsyncStream(await self._inner.start_tls(ssl_context, server_hostname, _connect_cap(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class AsyncBackend(httpcore.AsyncNetworkBackend):
    """A network backend whose connections keep the deadlines of the request being sent."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self._inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: Optional[float] = None,
        local_address: Optional[str] = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        return _AsyncStream(
            await self._inner.connect_tcp(host, port, _connect_cap(timeout), local_address, socket_options)
        )

    async def connect_unix_socket(
        self, path: str, timeout: Optional[float] = None, socket_options: Any = None
    ) -> httpcore.AsyncNetworkStream:
        return _AsyncStream(
            await self._inner.connect_unix_socket(path, _connect_cap(timeout), socket_options)
        )

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
