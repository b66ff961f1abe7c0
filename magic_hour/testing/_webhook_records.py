"""What the fake's webhook deliveries are made of: the endpoints tests register, every delivery and
each attempt's answer, and Magic Hour's retry schedule."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, FrozenSet, List, NoReturn, Optional, Tuple

from .._redact import safe_url
from ..webhooks._verify import Keys

__all__ = ["DEFAULT_RETRY_DELAYS", "WebhookAttempt", "WebhookDelivery", "WebhookEndpoint"]


def _retry_delays(first: float = 5.0, total: float = 24 * 3600.0) -> Tuple[float, ...]:
    delays: List[float] = []
    while sum(delays) + first * 2 ** len(delays) <= total:
        delays.append(first * 2 ** len(delays))
    return tuple(delays)


DEFAULT_RETRY_DELAYS = _retry_delays()
"""Seconds before each retry: 5, 10, 20... while they add up to at most 24 hours (14 retries)."""


@dataclass(repr=False, eq=False)
class WebhookEndpoint:
    """An endpoint the fake sends events to (made by :meth:`FakeMagicHour.add_webhook_endpoint`).

    Attributes:
        url: where events are POSTed (with an ``app``: ``http://webhook.test<path>``, no sockets).
        app: the ASGI or WSGI application events are handed to without sockets, or ``None``.
        events: the event types it receives (``None``: all).
        retry_delays: seconds of backoff before each retry (on the fake's compressible clock).
        time_scale: real seconds waited per second of backoff (0: none).
        timeout: seconds an attempt may take before it counts as failed.
    """

    url: str
    app: Any
    events: Optional[FrozenSet[str]]
    retry_delays: Tuple[float, ...]
    time_scale: float
    timeout: float
    keys: Keys = field(repr=False)
    asgi: bool = False

    def wants(self, event_type: str) -> bool:
        return self.events is None or event_type in self.events

    def __reduce__(self) -> NoReturn:
        raise TypeError("a WebhookEndpoint holds its webhook secret; it is not pickled")

    def __repr__(self) -> str:
        url = safe_url(self.url)  # a test of a handler behind basic auth or a query token: not shown
        target = url if self.app is None else f"<{'ASGI' if self.asgi else 'WSGI'} app> {url}"
        events = sorted(self.events) if self.events is not None else "all"
        return f"WebhookEndpoint({target}, events={events}, secret=<set>)"


@dataclass(frozen=True)
class WebhookAttempt:
    """One try at delivering an event.

    Attributes:
        number: 1 for the first try, 2 for the first retry...
        timestamp: the signed timestamp (Unix seconds) sent in ``magic-hour-event-timestamp``.
        status_code: the endpoint's answer, or ``None`` when none came (``error`` says why).
        response: the first 64 KiB of the answer's body.
        error: why no answer came (connection refused, timeout, the app raised), else ``None``.
        backoff: seconds of backoff (fake clock) before the next try, ``None`` when none follows.
    """

    number: int
    timestamp: int
    status_code: Optional[int]
    response: bytes
    error: Optional[str]
    backoff: Optional[float] = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(repr=False, eq=False)
class WebhookDelivery:
    """An event sent (or being sent) to one endpoint, and every attempt's answer.

    Attributes:
        endpoint: the :class:`WebhookEndpoint`.
        event_type: ``"video.completed"``...
        project_id: the payload's ``id``.
        body: the exact bytes sent (the same on every attempt).
        attempts: each :class:`WebhookAttempt`, oldest first.
        state: ``"pending"`` (a try is due), ``"delivered"`` (a 2xx came) or ``"failed"`` (the
            retries ran out).
    """

    endpoint: WebhookEndpoint
    event_type: str
    project_id: Optional[str]
    body: bytes
    attempts: List[WebhookAttempt] = field(default_factory=lambda: [])
    state: str = "pending"

    @property
    def status_code(self) -> Optional[int]:
        """The last attempt's status code (``None``: no attempt yet, or no answer)."""
        return self.attempts[-1].status_code if self.attempts else None

    @property
    def delivered(self) -> bool:
        return self.state == "delivered"

    def __repr__(self) -> str:
        return (
            f"WebhookDelivery({self.event_type!r}, project_id={self.project_id!r}, state={self.state!r}, "
            f"attempts={len(self.attempts)}, status_code={self.status_code})"
        )
