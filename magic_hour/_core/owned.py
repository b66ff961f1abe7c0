"""The httpx client the SDK makes for itself: httpx's public ``transport=`` over httpcore connection pools
built with httpcore's documented ``network_backend=``, so every connection's reads, writes and connects
keep the call's deadlines (:mod:`.deadline`) and, under asyncio, keep reading while a body is written
(:mod:`.asyncio_net`).

It does what ``httpx.HTTPTransport`` does (httpx offers no public way to give it a network backend):
one pool for direct connections, one per proxy, chosen per request from the proxies of the environment
(``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``, ``NO_PROXY``, read when the client is made, as httpx's
``trust_env`` does), and httpcore's exceptions raised as httpx's. A client lent by the caller is never
built here: its transport is the caller's (see ``docs/client.md`` for what deadlines mean then).
"""

from __future__ import annotations

import datetime
import ipaddress
import logging
import time
import urllib.request
from typing import Any, AsyncIterator, Dict, Iterator, List, Mapping, NamedTuple, Optional, Tuple, Type, cast

import httpcore
import httpx

from .deadline import AsyncBackend, Backend

_ERRORS: Dict[Type[Exception], Type[httpx.HTTPError]] = {
    httpcore.TimeoutException: httpx.TimeoutException,
    httpcore.ConnectTimeout: httpx.ConnectTimeout,
    httpcore.ReadTimeout: httpx.ReadTimeout,
    httpcore.WriteTimeout: httpx.WriteTimeout,
    httpcore.PoolTimeout: httpx.PoolTimeout,
    httpcore.NetworkError: httpx.NetworkError,
    httpcore.ConnectError: httpx.ConnectError,
    httpcore.ReadError: httpx.ReadError,
    httpcore.WriteError: httpx.WriteError,
    httpcore.ProxyError: httpx.ProxyError,
    httpcore.UnsupportedProtocol: httpx.UnsupportedProtocol,
    httpcore.ProtocolError: httpx.ProtocolError,
    httpcore.LocalProtocolError: httpx.LocalProtocolError,
    httpcore.RemoteProtocolError: httpx.RemoteProtocolError,
}


def _as_httpx(exc: Exception) -> Optional[httpx.HTTPError]:
    """httpx's exception for an httpcore one (the most specific), or ``None`` for any other."""
    for cls in type(exc).__mro__:
        mapped = _ERRORS.get(cls)
        if mapped is not None:
            error = mapped(str(exc))
            error.__cause__ = exc
            return error
    return None


def environment_mounts(found: Mapping[str, str]) -> Dict[str, Optional[str]]:
    """The proxy of each URL pattern, ``None`` for a direct connection, from the environment's proxies
    (``urllib.request.getproxies()``): exactly the patterns httpx's ``trust_env`` makes of them.

    ``NO_PROXY`` is a comma-separated list: ``*`` turns every proxy off; ``name`` covers the name and its
    subdomains, ``.name`` its subdomains only; an IP address or ``localhost`` covers that host only
    (``10.0.0.0/8`` covers ``10.0.0.0`` alone: httpx reads no CIDR ranges); ``name:port`` only that port
    as written (``:443`` never matches an https URL without one); an entry with ``://`` is a URL
    pattern (``http://name`` covers that scheme and host only)."""
    mounts: Dict[str, Optional[str]] = {}
    for scheme in ("http", "https", "all"):
        url = found.get(scheme)
        if url:
            mounts[f"{scheme}://"] = url if "://" in url else f"http://{url}"
    for entry in (part.strip() for part in found.get("no", "").split(",")):
        if entry == "*":
            return {}
        if not entry:
            continue
        if "://" in entry:
            mounts[entry] = None
        elif _is_ip(entry, ipaddress.IPv4Address):
            mounts[f"all://{entry}"] = None
        elif _is_ip(entry, ipaddress.IPv6Address):
            mounts[f"all://[{entry}]"] = None
        elif entry.lower() == "localhost":
            mounts[f"all://{entry}"] = None
        else:
            mounts[f"all://*{entry}"] = None
    return mounts


def _is_ip(entry: str, kind: Any) -> bool:
    try:
        kind(entry.split("/")[0])
    except ValueError:
        return False
    return True


