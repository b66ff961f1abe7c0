"""The fake delivers webhooks: signed events when its projects start, complete or fail (none on cancel),
retries with backoff on a compressible clock, a record of every delivery and its answers.

Every handler here verifies with ``magic_hour.webhooks.unwrap`` (the SDK's own function), so a
delivery that is not signed as Magic Hour signs fails the test. Handlers are called in memory (ASGI and
WSGI apps through httpx transports) and through real sockets (uvicorn, werkzeug on 127.0.0.1), with
the fake driven by sync and async clients, through its transport and its real server.
"""

from __future__ import annotations

import asyncio
import json
import pickle
import re
import socket
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Tuple

import httpx
import pytest
from _webhook_servers import serve_asgi, serve_wsgi
from fastapi import FastAPI, Request  # at module level: FastAPI reads the annotations from here
from fastapi.responses import JSONResponse
from flask import Flask, request

import magic_hour.webhooks as webhooks
from magic_hour import InvalidParameterError
from magic_hour.testing import FakeMagicHour, WebhookDelivery
from magic_hour.testing._webhooks import DEFAULT_RETRY_DELAYS

pytest_plugins = ["pytester"]

SECRET = "whsec_fake-deliveries-0123456789"


class Recorder:
    """The events a handler accepted, and what it answers next (a queue of statuses, then 200)."""

    def __init__(self) -> None:
        self.events: List[Any] = []
        self.rejected: List[str] = []
        self.answers: List[int] = []
        self.lock = threading.Lock()

    def handle(self, body: bytes, headers: Any) -> Tuple[int, Dict[str, str]]:
        try:
            event = webhooks.unwrap(body, headers, secret=SECRET)
        except webhooks.WebhookVerificationError as e:
            with self.lock:
                self.rejected.append(e.reason)
            return 400, {"message": e.reason}
        with self.lock:
            status = self.answers.pop(0) if self.answers else 200
            if status == 200:
                self.events.append(event)
        return status, {"message": "ok" if status == 200 else "try again"}

    @property
    def seen(self) -> List[Tuple[str, str, str]]:
        with self.lock:
            return [(e.type, e.payload.id, e.payload.status) for e in self.events]


def asgi_app(recorder: Recorder) -> Any:
    app = FastAPI()

    @app.post("/hooks/magic-hour")
    async def hook(request: Request) -> JSONResponse:
        status, answer = recorder.handle(await request.body(), request.headers)
        return JSONResponse(answer, status_code=status)

    return app


def wsgi_app(recorder: Recorder) -> Any:
    app = Flask("hooks")

    @app.post("/hooks/magic-hour")
    def hook() -> Any:
        status, answer = recorder.handle(request.get_data(), request.headers)
        return answer, status

    return app


APPS: Dict[str, Callable[[Recorder], Any]] = {"asgi": asgi_app, "wsgi": wsgi_app}


@pytest.fixture
def fake() -> Iterator[FakeMagicHour]:
    with FakeMagicHour() as fake:
        yield fake


def create_image(fake: FakeMagicHour, mode: str) -> str:
    """Start an image project through the fake's transport, with a sync or an async client."""
    args: Dict[str, Any] = {"image_count": 1, "aspect_ratio": "1:1", "style": {"prompt": "a cat"}}
    if mode == "sync":
        with fake.client() as client:
            return client.v1.ai_image_generator.create(**args).id

    async def main() -> str:
        async with fake.async_client() as client:
            return (await client.v1.ai_image_generator.create(**args)).id

    return asyncio.run(main())


