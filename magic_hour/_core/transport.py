"""The only place where the API core does I/O: two tiny drivers that run the pure retry flow (with
:func:`.flows.run_flow` / :func:`.flows.arun_flow`).

``SyncHTTP`` and ``AsyncHTTP`` differ only in ``send`` versus ``await send`` and in how they sleep.
Both let at most ``max_in_flight`` requests into the httpx pool at once (:mod:`.slots`).
"""

from __future__ import annotations

import logging
import time
import weakref
from typing import Any, Callable, Optional, Type

import httpx

from .._exceptions import ApiConnectionError, ClientClosedError, MagicHourError
from . import pool
from .deadline import CURRENT, Budget, budget_for, call_deadline, lent_timeouts
from .deadline import install as install_deadlines
from .flows import arun_flow, run_flow
from .hosts import check_cleartext
from .reading import aread_body, read_body
from .request import ApiRequest, ClientConfig, RequestOptions, build_request, resolve_options
from .response import M, parse_response
from .retry import retry_flow
from .slots import AsyncSlots, SyncSlots

logger = logging.getLogger("magic_hour")


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


def _closed_or(exc: RuntimeError, closed: bool, request: httpx.Request) -> MagicHourError:
    # httpx raises RuntimeError for a client closed while the call waited, or (a lent AsyncClient)
    # used from an event loop other than its first one.
    if closed:
        return ClientClosedError()
    return ApiConnectionError(f"{_Describe(request)} failed: {exc}", request=request)


class SyncHTTP:
    """Sends API requests with retries through one pooled :class:`httpx.Client`.

    ``make_client`` builds the pool when the SDK owns it (and again in a forked child); a lent
    ``client`` is used as is.
    """

    def __init__(
        self,
        config: ClientConfig,
        client: Optional[httpx.Client] = None,
        max_in_flight: Optional[int] = None,
        make_client: Optional[Callable[[], httpx.Client]] = None,
    ) -> None:
        self.config = config
        self.closed = False  # set by Client.close() / AsyncClient.aclose()
        self.owned = make_client is not None
        self._make = make_client
        if make_client is not None:
            client = make_client()
            install_deadlines(client)
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
            install_deadlines(self.client)
            self._generation = pool.generation()
            old.close()
        return self.client

    def send(self, request: httpx.Request, budget: Optional[Budget] = None, **kwargs: Any) -> httpx.Response:
        """``client.send`` with the response read within its limits and deadlines, and at most
        ``max_in_flight`` requests in the pool (see the module doc). With ``stream=True`` the body is
        left for the caller to read (a download), without the response deadline."""
        streamed = bool(kwargs.pop("stream", False))
        client = self._current()
        budget = budget or budget_for(request)
        slots = self._slots
        if slots is not None:
            slots.acquire(request, budget)
        token = CURRENT.set(budget)
        try:
            if self.closed or client.is_closed:  # closed while this call waited for a slot
                raise ClientClosedError()
            lent_deadline = None if self.owned else lent_timeouts(request, budget)
            try:
                response = client.send(request, stream=True, **kwargs)
            except RuntimeError as exc:
                raise _closed_or(exc, self.closed or client.is_closed, request) from None
            except UnicodeError as exc:  # a host name the socket layer cannot encode
                raise httpx.ConnectError(f"invalid host name: {exc}", request=request) from None
            if not streamed:
                read_body(response, lent_deadline or budget.deadline())
            return response
        finally:
            CURRENT.reset(token)
            if slots is not None:
                slots.release()

    def request(self, api_request: ApiRequest, cast_to: Type[M], options: Optional[RequestOptions]) -> M:
        resolved = resolve_options(self.config, options)
        client = self._current()
        request = build_request(self.config, api_request, resolved, client.headers)
        if request.url.scheme == "http" and api_request.auth and not self.config.allow_insecure_http:
            check_cleartext(client, request)
        what = _Describe(request)
        start = time.perf_counter()
        deadline = call_deadline(resolved.total_timeout)
        response = run_flow(
            retry_flow(max_retries=resolved.max_retries, what=what, deadline=deadline),
            lambda _: self.send(request, budget_for(request, deadline)),
        )
        logger.debug("%s -> %d in %.1f ms", what, response.status_code, (time.perf_counter() - start) * 1e3)
        return parse_response(response, cast_to)


