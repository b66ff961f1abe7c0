"""The download of one output, written once as a generator (no I/O), run by the sync and async drivers.

It yields :class:`Open` (send the GET, from ``offset`` with a ``Range`` header when resuming, or the
``request`` a redirect asks for; the driver sends back the response with its body unread, or the
transport error), :class:`Write` (stream that body
into the temporary file from ``offset``; the driver sends back a :class:`Written`), :class:`Discard`
(close a response whose body is not wanted) or a :class:`~magic_hour._core.retry.Sleep`.

A connection dropped mid-body resumes where it stopped with ``Range: bytes=<n>-``; a server that answers
``200`` instead of ``206`` restarts the file from byte 0. A ``206`` is a part wherever it comes (also as
the answer to a plain GET): it must start where asked, and the rest of the file is asked for after it.
Failures that made no progress (no byte past the furthest one received so far) count against
``max_retries``; the file is only accepted when its length matches what the server announced.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Generator, Optional, Union

import httpx

from .._core.retry import Sleep, is_retryable_status, retry_delay
from .._exceptions import (
    DownloadConnectionError,
    DownloadError,
    DownloadStatusError,
    DownloadTimeoutError,
)
from .._redact import request_of
from .names import redact

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
    shown = redact(url)
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
        # Redirects are followed here, each response closed with its body unread: httpx reads (and
        # inflates) a redirect's body whole when it follows them itself.
        redirects = 0
        while isinstance(outcome, httpx.Response) and outcome.next_request is not None:
            yield Discard(outcome)
            if redirects == MAX_REDIRECTS:
                raise fail(f"more than {MAX_REDIRECTS} redirects", outcome)
            redirects += 1
            outcome = yield Open(offset, outcome.next_request)
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