class Pattern(NamedTuple):
    """A URL pattern (``all://*.example.com:8080``) as httpx matches it: scheme and port when given, and a
    host that is exact, ``*.name`` (subdomains only) or ``*name`` (the name and its subdomains)."""

    scheme: str  # "" for any
    host: str  # "" for any
    port: Optional[int]

    @classmethod
    def parse(cls, key: str) -> Optional[Pattern]:
        try:
            url = httpx.URL(key)
        except httpx.InvalidURL:
            return None  # httpx refuses to make a client over such an entry; here it matches nothing
        return cls("" if url.scheme == "all" else url.scheme, "" if url.host == "*" else url.host, url.port)

    def matches(self, url: httpx.URL) -> bool:
        if (self.scheme and self.scheme != url.scheme) or (self.port is not None and self.port != url.port):
            return False
        host = url.host
        if self.host.startswith("*."):
            return host.endswith(self.host[1:]) and len(host) >= len(self.host)
        if self.host.startswith("*"):
            name = self.host[1:]
            return host == name or (host.endswith("." + name) and len(host) > len(name) + 1)
        return not self.host or host == self.host

    def priority(self) -> Tuple[int, int, int]:
        """httpx's order: a pattern with a port first, then the longer host, then the longer scheme."""
        return (0 if self.port is not None else 1, -len(self.host), -len(self.scheme))


def ordered(mounts: Dict[str, Optional[str]]) -> List[Tuple[Pattern, Optional[str]]]:
    """The mounts as patterns, in the order httpx tries them."""
    patterns = [(pattern, proxy) for key, proxy in mounts.items() if (pattern := Pattern.parse(key))]
    return sorted(patterns, key=lambda item: item[0].priority())


def route(patterns: List[Tuple[Pattern, Optional[str]]], url: httpx.URL) -> Optional[str]:
    """The proxy of the first pattern matching ``url``, or ``None`` for a direct connection."""
    for pattern, proxy in patterns:
        if pattern.matches(url):
            return proxy
    return None


class Proxies:
    """The environment's proxies, read once (``urllib.request.getproxies``, as httpx reads them)."""

    def __init__(self) -> None:
        mounts = environment_mounts(urllib.request.getproxies())
        self.urls: Dict[str, str] = {key: url for key, url in mounts.items() if url is not None}
        self._patterns = ordered(mounts)

    def url_for(self, url: httpx.URL) -> Optional[str]:
        """The proxy a request to ``url`` goes through, or ``None`` when it connects directly."""
        return route(self._patterns, url) if self.urls else None


def _pool_options(limits: httpx.Limits, ssl_context: Any) -> Dict[str, Any]:
    return {
        "ssl_context": ssl_context,
        "max_connections": limits.max_connections,
        "max_keepalive_connections": limits.max_keepalive_connections,
        "keepalive_expiry": limits.keepalive_expiry,
    }


def _proxy_pool(proxy_url: str, is_async: bool, options: Dict[str, Any]) -> Any:
    proxy = httpx.URL(proxy_url)
    url = httpcore.URL(scheme=proxy.raw_scheme, host=proxy.raw_host, port=proxy.port, target=proxy.raw_path)
    auth: Optional[Tuple[bytes, bytes]] = None
    if proxy.username or proxy.password:
        auth = (proxy.username.encode(), proxy.password.encode())
    if proxy.scheme in ("http", "https"):
        cls: Any = httpcore.AsyncHTTPProxy if is_async else httpcore.HTTPProxy
        return cls(proxy_url=url, proxy_auth=auth, **options)
    if proxy.scheme in ("socks5", "socks5h"):
        cls = httpcore.AsyncSOCKSProxy if is_async else httpcore.SOCKSProxy
        return cls(proxy_url=url, proxy_auth=auth, **options)  # needs socksio, as httpx does
    raise ValueError(f"unsupported proxy scheme {proxy.scheme!r} (http, https, socks5, socks5h)")


def _core_request(request: httpx.Request) -> httpcore.Request:
    url = request.url
    return httpcore.Request(
        method=request.method,
        url=httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path),
        headers=request.headers.raw,
        content=request.stream,
        extensions=request.extensions,
    )


