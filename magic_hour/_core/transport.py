"""The only place where the API core does I/O: two tiny drivers that run the pure retry flow (with
:func:`.flows.run_flow` / :func:`.flows.arun_flow`).

``SyncHTTP`` and ``AsyncHTTP`` differ only in ``send`` versus ``await send`` and in how they sleep.
The pool they send through (made, replaced in a forked child or another event loop, closed, and at most
``max_in_flight`` requests in it at once) is :mod:`.pool`'s.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, Callable, Optional, Type

import httpx

from .._exceptions import ApiConnectionError, ClientClosedError, MagicHourError
from .._redact import safe_url
from .config import ClientConfig
from .deadline import ATTEMPT, CURRENT, Budget, budget_for, call_deadline, lent_timeouts
from .flows import arun_flow, run_flow
from .hosts import check_cleartext
from .owned import OwnAsyncClient, OwnClient, proxy_host
from .pool import AsyncPoolHolder, SyncPoolHolder
from .redirects import asend_following, send_following
from .request import ApiRequest, RequestOptions, build_request, resolve_options
from .response import M, aread_body, parse_response, read_body
from .retry import retry_flow

if TYPE_CHECKING:
    from .transfers import TaskSlots, ThreadSlots

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
            self._text = f"{self._request.method} {safe_url(self._request.url, mark_query=False)}"
        return self._text


def _closed_or(exc: RuntimeError, closed: bool, request: httpx.Request) -> MagicHourError:
    # httpx raises RuntimeError for a client closed while the call waited, or (a lent AsyncClient)
    # used from an event loop other than its first one.
    if closed:
        return ClientClosedError()
    return ApiConnectionError(f"{_Describe(request)} failed: {exc}", request=request)


class SyncHTTP(SyncPoolHolder):
    """Sends API requests with retries through one pooled :class:`httpx.Client` (``pool.py``:
    ``make_client`` builds the pool when the SDK owns it, and again in a forked child; a lent ``client``
    is used as is).
    """

    def __init__(
        self,
        config: ClientConfig,
        client: Optional[httpx.Client] = None,
        max_in_flight: Optional[int] = None,
        make_client: Optional[Callable[[], httpx.Client]] = None,
    ) -> None:
        self.config = config
        super().__init__(client, max_in_flight, make_client)
        self.jobs: Any = None
        """The client's job runner (its upload engine and upload cache), made on first use by
        ``magic_hour._jobs``: a layer above this one, so it is not named here."""

    @property
    def transfers(self) -> ThreadSlots:
        """The client-wide bound on file transfers (``transfers.py``), shared by all its calls; made by
        the first transfer (an API call needs none)."""
        made: Optional[ThreadSlots] = self.__dict__.get("_transfers")
        if made is not None:
            return made
        from .transfers import ThreadSlots

        # setdefault is atomic: calls starting their first transfer at once all get the one kept.
        kept: ThreadSlots = self.__dict__.setdefault(
            "_transfers", ThreadSlots(self.config.max_concurrent_transfers)
        )
        return kept

    def send(
        self, request: httpx.Request, budget: Optional[Budget] = None, *, direct: bool = False, **kwargs: Any
    ) -> httpx.Response:
        """``client.send`` with the response read within its limits and deadlines, and at most
        ``max_in_flight`` requests in the pool (see the module doc). With ``stream=True`` the body is
        left for the caller to read (a download), without the response deadline. ``direct``: an API call
        or a storage PUT, sent straight to the SDK's own transport (``OwnClient.send_direct``): our own
        client has no auth, event hooks or mounts and follows no redirect (an API call's is its answer)."""
        streamed = bool(kwargs.pop("stream", False))
        client = self._current()
        budget = budget or budget_for(request)
        slots = self._admit
        if slots is not None:
            slots.acquire(request, budget)
        token = CURRENT.set(budget)
        try:
            if self.closed or client.is_closed:  # closed while this call waited for a slot
                raise ClientClosedError()
            lent_deadline = None if self.owned else lent_timeouts(request, budget)
            try:
                if direct and isinstance(client, OwnClient) and not request.url.userinfo:
                    response = client.send_direct(request)
                else:
                    response = send_following(client, request, **kwargs)  # and its redirects
            except RuntimeError as exc:
                raise _closed_or(exc, self.closed or client.is_closed, request) from None
            except UnicodeError as exc:  # a host name the socket layer cannot encode
                raise httpx.ConnectError(f"invalid host name: {exc}", request=request) from None
            if not streamed:
                # Our own pool's connections keep the deadlines; a lent one's are checked between pieces.
                response = read_body(response, lent_deadline)
            return response
        finally:
            CURRENT.reset(token)
            if slots is not None:
                slots.release()

    def request(
        self,
        api_request: ApiRequest,
        cast_to: Type[M],
        options: Optional[RequestOptions],
        *,
        deadline: Optional[float] = None,
    ) -> M:
        """Send ``api_request`` with retries; the parsed model. ``deadline`` (``time.monotonic()``): the
        call must end by then, or raise :class:`~magic_hour._core.retry.DeadlineExceeded` (a wait's poll)."""
        resolved = resolve_options(self.config, options)
        client = self._current()
        request = build_request(self.config, api_request, resolved, client.headers)
        if request.url.scheme == "http" and api_request.auth and not self.config.allow_insecure_http:
            check_cleartext(proxy_host(client, request.url), request)
        what = _Describe(request)
        start = time.perf_counter()
        total = call_deadline(resolved.total_timeout)
        strict = deadline is not None and (total is None or deadline <= total)
        if strict:
            total = deadline
        wrap = None if api_request.creates else ATTEMPT.get()  # a create is never cut (deadline.ATTEMPT)

        def attempt(_: object) -> httpx.Response:
            budget = budget_for(request, total)
            if wrap is None:
                return self.send(request, budget, direct=True)
            with wrap(budget):
                return self.send(request, budget, direct=True)

        response = run_flow(
            retry_flow(
                max_retries=resolved.max_retries,
                what=what,
                deadline=total,
                creates=api_request.creates,
                retry_may_duplicate=resolved.retry_may_duplicate,
                strict_deadline=strict,
            ),
            attempt,
        )
        logger.debug("%s -> %d in %.1f ms", what, response.status_code, (time.perf_counter() - start) * 1e3)
        return parse_response(response, cast_to, api_request.creates)


class AsyncHTTP(AsyncPoolHolder):
    """Sends API requests with retries through one pooled :class:`httpx.AsyncClient` (``pool.py``:
    a pool the SDK made is replaced when used from another event loop or a forked child; a lent
    ``client`` is used as is).
    """

    def __init__(
        self,
        config: ClientConfig,
        client: Optional[httpx.AsyncClient] = None,
        max_in_flight: Optional[int] = None,
        make_client: Optional[Callable[[], httpx.AsyncClient]] = None,
    ) -> None:
        self.config = config
        super().__init__(client, max_in_flight, make_client)
        self.jobs: Any = None
        """The client's job runner (its upload engine and upload cache), made on first use by
        ``magic_hour._jobs``: a layer above this one, so it is not named here."""

    @property
    def transfers(self) -> TaskSlots:
        """The client-wide bound on file transfers (``transfers.py``), shared by all its calls; made by
        the first transfer (an API call needs none)."""
        made: Optional[TaskSlots] = self.__dict__.get("_transfers")
        if made is not None:
            return made
        from .transfers import TaskSlots

        # setdefault is atomic: calls starting their first transfer at once all get the one kept.
        kept: TaskSlots = self.__dict__.setdefault(
            "_transfers", TaskSlots(self.config.max_concurrent_transfers)
        )
        return kept

    async def send(
        self, request: httpx.Request, budget: Optional[Budget] = None, *, direct: bool = False, **kwargs: Any
    ) -> httpx.Response:
        """``client.send`` with the response read within its limits and deadlines, and at most
        ``max_in_flight`` requests in the pool (see the module doc). With ``stream=True`` the body is
        left for the caller to read (a download), without the response deadline. ``direct``: an API call
        or a storage PUT, sent straight to the SDK's own transport (``OwnClient.send_direct``): our own
        client has no auth, event hooks or mounts and follows no redirect (an API call's is its answer)."""
        streamed = bool(kwargs.pop("stream", False))
        await self._made()
        client = self._current()
        budget = budget or budget_for(request)
        slots = self._admission()
        if slots is not None:
            await slots.acquire(request, budget)
        token = CURRENT.set(budget)
        try:
            if self.closed or client.is_closed:  # closed while this call waited for a slot
                raise ClientClosedError()
            if self.owned:
                return await self._send(client, request, None, streamed, direct, **kwargs)
            lent_deadline = lent_timeouts(request, budget)
            import anyio

            try:
                with anyio.fail_after(
                    None
                    if budget.call_deadline is None
                    else max(0.0, budget.call_deadline - time.monotonic())
                ):
                    return await self._send(client, request, lent_deadline, streamed, False, **kwargs)
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
        deadline: Optional[float],
        streamed: bool,
        direct: bool,
        **kwargs: Any,
    ) -> httpx.Response:
        try:
            if direct and isinstance(client, OwnAsyncClient) and not request.url.userinfo:
                response = await client.send_direct(request)
            else:
                response = await asend_following(client, request, **kwargs)  # and its redirects
        except RuntimeError as exc:
            raise _closed_or(exc, self.closed or client.is_closed, request) from None
        except UnicodeError as exc:  # a host name the socket layer cannot encode
            raise httpx.ConnectError(f"invalid host name: {exc}", request=request) from None
        if not streamed:
            # Our own pool's connections keep the deadlines (``deadline`` is None); a lent one's body
            # is checked between pieces.
            response = await aread_body(response, deadline)
        return response

    async def request(
        self,
        api_request: ApiRequest,
        cast_to: Type[M],
        options: Optional[RequestOptions],
        *,
        deadline: Optional[float] = None,
    ) -> M:
        """Send ``api_request`` with retries; the parsed model. ``deadline`` (``time.monotonic()``): the
        call must end by then, or raise :class:`~magic_hour._core.retry.DeadlineExceeded` (a wait's poll)."""
        resolved = resolve_options(self.config, options)
        await self._made()
        client = self._current()
        request = build_request(self.config, api_request, resolved, client.headers)
        if request.url.scheme == "http" and api_request.auth and not self.config.allow_insecure_http:
            check_cleartext(proxy_host(client, request.url), request)
        what = _Describe(request)
        start = time.perf_counter()
        total = call_deadline(resolved.total_timeout)
        strict = deadline is not None and (total is None or deadline <= total)
        if strict:
            total = deadline
        response = await arun_flow(
            retry_flow(
                max_retries=resolved.max_retries,
                what=what,
                deadline=total,
                creates=api_request.creates,
                retry_may_duplicate=resolved.retry_may_duplicate,
                strict_deadline=strict,
            ),
            lambda _: self.send(request, budget_for(request, total), direct=True),
        )
        logger.debug("%s -> %d in %.1f ms", what, response.status_code, (time.perf_counter() - start) * 1e3)
        return parse_response(response, cast_to, api_request.creates)