@pytest.mark.parametrize("app", sorted(APPS))
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_project_sends_started_then_completed_to_an_app(fake: FakeMagicHour, app: str, mode: str) -> None:
    recorder = Recorder()
    endpoint = fake.add_webhook_endpoint(APPS[app](recorder), path="/hooks/magic-hour", secret=SECRET)
    project_id = create_image(fake, mode)
    deliveries = fake.wait_for_webhooks()
    assert recorder.seen == [
        ("image.started", project_id, "rendering"),
        ("image.completed", project_id, "complete"),
    ]
    assert [(d.event_type, d.project_id, d.state, d.status_code) for d in deliveries] == [
        ("image.started", project_id, "delivered", 200),
        ("image.completed", project_id, "delivered", 200),
    ]
    assert all(d.endpoint is endpoint and len(d.attempts) == 1 for d in deliveries)
    started, completed = recorder.events
    assert started.payload.downloads == [] and started.payload.error is None
    # the completed payload is the project as its GET shows it, with download URLs that work
    with fake.client() as client:
        project = client.v1.image_projects.get(id=project_id)
    shown = completed.payload.model_dump(exclude={"downloads", "download"})
    assert shown == project.model_dump(exclude={"downloads", "download"})
    with fake.httpx_client() as http:
        output = http.get(completed.payload.downloads[0].url)
    assert output.status_code == 200 and output.content == http_get(fake, project.downloads[0].url)


def http_get(fake: FakeMagicHour, url: str) -> bytes:
    with fake.httpx_client() as http:
        return http.get(url).content


def test_the_clock_moves_projects_and_each_change_sends_its_event(fake: FakeMagicHour) -> None:
    recorder = Recorder()
    fake.add_webhook_endpoint(wsgi_app(recorder), path="/hooks/magic-hour", secret=SECRET)
    fake.queue_seconds, fake.render_seconds = 10, 30
    project_id = create_image(fake, "sync")
    assert fake.wait_for_webhooks() == []  # queued: nothing yet
    fake.advance_clock(10)
    fake.wait_for_webhooks()
    assert recorder.seen == [("image.started", project_id, "rendering")]
    fake.advance_clock(30)
    fake.wait_for_webhooks()
    assert recorder.seen[-1] == ("image.completed", project_id, "complete")


def test_a_failed_project_sends_errored_and_a_canceled_one_nothing(fake: FakeMagicHour) -> None:
    recorder = Recorder()
    fake.add_webhook_endpoint(asgi_app(recorder), path="/hooks/magic-hour", secret=SECRET)
    fake.render_seconds = 10
    fake.end_next_projects("error", code="no_source_face", message="no face")
    failed = create_image(fake, "sync")
    fake.end_next_projects("canceled")
    canceled = create_image(fake, "async")
    fake.advance_clock(10)
    fake.wait_for_webhooks()
    assert sorted(recorder.seen) == sorted(
        [
            ("image.started", failed, "rendering"),
            ("image.started", canceled, "rendering"),
            ("image.errored", failed, "error"),  # its cancellation sends the other nothing
        ]
    )
    assert recorder.seen[-1] == ("image.errored", failed, "error")
    assert recorder.events[-1].payload.error.code == "no_source_face"
    assert fake.project(canceled).status(fake.now()) == "canceled"


def test_seeded_projects_send_the_events_of_the_statuses_they_are_moved_to(fake: FakeMagicHour) -> None:
    recorder = Recorder()
    fake.add_webhook_endpoint(asgi_app(recorder), path="/hooks/magic-hour", secret=SECRET)
    fake.seed_project("video", id="v_done", status="complete")  # made before the test: nothing
    fake.seed_project("video", id="v_1", status="queued")
    fake.seed_project("audio", id="a_1", status="rendering")
    fake.seed_project("face_detection", id="f_1", status="queued")  # no events for face detection
    fake.set_project_status("v_1", "rendering")
    fake.set_project_status("v_1", "complete")
    fake.set_project_status("a_1", "canceled")
    fake.set_project_status("f_1", "complete")
    fake.wait_for_webhooks()
    assert recorder.seen == [("video.started", "v_1", "rendering"), ("video.completed", "v_1", "complete")]


def test_mock_server_projects_send_nothing(fake: FakeMagicHour) -> None:
    recorder = Recorder()
    fake.add_webhook_endpoint(asgi_app(recorder), path="/hooks/magic-hour", secret=SECRET)
    fake.mock_server = True
    with fake.client() as client:
        client.v1.video_projects.get(id="anything")
    assert fake.wait_for_webhooks() == [] and recorder.seen == []


