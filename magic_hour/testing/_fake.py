"""``FakeMagicHour``: the state and the request handler, shared by the transport and the real server."""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import hmac
import json
import os
import secrets
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import (
    TYPE_CHECKING,
    Any,
    BinaryIO,
    Callable,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Type,
    Union,
    cast,
)
from urllib.parse import parse_qsl, quote, unquote
from xml.sax.saxutils import escape

import httpx
from typing_extensions import Literal, Self

from .._exceptions import InvalidParameterError
from .._extensions import ASSET_TYPES, EXTENSIONS, describe_allowed
from ._exchange import Exchange, Reply
from ._records import IssuedUrl, RecordedRequest, StoredFile

if TYPE_CHECKING:
    from .. import AsyncClient, Client
    from ._server import FakeServer
    from ._transport import FakeTransport

__all__ = ["DEFAULT_TOKEN", "FakeMagicHour", "Route"]

Route = Literal["upload_urls", "storage"]
ROUTES: Tuple[Route, ...] = ("upload_urls", "storage")

DEFAULT_TOKEN = "test-token"
DEFAULT_MAX_UPLOAD_SIZE = 5 * 1024**3  # a single S3 PUT can hold up to 5 GiB
DEFAULT_URL_TTL = 3600.0
API_PATH = "/v1/files/upload-urls"
TRANSPORT_BASE_URL = "https://api.magichour.test"
TRANSPORT_STORAGE_URL = "https://storage.magichour.test"
MAX_API_BODY = 1024 * 1024
EXPIRED_MESSAGE = "Request has expired"

BodyType = Union[bytes, str, Mapping[str, Any], None]


@dataclass
class _Failure:
    status: int
    headers: Dict[str, str]
    body: BodyType
    remaining: int  # per file_path when used (per_file=True)
    used: Optional[Dict[str, int]] = None


@dataclass
class _FileDrops:
    times: int
    after_bytes: Optional[int]
    used: Dict[str, int]


@dataclass
class _Counter:
    remaining: int = 0
    value: int = 0  # knob-specific: item-count delta, drop offset


def _utc(epoch: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(epoch, tz=datetime.timezone.utc)


def rfc3339(epoch: float) -> str:
    """``2024-07-25T16:56:21.932Z``: the API's date-time format."""
    dt = _utc(epoch)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _json_reply(status: int, payload: Any, request_id: str, headers: Mapping[str, str] = {}) -> Reply:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return _reply(status, body, "application/json", [("x-request-id", request_id), *headers.items()])


def _reply(status: int, body: bytes, content_type: str, headers: Sequence[Tuple[str, str]]) -> Reply:
    all_headers = [("Content-Type", content_type), ("Content-Length", str(len(body))), *headers]
    return Reply(status, all_headers, body)


def _xml_error(status: int, code: str, message: str, request_id: str, **extra: str) -> Reply:
    """An S3-style error document (what a pre-signed storage URL answers)."""
    fields = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in extra.items())
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{escape(message)}</Message>{fields}"
        f"<RequestId>{request_id}</RequestId></Error>"
    ).encode()
    return _reply(status, body, "application/xml", [("x-amz-request-id", request_id)])


def _check_positive(name: str, value: object, allowed: str, *, integer: bool = False) -> None:
    ok_types = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, ok_types) or not value > 0:
        raise InvalidParameterError(name, value, allowed)


def _check_times(times: object) -> int:
    if isinstance(times, bool) or not isinstance(times, int) or times < 1:
        raise InvalidParameterError("times", times, "an integer >= 1")
    return times


def _check_route(route: object) -> Route:
    if route not in ROUTES:
        raise InvalidParameterError("route", route, ", ".join(repr(r) for r in ROUTES))
    return route  # pyright: ignore[reportReturnType]


def _header_items(headers: Union[httpx.Headers, Iterable[Tuple[str, str]]]) -> httpx.Headers:
    return headers if isinstance(headers, httpx.Headers) else httpx.Headers(list(headers))


