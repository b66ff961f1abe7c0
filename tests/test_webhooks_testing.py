"""``magic_hour.testing.sign_webhook`` / ``webhook_body``: requests as Magic Hour sends them, for tests."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest

import magic_hour.webhooks as webhooks
from magic_hour import InvalidParameterError
from magic_hour.testing import sign_webhook, webhook_body

SECRET = "whsec_testing-0123456789"


def test_the_headers_are_the_documented_hmac() -> None:
    body = b'{"type":"video.started","payload":{}}'
    headers = sign_webhook(body, secret=SECRET, timestamp=1_730_742_038)
    expected = hmac.new(SECRET.encode(), b"1730742038." + body, hashlib.sha256).hexdigest()
    assert headers == {"magic-hour-event-signature": expected, "magic-hour-event-timestamp": "1730742038"}
    assert sign_webhook(body.decode(), secret=SECRET, timestamp=1_730_742_038.9) == headers  # str, float


def test_the_timestamp_defaults_to_now_and_the_secret_to_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MAGIC_HOUR_WEBHOOK_SECRET", SECRET)
    before = int(time.time())
    headers = sign_webhook(b"{}")
    assert before <= int(headers["magic-hour-event-timestamp"]) <= time.time()
    webhooks.verify_signature(b"{}", headers, secret=SECRET)
    # rotation: signed with the first
    assert sign_webhook(b"{}", secret=[SECRET, "other"], timestamp=5) == sign_webhook(b"{}", timestamp=5)


@pytest.mark.parametrize("event_type", webhooks.EVENT_TYPES)
def test_every_event_has_a_body_that_unwraps_into_its_model(event_type: str) -> None:
    body = webhook_body(event_type, id="p-42")
    event = webhooks.unwrap(body, sign_webhook(body, secret=SECRET), secret=SECRET)
    assert event.type == event_type and event.payload.id == "p-42"
    assert type(event).__name__ == "".join(p.title() for p in event_type.split(".")) + "WebhookEvent"
    assert (
        json.loads(body)["payload"]["status"]
        == {"started": "rendering", "completed": "complete", "errored": "error"}[event_type.split(".")[1]]
    )


def test_payload_fields_are_replaced_or_added_by_wire_name() -> None:
    payload = json.loads(webhook_body("audio.completed", type="VOICE_CHANGER", extra_field=[1], name=None))[
        "payload"
    ]
    assert (payload["type"], payload["extra_field"], payload["name"]) == ("VOICE_CHANGER", [1], None)
    assert json.loads(webhook_body("audio.completed"))["payload"]["type"] == "VOICE_GENERATOR"  # not shared


def test_an_event_type_not_described_is_refused() -> None:
    with pytest.raises(InvalidParameterError) as info:
        webhook_body("video.canceled")
    assert info.value.param == "event_type" and "video.completed" in str(info.value)


def test_a_missing_or_bad_secret_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAGIC_HOUR_WEBHOOK_SECRET", raising=False)
    with pytest.raises(webhooks.MissingWebhookSecretError):
        sign_webhook(b"{}")
    with pytest.raises(InvalidParameterError):
        sign_webhook(b"{}", secret="")


@pytest.mark.parametrize("timestamp", [float("nan"), float("inf"), -5, True, "1730742038"])
def test_a_timestamp_that_is_not_unix_seconds_is_refused(timestamp: object) -> None:
    # were a ValueError, an OverflowError, a header the verifier calls malformed, "1" and a str signed as is
    with pytest.raises(InvalidParameterError) as info:
        sign_webhook(b"{}", secret=SECRET, timestamp=timestamp)  # type: ignore[arg-type]
    assert info.value.param == "timestamp"