def test_non_2xx_answers_are_retried_with_backoff_and_recorded(fake: FakeMagicHour) -> None:
    recorder = Recorder()
    recorder.answers = [500, 503, 404]
    fake.add_webhook_endpoint(
        wsgi_app(recorder),
        path="/hooks/magic-hour",
        secret=SECRET,
        retry_delays=[5, 10, 20, 40],
        time_scale=0.005,
    )
    started = time.monotonic()
    [delivery] = fake.send_webhook("video.completed", id="v_retry")
    fake.wait_for_webhooks()
    elapsed = time.monotonic() - started
    assert [a.status_code for a in delivery.attempts] == [500, 503, 404, 200]
    assert [a.backoff for a in delivery.attempts] == [5, 10, 20, None]
    assert [a.number for a in delivery.attempts] == [1, 2, 3, 4]
    assert json.loads(delivery.attempts[0].response) == {"message": "try again"}
    assert delivery.state == "delivered" and recorder.seen == [("video.completed", "v_retry", "complete")]
    assert elapsed >= 35 * 0.005  # the backoff, compressed 200 times, was waited
    # each attempt was signed anew, so its timestamp never goes back
    stamps = [a.timestamp for a in delivery.attempts]
    assert stamps == sorted(stamps)


def test_an_endpoint_that_never_answers_2xx_is_given_up_after_the_retries(fake: FakeMagicHour) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there: connection refused
    endpoint = fake.add_webhook_endpoint(f"http://127.0.0.1:{port}/hook", secret=SECRET)
    [delivery] = fake.send_webhook("audio.errored")
    fake.wait_for_webhooks()
    assert delivery.state == "failed"
    assert len(delivery.attempts) == len(DEFAULT_RETRY_DELAYS) + 1 == 15
    assert sum(DEFAULT_RETRY_DELAYS) <= 24 * 3600 < sum(DEFAULT_RETRY_DELAYS) + 5 * 2**14
    assert all(a.status_code is None and a.error and "ConnectError" in a.error for a in delivery.attempts)
    assert endpoint.retry_delays == DEFAULT_RETRY_DELAYS


def test_wait_for_webhooks_times_out_while_a_retry_is_due_later(fake: FakeMagicHour) -> None:
    recorder = Recorder()
    recorder.answers = [500]
    fake.add_webhook_endpoint(
        asgi_app(recorder), path="/hooks/magic-hour", secret=SECRET, retry_delays=[60], time_scale=1
    )
    fake.send_webhook("image.started")
    with pytest.raises(TimeoutError, match="1 webhook deliveries still pending"):
        fake.wait_for_webhooks(timeout=0.3)
    [delivery] = fake.webhook_deliveries
    assert delivery.state == "pending" and [a.status_code for a in delivery.attempts] == [500]


def test_answers_are_recorded_up_to_64_kib(fake: FakeMagicHour) -> None:
    app = Flask("big")
    app.add_url_rule("/", "big", lambda: ("x" * 100_000, 200), methods=["POST"])
    fake.add_webhook_endpoint(app, secret=SECRET)
    [delivery] = fake.send_webhook("video.started")
    fake.wait_for_webhooks()
    assert delivery.attempts[0].response == b"x" * 65536


def test_events_filter_and_several_endpoints(fake: FakeMagicHour) -> None:
    everything, completions = Recorder(), Recorder()
    fake.add_webhook_endpoint(asgi_app(everything), path="/hooks/magic-hour", secret=SECRET)
    fake.add_webhook_endpoint(
        wsgi_app(completions), path="/hooks/magic-hour", secret=SECRET, events=["image.completed"]
    )
    project_id = create_image(fake, "sync")
    fake.wait_for_webhooks()
    assert [s[0] for s in everything.seen] == ["image.started", "image.completed"]
    assert completions.seen == [("image.completed", project_id, "complete")]


