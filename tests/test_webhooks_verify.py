"""Webhook verification: ``magic_hour.webhooks.unwrap`` / ``verify_signature`` and ``client.webhooks``.

Requests are signed here by an independent HMAC (not the SDK's), as Magic Hour documents it: hex
HMAC-SHA256 of ``"{timestamp}.{raw body}"`` keyed by the secret. Every check that can fail has its own
error class and ``reason``; neither the secret nor a valid signature appears in what an error shows.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import inspect
import json
import logging
import pickle
import time
import traceback
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import httpx
import pytest

import magic_hour
import magic_hour.webhooks as webhooks
from magic_hour import AsyncClient, Client, InvalidParameterError, MagicHourError
from magic_hour.webhooks import (
    MissingWebhookSecretError,
    UnknownWebhookEvent,
    VideoCompletedWebhookEvent,
    WebhookInvalidHeaderError,
    WebhookMissingHeaderError,
    WebhookPayloadError,
    WebhookSignatureError,
    WebhookTimestampError,
    WebhookVerificationError,
)

ROOT = Path(__file__).resolve().parent.parent
DATA = json.loads((ROOT / "magic_hour" / "_data" / "webhooks.json").read_text(encoding="utf-8"))
SECRET = "whsec_s3cr3t-Value-0123456789"
OLD_SECRET = "whsec_old-Value-9876543210"
NOW = 1_730_742_038
SIG, TS = "magic-hour-event-signature", "magic-hour-event-timestamp"
BODY = json.dumps(DATA["events"]["video.completed"]["example"], separators=(",", ":")).encode()
# The signed payload the webhook description's prose shows, line for line.
DATA_DESCRIPTION_EXAMPLE = next(
    line.split(".", 1)[1]
    for line in json.loads((ROOT / "spec" / "webhooks.json").read_text(encoding="utf-8"))["info"][
        "description"
    ].splitlines()
    if line.startswith("1729314984.{")
)


def signature(body: bytes, secret: str = SECRET, ts: Any = NOW) -> str:
    return hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()


def signed(body: bytes = BODY, secret: str = SECRET, ts: Any = NOW) -> Dict[str, str]:
    return {SIG: signature(body, secret, ts), TS: str(ts)}


Unwrap = Callable[..., Any]


def _module(body: Any, headers: Any, **kw: Any) -> Any:
    return webhooks.unwrap(body, headers, **kw)


def _client(body: Any, headers: Any, **kw: Any) -> Any:
    return Client(token="t", webhook_secret=kw.pop("client_secret", None)).webhooks.unwrap(
        body, headers, **kw
    )


def _async_client(body: Any, headers: Any, **kw: Any) -> Any:
    client = AsyncClient(token="t", webhook_secret=kw.pop("client_secret", None))
    return client.webhooks.unwrap(body, headers, **kw)  # no I/O: a plain call on the async client too


WAYS = {"module": _module, "sync": _client, "async": _async_client}


@pytest.fixture(params=sorted(WAYS))
def unwrap(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Unwrap:
    monkeypatch.delenv("MAGIC_HOUR_WEBHOOK_SECRET", raising=False)
    return WAYS[request.param]


def test_a_signed_request_unwraps_into_its_typed_event(unwrap: Unwrap) -> None:
    event = unwrap(BODY, signed(), secret=SECRET, now=NOW)
    assert isinstance(event, VideoCompletedWebhookEvent)
    assert event.type == "video.completed"
    assert event.payload.id == "cuid-example" and event.payload.status == "complete"
    assert event.payload.downloads[0].url == "https://videos.magichour.ai/id/output.mp4"


def test_the_project_under_object_as_the_descriptions_prose_example_names_it(unwrap: Unwrap) -> None:
    # spec/webhooks.json's schema says "payload", its own signed-payload example says "object": either is read.
    assert DATA_DESCRIPTION_EXAMPLE.startswith('{"type":"video.started","object":{')
    example = json.loads(BODY)
    prose = json.dumps({"type": example["type"], "object": example["payload"]}).encode()
    event = unwrap(prose, signed(prose), secret=SECRET, now=NOW)
    assert isinstance(event, VideoCompletedWebhookEvent)
    assert event.payload.id == "cuid-example" and event.payload.status == "complete"
    unknown = b'{"type":"video.deleted","object":{"id":"p1"}}'
    assert unwrap(unknown, signed(unknown), secret=SECRET, now=NOW).payload == {"id": "p1"}


def test_verify_signature_checks_without_parsing() -> None:
    body = b"not json at all"
    assert webhooks.verify_signature(body, signed(body), secret=SECRET, now=NOW) is None
    for client in (Client(token="t", webhook_secret=SECRET), AsyncClient(token="t", webhook_secret=SECRET)):
        assert client.webhooks.verify_signature(body, signed(body), now=NOW) is None
        with pytest.raises(WebhookSignatureError):
            client.webhooks.verify_signature(body + b" ", signed(body), now=NOW)


def test_an_unknown_event_type_unwraps_into_the_generic_event(unwrap: Unwrap) -> None:
    body = b'{"type":"video.deleted","payload":{"id":"p1"}}'
    event = unwrap(body, signed(body), secret=SECRET, now=NOW)
    assert isinstance(event, UnknownWebhookEvent)
    assert (event.type, event.payload) == ("video.deleted", {"id": "p1"})


def test_a_known_event_of_a_newer_shape_parses_and_one_missing_a_field_is_a_payload_error(
    unwrap: Unwrap,
) -> None:
    """docs/webhooks.md: a new field or status is accepted; a field gone is ``invalid_event``, naming it."""
    newer = json.loads(BODY)
    newer["payload"].update(status="archived", frames_per_minute=12)
    newer["delivered_at"] = "2026-01-01T00:00:00Z"
    body = json.dumps(newer).encode()
    event = unwrap(body, signed(body), secret=SECRET, now=NOW)
    assert isinstance(event, VideoCompletedWebhookEvent) and event.payload.status == "archived"
    assert event.payload.model_extra == {"frames_per_minute": 12}
    assert event.model_extra == {"delivered_at": "2026-01-01T00:00:00Z"}
    del newer["payload"]["status"]
    body = json.dumps(newer).encode()
    with pytest.raises(WebhookPayloadError) as info:
        unwrap(body, signed(body), secret=SECRET, now=NOW)
    assert info.value.reason == "invalid_event" and "payload.status: Field required" in str(info.value)


def flip(hex_signature: str) -> str:
    return ("0" if hex_signature[0] != "0" else "1") + hex_signature[1:]


# Each case: (body, headers, now) -> the error class and reason it must raise.
CASES: Dict[str, Tuple[bytes, Dict[str, str], float, type, str]] = {
    "tampered body": (BODY.replace(b"complete", b"errored!"), signed(), NOW, WebhookSignatureError, "signature_mismatch"),
    "tampered signature": (BODY, {**signed(), SIG: flip(signature(BODY))}, NOW, WebhookSignatureError, "signature_mismatch"),
    "tampered timestamp": (BODY, {**signed(), TS: str(NOW + 1)}, NOW, WebhookSignatureError, "signature_mismatch"),
    "wrong secret": (BODY, signed(secret="whsec_someone-else"), NOW, WebhookSignatureError, "signature_mismatch"),
    "stale timestamp": (BODY, signed(ts=NOW - 301), NOW, WebhookTimestampError, "timestamp_too_old"),
    "future timestamp": (BODY, signed(ts=NOW + 301), NOW, WebhookTimestampError, "timestamp_too_new"),
    "missing signature": (BODY, {TS: str(NOW)}, NOW, WebhookMissingHeaderError, "missing_header"),
    "missing timestamp": (BODY, {SIG: signature(BODY)}, NOW, WebhookMissingHeaderError, "missing_header"),
    "malformed signature": (BODY, {**signed(), SIG: "sha256=" + signature(BODY)}, NOW, WebhookInvalidHeaderError, "invalid_header"),
    "malformed timestamp": (BODY, {**signed(), TS: "2024-11-04T17:40:38Z"}, NOW, WebhookInvalidHeaderError, "invalid_header"),
    "non-JSON body": (b"<xml/>", signed(b"<xml/>"), NOW, WebhookPayloadError, "invalid_json"),
    "JSON, not an event": (b'{"hello":1}', signed(b'{"hello":1}'), NOW, WebhookPayloadError, "invalid_event"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_failure_has_its_own_typed_error(unwrap: Unwrap, case: str) -> None:
    body, headers, now, cls, reason = CASES[case]
    with pytest.raises(WebhookVerificationError) as info:
        unwrap(body, headers, secret=SECRET, now=now)
    error = info.value
    assert type(error) is cls
    assert error.reason == reason
    assert isinstance(error, MagicHourError) and isinstance(error, ValueError)
    assert isinstance(error, magic_hour.WebhookVerificationError)
    if isinstance(error, (WebhookMissingHeaderError, WebhookInvalidHeaderError)):
        assert error.header in str(error)


def test_the_missing_header_is_named() -> None:
    with pytest.raises(WebhookMissingHeaderError) as info:
        webhooks.unwrap(BODY, {TS: str(NOW)}, secret=SECRET, now=NOW)
    assert info.value.header == SIG
    with pytest.raises(WebhookMissingHeaderError) as info:
        webhooks.unwrap(BODY, {"content-type": "application/json"}, secret=SECRET, now=NOW)
    assert info.value.header == SIG and SIG in str(info.value) and TS in str(info.value)
    with pytest.raises(WebhookMissingHeaderError) as info:
        webhooks.unwrap(BODY, {SIG: signature(BODY)}, secret=SECRET, now=NOW)
    assert info.value.header == TS


@pytest.mark.parametrize(
    "value", ["", "abc", "1.5", "-1", "+1730742038", "1730742038 1", "١٧٣٠٧٤٢٠٣٨", "9" * 16]
)
def test_timestamps_that_are_not_unix_seconds_are_malformed(value: str) -> None:
    with pytest.raises(WebhookInvalidHeaderError) as info:
        webhooks.unwrap(BODY, {**signed(), TS: value}, secret=SECRET, now=NOW)
    assert info.value.header == TS


@pytest.mark.parametrize(
    "value",
    ["", "abc", "0" * 63, "0" * 65, "g" * 64, "0" * 31 + " " + "0" * 32, "v1," + "0" * 64, "\uff10" * 64],
)
def test_signatures_that_are_not_64_hex_digits_are_malformed(value: str) -> None:
    with pytest.raises(WebhookInvalidHeaderError) as info:
        webhooks.unwrap(BODY, {**signed(), SIG: value}, secret=SECRET, now=NOW)
    assert info.value.header == SIG


def test_an_upper_case_signature_and_surrounding_spaces_verify() -> None:
    headers = {SIG: "  " + signature(BODY).upper() + " ", TS: f" {NOW}"}
    assert isinstance(webhooks.unwrap(BODY, headers, secret=SECRET, now=NOW), VideoCompletedWebhookEvent)


def test_the_tolerance_holds_both_ways_and_is_configurable() -> None:
    for ts in (NOW - 300, NOW + 300):  # at the edge: accepted
        webhooks.verify_signature(BODY, signed(ts=ts), secret=SECRET, now=NOW)
    for ts, reason in ((NOW - 301, "timestamp_too_old"), (NOW + 301, "timestamp_too_new")):
        with pytest.raises(WebhookTimestampError) as info:
            webhooks.verify_signature(BODY, signed(ts=ts), secret=SECRET, now=NOW)
        assert info.value.reason == reason
        assert (info.value.timestamp, info.value.now, info.value.tolerance) == (ts, NOW, 300)
    webhooks.verify_signature(BODY, signed(ts=NOW - 3000), secret=SECRET, now=NOW, tolerance=3600)
    webhooks.verify_signature(
        BODY, signed(ts=NOW - 3000), secret=SECRET, now=NOW, tolerance=timedelta(hours=1)
    )
    with pytest.raises(WebhookTimestampError):
        webhooks.verify_signature(BODY, signed(ts=NOW - 1), secret=SECRET, now=NOW, tolerance=0)


def test_the_clock_defaults_to_the_real_time() -> None:
    webhooks.verify_signature(BODY, signed(ts=int(time.time())), secret=SECRET)
    with pytest.raises(WebhookTimestampError):
        webhooks.verify_signature(BODY, signed(), secret=SECRET)  # NOW is 2024


def test_a_forged_old_request_is_a_signature_error_not_a_timestamp_error() -> None:
    # The signature is checked first: a timestamp error always means an authentic request.
    with pytest.raises(WebhookSignatureError):
        webhooks.unwrap(BODY, signed(secret="whsec_forger", ts=NOW - 9999), secret=SECRET, now=NOW)


def test_several_secrets_verify_while_rotating(unwrap: Unwrap) -> None:
    both = [OLD_SECRET, SECRET]
    for secret in (SECRET, OLD_SECRET):
        assert unwrap(BODY, signed(secret=secret), secret=both, now=NOW).type == "video.completed"
        assert unwrap(BODY, signed(secret=secret), secret=tuple(both), now=NOW).type == "video.completed"
    with pytest.raises(WebhookSignatureError):
        unwrap(BODY, signed(secret="whsec_third"), secret=both, now=NOW)
    # bytes secrets too
    assert unwrap(BODY, signed(), secret=[b"x" * 8, SECRET.encode()], now=NOW).type == "video.completed"


def test_every_secret_is_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: List[int] = []
    real = hmac.compare_digest

    def recording(a: Any, b: Any) -> bool:
        calls.append(len(a))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", recording)
    webhooks.verify_signature(BODY, signed(secret=OLD_SECRET), secret=[OLD_SECRET, SECRET, "x"], now=NOW)
    assert calls == [32, 32, 32]  # every key, even after the first matched; digests, not text


def test_the_secret_comes_from_the_argument_then_the_client_then_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MAGIC_HOUR_WEBHOOK_SECRET", raising=False)
    with pytest.raises(MissingWebhookSecretError) as info:
        webhooks.unwrap(BODY, signed(), now=NOW)
    assert "MAGIC_HOUR_WEBHOOK_SECRET" in str(info.value)
    assert not isinstance(info.value, WebhookVerificationError)  # a configuration error, not a bad request
    for client in (Client(token="t"), AsyncClient(token="t")):
        with pytest.raises(MissingWebhookSecretError):
            client.webhooks.unwrap(BODY, signed(), now=NOW)

    monkeypatch.setenv("MAGIC_HOUR_WEBHOOK_SECRET", f" {SECRET}\n")  # as an env file may leave it
    assert webhooks.unwrap(BODY, signed(), now=NOW).type == "video.completed"
    assert Client(token="t").webhooks.unwrap(BODY, signed(), now=NOW).type == "video.completed"
    with pytest.raises(WebhookSignatureError):  # the argument wins over the environment
        webhooks.unwrap(BODY, signed(), secret=OLD_SECRET, now=NOW)

    for client in (
        Client(token="t", webhook_secret=OLD_SECRET),
        AsyncClient(token="t", webhook_secret=OLD_SECRET),
    ):
        with pytest.raises(WebhookSignatureError):  # the client's wins over the environment
            client.webhooks.unwrap(BODY, signed(), now=NOW)
        assert client.webhooks.unwrap(BODY, signed(secret=OLD_SECRET), now=NOW).type == "video.completed"
        assert client.webhooks.unwrap(BODY, signed(), secret=SECRET, now=NOW).type == "video.completed"


def asgi_pairs(headers: Dict[str, str]) -> List[Tuple[bytes, bytes]]:
    return [(k.encode(), v.encode()) for k, v in headers.items()] + [(b"content-type", b"application/json")]


HEADER_FORMS: Dict[str, Callable[[Dict[str, str]], Any]] = {
    "dict, lower case": lambda h: h,
    "dict, any case": lambda h: {k.title(): v for k, v in h.items()},
    "dict, upper case": lambda h: {k.upper(): v for k, v in h.items()},
    "httpx.Headers": httpx.Headers,
    "ASGI (bytes, bytes) pairs": asgi_pairs,
    "(str, str) pairs": lambda h: list(h.items()),
    "bytes values": lambda h: {k: v.encode() for k, v in h.items()},
    "lists of values": lambda h: {k: [v] for k, v in h.items()},
    "the same header twice, same value": lambda h: [*h.items(), (SIG.upper(), h[SIG])],
    "the same signature twice, in both cases": lambda h: [*h.items(), (SIG, h[SIG].upper())],
}


@pytest.mark.parametrize("form", sorted(HEADER_FORMS))
def test_headers_in_any_form(form: str) -> None:
    event = webhooks.unwrap(BODY, HEADER_FORMS[form](signed()), secret=SECRET, now=NOW)
    assert event.type == "video.completed"


def test_one_header_twice_with_different_values_is_malformed() -> None:
    headers = [*signed().items(), (SIG, signature(BODY, "whsec_other"))]
    with pytest.raises(WebhookInvalidHeaderError) as info:
        webhooks.unwrap(BODY, headers, secret=SECRET, now=NOW)
    assert info.value.header == SIG and "2 times" in str(info.value)


@pytest.mark.parametrize(
    "form",
    [bytes, bytearray, memoryview, lambda b: b.decode("utf-8")],
    ids=["bytes", "bytearray", "memoryview", "str"],
)
def test_the_body_as_bytes_or_str(form: Callable[[bytes], Any]) -> None:
    body = BODY.replace(b"Example Name", "Vidéo — 日本".encode())  # not ASCII: str is UTF-8 encoded
    assert webhooks.unwrap(form(body), signed(body), secret=SECRET, now=NOW).payload.name == "Vidéo — 日本"


def test_a_body_that_is_not_utf8_is_a_payload_error() -> None:
    body = b'{"type":"video.started","payload":"\xff"}'
    with pytest.raises(WebhookPayloadError) as info:
        webhooks.unwrap(body, signed(body), secret=SECRET, now=NOW)
    assert info.value.reason == "invalid_json"


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"body": json.loads(BODY)}, "body"),  # parsed JSON: the commonest mistake
        ({"body": None}, "body"),
        ({"headers": None}, "headers"),
        ({"headers": 3}, "headers"),
        ({"headers": ["abc"]}, "headers"),
        ({"headers": {SIG: 3, TS: str(NOW)}}, "headers"),
        ({"secret": ""}, "secret"),
        ({"secret": []}, "secret"),
        ({"secret": [SECRET, ""]}, "secret"),
        ({"secret": 12345678}, "secret"),
        ({"secret": [SECRET, None]}, "secret"),
        ({"secret": bytearray(b"abcdefgh")}, "secret"),
        ({"tolerance": -1}, "tolerance"),
        ({"tolerance": float("nan")}, "tolerance"),
        ({"tolerance": float("inf")}, "tolerance"),
        ({"tolerance": True}, "tolerance"),
        ({"tolerance": "300"}, "tolerance"),
        ({"now": float("nan")}, "now"),  # no comparison with NaN is true: every timestamp would pass
        ({"now": float("inf")}, "now"),
        ({"now": True}, "now"),
        ({"now": "1730742038"}, "now"),
    ],
)
def test_bad_arguments_are_invalid_parameter_errors(kwargs: Dict[str, Any], param: str) -> None:
    args: Dict[str, Any] = {"body": BODY, "headers": signed(), "secret": SECRET, "now": NOW, **kwargs}
    with pytest.raises(InvalidParameterError) as info:
        webhooks.unwrap(args.pop("body"), args.pop("headers"), **args)
    assert info.value.param == param
    assert "allowed" in str(info.value)
    assert SECRET not in str(info.value)


def test_parsed_json_is_refused_with_a_hint() -> None:
    with pytest.raises(InvalidParameterError, match="raw request body as received"):
        webhooks.unwrap(json.loads(BODY), signed(), secret=SECRET, now=NOW)


def test_a_bad_client_secret_is_refused_when_the_client_is_made() -> None:
    for cls in (Client, AsyncClient):
        with pytest.raises(InvalidParameterError) as info:
            cls(token="t", webhook_secret="")
        assert info.value.param == "secret"


# --- secrets stay secret -------------------------------------------------------------------------------------


def shown_by(error: BaseException) -> str:
    """Everything an error shows: message, repr, attributes, pickle and formatted traceback."""
    parts = [str(error), repr(error), repr(vars(error)), repr(pickle.dumps(error))]
    parts += traceback.format_exception(type(error), error, error.__traceback__)
    return "\n".join(parts)


def sdk_locals(error: BaseException) -> str:
    """The locals of the SDK's frames in an error's traceback, which error trackers record. The request's
    headers (and values taken from them) are the caller's own, in the caller's frames too; the secret
    must not be there."""
    parts = []
    tb = error.__traceback__
    while tb is not None:
        if "magic_hour" in tb.tb_frame.f_code.co_filename:
            parts += [f"{k}={v!r}" for k, v in tb.tb_frame.f_locals.items()]
        tb = tb.tb_next
    return "\n".join(parts)


@pytest.mark.parametrize("case", sorted(CASES))
def test_no_secret_and_no_valid_signature_in_what_an_error_shows(
    case: str, caplog: pytest.LogCaptureFixture
) -> None:
    body, headers, now, _, _ = CASES[case]
    caplog.set_level(logging.DEBUG)
    # the signature valid for this body and timestamp, in every spelling
    valid = signature(body, SECRET, headers.get(TS, NOW))
    forbidden = [SECRET, OLD_SECRET, valid, valid.upper(), repr(bytes.fromhex(valid))]
    both = [OLD_SECRET, SECRET]
    for client in (None, Client(token="t", webhook_secret=both)):
        unwrap = client.webhooks.unwrap if client else functools.partial(webhooks.unwrap, secret=both)
        with pytest.raises(WebhookVerificationError) as info:
            unwrap(body, headers, now=now)
        shown = shown_by(info.value)
        for secret in forbidden:
            assert secret not in shown
        assert SECRET not in sdk_locals(info.value) and OLD_SECRET not in sdk_locals(info.value)
        assert repr(SECRET.encode()) not in sdk_locals(info.value)
        rebuilt = pickle.loads(pickle.dumps(info.value))
        assert type(rebuilt) is type(info.value) and str(rebuilt) == str(info.value)
    assert not [r for r in caplog.records if any(s in r.getMessage() for s in forbidden)]


def _endpoint(secret: Any) -> Any:
    from magic_hour.testing import FakeMagicHour

    with FakeMagicHour() as fake:
        return fake.add_webhook_endpoint("http://127.0.0.1:9/", secret=secret)


def _sign(secret: Any) -> Any:
    from magic_hour.testing import sign_webhook

    return sign_webhook(BODY, secret=secret)


REFUSALS: Dict[str, Callable[[Any], Any]] = {
    "unwrap": lambda s: webhooks.unwrap(BODY, signed(), secret=s, now=NOW),
    "verify_signature": lambda s: webhooks.verify_signature(BODY, signed(), secret=s, now=NOW),
    "Client(webhook_secret=)": lambda s: Client(token="t", webhook_secret=s),
    "AsyncClient(webhook_secret=)": lambda s: AsyncClient(token="t", webhook_secret=s),
    "client.webhooks.unwrap": lambda s: Client(token="t").webhooks.unwrap(BODY, signed(), secret=s),
    "sign_webhook": _sign,
    "add_webhook_endpoint": _endpoint,
}


@pytest.mark.parametrize(
    "bad", [[SECRET, ""], (SECRET, None), [SECRET, OLD_SECRET, 3]], ids=["empty", "None", "int"]
)
@pytest.mark.parametrize("way", sorted(REFUSALS))
def test_a_refused_secret_list_leaves_its_good_secrets_in_no_frame(way: str, bad: Any) -> None:
    """``[os.environ["NEW"], os.environ.get("OLD", "")]`` with OLD unset is refused: the good secret
    must not sit in the SDK frames' locals an error tracker records (as ``secrets``, ``listed``...)."""
    with pytest.raises(InvalidParameterError) as info:
        REFUSALS[way](bad)
    assert info.value.param == "secret"
    shown = shown_by(info.value) + sdk_locals(info.value)  # every local's repr works, half-built or not
    assert SECRET not in shown and OLD_SECRET not in shown


