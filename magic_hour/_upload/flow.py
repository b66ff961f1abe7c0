"""The upload of one file, written once as a generator (no I/O), run by the sync and async drivers.

It yields :class:`Presign` (get a new URL for this file), :class:`Put` (stream the file to a URL, from its
first byte) or :class:`~magic_hour._core.retry.Sleep`, and is sent back the outcome of each.
"""

from __future__ import annotations

import datetime
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Generator, List, Optional, Sequence, Union

import httpx

from .._core.request import ApiRequest
from .._core.response import parse_json
from .._core.retry import Sleep, retry_flow
from .._exceptions import ApiConnectionError, StorageError
from .._redact import redact, request_of, safe_url, scrub_text
from .inputs import Source

logger = logging.getLogger("magic_hour")

PRESIGN_BATCH_SIZE = 100
"""Files presigned per ``upload-urls`` call."""

EXPIRY_MARGIN = 1.0
"""A URL that expires within this many seconds is treated as expired before the PUT starts."""

CHUNK_SIZE = 1024 * 1024
"""Bytes read from the file and written to the socket at a time: memory stays flat at a few chunks."""


_RFC3339 = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.(\d+))?\s*(?:([Zz])|([+-])(\d\d):?(\d\d))?\s*$"
)
NO_EXPIRY = datetime.datetime.max.replace(tzinfo=datetime.timezone.utc)


def parse_expires_at(value: object) -> datetime.datetime:
    """The aware time in an ``expires_at`` string (models keep the wire's string, as the official SDK does).

    RFC 3339 with any number of fractional digits (``fromisoformat`` before 3.11 takes neither ``Z`` nor
    every precision); without an offset it is UTC. An unreadable value means "unknown": the URL is used
    and, if the storage says it expired, renewed then.
    """
    match = _RFC3339.match(value) if isinstance(value, str) else None
    if match is None:
        return NO_EXPIRY
    year, month, day, hour, minute, second, frac, _z, sign, off_h, off_m = match.groups()
    offset = datetime.timedelta(0)
    if sign:
        offset = datetime.timedelta(hours=int(off_h), minutes=int(off_m)) * (1 if sign == "+" else -1)
    try:
        return datetime.datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            min(int(second), 59),  # a leap second
            int((frac or "0")[:6].ljust(6, "0")),
            tzinfo=datetime.timezone(offset),
        )
    except ValueError:
        return NO_EXPIRY


@dataclass(frozen=True)
class UploadTarget:
    """Where one file goes: a pre-signed URL and the ``file_path`` to use in API calls.

    ``url`` is ``upload_url`` parsed once, when the presign answer is checked, and used as is by every
    attempt's PUT (a URL parse is a noticeable share of a small file's upload).
    """

    file_path: str
    upload_url: str
    expires_at: datetime.datetime
    url: Optional[httpx.URL] = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Presign:
    """Ask the API for a fresh URL for ``source``; the driver sends back a :class:`UploadTarget`."""

    source: Source


@dataclass(frozen=True)
class Put:
    """Stream ``source`` from its first byte to ``target``; the driver sends back the response or error."""

    source: Source
    target: UploadTarget


@dataclass(frozen=True)
class UploadProgress:
    """A progress event: ``bytes_sent`` of ``total`` for the file at ``index`` (named ``name``).

    ``bytes_sent`` goes back to 0 when an attempt is retried.
    """

    index: int
    name: str
    bytes_sent: int
    total: int


UploadAction = Union[Presign, Put, Sleep]
UploadFlow = Generator[UploadAction, Any, str]


class _PutName:
    """``PUT <url without its secrets>`` for logs and messages, computed only when one is written: redacting
    costs two more URL parses per file, and most uploads never write it."""

    __slots__ = ("_text", "_url")

    def __init__(self, url: str) -> None:
        self._url = url
        self._text: Optional[str] = None

    def __str__(self) -> str:
        if self._text is None:
            self._text = f"PUT {safe_url(self._url, mark_query=False)}"
        return self._text


def is_storage_retryable(response: httpx.Response) -> bool:
    """408, 429 and 5xx from the storage are worth another attempt (a PUT is idempotent)."""
    return response.status_code in (408, 429) or response.status_code >= 500


def is_expired(response: httpx.Response) -> bool:
    """Whether the storage refused the PUT because the signed URL has expired."""
    return response.status_code in (400, 403) and b"expired" in response.content[:4096].lower()