class _Body(httpx.SyncByteStream):
    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._stream
        except Exception as exc:
            mapped = _as_httpx(exc)
            if mapped is None:
                raise
            raise mapped from exc

    def close(self) -> None:
        self._stream.close()


class _AsyncBody(httpx.AsyncByteStream):
    def __init__(self, stream: Any) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for part in self._stream:
                yield part
        except Exception as exc:
            mapped = _as_httpx(exc)
            if mapped is None:
                raise
            raise mapped from exc

    async def aclose(self) -> None:
        await self._stream.aclose()


class OwnTransport(httpx.BaseTransport):
    """Sync: httpcore pools over :class:`.deadline.Backend` (httpcore's ``SyncBackend`` inside)."""

    def __init__(self, limits: httpx.Limits) -> None:
        self._options = _pool_options(limits, httpx.create_ssl_context(trust_env=True))
        self._options["network_backend"] = Backend(httpcore.SyncBackend())
        self.proxies = Proxies()
        self.pool = httpcore.ConnectionPool(**self._options)
        self._via: Dict[str, Any] = {
            url: _proxy_pool(url, False, self._options) for url in self.proxies.urls.values()
        }

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        proxy = self.proxies.url_for(request.url)
        pool = self.pool if proxy is None else self._via[proxy]
        try:
            response: Any = pool.handle_request(_core_request(request))
        except Exception as exc:
            mapped = _as_httpx(exc)
            if mapped is None:
                raise
            raise mapped from exc
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_Body(response.stream),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self.pool.close()
        for pool in self._via.values():
            pool.close()


