"""Pure retry policy, and the retry loop written once as a generator.

The loop (:func:`retry_flow`) yields what to do next, :data:`SEND` or a :class:`Sleep`, and is sent
back the outcome of each attempt. The sync and async drivers in ``transport.py`` only carry out those
steps, so the policy (what is retried, how long to wait, how many attempts) exists once, like the
auth flows of httpx.

A create (a call that starts a project and spends credits; the API has no idempotency key) is retried
only after an outcome that proves the API did not act on it and may pass (:func:`worth_retrying`); after
one that does not prove it (:func:`nothing_started`) it raises a
:class:`~magic_hour._exceptions.ProjectMayExistError` instead of paying twice.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from typing import Callable, Generator, Mapping, NamedTuple, Optional, TypeVar, Union

import httpx

from .._exceptions import ApiConnectionError, ApiTimeoutError
from .._redact import request_of
from .response import not_acted_on, status_error

logger = logging.getLogger("magic_hour")

INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
MAX_RETRY_AFTER = 60.0
RETRYABLE_STATUS = frozenset({408, 409, 429})
CREATE_RETRY_STATUS = frozenset({429})
"""The only answer after which a create is sent again: a rate limiter refused it before it was handled
(RFC 6585, section 4). Other refusals (``409``: RFC 9110 has the user resolve the conflict and resubmit;
``400``...) would be refused again, and a ``408`` proves nothing (see :func:`nothing_started`)."""
NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ProxyError,
    httpx.UnsupportedProtocol,
)
"""Failures before any byte of the request left: no connection (refused, DNS, TLS, timed out), no free
connection in the pool, a proxy that refused the tunnel, a URL that cannot be sent. A failure while
writing is not among them: asyncio keeps sending what it buffered after a failed write, and the last
write of a request may fail after every byte of its body went out."""


class Sleep(NamedTuple):  # (not a frozen dataclass: made at import in a tenth of the time)
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
    """408, 409, 429 and every 5xx are worth another attempt (of a call that is not a create)."""
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


def nothing_started(outcome: Outcome) -> bool:
    """Whether a failed attempt proves that the API did not act on the request (so a create may be sent
    again without paying twice): an answer that refuses it (:func:`~.response.not_acted_on`: a ``4xx`` or a
    redirect, but not ``408`` nor ``303``), or a failure before any byte of the request left
    (:data:`NOT_SENT`). A ``5xx``, a timeout waiting for the answer or a connection closed after the
    request went out prove nothing."""
    if isinstance(outcome, httpx.Response):
        return not_acted_on(outcome.status_code)
    return isinstance(outcome, NOT_SENT)


def worth_retrying(
    outcome: Outcome,
    *,
    creates: bool = False,
    retry_may_duplicate: bool = False,
    is_retryable: Callable[[httpx.Response], bool] = lambda r: is_retryable_status(r.status_code),
) -> bool:
    """The retry decision for one failed attempt, retries left and deadlines aside (a pure function:
    ``tests/test_create_retries.py`` has its table). Any call: a failure to get an answer, and the
    answers ``is_retryable`` accepts (408, 409, 429, 5xx). A create (``creates``): only what proves that
    nothing started and may pass (:data:`NOT_SENT`, :data:`CREATE_RETRY_STATUS`), unless the caller
    accepts a second project (``retry_may_duplicate``)."""
    if creates and not retry_may_duplicate:
        if isinstance(outcome, httpx.Response):
            return outcome.status_code in CREATE_RETRY_STATUS
        return nothing_started(outcome)
    return is_retryable(outcome) if isinstance(outcome, httpx.Response) else True


def connection_error(
    exc: Exception, what: object, creates: Optional[str] = None, *, total_timeout: bool = False
) -> ApiConnectionError:
    """Our typed error for a transport failure (the cause is kept as ``__cause__``). ``creates``: the kind
    of project the request starts; a :class:`ProjectMayExistError` when the failure does not prove that
    nothing started. ``total_timeout``: the call's deadline ended the retries after this failure."""
    request = request_of(exc)
    if total_timeout:
        message = f"{what} did not complete within its total_timeout ({type(exc).__name__})"
    elif isinstance(exc, httpx.TimeoutException):
        message = f"{what} timed out ({type(exc).__name__})"
    else:
        message = f"{what} failed: {str(exc) or type(exc).__name__}"
    timed_out = total_timeout or isinstance(exc, httpx.TimeoutException)
    if creates is not None and not nothing_started(exc):
        # Imported here: loaded only by a create that failed (a first request needs none of them).
        from .._exceptions import ProjectMayExistConnectionError, ProjectMayExistTimeoutError

        cls = ProjectMayExistTimeoutError if timed_out else ProjectMayExistConnectionError
        operation = f"{request.method} {request.url.path}" if request is not None else str(what)
        return cls(message, operation=operation, kind=creates, request=request)
    return (ApiTimeoutError if timed_out else ApiConnectionError)(message, request=request)


