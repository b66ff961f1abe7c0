"""The download of one output, written once as a generator (no I/O), run by the sync and async drivers.

It yields :class:`Open` (send the GET, from ``offset`` with a ``Range`` header when resuming; the driver
sends back the response with its body unread, or the transport error), :class:`Write` (stream that body
into the temporary file from ``offset``; the driver sends back a :class:`Written`), :class:`Discard`
(close a response whose body is not wanted) or a :class:`~magic_hour._core.retry.Sleep`.

A connection dropped mid-body resumes where it stopped with ``Range: bytes=<n>-``; a server that answers
``200`` instead of ``206`` restarts the file from byte 0. Failures that made no progress (no byte past
the furthest one received so far) count against ``max_retries``; the file is only accepted when its length matches what the server announced.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Generator, Optional, Tuple, Union

import httpx

from .._core.retry import Sleep, is_retryable_status, retry_delay
from .._exceptions import DownloadError
from .names import redact

logger = logging.getLogger("magic_hour")

MAX_RESUMES = 100
"""Resumes after a drop that made progress (each one does, so this only stops a pathological server)."""


@dataclass(frozen=True)
class Open:
    """Send the GET; ``offset > 0`` asks for the rest with ``Range: bytes=<offset>-``."""

    offset: int


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


def content_range(headers: httpx.Headers) -> Tuple[Optional[int], Optional[int]]:
    """(first byte, total size) of a ``206``'s ``Content-Range``; ``None`` where it does not say."""
    match = _CONTENT_RANGE.match(headers.get("content-range", ""))
    if match is None:
        return None, None
    total = match.group(3)
    return int(match.group(1)), (int(total) if total != "*" else None)


def body_length(response: httpx.Response) -> Optional[int]:
    """The body's length as announced, when it is the file's (not a compressed encoding of it)."""
    if response.headers.get("content-encoding", "identity").lower() not in ("", "identity"):
        return None
    raw = response.headers.get("content-length")
    return int(raw) if raw is not None and raw.isdigit() else None


def download_flow(url: str, path: str, *, max_retries: int) -> DownloadFlow:
    """Download ``url`` into the open temporary file; return its size. Raises :class:`DownloadError`."""
    shown = redact(url)
    received = 0
    total: Optional[int] = None
    ranges = True  # cleared once the server shows it ignores them
    failures = 0
    resumes = 0
    furthest = 0  # the most bytes of the file received so far

    def fail(detail: str, status: Optional[int] = None) -> DownloadError:
        return DownloadError(
            f"downloading {shown} to {path} failed: {detail}", url=shown, path=path, status_code=status
        )

    while True:
        offset = received if ranges else 0
        outcome = yield Open(offset)
        problem: str
        if isinstance(outcome, httpx.Response):
            response = outcome
            status = response.status_code
            if status == 206 and offset > 0:
                first, size = content_range(response.headers)
                if first != offset:
                    logger.info("%s: the server answered another range; restarting", shown)
                    yield Discard(response)
                    ranges, received = False, 0
                    continue
                total = size if size is not None else total
            elif response.is_success:
                if offset > 0:
                    logger.info("%s: the server ignores Range; restarting from the first byte", shown)
                    ranges = False
                offset, received = 0, 0
                total = body_length(response)
                if total is None:
                    ranges = False  # a resumed body could not be checked against anything
            elif status == 416 and offset > 0 and total is not None and offset == total:
                yield Discard(response)
                return received
            else:
                yield Discard(response)
                if not is_retryable_status(status) or failures >= max_retries:
                    raise fail(f"HTTP {status} {response.reason_phrase}".rstrip(), status)
                failures += 1
                yield Sleep(retry_delay(failures - 1, response.headers))
                continue
            written: Written = yield Write(response, offset, total)
            received = offset + written.count
            if written.error is None and (total is None or received == total):
                return received
            if written.error is None:
                assert total is not None
                problem = f"the body ended after {received} of {total} bytes"
                if received > total:
                    ranges, received = False, 0
            else:
                problem = str(written.error) or type(written.error).__name__
            if received > furthest:  # new bytes: not the same ones again after a restart from byte 0
                furthest = received
                failures = 0
                resumes += 1
        else:
            problem = str(outcome) or type(outcome).__name__
        if failures >= max_retries or resumes > MAX_RESUMES:
            raise fail(problem)
        failures += 1
        delay = retry_delay(failures - 1)
        logger.info(
            "%s: %s; retrying from byte %d in %.2fs", shown, problem, received if ranges else 0, delay
        )
        yield Sleep(delay)
