"""The httpx pool a driver sends through, from its making to its closing (``transport.py`` keeps the
sending): which pool a request may use, and how many requests may be in it at once.

After ``os.fork()`` the child inherits the parent's keep-alive connections; if both used them, each would
read answers meant for the other. An async pool's connections belong to the event loop that opened them
and fail in another one (a second ``asyncio.run``, trio after asyncio). So a pool the SDK made
(``make_client``) is made when first needed, made anew in a forked child or another event loop, and
closed by ``close()`` / ``aclose()``; a lent ``client`` is the caller's: used as is, never replaced, never
closed.

Each pool admits at most ``max_in_flight`` requests (its connection limit) and the rest wait here, where
waiting costs nothing per waiter (httpcore matches every queued request against every connection each
time one frees up). The wait counts against the request's ``pool`` timeout and ends in the same
:class:`httpx.PoolTimeout` as a wait for a connection.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import Any, Callable, Optional

import httpx

from .._exceptions import ClientClosedError
from .deadline import Budget, pool_timeout

__all__ = ["Admission", "AsyncAdmission", "AsyncPoolHolder", "SyncPoolHolder", "current_loop", "generation"]

_generation = 0  # bumped in every forked child


def _bump_generation() -> None:
    global _generation
    _generation += 1


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_bump_generation)


def generation() -> int:
    """Changes in a forked child: a pool made under another value belongs to the parent."""
    return _generation


def current_loop() -> Optional[object]:
    """An object identifying the running event loop (asyncio loop, or trio run), or None outside one."""
    import sniffio

    try:
        library = sniffio.current_async_library()
    except sniffio.AsyncLibraryNotFoundError:
        return None
    if library == "asyncio":
        import asyncio

        return asyncio.get_running_loop()
    if library == "trio":
        import trio

        root: object = trio.lowlevel.current_root_task()
        return root
    return None


def _pool_timeout_error(request: httpx.Request) -> httpx.PoolTimeout:
    return httpx.PoolTimeout("timed out waiting for a free connection", request=request)


class Admission:
    """At most ``max_in_flight`` requests of threads in one pool."""

    def __init__(self, max_in_flight: int) -> None:
        self._semaphore = threading.BoundedSemaphore(max_in_flight)

    def acquire(self, request: httpx.Request, budget: Budget) -> None:
        if not self._semaphore.acquire(timeout=pool_timeout(request, budget)):
            raise _pool_timeout_error(request)

    def release(self) -> None:
        self._semaphore.release()


class AsyncAdmission:
    """At most ``max_in_flight`` requests of tasks in one pool, first come first served; made in the
    event loop that uses it (like httpx's own pool)."""

    def __init__(self, max_in_flight: int) -> None:
        import anyio  # not at import time: the CLI's --help never loads it

        self._semaphore: Any = anyio.Semaphore(max_in_flight)

    async def acquire(self, request: httpx.Request, budget: Budget) -> None:
        import anyio

        try:
            self._semaphore.acquire_nowait()  # the common case: a free slot, no cancel scope to set up
        except anyio.WouldBlock:
            try:
                with anyio.fail_after(pool_timeout(request, budget)):
                    await self._semaphore.acquire()
            except TimeoutError:
                raise _pool_timeout_error(request) from None

    def release(self) -> None:
        self._semaphore.release()


class SyncPoolHolder:
    """Holds one :class:`httpx.Client`: ``make_client`` builds it when the SDK owns it (and again in a
    forked child); a lent ``client`` is used as is."""

    def __init__(
        self,
        client: Optional[httpx.Client],
        max_in_flight: Optional[int],
        make_client: Optional[Callable[[], httpx.Client]],
    ) -> None:
        self.closed = False  # set by Client.close() / AsyncClient.aclose()
        self.owned = make_client is not None
        self._make = make_client
        if make_client is not None:
            client = make_client()
        assert client is not None
        self.client = client
        self._generation = generation()
        self._admit = Admission(max_in_flight) if max_in_flight else None

    @property
    def client(self) -> httpx.Client:
        """The httpx client in use (made when first needed if the SDK owns it)."""
        return self._client

    @client.setter
    def client(self, value: httpx.Client) -> None:
        self._client = value

    def close(self) -> None:
        """Refuse later calls; close the pool if the SDK made it."""
        self.closed = True
        if self.owned:
            self.client.close()

    def _current(self) -> httpx.Client:
        if self.closed or self.client.is_closed:
            raise ClientClosedError()
        if self._generation != generation() and self._make is not None:
            # A forked child: the parent's connections must not be used here. Closing them in the
            # child closes only the child's copies of the sockets.
            old, self.client = self.client, self._make()
            self._generation = generation()
            old.close()
        return self.client


class AsyncPoolHolder:
    """Holds one :class:`httpx.AsyncClient`; a pool the SDK made is replaced when used from another event
    loop or a forked child (see the module doc); a lent ``client`` is used as is."""

    def __init__(
        self,
        client: Optional[httpx.AsyncClient],
        max_in_flight: Optional[int],
        make_client: Optional[Callable[[], httpx.AsyncClient]],
    ) -> None:
        self.closed = False  # set by Client.close() / AsyncClient.aclose()
        self.owned = make_client is not None
        self._make = make_client
        # Our own pool is made by the first call, in a worker thread (``_made``): making it loads the TLS
        # trust store, CPU work that would block the event loop inside AsyncClient().
        self._client = client
        self._generation = generation()
        self._loop: Optional[weakref.ref[object]] = None  # weak: an ended loop is not kept alive here
        self._max_in_flight = max_in_flight
        self._admit: Optional[AsyncAdmission] = None  # made in the event loop on first use (like httpx's)
        self._making = (generation(), threading.Lock())  # held while the first pool is made

    def _new_client(self) -> httpx.AsyncClient:
        assert self._make is not None
        return self._make()

    @property
    def client(self) -> httpx.AsyncClient:
        """The httpx client in use (made when first needed if the SDK owns it)."""
        if self._client is None:
            self._client = self._new_client()
        return self._client

    async def _made(self) -> None:
        """Make our own pool in a worker thread the first time (the loop keeps running meanwhile)."""
        if self._client is not None or self.closed:
            return
        from .preload import in_thread

        await in_thread(self._make_once)

    def _make_once(self) -> None:
        # In a worker thread. Concurrent first calls wait here for the one pool instead of each making
        # its own (a TLS trust store each, then thrown away). A lock left taken by a parent's thread at
        # fork() is not this process's: made anew.
        if self._making[0] != generation():
            self._making = (generation(), threading.Lock())
        with self._making[1]:
            if self._client is None and not self.closed:
                self._client = self._new_client()

    def _current(self) -> httpx.AsyncClient:
        if self.closed or self.client.is_closed:
            raise ClientClosedError()
        loop = current_loop()
        if self._loop is None or loop is not self._loop() or self._generation != generation():
            if self._loop is not None and self._make is not None:
                # Another event loop (or a forked child): the old pool's connections belong to the
                # loop that opened them and cannot even be closed from here; they are dropped.
                self._client = self._new_client()
            self._loop = None if loop is None else weakref.ref(loop)
            self._generation, self._admit = generation(), None
        return self.client

    def _admission(self) -> Optional[AsyncAdmission]:
        """The current pool's admission (after :meth:`_current`), made in the event loop that uses it."""
        if self._max_in_flight and self._admit is None:
            self._admit = AsyncAdmission(self._max_in_flight)
        return self._admit

    async def aclose(self) -> None:
        """Refuse later calls; close the pool if the SDK made it."""
        # A pool used in another event loop than this one is dropped instead: its connections cannot
        # be closed from here.
        self.closed = True
        loop_ok = self._loop is None or current_loop() is self._loop()
        if self._client is not None and self.owned and loop_ok:
            await self._client.aclose()
