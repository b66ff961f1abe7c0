"""The only place where the API core does I/O: two tiny drivers that run the pure retry flow.

``SyncHTTP`` and ``AsyncHTTP`` differ only in ``send`` versus ``await send`` and in how they sleep.

Both let at most ``max_in_flight`` requests (the pool's connection limit) into the httpx pool at once; the
rest wait in a FIFO semaphore here. httpcore matches every queued request against every connection each
time one frees up, so 1,000 concurrent calls on one client used to cost O(n^2): 37 s instead of 3 s.
The wait counts against the request's ``pool`` timeout, as the wait for a connection would.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Awaitable, Callable, Generator, Mapping, Optional, Type, TypeVar, Union

import httpx

from .._exceptions import ClientClosedError
from .request import ApiRequest, ClientConfig, RequestOptions, build_request, resolve_options
from .response import M, parse_response
from .retry import Sleep, retry_flow

logger = logging.getLogger("magic_hour")

A = TypeVar("A")
R = TypeVar("R")

# Module attributes so tests can fake the clock without patching the standard library.
sleep: Callable[[float], None] = time.sleep


async def async_sleep(seconds: float) -> None:
    import anyio  # not at import time: `import magic_hour` stays cheap

    await anyio.sleep(seconds)


def run_flow(flow: Generator[Union[A, Sleep], Any, R], perform: Callable[[A], Any]) -> R:
    """Drive a flow synchronously: sleep on :class:`Sleep`, else ``perform`` the action and send back its
    outcome (a transport error is sent back as the outcome, for the flow to decide)."""
    action = next(flow)
    while True:
        try:
            if isinstance(action, Sleep):
                sleep(action.seconds)
                action = flow.send(None)
            else:
                try:
                    outcome: Any = perform(action)
                except httpx.RequestError as exc:  # transport errors, and a body that fails to decode
                    outcome = exc
                action = flow.send(outcome)
        except StopIteration as stop:
            result: R = stop.value
            return result


async def arun_flow(flow: Generator[Union[A, Sleep], Any, R], perform: Callable[[A], Awaitable[Any]]) -> R:
    """Drive a flow asynchronously (asyncio or trio, through anyio); see :func:`run_flow`."""
    action = next(flow)
    while True:
        try:
            if isinstance(action, Sleep):
                await async_sleep(action.seconds)
                action = flow.send(None)
            else:
                try:
                    outcome: Any = await perform(action)
                except httpx.RequestError as exc:  # transport errors, and a body that fails to decode
                    outcome = exc
                action = flow.send(outcome)
        except StopIteration as stop:
            result: R = stop.value
            return result


class _Describe:
    """Names a request in logs and messages, computed only when one is written (hot path)."""

    __slots__ = ("_request", "_text")

    def __init__(self, request: httpx.Request) -> None:
        self._request = request
        self._text: Optional[str] = None

    def __str__(self) -> str:
        if self._text is None:
            # No query (it may carry signatures) and no user:password.
            url = self._request.url.copy_with(query=None, userinfo=b"")
            self._text = f"{self._request.method} {url}"
        return self._text


def _pool_timeout(request: httpx.Request) -> Optional[float]:
    timeout: Mapping[str, object] = request.extensions.get("timeout") or {}
    value = timeout.get("pool")
    return float(value) if isinstance(value, (int, float)) else None


class SyncHTTP:
    """Sends API requests with retries through one pooled :class:`httpx.Client`."""

    def __init__(
        self, config: ClientConfig, client: httpx.Client, max_in_flight: Optional[int] = None
    ) -> None:
        self.config = config
        self.client = client
        self.closed = False  # set by Client.close() / AsyncClient.aclose()
        self._slots = threading.BoundedSemaphore(max_in_flight) if max_in_flight else None

    def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        """``client.send``, with at most ``max_in_flight`` requests in the pool (see the module doc)."""
        if self.closed or self.client.is_closed:
            raise ClientClosedError()
        if self._slots is None:
            return self.client.send(request, **kwargs)
        if not self._slots.acquire(timeout=_pool_timeout(request)):
            raise httpx.PoolTimeout("timed out waiting for a free connection", request=request)
        try:
            return self.client.send(request, **kwargs)
        finally:
            self._slots.release()

    def request(self, api_request: ApiRequest, cast_to: Type[M], options: Optional[RequestOptions]) -> M:
        resolved = resolve_options(self.config, options)
        request = build_request(self.config, api_request, resolved, self.client.headers)
        what = _Describe(request)
        start = time.perf_counter()
        response = run_flow(
            retry_flow(max_retries=resolved.max_retries, what=what), lambda _: self.send(request)
        )
        logger.debug("%s -> %d in %.1f ms", what, response.status_code, (time.perf_counter() - start) * 1e3)
        return parse_response(response, cast_to)


class AsyncHTTP:
    """Sends API requests with retries through one pooled :class:`httpx.AsyncClient`."""

    def __init__(
        self, config: ClientConfig, client: httpx.AsyncClient, max_in_flight: Optional[int] = None
    ) -> None:
        self.config = config
        self.client = client
        self.closed = False  # set by Client.close() / AsyncClient.aclose()
        self._max_in_flight = max_in_flight
        self._slots: Any = None  # an anyio.Semaphore, made in the event loop on first use (like httpx's)

    async def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        """``client.send``, with at most ``max_in_flight`` requests in the pool (see the module doc)."""
        if self.closed or self.client.is_closed:
            raise ClientClosedError()
        if not self._max_in_flight:
            return await self.client.send(request, **kwargs)
        import anyio

        if self._slots is None:
            self._slots = anyio.Semaphore(self._max_in_flight)
        try:
            self._slots.acquire_nowait()  # the common case: a free slot, no cancel scope to set up
        except anyio.WouldBlock:
            try:
                with anyio.fail_after(_pool_timeout(request)):
                    await self._slots.acquire()
            except TimeoutError:
                raise httpx.PoolTimeout("timed out waiting for a free connection", request=request) from None
        try:
            return await self.client.send(request, **kwargs)
        finally:
            self._slots.release()

    async def request(
        self, api_request: ApiRequest, cast_to: Type[M], options: Optional[RequestOptions]
    ) -> M:
        resolved = resolve_options(self.config, options)
        request = build_request(self.config, api_request, resolved, self.client.headers)
        what = _Describe(request)
        start = time.perf_counter()
        response = await arun_flow(
            retry_flow(max_retries=resolved.max_retries, what=what), lambda _: self.send(request)
        )
        logger.debug("%s -> %d in %.1f ms", what, response.status_code, (time.perf_counter() - start) * 1e3)
        return parse_response(response, cast_to)