def test_rotation_signs_with_the_first_secret(fake: FakeMagicHour) -> None:
    recorder = Recorder()
    fake.add_webhook_endpoint(asgi_app(recorder), path="/hooks/magic-hour", secret=[SECRET, "whsec_old"])
    other = Recorder()
    fake.add_webhook_endpoint(asgi_app(other), path="/hooks/magic-hour", secret=["whsec_old", SECRET])
    fake.send_webhook("video.errored")
    fake.wait_for_webhooks()
    assert len(recorder.seen) == 1 and other.rejected[0] == "signature_mismatch"


def test_the_secret_defaults_to_the_environment(fake: FakeMagicHour, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAGIC_HOUR_WEBHOOK_SECRET", raising=False)
    with pytest.raises(webhooks.MissingWebhookSecretError):
        fake.add_webhook_endpoint("http://127.0.0.1:9/hook")
    monkeypatch.setenv("MAGIC_HOUR_WEBHOOK_SECRET", SECRET)
    recorder = Recorder()
    fake.add_webhook_endpoint(asgi_app(recorder), path="/hooks/magic-hour")
    fake.send_webhook("audio.started", id="a_env")
    fake.wait_for_webhooks()
    assert recorder.seen == [("audio.started", "a_env", "rendering")]


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"target": "ftp://x"}, "target"),
        ({"target": 3}, "target"),
        ({"path": "hook"}, "path"),
        ({"events": ["video.canceled"]}, "events"),
        ({"retry_delays": [-1]}, "retry_delays"),
        ({"retry_delays": [5, float("inf")]}, "retry_delays"),  # inf x a time_scale of 0: NaN, never due
        ({"retry_delays": [float("nan")]}, "retry_delays"),
        ({"time_scale": -1}, "time_scale"),
        ({"time_scale": float("inf")}, "time_scale"),  # overflowed the delivery thread's wait
        ({"timeout": True}, "timeout"),
        ({"timeout": 0}, "timeout"),  # every attempt over a socket would time out at once
        ({"timeout": float("inf")}, "timeout"),
        ({"secret": ""}, "secret"),
    ],
)
def test_bad_endpoint_arguments_are_refused(fake: FakeMagicHour, kwargs: Dict[str, Any], param: str) -> None:
    args: Dict[str, Any] = {"target": "http://127.0.0.1:9/hook", "secret": SECRET, **kwargs}
    with pytest.raises(InvalidParameterError) as info:
        fake.add_webhook_endpoint(args.pop("target"), **args)
    assert info.value.param == param


def test_removed_endpoints_get_nothing_more(fake: FakeMagicHour) -> None:
    recorder = Recorder()
    endpoint = fake.add_webhook_endpoint(asgi_app(recorder), path="/hooks/magic-hour", secret=SECRET)
    fake.send_webhook("video.started", id="one")
    fake.remove_webhook_endpoint(endpoint)
    fake.send_webhook("video.started", id="two")
    fake.wait_for_webhooks()
    assert [s[1] for s in recorder.seen] == ["one"]


def test_records_and_endpoints_show_no_secret_nor_signature(fake: FakeMagicHour) -> None:
    recorder = Recorder()
    endpoint = fake.add_webhook_endpoint(asgi_app(recorder), path="/hooks/magic-hour", secret=SECRET)
    [delivery] = fake.send_webhook("video.completed")
    fake.wait_for_webhooks()
    signature = webhooks._verify.sign(
        webhooks._verify.Keys(SECRET), delivery.body, delivery.attempts[0].timestamp
    )
    shown = repr(endpoint) + repr(delivery) + repr(delivery.attempts) + repr(vars(delivery))
    assert SECRET not in shown and signature not in shown
    assert "secret=<set>" in repr(endpoint)
    with pytest.raises(TypeError, match="not pickled"):
        pickle.dumps(endpoint)