_XML_FIELD = re.compile(rb"<(Code|Message)>([^<]{0,300})</\1>")
_QUERY = re.compile(r"\?\S*")
# Signature-like parameters quoted without their "?" (e.g. "X-Amz-Signature=abc&X-Amz-Credential=...").
_SIGNED_PARAM = re.compile(
    r"(?i)\b([\w-]*(?:signature|credential|token|sig|key-pair-id|policy|expires)[\w-]*)=[^\s&]*"
)


def _scrub(text: str) -> str:
    """One short line with every query string (``?...`` up to a space) replaced: storage errors often
    quote the request URL, whose signed query is a credential."""
    text = _QUERY.sub("?<redacted>", scrub_text(" ".join(text.split())))
    return redact(_SIGNED_PARAM.sub(r"\1=<redacted>", text), [], limit=200)


def storage_error_detail(response: httpx.Response) -> str:
    """A short, query-free reason from a storage error body (S3 XML Code/Message, JSON message)."""
    body = response.content[:4096]
    fields = {m.group(1).decode(): m.group(2).decode(errors="replace") for m in _XML_FIELD.finditer(body)}
    if fields:
        return _scrub(": ".join(v for v in (fields.get("Code"), fields.get("Message")) if v))
    text = body.decode(errors="replace").strip()
    if text.startswith("{"):
        try:
            parsed = parse_json(text.encode())  # ValueError also for JSON nested too deeply
        except ValueError:
            parsed = None
        if isinstance(parsed, dict) and isinstance(parsed.get("message"), str):  # pyright: ignore[reportUnknownMemberType]
            return _scrub(str(parsed["message"]))  # pyright: ignore[reportUnknownArgumentType]
    if not text or text.startswith("<"):
        return response.reason_phrase
    return _scrub(text)


def presign_batches(sources: Sequence[Source], size: int = PRESIGN_BATCH_SIZE) -> List[List[Source]]:
    """Split ``sources`` into presign batches, in order."""
    return [list(sources[i : i + size]) for i in range(0, len(sources), size)]


def presign_request(sources: Sequence[Source]) -> ApiRequest:
    """The ``upload-urls`` call for ``sources`` (the request ``client.v1.files.upload_urls.create`` sends:
    the engine sends it itself, so that nothing below the resources depends on them)."""
    items = [{"extension": s.extension, "type": s.type_} for s in sources]
    return ApiRequest("POST", "/v1/files/upload-urls", json={"items": items})


def upload_flow(
    source: Source,
    target: UploadTarget,
    *,
    max_retries: int,
    now: Callable[[], float] = time.time,
) -> UploadFlow:
    """Upload ``source`` to ``target``; return its ``file_path``.

    - A URL already expired before the PUT starts is re-presigned first.
    - Connection errors, timeouts, 408/429/5xx are retried with backoff, re-sending from the first byte,
      unless the source cannot be rewound (then it is sent once and the error says why).
    - A storage answer that the URL expired is re-presigned and retried once.
    """
    represigned = False
    if target.expires_at.timestamp() <= now() + EXPIRY_MARGIN:
        logger.info("%s: upload URL expired before the upload started; requesting a new one", source.name)
        target = yield Presign(source)
        represigned = True
    retries = max_retries if source.rewindable else 0
    not_retried = (
        "" if source.rewindable else "; not retried: the stream is not seekable, so it cannot be re-sent"
    )
    while True:
        what = _PutName(target.upload_url)
        try:
            response = yield from retry_flow(
                max_retries=retries, what=what, is_retryable=is_storage_retryable, send=Put(source, target)
            )
        except ApiConnectionError as exc:
            if not_retried:
                raise type(exc)(f"{exc}{not_retried}", request=request_of(exc)) from exc.__cause__
            raise
        if response.is_success:
            return target.file_path
        if is_expired(response) and not represigned and source.rewindable:
            logger.info("%s: the storage says the upload URL expired; requesting a new one", source.name)
            target = yield Presign(source)
            represigned = True
            continue
        detail = storage_error_detail(response)
        if is_expired(response) and represigned:
            detail += " (after requesting a new URL once)"
        raise StorageError(
            f"uploading {source.name} failed: {what} -> {response.status_code} {detail}"
            + (not_retried if is_storage_retryable(response) else ""),
            response=response,
        )
