"""The fake's webhooks: the endpoints tests register, the one background thread that delivers, every
delivery and each attempt's answer, and signed requests for tests that need no fake.

A project the fake created sends ``<kind>.started`` when it starts rendering and ``<kind>.completed``
or ``<kind>.errored`` when it ends (a render too fast to be seen rendering still sends ``started``
first); ``canceled`` sends nothing, as with Magic Hour. A seeded project sends nothing for being
seeded, then the event of each status :meth:`set_project_status` moves it to.

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
import json
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, FrozenSet, Iterable, List, NoReturn, Optional, Sequence, Tuple, Union

import httpx

from .._exceptions import InvalidParameterError
from .._redact import safe_url
from ..webhooks._examples import event_types, example_body
from ..webhooks._verify import SIGNATURE_HEADER, TIMESTAMP_HEADER, Body, Keys, Secret, keys_from, sign
from ._api import Api
from ._exchange import TRANSPORT_STORAGE_URL, rfc3339
from ._projects import Project, ProjectChange, ProjectStore, project_body
from ._records import RecordedRequest
from ._spec import example
from ._storage import Storage


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


def sign_webhook(
    body: Body, *, secret: Optional[Secret] = None, timestamp: Optional[Union[int, float]] = None
) -> Dict[str, str]:
    """The headers Magic Hour sends with ``body``: the hex HMAC-SHA256 of ``"{timestamp}.{body}"`` keyed
    by ``secret`` (the first, given a list; default ``$MAGIC_HOUR_WEBHOOK_SECRET``), and the timestamp
    (Unix seconds; default now).

    Example::

        body = webhook_body("video.completed", id="cm2fphlo3000dmfhu8m0dh63z")
        headers = sign_webhook(body, secret="whsec_test")
        response = test_client.post("/webhooks/magic-hour", content=body, headers=headers)
    """
    try:
        keys = keys_from(secret)
    finally:
        del secret  # see magic_hour.webhooks.unwrap
    if timestamp is not None and not (
        isinstance(timestamp, (int, float))
        and not isinstance(timestamp, bool)
        and math.isfinite(timestamp)
        and timestamp >= 0
    ):
        raise InvalidParameterError("timestamp", timestamp, "Unix seconds >= 0 (a number), or None for now")
    seconds = int(time.time() if timestamp is None else timestamp)
    return {SIGNATURE_HEADER: sign(keys, body, seconds), TIMESTAMP_HEADER: str(seconds)}


def webhook_body(event_type: str, **payload: Any) -> bytes:
    """A body Magic Hour would send for ``event_type`` (``"video.completed"``...): the webhook
    description's example payload with the status that sends the event (outputs only once complete,
    an error only when errored), and the fields given here (wire names: ``id="..."``, ``type="..."``)
    replaced or added. Compact JSON, UTF-8."""
    return example_body(event_type, payload)


_EVENT_OF_STATUS = {"rendering": "started", "complete": "completed", "error": "errored"}
_AFTER_RENDERING = ("complete", "error")


def _seconds(value: object) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    )


class _Webhooks:
    def __init__(self) -> None:
        self.endpoints: List[WebhookEndpoint] = []
        self.deliverer = Deliverer()
        self.listening = False


class WebhookControls:
    """Webhook endpoints, deliveries and the events project changes send."""

    _lock: threading.Lock
    _projects: ProjectStore
    _api: Api
    _storage: Storage
    _requests: List[RecordedRequest]
    _closers: List[Callable[[], None]]

    def _webhooks(self) -> _Webhooks:
        with self._lock:
            state: Optional[_Webhooks] = self.__dict__.get("_webhook_state")
            if state is None:
                state = self.__dict__["_webhook_state"] = _Webhooks()
            return state

    def add_webhook_endpoint(
        self,
        target: Any,
        *,
        path: str = "/",
        secret: Optional[Secret] = None,
        events: Optional[Iterable[str]] = None,
        retry_delays: Optional[Sequence[float]] = None,
        time_scale: float = 0.0,
        timeout: float = 10.0,
    ) -> WebhookEndpoint:
        """Send this fake's webhook events to ``target``, signed with ``secret``, as Magic Hour does.

        Args:
            target: a URL (``"http://127.0.0.1:8000/webhooks"``, POSTed to over real sockets), or your
                ASGI app (FastAPI, Starlette: called in an event loop of the delivery thread) or WSGI
                app (Flask, Django: called in the delivery thread), without sockets.
            path: with an app, the path its handler serves (``"/webhooks/magic-hour"``).
            secret: the webhook secret (a list: signed with the first); default
                ``$MAGIC_HOUR_WEBHOOK_SECRET``.
            events: the event types to send (default: all).
            retry_delays: seconds of backoff before each retry of an attempt that got no 2xx (default:
                5, 10, 20... for 24 hours, 14 retries, as Magic Hour).
            time_scale: real seconds waited per second of backoff (default 0: retries follow at once).
            timeout: seconds an attempt may take before it counts as failed.

        Returns the :class:`WebhookEndpoint`; events go to it from now on (none for what happened before).
        """
        try:
            keys = keys_from(secret)
        finally:
            del secret  # only ``keys`` (which shows nothing) in this frame's locals, even on a refusal
        url, app = (target, None) if isinstance(target, str) else (None, target)
        if not isinstance(path, str) or not path.startswith("/"):
            raise InvalidParameterError("path", path, "a path starting with '/'")
        if url is not None and not url.startswith(("http://", "https://")):
            raise InvalidParameterError("target", url, "an http(s) URL, or an ASGI or WSGI app")
        if app is not None and not callable(app):
            raise InvalidParameterError("target", app, "an http(s) URL, or an ASGI or WSGI app")
        known = event_types()
        wanted = None if events is None else frozenset([events] if isinstance(events, str) else events)
        if wanted is not None and not wanted <= set(known):
            raise InvalidParameterError(
                "events", sorted(wanted - set(known)), "event types among " + ", ".join(known)
            )
        # Finite: an infinite wait overflows the delivery thread's Condition.wait (the thread died), and
        # an infinite backoff times a time_scale of 0 is NaN, a due time never reached.
        delays = DEFAULT_RETRY_DELAYS if retry_delays is None else tuple(retry_delays)
        if not all(_seconds(d) for d in delays):
            raise InvalidParameterError("retry_delays", list(delays), "finite seconds >= 0 before each retry")
        if not _seconds(time_scale):
            raise InvalidParameterError("time_scale", time_scale, "a finite number >= 0 (0: no waiting)")
        if not _seconds(timeout) or timeout == 0:
            raise InvalidParameterError("timeout", timeout, "a finite number of seconds > 0")
        endpoint = WebhookEndpoint(
            url if url is not None else "http://webhook.test" + path,
            app,
            wanted,
            delays,
            float(time_scale),
            float(timeout),
            keys,
            asgi=app is not None and is_asgi(app),
        )
        state = self._webhooks()
        with self._lock:
            state.endpoints.append(endpoint)
            if not state.listening:  # told of every project change from now on (see on_project_change)
                state.listening = True
                self._projects.listeners.append(self._project_changed)
                self._closers.append(state.deliverer.stop)
        return endpoint

    def remove_webhook_endpoint(self, endpoint: WebhookEndpoint) -> None:
        """Send nothing more to ``endpoint`` (attempts already due still happen)."""
        state = self._webhooks()
        with self._lock:
            if endpoint in state.endpoints:
                state.endpoints.remove(endpoint)

    def send_webhook(self, event_type: str, **payload: Any) -> List[WebhookDelivery]:
        """Send an event now to every endpoint that takes it, without a project: the webhook
        description's example of ``event_type`` with ``payload``'s fields (wire names) replaced, as
        :func:`magic_hour.testing.webhook_body` builds it. Returns the new deliveries."""
        body = example_body(event_type, payload)
        return self._send(event_type, json.loads(body)["payload"].get("id"), body)

    @property
    def webhook_deliveries(self) -> List[WebhookDelivery]:
        """Every delivery made so far, oldest first (a snapshot; each record fills in as it is sent)."""
        return self._webhooks().deliverer.snapshot()

    def wait_for_webhooks(self, timeout: float = 10.0) -> List[WebhookDelivery]:
        """Wait until every delivery is delivered or has run out of retries; return them all.

        Raises :class:`TimeoutError` if some are still pending after ``timeout`` seconds.
        """
        state = self._webhooks()
        if not state.deliverer.wait_idle(timeout):
            pending = [d for d in state.deliverer.snapshot() if d.state == "pending"]
            raise TimeoutError(
                f"{len(pending)} webhook deliveries still pending after {timeout:g} s: {pending[:3]}"
            )
        return self.webhook_deliveries

    # ------------------------------------------------------------------ internals

    def _send(self, event_type: str, project_id: Optional[str], body: bytes) -> List[WebhookDelivery]:
        state = self._webhooks()
        with self._lock:
            endpoints = [e for e in state.endpoints if e.wants(event_type)]
        return [state.deliverer.submit(e, event_type, project_id, body) for e in endpoints]

    def _project_changed(self, change: ProjectChange) -> None:
        project, previous, status = change.project, change.previous, change.status
        if project.kind not in self._api.spec.projects or f"{project.kind}.started" not in event_types():
            return  # no events for this kind (face detection)
        seeded = project.route == "seed_project"
        if previous is None and (seeded or project.route not in self._create_routes()):
            return  # made before the test (seeded), or conjured by a GET in mock-server mode
        names: List[str] = []
        if status in _AFTER_RENDERING and previous not in ("rendering", *_AFTER_RENDERING) and not seeded:
            names.append("started")  # rendered faster than anyone could see it rendering
        if status in _EVENT_OF_STATUS:
            names.append(_EVENT_OF_STATUS[status])
        for name in names:
            event_type = f"{project.kind}.{name}"
            self._send(
                event_type, project.id, self._event_body(project, event_type, started=name == "started")
            )

    def _create_routes(self) -> List[str]:
        return [op.route for op in self._api.spec.operations.values() if op.creates]

    def _event_body(self, project: Project, event_type: str, *, started: bool) -> bytes:
        """The event with ``project`` as its kind's GET shows it now (a ``started`` event: as it
        rendered), download URLs signed for where the test's client reached the fake."""
        op = self._api.spec.operations[self._api.spec.projects[project.kind]]
        _, content = op.success
        content = content or {}
        with self._lock:
            storage, now, prefix = self._storage, self._storage.now(), self._storage_prefix()
            base = json.loads(json.dumps(content["example"])) if "example" in content else None
            if base is None:
                stamp = rfc3339(now)
                base = example(content.get("schema", {}), self._api.spec.document, now=lambda: stamp)

            def sign(path: str) -> Any:
                expires = int(now + storage.url_ttl)
                return storage.sign("GET", prefix, path, expires), rfc3339(expires)

            payload: Dict[str, Any] = project_body(
                project, content.get("schema", {}), base, now, sign=sign, timestamp=rfc3339
            )
        if started:
            payload.update({"status": "rendering", "error": None})
            if "downloads" in payload:
                payload["downloads"] = []
            if "download" in payload:
                payload["download"] = None
        return json.dumps({"type": event_type, "payload": payload}, separators=(",", ":")).encode()

    def _storage_prefix(self) -> str:
        """Storage as the last API request reached it: the transport's host, or a real server's
        ``/storage`` (lock held)."""
        for record in reversed(self._requests):
            if record.operation is None:
                continue
            if record.url.startswith("http://"):  # the real server (the transport's hosts are https)
                return "/".join(record.url.split("/", 3)[:3]) + "/storage/"
            break
        return TRANSPORT_STORAGE_URL + "/"


__all__ = [
    "DEFAULT_RETRY_DELAYS",
    "Deliverer",
    "WebhookAttempt",
    "WebhookControls",
    "WebhookDelivery",
    "WebhookEndpoint",
    "is_asgi",
]
