"""The webhook calls of :class:`FakeMagicHour` (a base class: the state lives in ``_state``): register
endpoints, hear of project changes, send signed events, inspect every delivery.

A project the fake created sends ``<kind>.started`` when it starts rendering and ``<kind>.completed``
or ``<kind>.errored`` when it ends (a render too fast to be seen rendering still sends ``started``
first); ``canceled`` sends nothing, as with Magic Hour. A seeded project (made before the test) sends
nothing for being seeded, then the event of each status :meth:`set_project_status` moves it to.
"""

from __future__ import annotations

import json
import math
import threading
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence

from .._exceptions import InvalidParameterError
from ..webhooks._examples import event_types, example_body
from ..webhooks._verify import Secret, keys_from
from ._api import Api
from ._project_store import ProjectChange, ProjectStore
from ._projects import Project, project_body
from ._records import RecordedRequest
from ._schema import example
from ._storage import Storage
from ._webhook_delivery import Deliverer, is_asgi
from ._webhook_records import DEFAULT_RETRY_DELAYS, WebhookDelivery, WebhookEndpoint
from ._wire import TRANSPORT_STORAGE_URL, rfc3339

__all__ = ["WebhookControls"]

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
