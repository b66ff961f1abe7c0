"""Admission to an httpx pool: at most ``max_in_flight`` requests in it at once (the pool's connection
limit); the rest wait here.

httpcore matches every queued request against every connection each time one frees up, so 1,000
concurrent calls on one client used to cost O(n^2): 37 s instead of 3 s. Waiting here instead costs
nothing per waiter. The wait counts against the request's ``pool`` timeout, as the wait for a
connection would, and ends in the same :class:`httpx.PoolTimeout`.
"""

from __future__ import annotations

import threading
from typing import Any

import httpx

from .deadline import Budget, pool_timeout

__all__ = ["AsyncSlots", "SyncSlots"]


def _timed_out(request: httpx.Request) -> httpx.PoolTimeout:
    return httpx.PoolTimeout("timed out waiting for a free connection", request=request)


class SyncSlots:
    """``max_in_flight`` slots for threads."""

    def __init__(self, max_in_flight: int) -> None:
        self._semaphore = threading.BoundedSemaphore(max_in_flight)

    def acquire(self, request: httpx.Request, budget: Budget) -> None:
        if not self._semaphore.acquire(timeout=pool_timeout(request, budget)):
            raise _timed_out(request)

    def release(self) -> None:
        self._semaphore.release()


class AsyncSlots:
    """``max_in_flight`` slots for tasks, first come first served; made in the event loop that uses
    them (like httpx's own pool)."""

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
                raise _timed_out(request) from None

    def release(self) -> None:
        self._semaphore.release()
