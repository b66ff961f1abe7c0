"""The download of one output, without I/O: the flow that asks for it and checks what came, and the
decoder of its body. The drivers (:mod:`.downloads`) run both.

:func:`download_flow` yields :class:`Open` (send the GET, from ``offset`` with a ``Range`` header when
resuming, or the ``request`` a redirect asks for; the driver sends back the response with its body
unread, or the transport error), :class:`Write` (stream that body into the temporary file from
``offset``; the driver sends back a :class:`Written`), :class:`Discard` (close a response whose body is
not wanted) or a :class:`~magic_hour._core.retry.Sleep`. A connection dropped mid-body resumes where it
stopped with ``Range: bytes=<n>-``; a server that answers ``200`` instead of ``206`` restarts the file
from byte 0. A ``206`` is a part wherever it comes (also as the answer to a plain GET): it must start
where asked, and the rest of the file is asked for after it. Failures that made no progress count
against ``max_retries``; the file is only accepted when its length matches what the server announced.

:class:`BodyDecoder` turns the body into the file's bytes. Downloads ask for ``Accept-Encoding:
identity``, but a server may compress anyway: a ``gzip`` or ``deflate`` body is inflated at most
:data:`INFLATE_STEP` bytes per step (memory stays flat) and refused as a decompression bomb once it
grows past :data:`MAX_INFLATE_RATIO` times the bytes received; any other coding is a
:class:`DownloadDecodingError`. Writing the compressed bytes instead would leave a gzip stream under a
``.png`` name.
"""

from __future__ import annotations

import logging
import re
import zlib
from dataclasses import dataclass
from typing import Any, Generator, Iterator, Optional, Union

import httpx

from .._core.codings import DECODABLE, Inflater
from .._core.redirects import next_hop
from .._core.retry import Sleep, is_retryable_status, retry_delay
from .._exceptions import (
    DownloadConnectionError,
    DownloadDecodingError,
    DownloadError,
    DownloadStatusError,
    DownloadTimeoutError,
)
from .._redact import request_of, safe_url
from .names import OutputFile

logger = logging.getLogger("magic_hour")

MAX_RESUMES = 100
"""Resumes after a drop that made progress (each one does, so this only stops a pathological server)."""

MAX_REDIRECTS = 10
"""Redirects followed per request (a storage link takes one or two; httpx allows 20, browsers 20)."""


@dataclass(frozen=True)
class Open:
    """Send the GET; ``offset > 0`` asks for the rest with ``Range: bytes=<offset>-``. ``request``: the
    redirect's (httpx's ``response.next_request``: same headers, none that would leak to another
    origin), sent as is instead."""

    offset: int
    request: Optional[httpx.Request] = None


@dataclass(frozen=True)
class Write:
    """Write ``response``'s body into the file from ``offset`` (truncating what follows); ``total`` is the
    expected final size when known (for progress events)."""

    response: httpx.Response
    offset: int
    total: Optional[int]


@dataclass(frozen=True)
class Discard:
    """Close ``response`` without reading its body."""

    response: httpx.Response


@dataclass(frozen=True)
class Written:
    """What a :class:`Write` did: ``count`` bytes appended, and the transport error that ended it early."""

    count: int
    error: Optional[Exception] = None


DownloadAction = Union[Open, Write, Discard, Sleep]
DownloadFlow = Generator[DownloadAction, Any, int]

