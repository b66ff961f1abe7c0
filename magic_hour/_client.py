"""``Client`` and ``AsyncClient``: configuration, the httpx client they own or borrow, and ``.v1``."""

from __future__ import annotations

from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING, Any, Mapping, NoReturn, Optional, Type, Union, overload

import httpx
from typing_extensions import Self

from ._core.config import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_TRANSFERS,
    NOT_GIVEN,
    ClientConfig,
    NotGiven,
    TimeoutTypes,
    resolve_config,
)
from ._core.owned import OwnAsyncClient, OwnClient
from ._core.transport import AsyncHTTP, SyncHTTP
from ._exceptions import InvalidParameterError
from ._redact import safe_url
from .environment import Environment
from .resources.v1 import V1, AsyncV1

if TYPE_CHECKING:
    from .batches import AsyncBatches, Batches
    from .webhooks import Webhooks
    from .webhooks._verify import Secret

__all__ = ["AsyncClient", "Client"]

# httpx's own keep-alive expiry (5 s): httpcore scans the idle connections at every request and
# response, so idle connections kept longer make every call of a burst dearer.
_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)


def _repr(name: str, config: ClientConfig) -> str:
    token = "set" if config.token else "missing"
    return (
        f"{name}(base_url={safe_url(config.base_url)!r}, token=<{token}>, max_retries={config.max_retries})"
    )


def _webhooks(secret: Optional[Secret]) -> Webhooks:
    # Imported when used: a client that never verifies a webhook does not load the webhooks package
    # (its first request is the faster for it).
    from .webhooks import Webhooks

    try:
        return Webhooks(secret)
    finally:
        del secret  # a refused list may hold good secrets: not in this frame's locals


def _config(
    token: Optional[str],
    base_url: Optional[str],
    environment: Environment,
    timeout: Union[TimeoutTypes, NotGiven],
    max_retries: int,
    httpx_client: Union[httpx.Client, httpx.AsyncClient, None],
    default_headers: Optional[Mapping[str, str]],
    allow_insecure_http: bool,
    max_concurrent_transfers: Optional[int],
) -> ClientConfig:
    return resolve_config(
        token=token,
        base_url=base_url,
        environment=environment,
        timeout=timeout,
        # A borrowed client keeps its own timeout unless one is given here (as the official SDK does).
        fallback_timeout=httpx_client.timeout if httpx_client is not None else None,
        max_retries=max_retries,
        default_headers=default_headers,
        allow_insecure_http=allow_insecure_http,
        max_concurrent_transfers=max_concurrent_transfers,
    )