class OwnAsyncTransport(httpx.AsyncBaseTransport):
    """Async: httpcore pools over :class:`.deadline.AsyncBackend` (asyncio: :mod:`.asyncio_net`; trio:
    httpcore's ``TrioBackend``)."""

    def __init__(self, limits: httpx.Limits) -> None:
        self._options = _pool_options(limits, httpx.create_ssl_context(trust_env=True))
        self._options["network_backend"] = AsyncBackend(_AutoBackend())
        self.proxies = Proxies()
        self.pool = httpcore.AsyncConnectionPool(**self._options)
        # Through an https:// proxy, TLS runs inside TLS, which asyncio's transports cannot do before
        # Python 3.11 (loop.start_tls over a TLS transport): httpcore's anyio backend does it, with the
        # deadlines (not the early-answer reading of asyncio_net.py: a rare setup).
        anyio_backend = cast(httpcore.AsyncNetworkBackend, httpcore.AnyIOBackend())
        tunnel = {**self._options, "network_backend": AsyncBackend(anyio_backend)}
        self._via: Dict[str, Any] = {
            url: _proxy_pool(url, True, tunnel if url.startswith("https:") else self._options)
            for url in self.proxies.urls.values()
        }

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        proxy = self.proxies.url_for(request.url)
        pool = self.pool if proxy is None else self._via[proxy]
        try:
            response: Any = await pool.handle_async_request(_core_request(request))
        except Exception as exc:
            mapped = _as_httpx(exc)
            if mapped is None:
                raise
            raise mapped from exc
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_AsyncBody(response.stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self.pool.aclose()
        for pool in self._via.values():
            await pool.aclose()


class _AutoBackend(httpcore.AsyncNetworkBackend):
    """Our asyncio backend under asyncio, httpcore's trio backend under trio (chosen per connection: the
    pool is made in a worker thread, before any event loop is known)."""

    def __init__(self) -> None:
        self._backend: Optional[httpcore.AsyncNetworkBackend] = None

    def _pick(self) -> httpcore.AsyncNetworkBackend:
        import sniffio

        if sniffio.current_async_library() == "trio":
            return cast(httpcore.AsyncNetworkBackend, httpcore.TrioBackend())
        from .asyncio_net import AioBackend

        return AioBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: Optional[float] = None,
        local_address: Optional[str] = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        return await self._pick().connect_tcp(host, port, timeout, local_address, socket_options)

    async def connect_unix_socket(
        self, path: str, timeout: Optional[float] = None, socket_options: Any = None
    ) -> httpcore.AsyncNetworkStream:
        return await self._pick().connect_unix_socket(path, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        await self._pick().sleep(seconds)


_HTTPX_LOG = logging.getLogger("httpx")


class _Timed(httpx.SyncByteStream):
    """Sets the response's ``elapsed`` when it is closed, as httpx's Client does."""

    def __init__(self, stream: httpx.SyncByteStream, response: httpx.Response, start: float) -> None:
        self._stream, self._response, self._start = stream, response, start

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._stream)

    def close(self) -> None:
        self._response.elapsed = datetime.timedelta(seconds=time.perf_counter() - self._start)
        self._stream.close()


class _AsyncTimed(httpx.AsyncByteStream):
    def __init__(self, stream: httpx.AsyncByteStream, response: httpx.Response, start: float) -> None:
        self._stream, self._response, self._start = stream, response, start

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._stream.__aiter__()

    async def aclose(self) -> None:
        self._response.elapsed = datetime.timedelta(seconds=time.perf_counter() - self._start)
        await self._stream.aclose()


def _sent(request: httpx.Request, response: httpx.Response) -> httpx.Response:
    response.request = request
    if _HTTPX_LOG.isEnabledFor(logging.INFO):  # the line httpx's Client.send writes for each response
        _HTTPX_LOG.info(
            'HTTP Request: %s %s "%s %d %s"',
            request.method,
            request.url,
            response.http_version,
            response.status_code,
            response.reason_phrase,
        )
    return response


class OwnClient(httpx.Client):
    """The SDK's own ``httpx.Client`` (made anew in a forked child: ``pool.py``)."""

    def __init__(self, timeout: httpx.Timeout, limits: httpx.Limits) -> None:
        self.own_transport = OwnTransport(limits)
        super().__init__(timeout=timeout, transport=self.own_transport)

    def send_direct(self, request: httpx.Request) -> httpx.Response:
        """``send(request, stream=True, auth=None, follow_redirects=False)`` for a request that needs none
        of what ``Client.send`` adds around the transport (a storage PUT: no auth, no redirects, no event
        hooks, and the storage's cookies are not kept): the same response, with its ``request`` and
        httpx's log line, at a fraction of the cost per request (which a batch of small files pays per
        file). A URL with ``user:password@`` (which httpx turns into Basic auth) takes ``send``."""
        if self.is_closed:  # as Client.send: a closed pool would open a connection no one closes
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        start = time.perf_counter()
        try:
            response = self.own_transport.handle_request(request)
        except httpx.RequestError as exc:
            exc.request = request  # as httpx's Client does
            raise
        response.stream = _Timed(response.stream, response, start)  # type: ignore[arg-type]
        return _sent(request, response)


class OwnAsyncClient(httpx.AsyncClient):
    """The SDK's own ``httpx.AsyncClient`` (made anew per event loop and in a forked child)."""

    def __init__(self, timeout: httpx.Timeout, limits: httpx.Limits) -> None:
        self.own_transport = OwnAsyncTransport(limits)
        super().__init__(timeout=timeout, transport=self.own_transport)

    async def send_direct(self, request: httpx.Request) -> httpx.Response:
        """:meth:`OwnClient.send_direct` for the async client."""
        if self.is_closed:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        start = time.perf_counter()
        try:
            response = await self.own_transport.handle_async_request(request)
        except httpx.RequestError as exc:
            exc.request = request
            raise
        response.stream = _AsyncTimed(response.stream, response, start)  # type: ignore[arg-type]
        return _sent(request, response)


def proxy_host(client: httpx.Client | httpx.AsyncClient, url: httpx.URL) -> Optional[str]:
    """The host of the proxy a request to ``url`` goes through, or ``None`` when it connects directly.

    For the SDK's own client, exactly what its transport does. httpx has no public way to ask a lent
    client which proxy it uses (its ``proxy=`` or ``mounts=``); for one, the environment's proxies when
    it trusts the environment (httpx's default), else none: a proxy configured on a lent client is the
    caller's own choice (docs/client.md)."""
    if isinstance(client, (OwnClient, OwnAsyncClient)):
        proxies = client.own_transport.proxies
    elif client.trust_env:
        proxies = Proxies()
    else:
        return None
    proxy = proxies.url_for(url)
    return None if proxy is None else httpx.URL(proxy).host
