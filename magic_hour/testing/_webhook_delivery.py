"""How the fake delivers webhooks: the one background thread that sends them, retrying what gets no 2xx
(the records it fills are in ``_webhook_records``).

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
from typing import Any, Dict, List, Optional, Tuple

import httpx

from ..webhooks._verify import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from ._webhook_records import WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = ["Deliverer", "is_asgi"]

RESPONSE_LIMIT = 64 * 1024
"""Bytes of an endpoint's answer kept in a record (the rest is not read)."""
IDLE_EXIT = 2.0
"""Seconds the delivery thread waits for work before it ends."""


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

    def snapshot(self) -> List[WebhookDelivery]:
        with self._cond:
            return list(self.records)

    def _run(self) -> None:
        clients: Dict[WebhookEndpoint, httpx.Client] = {}  # this thread's, closed when it ends
        try:
            self._loop(clients)
        finally:
            for client in clients.values():
                client.close()

    def _loop(self, clients: Dict[WebhookEndpoint, httpx.Client]) -> None:
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
                attempt = self._attempt(delivery, clients)
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

    def _attempt(
        self, delivery: WebhookDelivery, clients: Dict[WebhookEndpoint, httpx.Client]
    ) -> WebhookAttempt:
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
                status, response = _post(_client(clients, endpoint), endpoint, delivery.body, headers)
        except Exception as exc:  # refused, reset, timed out, or the app raised: all mean "try again"
            return WebhookAttempt(number, timestamp, None, b"", f"{type(exc).__name__}: {exc}"[:300])
        return WebhookAttempt(number, timestamp, status, response, None)


def _client(clients: Dict[WebhookEndpoint, httpx.Client], endpoint: WebhookEndpoint) -> httpx.Client:
    client = clients.get(endpoint)
    if client is None:
        transport = httpx.WSGITransport(app=endpoint.app) if endpoint.app is not None else None
        # trust_env=False: Magic Hour does not reach your endpoint through your proxy either
        client = httpx.Client(transport=transport, timeout=endpoint.timeout, trust_env=False)
        clients[endpoint] = client
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