class AsyncHTTP:
    """Sends API requests with retries through one pooled :class:`httpx.AsyncClient`.

    A pool the SDK made is replaced when used from another event loop or a forked child (see
    ``pool.py``); a lent ``client`` is used as is.
    """

    def __init__(
        self,
        config: ClientConfig,
        client: Optional[httpx.AsyncClient] = None,
        max_in_flight: Optional[int] = None,
        make_client: Optional[Callable[[], httpx.AsyncClient]] = None,
    ) -> None:
        self.config = config
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

    def _new_client(self) -> httpx.AsyncClient:
        assert self._make is not None
        client = self._make()
        install_deadlines(client)
        return client

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

        client = await in_thread(self._new_client)
        if self._client is None:  # another first call may have made one meanwhile: keep that one
            self._client = client

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

    async def aclose(self) -> None:
        """Refuse later calls; close the pool if the SDK made it."""
        # A pool used in another event loop than this one is dropped instead: its connections cannot
        # be closed from here.
        self.closed = True
        loop_ok = self._loop is None or pool.current_loop() is self._loop()
        if self._client is not None and self.owned and loop_ok:
            await self._client.aclose()

    async def send(
        self, request: httpx.Request, budget: Optional[Budget] = None, **kwargs: Any
    ) -> httpx.Response:
        """``client.send`` with the response read within its limits and deadlines, and at most
        ``max_in_flight`` requests in the pool (see the module doc). With ``stream=True`` the body is
        left for the caller to read (a download), without the response deadline."""
        streamed = bool(kwargs.pop("stream", False))
        await self._made()
        client = self._current()
        budget = budget or budget_for(request)
        if self._max_in_flight and self._slots is None:
            self._slots = AsyncSlots(self._max_in_flight)
        slots = self._slots
        if slots is not None:
            await slots.acquire(request, budget)
        token = CURRENT.set(budget)
        try:
            if self.closed or client.is_closed:  # closed while this call waited for a slot
                raise ClientClosedError()
            if self.owned:
                return await self._send(client, request, budget.deadline, streamed, **kwargs)
            lent_deadline = lent_timeouts(request, budget)
            import anyio

            try:
                with anyio.fail_after(
                    None
                    if budget.call_deadline is None
                    else max(0.0, budget.call_deadline - time.monotonic())
                ):
                    return await self._send(client, request, lambda: lent_deadline, streamed, **kwargs)
            except TimeoutError:
                raise httpx.ReadTimeout(
                    "the call took longer than its total_timeout", request=request
                ) from None
        finally:
            CURRENT.reset(token)
            if slots is not None:
                slots.release()

    async def _send(
        self,
        client: httpx.AsyncClient,
        request: httpx.Request,
        deadline: Callable[[], Optional[float]],
        streamed: bool,
        **kwargs: Any,
    ) -> httpx.Response:
        try:
            response = await client.send(request, stream=True, **kwargs)
        except RuntimeError as exc:
            raise _closed_or(exc, self.closed or client.is_closed, request) from None
        except UnicodeError as exc:  # a host name the socket layer cannot encode
            raise httpx.ConnectError(f"invalid host name: {exc}", request=request) from None
        if not streamed:
            await aread_body(response, deadline())
        return response

    async def request(
        self, api_request: ApiRequest, cast_to: Type[M], options: Optional[RequestOptions]
    ) -> M:
        resolved = resolve_options(self.config, options)
        await self._made()
        client = self._current()
        request = build_request(self.config, api_request, resolved, client.headers)
        if request.url.scheme == "http" and api_request.auth and not self.config.allow_insecure_http:
            check_cleartext(client, request)
        what = _Describe(request)
        start = time.perf_counter()
        deadline = call_deadline(resolved.total_timeout)
        response = await arun_flow(
            retry_flow(max_retries=resolved.max_retries, what=what, deadline=deadline),
            lambda _: self.send(request, budget_for(request, deadline)),
        )
        logger.debug("%s -> %d in %.1f ms", what, response.status_code, (time.perf_counter() - start) * 1e3)
        return parse_response(response, cast_to)
