"""The httpx pool a driver sends through, from its making to its closing: the lifecycle half of
``SyncHTTP`` / ``AsyncHTTP`` (``transport.py`` keeps the sending).

A pool the SDK made (``make_client``) is its own: made when first needed, made anew in a forked child or
another event loop (:mod:`.pool` says which pool a request may use), closed by ``close()`` /
``aclose()``. A lent ``client`` is the caller's: used as is, never replaced, never closed. Each pool has
its admission slots (:mod:`.slots`), replaced with it.
"""

from __future__ import annotations

import threading
import weakref
from typing import Callable, Optional

import httpx

from .._exceptions import ClientClosedError
from . import pool
from .slots import AsyncSlots, SyncSlots

__all__ = ["AsyncPoolHolder", "SyncPoolHolder"]


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
        self._generation = pool.generation()
        self._slots = SyncSlots(max_in_flight) if max_in_flight else None

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
        if self._generation != pool.generation() and self._make is not None:
            # A forked child: the parent's connections must not be used here. Closing them in the
            # child closes only the child's copies of the sockets.
            old, self.client = self.client, self._make()
            self._generation = pool.generation()
            old.close()
        return self.client


class AsyncPoolHolder:
    """Holds one :class:`httpx.AsyncClient`; a pool the SDK made is replaced when used from another event
    loop or a forked child (see ``pool.py``); a lent ``client`` is used as is."""

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
        # trust store (30-60 ms of CPU with OpenSSL 3), which would block the event loop inside
        # AsyncClient() (tests/benchmarks/bench_first_call.py).
        self._client = client
        self._generation = pool.generation()
        self._loop: Optional[weakref.ref[object]] = None  # weak: an ended loop is not kept alive here
        self._max_in_flight = max_in_flight
        self._slots: Optional[AsyncSlots] = None  # made in the event loop on first use (like httpx's)
        self._making = (pool.generation(), threading.Lock())  # held while the first pool is made

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
        # In a worker thread. Concurrent first calls (asyncio.gather of 100 uploads) wait here for the
        # one pool instead of each making its own (a TLS trust store each, tens of ms of CPU, then thrown
        # away). A lock left taken by a parent's thread at fork() is not this process's: made anew.
        if self._making[0] != pool.generation():
            self._making = (pool.generation(), threading.Lock())
        with self._making[1]:
            if self._client is None and not self.closed:
                self._client = self._new_client()

    def _current(self) -> httpx.AsyncClient:
        if self.closed or self.client.is_closed:
            raise ClientClosedError()
        loop = pool.current_loop()
        if self._loop is None or loop is not self._loop() or self._generation != pool.generation():
            if self._loop is not None and self._make is not None:
                # Another event loop (or a forked child): the old pool's connections belong to the
                # loop that opened them and cannot even be closed from here; they are dropped.
                self._client = self._new_client()
            self._loop = None if loop is None else weakref.ref(loop)
            self._generation, self._slots = pool.generation(), None
        return self.client

    def _admission(self) -> Optional[AsyncSlots]:
        """The current pool's slots (after :meth:`_current`), made in the event loop that uses them."""
        if self._max_in_flight and self._slots is None:
            self._slots = AsyncSlots(self._max_in_flight)
        return self._slots

    async def aclose(self) -> None:
        """Refuse later calls; close the pool if the SDK made it."""
        # A pool used in another event loop than this one is dropped instead: its connections cannot
        # be closed from here.
        self.closed = True
        loop_ok = self._loop is None or pool.current_loop() is self._loop()
        if self._client is not None and self.owned and loop_ok:
            await self._client.aclose()