def _past(deadline: Optional[float], delay: float) -> bool:
    """Whether waiting ``delay`` seconds would end after ``deadline``."""
    return deadline is not None and time.monotonic() + delay >= deadline


class DeadlineExceeded(ApiTimeoutError):
    """The caller's own deadline ended the call (an attempt cut at it, or a retry that would end after
    it); raised only for a flow given ``strict_deadline`` (a wait's poll), whose caller turns it into its
    own error. ``__cause__`` is the last failure."""


def _out_of_time(outcome: Outcome, what: object) -> DeadlineExceeded:
    request = request_of(outcome)
    return DeadlineExceeded(f"{what} did not complete before the deadline", request=request)


def retry_flow(
    *,
    max_retries: int,
    what: object,
    is_retryable: Callable[[httpx.Response], bool] = lambda r: is_retryable_status(r.status_code),
    send: A = SEND,  # type: ignore[assignment]
    deadline: Optional[float] = None,
    creates: Optional[str] = None,
    retry_may_duplicate: bool = False,
    strict_deadline: bool = False,
) -> Generator[Union[A, Sleep], Optional[Outcome], httpx.Response]:
    """The retry loop. Returns the final response (success or not); raises
    :class:`ApiConnectionError`/:class:`ApiTimeoutError` when the last attempt got no response.

    ``str(what)`` names the request in logs and messages ("POST /v1/files/upload-urls"); it must not
    contain secrets, and is only computed when a line is written. ``send`` is the action yielded for
    each attempt (the upload engine yields its own, which says what to PUT). ``deadline`` (a
    ``time.monotonic()`` value) ends the retries: no wait goes past it. With ``strict_deadline``, a call
    the deadline ended raises :class:`DeadlineExceeded` (from the last failure), also when that failure
    was an error status that another attempt might have mended.

    ``creates`` (the kind of project the request starts) retries it only as :func:`worth_retrying` says;
    after another failure, the final response is returned (the caller raises a ``ProjectMayExistError``
    for an answer that does not prove that nothing started) or a ``ProjectMayExistError`` raised.
    """
    retries_taken = 0
    while True:
        outcome = yield send
        assert outcome is not None
        if isinstance(outcome, httpx.Response) and outcome.is_success:
            return outcome
        retry = worth_retrying(
            outcome,
            creates=creates is not None,
            retry_may_duplicate=retry_may_duplicate,
            is_retryable=is_retryable,
        )
        unproven = creates is not None and not nothing_started(outcome)
        if isinstance(outcome, httpx.Response):
            if not retry or retries_taken >= max_retries:
                return outcome
            delay = retry_delay(retries_taken, outcome.headers)
            if _past(deadline, delay):
                if strict_deadline:
                    raise _out_of_time(outcome, what) from status_error(outcome, creates)
                return outcome
            reason = f"HTTP {outcome.status_code}"
        else:
            if not retry:
                raise connection_error(outcome, what, creates) from outcome
            passed = deadline is not None and time.monotonic() >= deadline  # the attempt was cut at it
            if retries_taken >= max_retries and not passed:
                raise connection_error(outcome, what, creates) from outcome
            delay = retry_delay(retries_taken)
            if passed or _past(deadline, delay):
                if strict_deadline:
                    raise _out_of_time(outcome, what) from outcome
                raise connection_error(outcome, what, creates, total_timeout=True) from outcome
            reason = type(outcome).__name__
        retries_taken += 1
        if unproven:  # asked for with retry_may_duplicate
            reason += ", a project may have been started: retrying as asked"
        logger.info("%s: %s, retry %d of %d in %.2fs", what, reason, retries_taken, max_retries, delay)
        yield Sleep(delay)