def test_clients_and_their_webhooks_show_no_secret() -> None:
    for client in (Client(token="t", webhook_secret=SECRET), AsyncClient(token="t", webhook_secret=[SECRET])):
        assert SECRET not in repr(client) and SECRET not in repr(client.webhooks)
        assert repr(client.webhooks) == "Webhooks(secret=<set>)"
        with pytest.raises(TypeError, match="not pickled"):
            pickle.dumps(client.webhooks)
    assert repr(Client(token="t").webhooks) == "Webhooks(secret=<from $MAGIC_HOUR_WEBHOOK_SECRET>)"


def test_the_headers_are_the_described_ones() -> None:
    assert DATA["headers"] == [webhooks.SIGNATURE_HEADER, webhooks.TIMESTAMP_HEADER]
    assert webhooks.DEFAULT_TOLERANCE == 300


def test_the_module_functions_and_the_client_methods_take_the_same_arguments() -> None:
    for name in ("unwrap", "verify_signature"):
        function = inspect.signature(getattr(webhooks, name))
        for client in (Client(token="t"), AsyncClient(token="t")):
            method = inspect.signature(getattr(client.webhooks, name))
            assert method == function, name
            assert not inspect.iscoroutinefunction(getattr(client.webhooks, name))
        assert list(function.parameters) == ["body", "headers", "secret", "tolerance", "now"]
        assert all(p.kind is p.KEYWORD_ONLY for p in list(function.parameters.values())[2:])


def test_verification_needs_no_pydantic_until_a_body_is_parsed() -> None:
    import subprocess
    import sys

    code = (
        "import sys, magic_hour.webhooks as w, hmac, hashlib\n"
        f"h = {{'{SIG}': hmac.new(b'k', b'5.x', hashlib.sha256).hexdigest(), '{TS}': '5'}}\n"
        "w.verify_signature(b'x', h, secret='k', now=5)\n"
        "print('pydantic' in sys.modules, 'httpx' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split() == ["False", "False"]
