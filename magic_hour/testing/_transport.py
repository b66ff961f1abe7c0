"""The socket-free front-end: an httpx transport (sync and async) over :class:`FakeMagicHour`."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, AsyncIterator, Iterator, Optional, Union

import anyio
import httpx

from ..environment import Environment
from ._exchange import TRANSPORT_BASE_URL, TRANSPORT_STORAGE_URL

if TYPE_CHECKING:
    from ._exchange import Exchange, Reply
    from ._state import FakeState

__all__ = ["FakeTransport"]


def _read_timeout(request: httpx.Request) -> Optional[float]:
    timeout = request.extensions.get("timeout")
    if isinstance(timeout, dict):
        value = timeout.get("read")  # pyright: ignore[reportUnknownVariableType, reportUnknownMemberType]
        if isinstance(value, (int, float)):
            return float(value)
    return None


class _CutStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body that stops early with the error httpx raises when a server drops mid-body."""

    def __init__(self, request: httpx.Request, data: bytes) -> None:
        self._request = request
        self._data = data

    def _error(self) -> httpx.RemoteProtocolError:
        return httpx.RemoteProtocolError(
            "peer closed connection without sending complete message body (FakeMagicHour drop_next_downloads)",
            request=self._request,
        )

    def __iter__(self) -> Iterator[bytes]:
        if self._data:
            yield self._data
        raise self._error()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._data:
            yield self._data
        raise self._error()


def _response(request: httpx.Request, reply: Reply) -> httpx.Response:
    content = b"" if request.method == "HEAD" else reply.body
    if reply.cut_after is not None and request.method != "HEAD":
        return httpx.Response(
            reply.status,
            headers=reply.headers,
            stream=_CutStream(request, content[: reply.cut_after]),
            request=request,
            extensions={"http_version": b"HTTP/1.1"},
        )
    return httpx.Response(
        reply.status,
        headers=reply.headers,
        content=content,
        request=request,
        extensions={"http_version": b"HTTP/1.1"},
    )


class FakeTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Routes requests for ``https://api.magichour.test`` and ``https://storage.magichour.test`` to
    the fake, with no sockets. Works with both :class:`httpx.Client` and :class:`httpx.AsyncClient`.

    In mock-server mode (``fake.mock_server``) it also answers for ``Environment.MOCK_SERVER``'s URL,
    the official SDK's hosted mock server, so ``Client(environment=Environment.MOCK_SERVER,
    httpx_client=fake.httpx_client())`` runs offline.

    Other hosts raise :class:`httpx.ConnectError` (as if they did not resolve), so a client that is
    not pointed at the fake fails loudly instead of reaching the internet.
    """

    def __init__(self, fake: FakeState) -> None:
        self.fake = fake
        self.api_origin = httpx.URL(TRANSPORT_BASE_URL)
        self.storage_origin = httpx.URL(TRANSPORT_STORAGE_URL)
        self.mock_origin = httpx.URL(Environment.MOCK_SERVER.value)

    def _begin(self, request: httpx.Request) -> Exchange:
        url = request.url
        mock = self.mock_origin
        if self.fake.mock_server and (url.scheme, url.host, url.port) == (mock.scheme, mock.host, mock.port):
            return self.fake.begin_request(
                request.method,
                str(url),
                request.headers,
                storage_base=TRANSPORT_STORAGE_URL,
                api_base=Environment.MOCK_SERVER.value,
            )
        if (url.scheme, url.host, url.port) not in {
            (o.scheme, o.host, o.port) for o in (self.api_origin, self.storage_origin)
        }:
            raise httpx.ConnectError(
                f"FakeMagicHour transport: unknown host {url.host!r} (use fake.base_url, "
                f"{TRANSPORT_BASE_URL})",
                request=request,
            )
        return self.fake.begin_request(
            request.method, str(url), request.headers, storage_base=TRANSPORT_STORAGE_URL
        )

    @staticmethod
    def _timed_out(exchange: Exchange, request: httpx.Request) -> Optional[float]:
        """The read timeout to wait before raising, when the latency knob exceeds it."""
        timeout = _read_timeout(request)
        if timeout is not None and exchange.delay > timeout:
            return timeout
        return None

    @staticmethod
    def _timeout_error(exchange: Exchange, request: httpx.Request) -> httpx.ReadTimeout:
        exchange.abort("timeout")
        return httpx.ReadTimeout("FakeMagicHour: the latency knob exceeded the read timeout", request=request)

    @staticmethod
    def _drop_error(exchange: Exchange, request: httpx.Request) -> httpx.RemoteProtocolError:
        exchange.dropped()
        return httpx.RemoteProtocolError(
            "Server disconnected without sending a response (FakeMagicHour drop_next_uploads)",
            request=request,
        )

    # ---------------------------------------------------------------- sync

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        exchange = self._begin(request)
        timeout = self._timed_out(exchange, request)
        if timeout is not None:
            time.sleep(timeout)
            raise self._timeout_error(exchange, request)
        if exchange.delay:
            time.sleep(exchange.delay)
        drop_after = exchange.drop_after
        try:
            for chunk in _sync_chunks(request.stream):
                if drop_after is not None:
                    need = drop_after - exchange.record.body_size
                    if need <= 0:
                        break
                    chunk = chunk[:need]
                exchange.feed(chunk)
        except BaseException:
            exchange.abort()
            raise
        if drop_after is not None:
            raise self._drop_error(exchange, request)
        return _response(request, exchange.finish())

    # ---------------------------------------------------------------- async

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        exchange = self._begin(request)
        timeout = self._timed_out(exchange, request)
        if timeout is not None:
            await anyio.sleep(timeout)
            raise self._timeout_error(exchange, request)
        if exchange.delay:
            await anyio.sleep(exchange.delay)
        drop_after = exchange.drop_after
        try:
            async for chunk in _async_chunks(request.stream):
                if drop_after is not None:
                    need = drop_after - exchange.record.body_size
                    if need <= 0:
                        break
                    chunk = chunk[:need]
                exchange.feed(chunk)
        except BaseException:
            exchange.abort()
            raise
        if drop_after is not None:
            raise self._drop_error(exchange, request)
        return _response(request, exchange.finish())


def _sync_chunks(stream: Union[httpx.SyncByteStream, httpx.AsyncByteStream]) -> Iterator[bytes]:
    if not isinstance(stream, httpx.SyncByteStream):
        raise TypeError("an async request body was sent through a sync httpx.Client")
    for chunk in stream:
        if chunk:
            yield chunk


async def _async_chunks(stream: Union[httpx.SyncByteStream, httpx.AsyncByteStream]) -> AsyncIterator[bytes]:
    if isinstance(stream, httpx.AsyncByteStream):
        async for chunk in stream:
            if chunk:
                yield chunk
    else:
        for chunk in stream:
            if chunk:
                yield chunk
