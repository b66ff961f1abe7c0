"""docs/webhooks.md's FastAPI and Flask handlers, served for real on 127.0.0.1 (uvicorn, werkzeug) and
sent signed requests through sockets by httpx, sync and async.

The handlers are the page's own code (the part of each block before its offline try-out), so the page
cannot drift from what is tested. What reaches the handler is the raw body as the server received it,
also when the request came chunked.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Tuple

import httpx
import pytest
from _webhook_servers import serve_asgi, serve_wsgi
from conftest import default_ssl_context

from magic_hour.testing import sign_webhook, webhook_body

DOC = Path(__file__).resolve().parent.parent / "docs" / "webhooks.md"
SECRET = "whsec_handlers-0123456789"


def handler_source(heading: str) -> str:
    """The python block under ``heading``, up to its offline try-out."""
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index(heading) :]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None, heading
    return match.group(1).split("# Try it offline")[0]


def load(heading: str) -> Dict[str, Any]:
    namespace: Dict[str, Any] = {"__name__": "docs_webhooks_handler"}
    exec(compile(handler_source(heading), str(DOC), "exec"), namespace)
    return namespace


@pytest.fixture(scope="module", autouse=True)
def secret() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:  # module scope: the servers outlive one test
        patch.setenv("MAGIC_HOUR_WEBHOOK_SECRET", SECRET)
        patch.setenv("MAGIC_HOUR_API_TOKEN", "unused")
        yield


FRAMEWORKS: Dict[str, Tuple[str, Callable[[Any], Iterator[str]]]] = {
    "fastapi": ("## A handler, ASGI: FastAPI", serve_asgi),
    "flask": ("## A handler, WSGI: Flask", serve_wsgi),
}


@pytest.fixture(scope="module", params=sorted(FRAMEWORKS))
def served(request: pytest.FixtureRequest) -> Iterator[Tuple[str, Dict[str, Any]]]:
    heading, serve = FRAMEWORKS[request.param]
    namespace = load(heading)
    for url in serve(namespace["app"]):
        yield url + "/webhooks/magic-hour", namespace


@pytest.fixture
def handler(served: Tuple[str, Dict[str, Any]]) -> Tuple[str, Dict[str, Any]]:
    """One server per framework for the module; each test starts with nothing handled."""
    url, namespace = served
    namespace["handled"].clear()
    processed(namespace)
    namespace.get("outputs", {}).clear()
    return url, namespace


Send = Callable[[str, Any, Dict[str, str]], httpx.Response]


def send_sync(url: str, content: Any, headers: Dict[str, str]) -> httpx.Response:
    with httpx.Client(timeout=10, verify=default_ssl_context()) as http:
        return http.post(url, content=content, headers=headers)


def send_async(url: str, content: Any, headers: Dict[str, str]) -> httpx.Response:
    async def main() -> httpx.Response:
        async with httpx.AsyncClient(timeout=10, verify=default_ssl_context()) as http:
            if isinstance(content, list):  # an async body: sent chunked
                chunks: List[bytes] = content

                async def stream() -> Any:
                    for chunk in chunks:
                        yield chunk

                return await http.post(url, content=stream(), headers=headers)
            return await http.post(url, content=content, headers=headers)

    return asyncio.run(main())


@pytest.fixture(params=["sync", "async"])
def send(request: pytest.FixtureRequest) -> Send:
    return send_sync if request.param == "sync" else send_async


def processed(namespace: Dict[str, Any], expected: int = 0) -> List[str]:
    """The ids the handler handed to its background work (FastAPI: outputs; Flask: the queue), once
    ``expected`` of them are there: the work runs after the answer, so it may come just after it."""
    deadline = time.monotonic() + 10
    ids: List[str] = []
    while True:
        if "outputs" in namespace:
            ids = sorted(namespace["outputs"])
        else:
            while not namespace["work"].empty():
                ids.append(namespace["work"].get_nowait().payload.id)
        if len(ids) >= expected or time.monotonic() > deadline:
            return sorted(ids)
        time.sleep(0.005)


def test_a_delivery_is_verified_processed_once_and_answered(
    handler: Tuple[str, Dict[str, Any]], send: Send
) -> None:
    url, namespace = handler
    body = webhook_body("video.completed", id="cm_real_1")
    first = send(url, body, sign_webhook(body))
    again = send(url, body, sign_webhook(body))  # redelivered, signed anew
    assert (first.status_code, first.json()) == (200, {"message": "received"})
    assert (again.status_code, again.json()) == (200, {"message": "already handled"})
    assert processed(namespace, 1) == ["cm_real_1"]


def test_a_chunked_body_is_verified_as_received(handler: Tuple[str, Dict[str, Any]]) -> None:
    url, namespace = handler
    body = webhook_body("image.completed", id="cm_chunked", name="Vidéo — 日本")
    chunks = [body[i : i + 7] for i in range(0, len(body), 7)]
    answer = send_async(url, chunks, sign_webhook(body))
    assert (answer.status_code, answer.json()) == (200, {"message": "received"})
    assert processed(namespace, 1) == ["cm_chunked"]


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda b: (b, sign_webhook(b, secret="whsec_wrong")), "signature_mismatch"),
        (lambda b: (b.replace(b"complete", b"errored"), sign_webhook(b)), "signature_mismatch"),
        (lambda b: (b, sign_webhook(b, timestamp=1_000_000_000)), "timestamp_too_old"),
        (lambda b: (b, {"magic-hour-event-timestamp": "1"}), "missing_header"),
        (lambda b: (b, {**sign_webhook(b), "magic-hour-event-signature": "abc"}), "invalid_header"),
        (lambda b: (b"<html/>", sign_webhook(b"<html/>")), "invalid_json"),
    ],
)
def test_what_fails_verification_is_rejected_and_not_processed(
    handler: Tuple[str, Dict[str, Any]],
    send: Send,
    make: Callable[[bytes], Tuple[bytes, Dict[str, str]]],
    reason: str,
) -> None:
    url, namespace = handler
    body, headers = make(webhook_body("video.completed", id="cm_bad"))
    answer = send(url, body, headers)
    assert (answer.status_code, answer.json()) == (400, {"message": f"rejected: {reason}"})
    assert processed(namespace) == []


def test_an_unknown_event_type_is_acknowledged_and_ignored(
    handler: Tuple[str, Dict[str, Any]], send: Send
) -> None:
    url, namespace = handler
    body = b'{"type":"video.archived","payload":{"id":"cm_x"}}'
    answer = send(url, body, sign_webhook(body))
    assert (answer.status_code, answer.json()) == (200, {"message": "ignored"})
    assert processed(namespace) == []