class FakeMagicHour:
    """An in-memory Magic Hour API and object storage, for tests. Nothing leaves the process.

    It answers ``POST /v1/files/upload-urls`` as documented (bearer auth, 400/401/422 with
    ``{"message": ...}``, one signed upload URL per item, in order) and stores the bytes PUT to
    those URLs like S3 does (``Content-Length`` required, no chunked bodies, no ``Authorization``
    header, signature and expiry checked, S3-style XML errors).

    Run it two ways, with the same behaviour (both share :meth:`begin_request`):

    * as an httpx transport, no sockets: :meth:`client` / :meth:`async_client` (a configured
      :class:`magic_hour.Client` / :class:`~magic_hour.AsyncClient`), :meth:`httpx_client`,
      :meth:`async_httpx_client` or :meth:`transport`. The API is at :attr:`base_url`
      (``https://api.magichour.test``), storage at ``https://storage.magichour.test``; any other
      host raises :class:`httpx.ConnectError`.
    * as a real HTTP/1.1 server on 127.0.0.1 in a background thread: :meth:`serve` returns a
      :class:`FakeServer` (a context manager) with ``.url``; storage is ``<url>/storage/...``.

    Args:
        tokens: the accepted API token, or several (default ``"test-token"``); others get 401.
        spool_dir: store uploaded files under this directory instead of memory
            (``StoredFile.path``); use it for big files.
        keep_content: keep the bytes of uploads in memory (default). With ``False`` and no
            ``spool_dir`` only size and SHA-256 are kept (for benchmarks).
        max_upload_size: storage answers 413 to a larger ``Content-Length`` (default 5 GiB).
        url_ttl: seconds an upload URL stays valid (default 3600).
        max_items: answer 422 when a request asks for more URLs than this (default: no limit).

    ``keep_content``, ``max_upload_size``, ``url_ttl`` and ``max_items`` are also attributes; change
    them at any time (``fake.max_upload_size = 10``). ``fake.token`` is the (first) accepted token.

    Inspection (all thread-safe, each returns a snapshot):
        :attr:`requests` (every :class:`RecordedRequest`), :meth:`requests_to` (one route),
        :attr:`files` (``{file_path: StoredFile}``), :attr:`issued` (every :class:`IssuedUrl`).

    Fault knobs (each applies to the next matching requests, then disarms):
        :meth:`fail_next` (status, headers such as ``Retry-After``, body), :meth:`set_latency`,
        :meth:`expire_next_urls`, :meth:`advance_clock`, :meth:`drop_next_uploads`,
        :meth:`malformed_next_responses`, :meth:`wrong_item_count_next`; :meth:`reset_faults`
        and :meth:`reset` undo them. Storage failures and drops take ``per_file=True`` to hit the
        first N PUTs of each file (deterministic with concurrent uploads).

    Storage answers (S3-style ``<Error><Code>...</Code><Message>...</Message></Error>`` bodies):
        400 ``InvalidArgument`` when an ``Authorization`` header is sent; 400 ``IncompleteBody``
        when the body is shorter or longer than ``Content-Length``; 411 ``MissingContentLength``;
        501 ``NotImplemented`` for ``Transfer-Encoding: chunked``; 403 ``SignatureDoesNotMatch``
        for a tampered URL; 403 ``AccessDenied`` with message ``Request has expired`` for an
        expired one (test ``b"Request has expired" in response.content`` to tell expiry from
        other 403s); 413 ``EntityTooLarge``; 405 for methods other than PUT; 200 with an ``ETag``.

    Example::

        from magic_hour.testing import FakeMagicHour

        fake = FakeMagicHour()
        with fake.client() as client:
            res = client.v1.files.upload_urls.create(items=[{"extension": "mp4", "type_": "video"}])
        assert fake.requests[0].json == {"items": [{"extension": "mp4", "type": "video"}]}

        with FakeMagicHour().serve() as server:
            print(server.url)  # http://127.0.0.1:<port>
    """

    def __init__(
        self,
        *,
        tokens: Union[str, Iterable[str]] = DEFAULT_TOKEN,
        spool_dir: Union[str, os.PathLike[str], None] = None,
        keep_content: bool = True,
        max_upload_size: int = DEFAULT_MAX_UPLOAD_SIZE,
        url_ttl: float = DEFAULT_URL_TTL,
        max_items: Optional[int] = None,
    ) -> None:
        token_list = [tokens] if isinstance(tokens, str) else list(tokens)
        if not token_list or not all(isinstance(t, str) and t for t in token_list):
            raise InvalidParameterError("tokens", "<not shown>", "a non-empty string or list of strings")
        _check_positive("max_upload_size", max_upload_size, "an integer > 0 (bytes)", integer=True)
        _check_positive("url_ttl", url_ttl, "a number of seconds > 0")
        if max_items is not None:
            _check_positive("max_items", max_items, "an integer > 0, or None", integer=True)
        self._tokens = tuple(token_list)
        self._spool_dir = Path(spool_dir) if spool_dir is not None else None
        if self._spool_dir is not None:
            self._spool_dir.mkdir(parents=True, exist_ok=True)
        self.keep_content = bool(keep_content)
        self.max_upload_size = max_upload_size
        self.url_ttl = float(url_ttl)
        self.max_items = max_items
        self._secret = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._servers: List[FakeServer] = []
        self._clock_offset = 0.0
        self._requests: List[RecordedRequest] = []
        self._files: Dict[str, StoredFile] = {}
        self._issued: List[IssuedUrl] = []
        self._init_faults()

    def _init_faults(self) -> None:
        self._failures: Dict[Route, List[_Failure]] = {r: [] for r in ROUTES}
        self._latency: Dict[Optional[Route], float] = {}
        self._expire = _Counter()
        self._advertise_valid = False
        self._drop = _Counter()
        self._drop_after: Optional[int] = None
        self._file_failures: List[_Failure] = []
        self._file_drops: Optional[_FileDrops] = None
        self._malformed = _Counter()
        self._wrong_count = _Counter()

    # ------------------------------------------------------------------ configuration & clients

    @property
    def token(self) -> str:
        """The (first) accepted API token."""
        return self._tokens[0]

    @property
    def tokens(self) -> Tuple[str, ...]:
        """Every accepted API token."""
        return self._tokens

    @property
    def base_url(self) -> str:
        """The API base URL for the transport mode (no sockets): ``https://api.magichour.test``.

        For the real server, use ``fake.serve().url``.
        """
        return TRANSPORT_BASE_URL

    @property
    def spool_dir(self) -> Optional[Path]:
        """Where uploaded files are written, if spooling."""
        return self._spool_dir

    def transport(self) -> FakeTransport:
        """An httpx transport (sync and async) that answers for :attr:`base_url` and the storage host."""
        from ._transport import FakeTransport

        return FakeTransport(self)

    def httpx_client(self, **kwargs: Any) -> httpx.Client:
        """An :class:`httpx.Client` wired to this fake (``kwargs`` go to httpx)."""
        return httpx.Client(transport=self.transport(), **kwargs)

    def async_httpx_client(self, **kwargs: Any) -> httpx.AsyncClient:
        """An :class:`httpx.AsyncClient` wired to this fake (``kwargs`` go to httpx)."""
        return httpx.AsyncClient(transport=self.transport(), **kwargs)

    def client(self, **kwargs: Any) -> Client:
        """A :class:`magic_hour.Client` talking to this fake through the transport (no sockets).

        ``kwargs`` go to ``Client`` (e.g. ``max_retries=0``); ``token`` defaults to :attr:`token`.
        """
        from .. import Client

        kwargs.setdefault("token", self.token)
        return Client(base_url=self.base_url, httpx_client=self.httpx_client(), **kwargs)

    def async_client(self, **kwargs: Any) -> AsyncClient:
        """A :class:`magic_hour.AsyncClient` talking to this fake through the transport (no sockets)."""
        from .. import AsyncClient

        kwargs.setdefault("token", self.token)
        return AsyncClient(base_url=self.base_url, httpx_client=self.async_httpx_client(), **kwargs)

    def serve(self, *, host: str = "127.0.0.1", port: int = 0) -> FakeServer:
        """Start a real HTTP/1.1 server for this fake in a background thread (port 0: any free port).

        Returns the running :class:`FakeServer`; use it as a context manager, or call ``.stop()``.
        """
        from ._server import FakeServer

        server = FakeServer(self, host=host, port=port)
        with self._lock:
            self._servers.append(server)
        return server

    def close(self) -> None:
        """Stop every server started by :meth:`serve`."""
        with self._lock:
            servers, self._servers = self._servers, []
        for server in servers:
            server.stop()

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
        return (
            f"FakeMagicHour(requests={len(self._requests)}, files={len(self._files)}, "
            f"spool_dir={str(self._spool_dir) if self._spool_dir else None!r})"
        )

    # ------------------------------------------------------------------ inspection

    @property
    def requests(self) -> List[RecordedRequest]:
        """Every request received, oldest first (a snapshot)."""
        with self._lock:
            return list(self._requests)

    def requests_to(self, route: Route) -> List[RecordedRequest]:
        """The requests received by one route: ``"upload_urls"`` or ``"storage"``."""
        _check_route(route)
        with self._lock:
            return [r for r in self._requests if r.route == route]

    @property
    def files(self) -> Dict[str, StoredFile]:
        """The stored files by ``file_path`` (a snapshot)."""
        with self._lock:
            return dict(self._files)

    def file(self, file_path: str) -> StoredFile:
        """The stored file at ``file_path``; raises :class:`KeyError` naming what is stored."""
        with self._lock:
            try:
                return self._files[file_path]
            except KeyError:
                raise KeyError(f"{file_path!r} is not stored; stored: {sorted(self._files)}") from None

    @property
    def issued(self) -> List[IssuedUrl]:
        """Every upload URL handed out, oldest first."""
        with self._lock:
            return list(self._issued)

    def now(self) -> float:
        """The fake's clock (``time.time()`` moved by :meth:`advance_clock`)."""
        return time.time() + self._clock_offset

    # ------------------------------------------------------------------ fault knobs

    def fail_next(
        self,
        route: Route,
        status: int = 503,
        *,
        times: int = 1,
        headers: Optional[Mapping[str, str]] = None,
        body: BodyType = None,
        per_file: bool = False,
    ) -> None:
        """Answer the next ``times`` requests of ``route`` with ``status`` (queued after earlier calls).

        ``headers`` are added (e.g. ``{"Retry-After": "0"}``). ``body`` is bytes, text or a JSON
        mapping; by default the API answers ``{"message": <reason>}`` and storage an S3 XML error.
        The request body is still read (and discarded) first.

        ``per_file=True`` (storage only) fails the first ``times`` PUTs of *each* ``file_path``
        instead, whatever order concurrent uploads arrive in; it stays armed for new files until
        :meth:`reset_faults`.
        """
        checked = _check_route(route)
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise InvalidParameterError("status", status, "an HTTP status code, 100 to 599")
        n = _check_times(times)
        if body is not None and not isinstance(body, (bytes, str, Mapping)):
            raise InvalidParameterError("body", body, "bytes, str, a JSON mapping, or None")
        if per_file and checked != "storage":
            raise InvalidParameterError("per_file", per_file, "False for route 'upload_urls'")
        with self._lock:
            if per_file:
                self._file_failures.append(_Failure(status, dict(headers or {}), body, n, {}))
            else:
                self._failures[checked].append(_Failure(status, dict(headers or {}), body, n))

    def set_latency(self, seconds: float, route: Optional[Route] = None) -> None:
        """Wait ``seconds`` before answering each request (of ``route``, or of every route).

        Through the transport, a latency above the request's read timeout raises
        :class:`httpx.ReadTimeout` after the timeout, like a real slow server would.
        """
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds >= 0:
            raise InvalidParameterError("seconds", seconds, "a number of seconds >= 0")
        if route is not None:
            _check_route(route)
        with self._lock:
            self._latency[route] = float(seconds)

    def expire_next_urls(self, times: int = 1, *, advertise_valid: bool = False) -> None:
        """Issue the next ``times`` upload URLs already expired (storage answers 403 "Request has expired").

        Their ``expires_at`` is in the past too, unless ``advertise_valid=True``, which shows a normal
        ``expires_at`` (as when the client's clock is wrong) so the client only learns it from the 403.
        """
        n = _check_times(times)
        with self._lock:
            self._expire = _Counter(n)
            self._advertise_valid = bool(advertise_valid)

    def advance_clock(self, seconds: float) -> None:
        """Move the fake's clock forward: URLs issued earlier expire as if that time had passed."""
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            raise InvalidParameterError("seconds", seconds, "a number of seconds")
        with self._lock:
            self._clock_offset += float(seconds)

    def drop_next_uploads(
        self, times: int = 1, *, after_bytes: Optional[int] = None, per_file: bool = False
    ) -> None:
        """Drop the connection in the middle of the body of the next ``times`` storage PUTs.

        The fake reads ``after_bytes`` bytes (default: half the ``Content-Length``) and then closes
        the socket (real server) or raises :class:`httpx.RemoteProtocolError` (transport). Nothing
        is stored; the request is recorded with ``status=None, fault="drop"``.

        ``per_file=True`` drops the first ``times`` PUTs of *each* ``file_path`` instead, whatever
        order concurrent uploads arrive in; it stays armed for new files until :meth:`reset_faults`.
        """
        n = _check_times(times)
        if after_bytes is not None and (
            isinstance(after_bytes, bool) or not isinstance(after_bytes, int) or after_bytes < 0
        ):
            raise InvalidParameterError("after_bytes", after_bytes, "an integer >= 0, or None (half)")
        with self._lock:
            if per_file:
                self._file_drops = _FileDrops(n, after_bytes, {})
            else:
                self._drop = _Counter(n)
                self._drop_after = after_bytes

    def malformed_next_responses(self, times: int = 1) -> None:
        """Answer the next ``times`` valid ``upload-urls`` requests with 200 and a body that is not JSON."""
        n = _check_times(times)
        with self._lock:
            self._malformed = _Counter(n)

    def wrong_item_count_next(self, times: int = 1, *, delta: int = -1) -> None:
        """Answer the next ``times`` valid ``upload-urls`` requests with ``delta`` items too many (or few)."""
        n = _check_times(times)
        if isinstance(delta, bool) or not isinstance(delta, int) or delta == 0:
            raise InvalidParameterError("delta", delta, "a non-zero integer")
        with self._lock:
            self._wrong_count = _Counter(n, delta)

    def reset_faults(self) -> None:
        """Disarm every fault knob and remove latency (the clock stays where it is)."""
        with self._lock:
            self._init_faults()

    def reset(self) -> None:
        """Forget requests, issued URLs and stored files, and disarm every fault knob."""
        with self._lock:
            self._init_faults()
            self._requests.clear()
            self._files.clear()
            self._issued.clear()
            self._clock_offset = 0.0

    # ------------------------------------------------------------------ the handler

    def begin_request(
        self,
        method: str,
        url: str,
        headers: Union[httpx.Headers, Iterable[Tuple[str, str]]],
        *,
        storage_base: str,
    ) -> Exchange:
        """Start handling a request (for front-ends; tests don't need this).

        ``url`` is the absolute URL as the client sent it, ``storage_base`` the URL prefix under which
        this front-end serves storage (upload URLs are issued under it).
        """
        hdrs = _header_items(headers)
        parsed = httpx.URL(url)
        path = parsed.path
        query = dict(parse_qsl(parsed.query.decode("ascii", "replace"), keep_blank_values=True))
        storage_prefix = storage_base.rstrip("/") + "/"
        bare_url = url.split("?", 1)[0]
        route: Optional[Route]
        if bare_url.startswith(storage_prefix):
            route = "storage"
        elif path == API_PATH:
            route = "upload_urls"
        else:
            route = None
        request_id = ("req_" if route != "storage" else "") + secrets.token_hex(8)
        record = RecordedRequest(
            method=method.upper(),
            url=url,
            path=path,
            query=query,
            headers=hdrs,
            route=route,
            request_id=request_id,
            time=time.time(),
        )
        with self._lock:
            self._requests.append(record)
            delay = self._latency.get(route, self._latency.get(None, 0.0))
        exchange = Exchange(record, delay=delay)
        if route is None:
            exchange.reply = _json_reply(404, {"message": "Not Found"}, request_id)
        elif route == "upload_urls":
            self._begin_api(exchange, storage_prefix)
        else:
            file_path = unquote(bare_url[len(storage_prefix) :])
            self._begin_storage(exchange, file_path, storage_prefix)
        return exchange

    def _take_failure(self, route: Route, file_path: Optional[str] = None) -> Optional[_Failure]:
        with self._lock:
            if file_path is not None:
                for failure in self._file_failures:
                    assert failure.used is not None
                    if failure.used.get(file_path, 0) < failure.remaining:
                        failure.used[file_path] = failure.used.get(file_path, 0) + 1
                        return failure
            queue = self._failures[route]
            if not queue:
                return None
            failure = queue[0]
            failure.remaining -= 1
            if failure.remaining <= 0:
                queue.pop(0)
            return failure

    def _failure_reply(self, failure: _Failure, route: Route, request_id: str) -> Reply:
        phrase = httpx.codes.get_reason_phrase(failure.status) or "Error"
        if failure.body is None:
            if route == "storage":
                code = {500: "InternalError", 503: "SlowDown"}.get(failure.status, phrase.replace(" ", ""))
                reply = _xml_error(failure.status, code, phrase, request_id)
            else:
                reply = _json_reply(failure.status, {"message": phrase}, request_id)
        elif isinstance(failure.body, Mapping):
            reply = _json_reply(failure.status, dict(failure.body), request_id)
        else:
            raw = failure.body.encode() if isinstance(failure.body, str) else failure.body
            reply = _reply(failure.status, raw, "text/plain; charset=utf-8", [])
        headers = [(k, v) for k, v in reply.headers if k.lower() not in {h.lower() for h in failure.headers}]
        return Reply(reply.status, headers + list(failure.headers.items()), reply.body)

    # ---- POST /v1/files/upload-urls

    def _begin_api(self, exchange: Exchange, storage_prefix: str) -> None:
        record = exchange.record
        if record.method != "POST":
            exchange.reply = _json_reply(
                405, {"message": "Method Not Allowed"}, record.request_id, {"Allow": "POST"}
            )
            return
        failure = self._take_failure("upload_urls")
        if failure is not None:
            record.fault = "fail"
            exchange.reply = self._failure_reply(failure, "upload_urls", record.request_id)
            return
        exchange.sink = _ApiBodySink(self, record, storage_prefix)

    def _authorized(self, headers: httpx.Headers) -> bool:
        auth = headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        return scheme.lower() == "bearer" and any(
            hmac.compare_digest(token.strip().encode(), t.encode()) for t in self._tokens
        )

    def answer_upload_urls(self, record: RecordedRequest, body: bytes, storage_prefix: str) -> Reply:
        """The answer of ``POST /v1/files/upload-urls`` to a complete body (for front-ends)."""
        rid = record.request_id
        if not self._authorized(record.headers):
            return _json_reply(401, {"message": "Unauthorized"}, rid)
        if not body.strip():
            return _json_reply(400, {"message": "Invalid request body: the body is empty"}, rid)
        try:
            data = json.loads(body)
        except ValueError:
            return _json_reply(400, {"message": "Invalid request body: not valid JSON"}, rid)
        if not isinstance(data, dict) or "items" not in data:
            return _json_reply(
                400, {"message": 'Invalid request body: expected an object with an "items" array'}, rid
            )
        checked = _check_items(cast("Dict[str, Any]", data)["items"], self.max_items)
        if isinstance(checked, str):
            return _json_reply(422, {"message": checked}, rid)
        return self._issue(record, checked, storage_prefix)

    def _issue(self, record: RecordedRequest, items: List[Tuple[str, str]], storage_prefix: str) -> Reply:
        now = self.now()
        issued: List[IssuedUrl] = []
        with self._lock:
            malformed = self._consume(self._malformed)
            delta = self._wrong_count.value if self._consume(self._wrong_count) else 0
            for asset_type, ext in items:
                if self._consume(self._expire):
                    expires = int(now) - 1
                    advertised = int(now + self.url_ttl) if self._advertise_valid else expires
                else:
                    expires = advertised = int(now + self.url_ttl)
                file_path = f"api-assets/{secrets.token_hex(8)}/{asset_type}.{ext}"
                issued.append(
                    IssuedUrl(
                        file_path=file_path,
                        upload_url=self._sign(storage_prefix, file_path, expires),
                        expires_at=_utc(expires),
                        advertised_expires_at=_utc(advertised),
                        type=asset_type,
                        extension=ext,
                    )
                )
            self._issued.extend(issued)
        if any(i.expires_at.timestamp() < now for i in issued):
            record.fault = "expired_url"
        payload: List[Dict[str, str]] = [
            {
                "expires_at": rfc3339(i.advertised_expires_at.timestamp()),
                "file_path": i.file_path,
                "upload_url": i.upload_url,
            }
            for i in issued
        ]
        if delta < 0:
            payload = payload[: max(0, len(payload) + delta)]
        elif delta > 0:
            extra = f"api-assets/{secrets.token_hex(8)}/extra.bin"
            payload += [
                {
                    "expires_at": rfc3339(now + self.url_ttl),
                    "file_path": extra,
                    "upload_url": self._sign(storage_prefix, extra, int(now + self.url_ttl)),
                }
            ] * delta
        if delta:
            record.fault = "wrong_item_count"
        if malformed:
            record.fault = "malformed_json"
            text = json.dumps({"items": payload})
            return _reply(
                200,
                text[: len(text) // 2].encode(),
                "application/json",
                [("x-request-id", record.request_id)],
            )
        return _json_reply(200, {"items": payload}, record.request_id)

    @staticmethod
    def _consume(counter: _Counter) -> bool:
        if counter.remaining > 0:
            counter.remaining -= 1
            return True
        return False

    def _signature(self, file_path: str, expires: int) -> str:
        message = f"PUT\n{file_path}\n{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def _sign(self, storage_prefix: str, file_path: str, expires: int) -> str:
        sig = self._signature(file_path, expires)
        return f"{storage_prefix}{quote(file_path)}?X-Expires={expires}&X-Signature={sig}"

    # ---- PUT <storage>/<file_path>

    def _begin_storage(self, exchange: Exchange, file_path: str, storage_prefix: str) -> None:
        record = exchange.record
        rid = record.request_id
        if record.method != "PUT":
            exchange.reply = _xml_error(
                405,
                "MethodNotAllowed",
                "The specified method is not allowed against this resource.",
                rid,
                Method=record.method,
            )
            return
        failure = self._take_failure("storage", file_path)
        if failure is not None:
            record.fault = "fail"
            exchange.reply = self._failure_reply(failure, "storage", rid)
            return
        headers = record.headers
        length = _content_length(headers)
        with self._lock:
            file_drops = self._file_drops
            if file_drops is not None and file_drops.used.get(file_path, 0) < file_drops.times:
                file_drops.used[file_path] = file_drops.used.get(file_path, 0) + 1
                drop, drop_after = True, file_drops.after_bytes
            else:
                drop = self._consume(self._drop)
                drop_after = self._drop_after
        if drop:
            exchange.drop_after = drop_after if drop_after is not None else (length or 0) // 2
            return
        exchange.reply = self._storage_refusal(record, file_path, length)
        if exchange.reply is None:
            assert length is not None
            exchange.sink = _StorageSink(
                self._store, self._spool_dir, self.keep_content, record, file_path, length
            )

    def _storage_refusal(
        self, record: RecordedRequest, file_path: str, length: Optional[int]
    ) -> Optional[Reply]:
        headers, rid = record.headers, record.request_id
        if "authorization" in headers:
            return _xml_error(
                400,
                "InvalidArgument",
                "Only one auth mechanism allowed; only the signed query string or the Authorization "
                "header should be specified",
                rid,
                ArgumentName="Authorization",
            )
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return _xml_error(
                501,
                "NotImplemented",
                "A header you provided implies functionality that is not implemented",
                rid,
                Header="Transfer-Encoding",
            )
        if length is None:
            return _xml_error(
                411, "MissingContentLength", "You must provide the Content-Length HTTP header.", rid
            )
        expires_raw, signature = record.query.get("X-Expires"), record.query.get("X-Signature")
        if expires_raw is None or signature is None:
            return _xml_error(
                403,
                "AccessDenied",
                "Query-string authentication requires the X-Expires and X-Signature parameters",
                rid,
            )
        try:
            expires = int(expires_raw)
        except ValueError:
            expires = -1
        expected = self._signature(file_path, expires)
        if expires < 0 or not hmac.compare_digest(expected.encode(), signature.encode()):
            return _xml_error(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
                rid,
            )
        now = self.now()
        if now > expires:
            return _xml_error(
                403,
                "AccessDenied",
                EXPIRED_MESSAGE,
                rid,
                Expires=rfc3339(expires),
                ServerTime=rfc3339(now),
            )
        if length > self.max_upload_size:
            return _xml_error(
                413,
                "EntityTooLarge",
                "Your proposed upload exceeds the maximum allowed size",
                rid,
                ProposedSize=str(length),
                MaxSizeAllowed=str(self.max_upload_size),
            )
        return None

    def _store(self, stored: StoredFile) -> None:
        with self._lock:
            self._files[stored.file_path] = stored


def _content_length(headers: httpx.Headers) -> Optional[int]:
    raw = headers.get("content-length")
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if value >= 0 else None


def _check_items(items: object, max_items: Optional[int]) -> Union[str, List[Tuple[str, str]]]:
    """The items as ``(type, extension)`` pairs, or the 422 message."""
    if not isinstance(items, list) or not items:
        return "Invalid request body: items must be a non-empty array"
    seq = cast("List[object]", items)
    if max_items is not None and len(seq) > max_items:
        return f"Invalid request body: items has {len(seq)} entries; at most {max_items} are allowed"
    checked: List[Tuple[str, str]] = []
    for i, item in enumerate(seq):
        if not isinstance(item, dict):
            return f"Invalid request body: items[{i}] must be an object with extension and type"
        fields = cast("Dict[str, object]", item)
        asset_type, ext = fields.get("type"), fields.get("extension")
        if asset_type not in ASSET_TYPES:
            return (
                f"Invalid request body: items[{i}].type must be one of {', '.join(ASSET_TYPES)}, "
                f"got {json.dumps(asset_type)}"
            )
        if not isinstance(ext, str) or ext not in EXTENSIONS[cast("Any", asset_type)]:
            return (
                f"Invalid request body: items[{i}].extension {json.dumps(ext)} is not allowed for "
                f"{describe_allowed(cast('Any', asset_type))}"
            )
        checked.append((cast(str, asset_type), ext))
    return checked


class _ApiBodySink:
    """Collects a (small) API request body, then answers it."""

    def __init__(self, fake: FakeMagicHour, record: RecordedRequest, storage_prefix: str) -> None:
        self._fake = fake
        self._record = record
        self._storage_prefix = storage_prefix
        self._chunks: List[bytes] = []
        self._size = 0

    def write(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size <= MAX_API_BODY:
            self._chunks.append(chunk)

    def finish(self) -> Reply:
        record = self._record
        if self._size > MAX_API_BODY:
            return _json_reply(413, {"message": "Request body too large"}, record.request_id)
        body = b"".join(self._chunks)
        record.body = body
        return self._fake.answer_upload_urls(record, body, self._storage_prefix)

    def abort(self) -> None:
        self._chunks.clear()


class _StorageSink:
    """Streams an upload to memory, to a spool file, or nowhere; always hashes it."""

    def __init__(
        self,
        store: Callable[[StoredFile], None],
        spool: Optional[Path],
        keep_content: bool,
        record: RecordedRequest,
        file_path: str,
        expected: int,
    ) -> None:
        self._store = store
        self._spool = spool
        self._record = record
        self._file_path = file_path
        self._expected = expected
        self._content_type = record.headers.get("content-type")
        self._hash = hashlib.sha256()
        self._size = 0
        self._buffer: Optional[bytearray] = None
        self._file: Optional[BinaryIO] = None
        self._tmp: Optional[str] = None
        if spool is not None:
            fd, self._tmp = tempfile.mkstemp(dir=spool, prefix=".partial-")
            self._file = os.fdopen(fd, "wb")
        elif keep_content:
            self._buffer = bytearray()

    def write(self, chunk: bytes) -> None:
        self._size += len(chunk)
        self._hash.update(chunk)
        if self._file is not None:
            self._file.write(chunk)
        elif self._buffer is not None:
            self._buffer += chunk

    def finish(self) -> Reply:
        rid = self._record.request_id
        if self._size != self._expected:
            self.abort()
            return _xml_error(
                400,
                "IncompleteBody",
                "You did not provide the number of bytes specified by the Content-Length HTTP header",
                rid,
            )
        path: Optional[Path] = None
        if self._file is not None and self._tmp is not None:
            self._file.close()
            assert self._spool is not None
            path = self._spool / self._file_path
            path.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self._tmp, path)
            self._tmp = None
        digest = self._hash.hexdigest()
        self._store(
            StoredFile(
                file_path=self._file_path,
                size=self._size,
                sha256=digest,
                content=bytes(self._buffer) if self._buffer is not None else None,
                path=path,
                content_type=self._content_type,
                stored_at=time.time(),
            )
        )
        self._buffer = None
        return _reply(200, b"", "application/xml", [("ETag", f'"{digest[:32]}"'), ("x-amz-request-id", rid)])

    def abort(self) -> None:
        self._buffer = None
        if self._file is not None:
            self._file.close()
        if self._tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._tmp)
            self._tmp = None
