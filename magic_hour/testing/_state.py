"""``FakeState``: what the fake knows (config, records, storage) and how it routes a request.

The front-ends (``_transport``, ``_server``) depend on this module; it depends on neither.
"""

from __future__ import annotations

import hmac
import os
import secrets
import threading
import time
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Tuple, Union
from urllib.parse import parse_qsl, unquote

import httpx

from .._exceptions import InvalidParameterError
from ._exchange import Exchange, Reply
from ._faults import Faults, failure_reply
from ._knobs import FaultKnobs, Route, check_route
from ._records import IssuedUrl, RecordedRequest, StoredFile
from ._sinks import ApiBodySink
from ._storage import Storage
from ._upload_urls import UploadUrls
from ._wire import DEFAULT_TOKEN, header_items, json_reply

__all__ = ["DEFAULT_MAX_UPLOAD_SIZE", "DEFAULT_URL_TTL", "FakeState"]

DEFAULT_MAX_UPLOAD_SIZE = 5 * 1024**3  # a single S3 PUT can hold up to 5 GiB
DEFAULT_URL_TTL = 3600.0
API_PATH = "/v1/files/upload-urls"


def _check_positive(name: str, value: object, allowed: str, *, integer: bool = False) -> None:
    ok_types = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, ok_types) or not value > 0:
        raise InvalidParameterError(name, value, allowed)


class FakeState(FaultKnobs):
    """The fake's state, inspection and request routing (see :class:`FakeMagicHour` for the docs)."""

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
        spool = Path(spool_dir) if spool_dir is not None else None
        if spool is not None:
            spool.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._clock_offset = 0.0
        self._faults = Faults()
        self._requests: List[RecordedRequest] = []
        self._closers: List[Callable[[], None]] = []  # stop() of the servers started by serve()
        self._storage = Storage(
            self._lock,
            lambda: self._faults,
            self.now,
            spool_dir=spool,
            keep_content=bool(keep_content),
            max_upload_size=max_upload_size,
            url_ttl=float(url_ttl),
        )
        self._upload_urls = UploadUrls(self._storage, self._lock, lambda: self._faults, max_items)

    # ------------------------------------------------------------------ configuration

    @property
    def token(self) -> str:
        """The (first) accepted API token."""
        return self._tokens[0]

    @property
    def tokens(self) -> Tuple[str, ...]:
        """Every accepted API token."""
        return self._tokens

    @property
    def spool_dir(self) -> Optional[Path]:
        """Where uploaded files are written, if spooling."""
        return self._storage.spool_dir

    @property
    def keep_content(self) -> bool:
        """Keep the bytes of uploads in memory (when not spooling)."""
        return self._storage.keep_content

    @keep_content.setter
    def keep_content(self, value: bool) -> None:
        self._storage.keep_content = bool(value)

    @property
    def max_upload_size(self) -> int:
        """Storage answers 413 to a larger ``Content-Length``."""
        return self._storage.max_upload_size

    @max_upload_size.setter
    def max_upload_size(self, value: int) -> None:
        self._storage.max_upload_size = value

    @property
    def url_ttl(self) -> float:
        """Seconds an upload URL stays valid."""
        return self._storage.url_ttl

    @url_ttl.setter
    def url_ttl(self, value: float) -> None:
        self._storage.url_ttl = float(value)

    @property
    def max_items(self) -> Optional[int]:
        """``upload-urls`` answers 422 when asked for more URLs than this (``None``: no limit)."""
        return self._upload_urls.max_items

    @max_items.setter
    def max_items(self, value: Optional[int]) -> None:
        self._upload_urls.max_items = value

    # ------------------------------------------------------------------ inspection

    @property
    def requests(self) -> List[RecordedRequest]:
        """Every request received, oldest first (a snapshot)."""
        with self._lock:
            return list(self._requests)

    def requests_to(self, route: Route) -> List[RecordedRequest]:
        """The requests received by one route: ``"upload_urls"`` or ``"storage"``."""
        check_route(route)
        with self._lock:
            return [r for r in self._requests if r.route == route]

    @property
    def files(self) -> Dict[str, StoredFile]:
        """The stored files by ``file_path`` (a snapshot)."""
        with self._lock:
            return dict(self._storage.files)

    def file(self, file_path: str) -> StoredFile:
        """The stored file at ``file_path``; raises :class:`KeyError` naming what is stored."""
        with self._lock:
            files = self._storage.files
            try:
                return files[file_path]
            except KeyError:
                raise KeyError(f"{file_path!r} is not stored; stored: {sorted(files)}") from None

    @property
    def issued(self) -> List[IssuedUrl]:
        """Every upload URL handed out, oldest first."""
        with self._lock:
            return list(self._storage.issued)

    def now(self) -> float:
        """The fake's clock (``time.time()`` moved by :meth:`advance_clock`)."""
        return time.time() + self._clock_offset

    def reset(self) -> None:
        """Forget requests, issued URLs and stored files, and disarm every fault knob."""
        with self._lock:
            self._faults = Faults()
            self._requests.clear()
            self._storage.files.clear()
            self._storage.issued.clear()
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
        hdrs = header_items(headers)
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
            delay = self._faults.delay(route)
        exchange = Exchange(record, delay=delay)
        if route is None:
            exchange.reply = json_reply(404, {"message": "Not Found"}, request_id)
        elif route == "upload_urls":
            self._begin_api(exchange, storage_prefix)
        elif record.method != "PUT":
            exchange.reply = self._storage.method_not_allowed(record)
        else:
            self._storage.begin_put(exchange, unquote(bare_url[len(storage_prefix) :]))
        return exchange

    def _begin_api(self, exchange: Exchange, storage_prefix: str) -> None:
        record = exchange.record
        if record.method != "POST":
            exchange.reply = json_reply(
                405, {"message": "Method Not Allowed"}, record.request_id, {"Allow": "POST"}
            )
            return
        with self._lock:
            failure = self._faults.take_failure(("upload_urls",))
        if failure is not None:
            record.fault = "fail"
            exchange.reply = failure_reply(failure, False, record.request_id)
            return
        exchange.sink = ApiBodySink(
            record, lambda body: self.answer_upload_urls(record, body, storage_prefix)
        )

    def _authorized(self, headers: httpx.Headers) -> bool:
        auth = headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        return scheme.lower() == "bearer" and any(
            hmac.compare_digest(token.strip().encode(), t.encode()) for t in self._tokens
        )

    def answer_upload_urls(self, record: RecordedRequest, body: bytes, storage_prefix: str) -> Reply:
        """The answer of ``POST /v1/files/upload-urls`` to a complete body (for front-ends)."""
        if not self._authorized(record.headers):
            return json_reply(401, {"message": "Unauthorized"}, record.request_id)
        return self._upload_urls.answer(record, body, storage_prefix)