def test_an_endpoint_url_shows_no_credential(fake: FakeMagicHour) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    url = f"http://hook-user:pw-hunter2@127.0.0.1:{port}/hook?token=tok-hunter2"
    endpoint = fake.add_webhook_endpoint(url, secret=SECRET, retry_delays=[0])
    [delivery] = fake.send_webhook("video.completed")
    fake.wait_for_webhooks()
    assert endpoint.url == url and len(delivery.attempts) == 2  # sent as given: refused twice
    shown = repr(endpoint) + repr(delivery) + repr(delivery.attempts) + repr(vars(delivery))
    assert "hunter2" not in shown
    assert f"WebhookEndpoint(http://127.0.0.1:{port}/hook?<redacted>, " in repr(endpoint)


def test_close_stops_the_delivery_thread() -> None:
    fake = FakeMagicHour()
    fake.add_webhook_endpoint(asgi_app(Recorder()), path="/hooks/magic-hour", secret=SECRET)
    fake.send_webhook("video.started")
    fake.wait_for_webhooks()
    assert any(t.name == "magic-hour-fake-webhooks" for t in threading.enumerate())
    fake.close()
    assert not any(t.name == "magic-hour-fake-webhooks" for t in threading.enumerate())


# --- through real sockets ------------------------------------------------------------------------------------


def served(kind: str, recorder: Recorder) -> Iterator[str]:
    app = APPS[kind](recorder)
    return serve_asgi(app) if kind == "asgi" else serve_wsgi(app)


@pytest.mark.parametrize(("kind", "mode"), [("asgi", "async"), ("wsgi", "sync")])
def test_through_real_sockets_the_fake_server_delivers_to_a_served_handler(
    fake: FakeMagicHour, kind: str, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = Recorder()
    handler = served(kind, recorder)
    url = next(handler)
    try:
        fake.add_webhook_endpoint(url + "/hooks/magic-hour", secret=SECRET)
        with fake.serve() as server:
            args: Dict[str, Any] = {"image_count": 1, "aspect_ratio": "1:1", "style": {"prompt": "a dog"}}
            if mode == "sync":
                with server.client() as client:
                    project_id = client.v1.ai_image_generator.create(**args).id
            else:

                async def main() -> str:
                    async with server.async_client() as client:
                        return (await client.v1.ai_image_generator.create(**args)).id

                project_id = asyncio.run(main())
            deliveries: List[WebhookDelivery] = fake.wait_for_webhooks()
            assert [d.state for d in deliveries] == ["delivered", "delivered"]
            assert recorder.seen == [
                ("image.started", project_id, "rendering"),
                ("image.completed", project_id, "complete"),
            ]
            # download URLs point at the fake's server, and serve the output
            url_out = recorder.events[1].payload.downloads[0].url
            assert url_out.startswith(server.url + "/storage/")
            assert httpx.get(url_out).status_code == 200
    finally:
        handler.close()


# --- the pytest fixture, as docs/webhooks.md shows it -----------------------------------------------------


def test_the_docs_test_module_passes_with_the_fixture(pytester: pytest.Pytester) -> None:
    doc = (Path(__file__).resolve().parent.parent / "docs" / "webhooks.md").read_text(encoding="utf-8")
    module = re.search(r"```python\n(# test_webhooks\.py\n.*?)```", doc, re.DOTALL)
    assert module is not None
    pytester.makepyfile(test_webhooks=module.group(1))
    result = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-W", "error"
    )
    result.assert_outcomes(passed=3)


def test_an_idle_delivery_thread_ends_and_comes_back(
    fake: FakeMagicHour, monkeypatch: pytest.MonkeyPatch
) -> None:
    from magic_hour.testing import _webhooks

    monkeypatch.setattr(_webhooks, "IDLE_EXIT", 0.05)
    recorder = Recorder()
    fake.add_webhook_endpoint(asgi_app(recorder), path="/hooks/magic-hour", secret=SECRET)

    def running() -> bool:
        return any(t.name == "magic-hour-fake-webhooks" for t in threading.enumerate())

    fake.send_webhook("video.started", id="one")
    fake.wait_for_webhooks()
    deadline = time.monotonic() + 5
    while running() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not running()  # a fake left open keeps no thread
    fake.send_webhook("video.started", id="two")
    fake.wait_for_webhooks()
    assert [s[1] for s in recorder.seen] == ["one", "two"]