class Client:
    """The synchronous Magic Hour client.

    Args:
        token: API token; defaults to ``$MAGIC_HOUR_API_TOKEN``. Never logged or shown in reprs.
        base_url: overrides ``environment``; defaults to ``$MAGIC_HOUR_BASE_URL`` unless ``environment``
            is given as another member than ``Environment.ENVIRONMENT``.
        environment: a pre-defined base URL (``Environment.ENVIRONMENT``, the production API).
        timeout: each attempt's, in seconds or an :class:`httpx.Timeout` (default 60 s, 10 s to connect);
            ``None`` waits forever. A call's deadline is ``request_options={"total_timeout": s}``, a job's
            wait ``wait_timeout=`` (docs/client.md, Timeouts).
        max_retries: retries of failed requests (connection errors, timeouts, 408/409/429/5xx); default 2.
        httpx_client: an :class:`httpx.Client` to use; it is borrowed, never closed by us.
        default_headers: headers sent with every API request.
        allow_insecure_http: allow sending the token over plain ``http://`` to a non-loopback host.
        max_concurrent_transfers: file transfers (upload PUTs and output downloads) in flight at once
            across all the calls on this client, whatever each call's ``max_concurrency`` (default 8;
            ``None``: no client-wide bound). Memory stays flat however many calls run at once.
        webhook_secret: the secret ``client.webhooks.unwrap()`` verifies requests to your webhook endpoint
            with (a list while rotating); defaults to ``$MAGIC_HOUR_WEBHOOK_SECRET``. Never shown.

    Example::

        with Client() as client:
            res = client.v1.files.upload_urls.create(items=[{"extension": "mp4", "type_": "video"}])
    """

    def __init__(
        self,
        *,
        token: Optional[str] = None,
        base_url: Optional[str] = None,
        environment: Environment = Environment.ENVIRONMENT,
        timeout: Union[TimeoutTypes, NotGiven] = NOT_GIVEN,
        max_retries: int = DEFAULT_MAX_RETRIES,
        httpx_client: Optional[httpx.Client] = None,
        default_headers: Optional[Mapping[str, str]] = None,
        allow_insecure_http: bool = False,
        max_concurrent_transfers: Optional[int] = DEFAULT_MAX_TRANSFERS,
        webhook_secret: Optional[Secret] = None,
    ) -> None:
        if httpx_client is not None and not isinstance(httpx_client, httpx.Client):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise InvalidParameterError(
                "httpx_client", httpx_client, "an httpx.Client (use AsyncClient for httpx.AsyncClient)"
            )
        self._config = _config(
            token,
            base_url,
            environment,
            timeout,
            max_retries,
            httpx_client,
            default_headers,
            allow_insecure_http,
            max_concurrent_transfers,
        )
        self._owns_client = httpx_client is None
        timeout = self._config.timeout
        self._http = SyncHTTP(
            self._config,
            httpx_client,
            _LIMITS.max_connections if self._owns_client else None,
            # Our own pool; made again in a forked child.
            (lambda: OwnClient(timeout, _LIMITS)) if self._owns_client else None,
        )
        self.v1 = V1(self._http)
        if webhook_secret is not None:  # checked now: a bad secret is refused by the constructor
            try:
                self.webhooks = _webhooks(webhook_secret)
            finally:
                del webhook_secret  # a refused list may hold good secrets: not in this frame's locals

    @cached_property
    def batches(self) -> Batches:
        """Many jobs, one journal, resumable and never paid twice (``docs/batches.md``)."""
        from .batches import Batches

        return Batches(self, self._http)

    @cached_property
    def webhooks(self) -> Webhooks:
        """``unwrap`` and ``verify_signature`` with this client's ``webhook_secret`` as the default."""
        return _webhooks(None)

    @property
    def base_url(self) -> str:
        """The API's base URL in use."""
        return self._config.base_url

    @property
    def _client(self) -> Any:
        return self._http.client

    @property
    def is_closed(self) -> bool:
        """Whether this client was closed (or the httpx client it uses was)."""
        return self._http.closed or self._client.is_closed

    def close(self) -> None:
        """Close the client: later calls raise ``ClientClosedError``. The connection pool is closed too if
        this client created it; a borrowed ``httpx_client`` stays open."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return _repr(type(self).__name__, self._config)

    def __reduce__(self) -> NoReturn:
        # A client holds the API token and open connections: neither belongs in a pickle.
        raise TypeError(f"{type(self).__name__} holds the API token and its connections; it is not pickled")


class AsyncClient:
    """The asynchronous Magic Hour client (asyncio or trio).

    Args:
        token: API token; defaults to ``$MAGIC_HOUR_API_TOKEN``. Never logged or shown in reprs.
        base_url: overrides ``environment``; defaults to ``$MAGIC_HOUR_BASE_URL`` unless ``environment``
            is given as another member than ``Environment.ENVIRONMENT``.
        environment: a pre-defined base URL (``Environment.ENVIRONMENT``, the production API).
        timeout: each attempt's, in seconds or an :class:`httpx.Timeout` (default 60 s, 10 s to connect);
            ``None`` waits forever. A call's deadline is ``request_options={"total_timeout": s}``, a job's
            wait ``wait_timeout=`` (docs/client.md, Timeouts).
        max_retries: retries of failed requests (connection errors, timeouts, 408/409/429/5xx); default 2.
        httpx_client: an :class:`httpx.AsyncClient` to use; it is borrowed, never closed by us.
        default_headers: headers sent with every API request.
        allow_insecure_http: allow sending the token over plain ``http://`` to a non-loopback host.
        max_concurrent_transfers: file transfers (upload PUTs and output downloads) in flight at once
            across all the calls on this client, whatever each call's ``max_concurrency`` (default 8;
            ``None``: no client-wide bound). Memory stays flat however many calls run at once.
        webhook_secret: the secret ``client.webhooks.unwrap()`` verifies requests to your webhook endpoint
            with (a list while rotating); defaults to ``$MAGIC_HOUR_WEBHOOK_SECRET``. Never shown.

    Example::

        async with AsyncClient() as client:
            res = await client.v1.files.upload_urls.create(items=[{"extension": "mp4", "type_": "video"}])
    """

    def __init__(
        self,
        *,
        token: Optional[str] = None,
        base_url: Optional[str] = None,
        environment: Environment = Environment.ENVIRONMENT,
        timeout: Union[TimeoutTypes, NotGiven] = NOT_GIVEN,
        max_retries: int = DEFAULT_MAX_RETRIES,
        httpx_client: Optional[httpx.AsyncClient] = None,
        default_headers: Optional[Mapping[str, str]] = None,
        allow_insecure_http: bool = False,
        max_concurrent_transfers: Optional[int] = DEFAULT_MAX_TRANSFERS,
        webhook_secret: Optional[Secret] = None,
    ) -> None:
        if httpx_client is not None and not isinstance(httpx_client, httpx.AsyncClient):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise InvalidParameterError(
                "httpx_client", httpx_client, "an httpx.AsyncClient (use Client for httpx.Client)"
            )
        self._config = _config(
            token,
            base_url,
            environment,
            timeout,
            max_retries,
            httpx_client,
            default_headers,
            allow_insecure_http,
            max_concurrent_transfers,
        )
        self._owns_client = httpx_client is None
        timeout = self._config.timeout
        self._http = AsyncHTTP(
            self._config,
            httpx_client,
            _LIMITS.max_connections if self._owns_client else None,
            # Our own pool; made again in a forked child or another event loop.
            (lambda: OwnAsyncClient(timeout, _LIMITS)) if self._owns_client else None,
        )
        self.v1 = AsyncV1(self._http)
        if webhook_secret is not None:  # checked now: a bad secret is refused by the constructor
            try:
                self.webhooks = _webhooks(webhook_secret)
            finally:
                del webhook_secret  # a refused list may hold good secrets: not in this frame's locals

    @cached_property
    def batches(self) -> AsyncBatches:
        """Many jobs, one journal, resumable and never paid twice (``docs/batches.md``)."""
        from .batches import AsyncBatches

        return AsyncBatches(self, self._http)

    @cached_property
    def webhooks(self) -> Webhooks:
        """``unwrap`` and ``verify_signature`` with this client's ``webhook_secret`` as the default."""
        return _webhooks(None)

    @property
    def base_url(self) -> str:
        """The API's base URL in use."""
        return self._config.base_url

    @property
    def _client(self) -> Any:
        return self._http.client

    @property
    def is_closed(self) -> bool:
        """Whether this client was closed (or the httpx client it uses was)."""
        return self._http.closed or self._client.is_closed

    async def aclose(self) -> None:
        """Close the client: later calls raise ``ClientClosedError``. The connection pool is closed too if
        this client created it; a borrowed ``httpx_client`` stays open."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return _repr(type(self).__name__, self._config)

    def __reduce__(self) -> NoReturn:
        # A client holds the API token and open connections: neither belongs in a pickle.
        raise TypeError(f"{type(self).__name__} holds the API token and its connections; it is not pickled")


@overload
def http_of(client: Client) -> SyncHTTP: ...
@overload
def http_of(client: AsyncClient) -> AsyncHTTP: ...
def http_of(client: Union[Client, AsyncClient]) -> Union[SyncHTTP, AsyncHTTP]:
    """Internal, not public API (not exported, no compatibility promise): the HTTP driver under
    ``client`` (auth, retries, timeouts, typed errors), for the SDK's own tools that need more than the
    resource methods offer: the CLI's calls printed as the API answered, its job runner, its upload
    engine. The client holds its driver, and the driver everything else the client owns (pool,
    transfer slots, job runner): nothing is kept per client at module level."""
    return client._http  # pyright: ignore[reportPrivateUsage]  # this module's own classes