_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)
_UNSATISFIED = re.compile(r"^\s*bytes\s+\*/(\d+)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Part:
    """A ``206``'s ``Content-Range``: bytes ``first`` to ``end`` (excluded) of a file of ``total``
    bytes (``None``: the server does not say)."""

    first: int
    end: int
    total: Optional[int]


def content_range(headers: httpx.Headers) -> Optional[Part]:
    """The part a ``206`` holds, ``None`` when its ``Content-Range`` is missing or impossible."""
    match = _CONTENT_RANGE.match(headers.get("content-range", ""))
    if match is None:
        return None
    first, last = int(match.group(1)), int(match.group(2))
    total = int(match.group(3)) if match.group(3) != "*" else None
    if last < first or (total is not None and last >= total):
        return None
    return Part(first, last + 1, total)


def body_length(response: httpx.Response) -> Optional[int]:
    """The body's length as announced, when it is the file's (not a compressed encoding of it)."""
    if response.headers.get("content-encoding", "identity").lower() not in ("", "identity"):
        return None
    raw = response.headers.get("content-length")
    return int(raw) if raw is not None and raw.isdigit() else None


def _unsatisfied_total(response: httpx.Response) -> Optional[int]:
    """The file's length a ``416`` states (``Content-Range: bytes */<length>``)."""
    match = _UNSATISFIED.match(response.headers.get("content-range", ""))
    return int(match.group(1)) if match is not None else None


def download_flow(url: str, path: str, *, max_retries: int) -> DownloadFlow:
    """Download ``url`` into the open temporary file; return its size. Raises :class:`DownloadError`."""
    shown = safe_url(url, mark_query=False)
    received = 0
    total: Optional[int] = None
    ranges = True  # cleared once the server shows it ignores them
    failures = 0
    resumes = 0
    furthest = 0  # the most bytes of the file received so far

    def fail(
        detail: str, response: Optional[httpx.Response] = None, cause: Optional[Exception] = None
    ) -> DownloadError:
        # Each failure is also the httpx error the official SDK raises for it (raise_for_status(), or
        # the transport's), so that its users' `except httpx.HTTPStatusError` still catches ours.
        message = f"downloading {shown} to {path} failed: {detail}"
        if response is not None and not response.is_success:
            return DownloadStatusError(message, url=shown, path=path, response=response)
        if isinstance(cause, httpx.TransportError):
            kind = (
                DownloadTimeoutError if isinstance(cause, httpx.TimeoutException) else DownloadConnectionError
            )
            return kind(message, url=shown, path=path, request=request_of(cause))
        status = response.status_code if response is not None else None
        return DownloadError(message, url=shown, path=path, status_code=status)

    while True:
        offset = received if ranges else 0
        outcome = yield Open(offset)
        # Redirects are followed here, as API calls follow them (_core/redirects.py), each response
        # closed with its body unread: httpx reads (and inflates) a redirect's body whole when it follows.
        redirects = 0
        while isinstance(outcome, httpx.Response):
            following = next_hop(outcome, redirects, MAX_REDIRECTS, any_origin=True)
            if following is None:
                break
            yield Discard(outcome)
            redirects += 1
            outcome = yield Open(offset, following)
        if isinstance(outcome, httpx.Response) and outcome.next_request is not None:
            yield Discard(outcome)
            raise fail(f"more than {MAX_REDIRECTS} redirects", outcome)
        problem: str
        cause: Exception  # what the last attempt ended with, for the error's class
        if isinstance(outcome, httpx.Response):
            response = outcome
            status = response.status_code
            end: Optional[int]  # where this body should end in the file (None: where it ends)
            if status == 206:
                # A part, asked for or not: a 206 may answer a plain GET (bytes 0-99/1024), and is then
                # the start of the file, not the file.
                part = content_range(response.headers)
                if part is None or part.first != offset:
                    yield Discard(response)
                    if offset == 0:
                        raise fail("the server answered HTTP 206 without a usable Content-Range", response)
                    logger.info("%s: the server answered another range; restarting", shown)
                    ranges, received = False, 0
                    continue
                if part.total is not None and total is not None and part.total != total:
                    yield Discard(response)  # another version of the file: its bytes do not mix
                    logger.info(
                        "%s: the file's length changed (%d, now %d); restarting", shown, total, part.total
                    )
                    received, total = 0, None
                    continue
                total = part.total if part.total is not None else total
                end = part.end
            elif response.is_success:
                if offset > 0:
                    logger.info("%s: the server ignores Range; restarting from the first byte", shown)
                    ranges = False
                offset, received = 0, 0
                total = end = body_length(response)
                if total is None:
                    ranges = False  # a resumed body could not be checked against anything
            elif (
                status == 416
                and offset > 0
                and offset == (total if total is not None else _unsatisfied_total(response))
            ):
                yield Discard(response)  # nothing after offset: the file was complete
                return received
            else:
                yield Discard(response)
                if not is_retryable_status(status) or failures >= max_retries:
                    raise fail(f"HTTP {status} {response.reason_phrase}".rstrip(), response)
                failures += 1
                yield Sleep(retry_delay(failures - 1, response.headers))
                continue
            written: Written = yield Write(response, offset, total)
            received = offset + written.count
            # A body longer or shorter than announced is what httpx calls a RemoteProtocolError.
            cause = written.error or httpx.RemoteProtocolError("", request=request_of(response))
            if written.error is None and end is not None and received > end:
                problem = f"the body brought {received - offset} bytes where {end - offset} were announced"
                ranges, received = False, 0
            elif written.error is None and (end is None or received == end):
                if (status != 206 and total is None) or received == total:
                    return received
                # A part ended as announced; the rest of the file follows in the next request.
                ranges = True
                if received > furthest:
                    furthest, failures = received, 0
                    resumes += 1
                    if resumes <= MAX_RESUMES:
                        continue
                problem = f"the server sent {received} bytes in parts, without an end"
            elif written.error is None:
                assert end is not None
                problem = f"the body ended after {received} of {total if total is not None else end} bytes"
            else:
                problem = str(written.error) or type(written.error).__name__
            if received > furthest:  # new bytes: not the same ones again after a restart from byte 0
                furthest = received
                failures = 0
                resumes += 1
        else:
            problem = str(outcome) or type(outcome).__name__
            cause = outcome
        if failures >= max_retries or resumes > MAX_RESUMES:
            raise fail(problem, cause=cause)
        failures += 1
        delay = retry_delay(failures - 1)
        logger.info(
            "%s: %s; retrying from byte %d in %.2fs", shown, problem, received if ranges else 0, delay
        )
        yield Sleep(delay)


MAX_INFLATE_RATIO = 100
"""An encoded body may inflate to at most this many times the bytes received (Apache POI's zip-bomb
check uses the same ratio); real media outputs (video, images, audio) compress to about 1:1."""

INFLATE_ALLOWANCE = 16 * 1024 * 1024
"""Bytes of file an encoded body may always inflate to, whatever the ratio (small, very compressible
outputs)."""

INFLATE_STEP = 1024 * 1024
"""Bytes inflated at most per step, so that a compressed body's memory stays flat."""

_RAW_PIECE = 16 * 1024


def _encoded(response: httpx.Response) -> bool:
    codings = response.headers.get_list("content-encoding", split_commas=True)
    return any(c.strip().lower() not in ("", "identity") for c in codings)


def _undecodable(response: httpx.Response) -> str:
    """The first content coding that cannot be decoded within bounds here (``""``: none)."""
    for coding in response.headers.get_list("content-encoding", split_commas=True):
        coding = coding.strip().lower()
        if coding and coding != "identity" and coding not in DECODABLE:
            return coding
    return ""


def already_read(response: httpx.Response) -> Optional[bytes]:
    """The body, when a transport that is not a network (a mock, the fake's) handed it back already
    read, and so already decoded by httpx; else ``None``."""
    try:
        return response.content
    except httpx.ResponseNotRead:
        return None


class BodyDecoder:
    """Turns the raw pieces of a download's body into pieces of the file (see the module docstring)."""

    def __init__(self, response: httpx.Response, target: OutputFile) -> None:
        encoded = _encoded(response) and already_read(response) is None
        # For messages only: the header is the server's text, kept short.
        self._coding = " ".join(response.headers.get("content-encoding", "").split())[:40]
        self._target = target
        self._request = request_of(response)
        if encoded:
            unknown = _undecodable(response)
            if unknown:
                # httpx skips an encoding it has no decoder for: the compressed bytes would be
                # written as the file, under its name, as if complete.
                raise self._error(
                    f"the server sent it compressed ({self._coding}) although asked not to, and the SDK "
                    f"does not decode {unknown[:20]!r} (only gzip and deflate, within bounds)"
                )
        self._inflater: Optional[Inflater] = Inflater(response) if encoded else None
        if self._inflater is not None and self._inflater.refused:
            raise self._error(f"the body could not be decoded ({self._inflater.refused})")
        self.received = 0
        """Bytes of the body received (compressed, when it is)."""
        self.produced = 0
        """Bytes of the file they made."""

    def feed(self, raw: bytes) -> Iterator[bytes]:
        """The file's bytes in ``raw``, at most :data:`INFLATE_STEP` at a time.

        Raises :class:`DownloadDecodingError` when the body inflates past the limit or cannot be decoded."""
        self.received += len(raw)
        inflater = self._inflater
        if inflater is None:
            self.produced += len(raw)
            yield raw
            return
        try:
            for start in range(0, len(raw), _RAW_PIECE):
                data = self._count(inflater.feed(raw[start : start + _RAW_PIECE], INFLATE_STEP))
                while True:
                    if data:
                        yield data
                    if not inflater.pending():
                        break
                    data = self._count(inflater.feed(b"", INFLATE_STEP))
        except (zlib.error, httpx.DecodingError) as exc:
            raise self._error(f"the {self._coding} body could not be decoded ({exc})") from None

    def flush(self) -> bytes:
        """What a decoder kept back until the end of the body.

        Raises :class:`httpx.RemoteProtocolError` when the compressed stream was cut short (a body that
        ends with the connection has no length to check): the download is retried like a dropped one."""
        if self._inflater is None:
            return b""
        try:
            data = self._count(self._inflater.flush())
        except (zlib.error, httpx.DecodingError) as exc:
            raise self._error(f"the {self._coding} body could not be decoded ({exc})") from None
        if not self._inflater.complete():
            raise httpx.RemoteProtocolError(f"the {self._coding} body ended before its compressed stream did")
        return data

    def _count(self, data: bytes) -> bytes:
        self.produced += len(data)
        limit = max(INFLATE_ALLOWANCE, MAX_INFLATE_RATIO * self.received)
        if self.produced > limit:
            raise self._error(
                f"the server sent it compressed ({self._coding}) although asked not to, and "
                f"{self.received} bytes inflated past {limit} bytes (more than {MAX_INFLATE_RATIO} times "
                "the bytes received): refused as a decompression bomb"
            )
        return data

    def _error(self, detail: str) -> DownloadDecodingError:
        target = self._target
        return DownloadDecodingError(
            f"downloading {target.shown} to {target.path} failed: {detail}; nothing was left under that name",
            url=target.shown,
            path=target.path,
            request=self._request,
        )
