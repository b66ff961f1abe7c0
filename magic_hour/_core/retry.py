"""Pure retry policy, and the retry loop written once as a generator.

The loop (:func:`retry_flow`) yields what to do next, :data:`SEND` or a :class:`Sleep`, and is sent
back the outcome of each attempt. The sync and async drivers in ``transport.py`` only carry out those
steps, so the policy (what is retried, how long to wait, how many attempts) exists once, like the
auth flows of httpx.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from dataclasses import dataclass
from typing import Callable, Generator, Mapping, Optional, TypeVar, Union

import httpx

from .._exceptions import ApiConnectionError, ApiTimeoutError

logger = logging.getLogger("magic_hour")

INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
MAX_RETRY_AFTER = 60.0
RETRYABLE_STATUS = frozenset({408, 409, 429})


@dataclass(frozen=True)
class Sleep:
    """Wait this many seconds before the next attempt."""

    seconds: float


class _Send:
    def __repr__(self) -> str:
        return "SEND"


SEND = _Send()
"""Make one attempt and send the outcome back into the flow."""

Action = Union[_Send, Sleep]
Outcome = Union[httpx.Response, Exception]
A = TypeVar("A")


def is_retryable_status(status_code: int) -> bool:
    """408, 409, 429 and every 5xx are worth another attempt."""
    return status_code in RETRYABLE_STATUS or status_code >= 500


def parse_retry_after(headers: Mapping[str, str], now: Optional[float] = None) -> Optional[float]:
    """Seconds the server asked us to wait: ``retry-after-ms``, ``Retry-After`` seconds or HTTP date."""
    ms = headers.get("retry-after-ms")
    if ms is not None:
        try:
            value = float(ms) / 1000.0
        except ValueError:
            value = None
        if value is not None and value >= 0 and value == value:
            return value
    raw = headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        seconds = float(raw)
    except ValueError:
        parsed = email.utils.parsedate_tz(raw)
        if parsed is None:
            return None
        try:
            seconds = email.utils.mktime_tz(parsed) - (time.time() if now is None else now)
        except (ValueError, OverflowError):  # a date that parses but cannot exist (year 99999)
            return None
    if seconds != seconds or seconds < 0:
        return 0.0 if seconds < 0 else None
    return seconds


def retry_delay(
    retries_taken: int,
    headers: Optional[Mapping[str, str]] = None,
    *,
    rand: Callable[[], float] = random.random,
    now: Optional[float] = None,
) -> float:
    """How long to wait before retry number ``retries_taken + 1``.

    A server's ``Retry-After``/``retry-after-ms`` wins, capped at :data:`MAX_RETRY_AFTER` seconds;
    otherwise exponential backoff from :data:`INITIAL_RETRY_DELAY` doubling up to
    :data:`MAX_RETRY_DELAY`, with up to 25% jitter taken off so that clients spread out.
    """
    if headers is not None:
        asked = parse_retry_after(headers, now)
        if asked is not None:
            return min(asked, MAX_RETRY_AFTER)
    # The exponent is bounded: 2.0 ** 1024 overflows, and a patient caller may allow that many retries.
    base = min(INITIAL_RETRY_DELAY * (2.0 ** min(retries_taken, 32)), MAX_RETRY_DELAY)
    return base * (1.0 - 0.25 * rand())


def connection_error(exc: Exception, what: object) -> ApiConnectionError:
    """Our typed error for a transport failure (the cause is kept as ``__cause__``)."""
    request = getattr(exc, "_request", None)
    if isinstance(exc, httpx.TimeoutException):
        return ApiTimeoutError(f"{what} timed out ({type(exc).__name__})", request=request)
    detail = str(exc) or type(exc).__name__
    return ApiConnectionError(f"{what} failed: {detail}", request=request)


def _past(deadline: Optional[float], delay: float) -> bool:
    """Whether waiting ``delay`` seconds would end after ``deadline``."""
    return deadline is not None and time.monotonic() + delay >= deadline


def retry_flow(
    *,
    max_retries: int,
    what: object,
    is_retryable: Callable[[httpx.Response], bool] = lambda r: is_retryable_status(r.status_code),
    send: A = SEND,  # type: ignore[assignment]
    deadline: Optional[float] = None,
) -> Generator[Union[A, Sleep], Optional[Outcome], httpx.Response]:
    """The retry loop. Returns the final response (success or not); raises
    :class:`ApiConnectionError`/:class:`ApiTimeoutError` when the last attempt got no response.

    ``str(what)`` names the request in logs and messages ("POST /v1/files/upload-urls"); it must not
    contain secrets, and is only computed when a line is written. ``send`` is the action yielded for
    each attempt (the upload engine yields its own, which says what to PUT). ``deadline`` (a
    ``time.monotonic()`` value) ends the retries: no wait goes past it.
    """
    retries_taken = 0
    while True:
        outcome = yield send
        if isinstance(outcome, httpx.Response):
            if outcome.is_success or not is_retryable(outcome) or retries_taken >= max_retries:
                return outcome
            delay = retry_delay(retries_taken, outcome.headers)
            if _past(deadline, delay):
                return outcome
            reason = f"HTTP {outcome.status_code}"
        else:
            assert outcome is not None
            if retries_taken >= max_retries:
                raise connection_error(outcome, what) from outcome
            delay = retry_delay(retries_taken)
            if _past(deadline, delay):
                raise ApiTimeoutError(
                    f"{what} did not complete within its total_timeout ({type(outcome).__name__})",
                    request=getattr(outcome, "_request", None),
                ) from outcome
            reason = type(outcome).__name__
        retries_taken += 1
        logger.info("%s: %s, retry %d of %d in %.2fs", what, reason, retries_taken, max_retries, delay)
        yield Sleep(delay)
