"""How the fake delivers webhooks: the endpoints tests register, the record of every delivery and each
attempt's answer, and the one background thread that sends them, retrying what gets no 2xx.

Magic Hour retries a delivery with exponential backoff for 24 hours until the endpoint answers 2xx;
the fake does the same on a compressible clock: an endpoint's ``time_scale`` is the real seconds waited
per second of backoff (default 0: retries follow at once, so a test never sleeps). Each attempt is
signed anew (the timestamp is the real time of sending, as a handler verifies it).
"""

from __future__ import annotations

import asyncio
import heapq
import inspect
import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Dict, FrozenSet, List, NoReturn, Optional, Tuple

import httpx

from ..webhooks._verify import SIGNATURE_HEADER, TIMESTAMP_HEADER, Keys, sign

__all__ = ["DEFAULT_RETRY_DELAYS", "Deliverer", "WebhookAttempt", "WebhookDelivery", "WebhookEndpoint"]

RESPONSE_LIMIT = 64 * 1024
"""Bytes of an endpoint's answer kept in a record (the rest is not read)."""
IDLE_EXIT = 2.0
"""Seconds the delivery thread waits for work before it ends."""


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
        target = self.url if self.app is None else f"<{'ASGI' if self.asgi else 'WSGI'} app> {self.url}"
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


def is_asgi(app: Any) -> bool:
    """An ASGI app is a coroutine function (or an object whose ``__call__`` is one); a WSGI app is not."""
    call: Any = app if inspect.isfunction(app) or inspect.ismethod(app) else type(app).__call__
    return inspect.iscoroutinefunction(call)


class Deliverer:
    """The delivery thread: due attempts in time order, one at a time; started on first use."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._due: List[Tuple[float, int, WebhookDelivery]] = []
        self._seq = itertools.count()
        self._busy = 0
        self._thread: Optional[threading.Thread] = None
        self._stopped = False
        self.records: List[WebhookDelivery] = []
        self._clients: Dict[int, httpx.Client] = {}

    def submit(
        self, endpoint: WebhookEndpoint, event_type: str, project_id: Optional[str], body: bytes
    ) -> WebhookDelivery:
        delivery = WebhookDelivery(endpoint, event_type, project_id, body)
        with self._cond:
            self.records.append(delivery)
            heapq.heappush(self._due, (time.monotonic(), next(self._seq), delivery))
            self._stopped = False
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="magic-hour-fake-webhooks", daemon=True
                )
                self._thread.start()
            self._cond.notify_all()
        return delivery

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no attempt is due or running; False if ``timeout`` ran out first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._due or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(10)
        for client in list(self._clients.values()):
            client.close()
        self._clients.clear()

    def snapshot(self) -> List[WebhookDelivery]:
        with self._cond:
            return list(self.records)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped:
                    now = time.monotonic()
                    if self._due and self._due[0][0] <= now:
                        break
                    if self._due:
                        self._cond.wait(self._due[0][0] - now)
                    elif not self._cond.wait(IDLE_EXIT) and not self._due:
                        self._thread = None  # idle: a fake left open keeps no thread; submit starts one
                        return
                if self._stopped:
                    return
                _, _, delivery = heapq.heappop(self._due)
                self._busy += 1
            attempt: Optional[WebhookAttempt] = None
            try:
                attempt = self._attempt(delivery)
            finally:
                with self._cond:
                    self._busy -= 1
                    if attempt is not None:
                        self._record(delivery, attempt)
                    else:  # the thread is going down (KeyboardInterrupt...): no more tries
                        delivery.state = "failed"
                    self._cond.notify_all()

    def _record(self, delivery: WebhookDelivery, attempt: WebhookAttempt) -> None:
        """Keep ``attempt`` and schedule the next one if it failed and retries remain (lock held)."""
        delays = delivery.endpoint.retry_delays
        number = attempt.number
        if attempt.ok:
            delivery.state = "delivered"
        elif number <= len(delays):
            backoff = delays[number - 1]
            attempt = WebhookAttempt(
                number, attempt.timestamp, attempt.status_code, attempt.response, attempt.error, backoff
            )
            when = time.monotonic() + backoff * delivery.endpoint.time_scale
            heapq.heappush(self._due, (when, next(self._seq), delivery))
        else:
            delivery.state = "failed"
        delivery.attempts.append(attempt)

    def _attempt(self, delivery: WebhookDelivery) -> WebhookAttempt:
        endpoint, number = delivery.endpoint, len(delivery.attempts) + 1
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "user-agent": "magic-hour-fake-webhooks",
            SIGNATURE_HEADER: sign(endpoint.keys, delivery.body, timestamp),
            TIMESTAMP_HEADER: str(timestamp),
        }
        try:
            if endpoint.asgi:  # in an event loop of its own, bounded by the timeout
                post = _post_async(endpoint, delivery.body, headers)
                status, response = asyncio.run(asyncio.wait_for(post, endpoint.timeout))
            else:
                status, response = _post(self._client(endpoint), endpoint, delivery.body, headers)
        except Exception as exc:  # refused, reset, timed out, or the app raised: all mean "try again"
            return WebhookAttempt(number, timestamp, None, b"", f"{type(exc).__name__}: {exc}"[:300])
        return WebhookAttempt(number, timestamp, status, response, None)

    def _client(self, endpoint: WebhookEndpoint) -> httpx.Client:
        client = self._clients.get(id(endpoint))
        if client is None:
            transport = httpx.WSGITransport(app=endpoint.app) if endpoint.app is not None else None
            # trust_env=False: Magic Hour does not reach your endpoint through your proxy either
            client = httpx.Client(transport=transport, timeout=endpoint.timeout, trust_env=False)
            self._clients[id(endpoint)] = client
        return client


def _post(
    client: httpx.Client, endpoint: WebhookEndpoint, body: bytes, headers: Dict[str, str]
) -> Tuple[int, bytes]:
    with client.stream("POST", endpoint.url, content=body, headers=headers) as response:
        return response.status_code, _bounded(response.iter_bytes())


async def _post_async(endpoint: WebhookEndpoint, body: bytes, headers: Dict[str, str]) -> Tuple[int, bytes]:
    transport = httpx.ASGITransport(app=endpoint.app)
    async with httpx.AsyncClient(transport=transport, timeout=endpoint.timeout) as client:
        request = client.build_request("POST", endpoint.url, content=body, headers=headers)
        response = await client.send(request, stream=True)
        try:
            kept = b""
            async for chunk in response.aiter_bytes():
                kept += chunk[: RESPONSE_LIMIT - len(kept)]
                if len(kept) >= RESPONSE_LIMIT:
                    break
            return response.status_code, kept
        finally:
            await response.aclose()


def _bounded(chunks: Any) -> bytes:
    kept = b""
    for chunk in chunks:
        kept += chunk[: RESPONSE_LIMIT - len(kept)]
        if len(kept) >= RESPONSE_LIMIT:
            break
    return kept
