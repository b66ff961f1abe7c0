"""Webhook event types, generated from spec/webhooks.json (codegen/webhooks.py).

One model per described event, the union discriminated on ``type``, payloads that are the project
models of the matching GET, an unknown type parsed into a generic event; the generator stops when an
event's payload would not fit the model it reuses.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Dict, List

import pydantic
import pytest

from codegen import webhooks as gen
from codegen.load import Api, load
from magic_hour.types import webhook_events as ev
from magic_hour.types.models import (
    V1AudioProjectsGetResponse,
    V1ImageProjectsGetResponse,
    V1VideoProjectsGetResponse,
)

ROOT = Path(__file__).resolve().parent.parent
SPEC = json.loads((ROOT / "spec" / "webhooks.json").read_text(encoding="utf-8"))
DATA = json.loads((ROOT / "magic_hour" / "_data" / "webhooks.json").read_text(encoding="utf-8"))
ADAPTER: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(ev.WebhookEvent)
MODELS = {
    "video": V1VideoProjectsGetResponse,
    "image": V1ImageProjectsGetResponse,
    "audio": V1AudioProjectsGetResponse,
}


def described() -> List[str]:
    out = []
    for op in (p["post"] for p in SPEC["paths"].values()):
        out += op["requestBody"]["content"]["application/json"]["schema"]["properties"]["type"]["enum"]
    return sorted(out)


def test_one_model_per_described_event() -> None:
    assert list(ev.EVENT_TYPES) == described()
    assert len(ev.EVENT_TYPES) == 9
    for name in ev.EVENT_TYPES:
        cls = getattr(ev, "".join(p.title() for p in name.split(".")) + "WebhookEvent")
        assert cls.model_fields["type"].annotation.__args__ == (name,)
        assert cls.model_fields["payload"].annotation is MODELS[name.split(".")[0]]


@pytest.mark.parametrize("name", described())
def test_each_example_parses_into_its_model_with_the_project_model_reused(name: str) -> None:
    body = DATA["events"][name]["example"]
    event = ADAPTER.validate_json(json.dumps(body))
    assert type(event).__name__ == "".join(p.title() for p in name.split(".")) + "WebhookEvent"
    assert event.type == name
    assert type(event.payload) is MODELS[name.split(".")[0]]
    assert event.payload.status == DATA["events"][name]["status"]
    # the example is realistic: outputs only once complete, an error only when it errored
    assert bool(event.payload.downloads) == (event.payload.status == "complete")
    assert (event.payload.error is not None) == (event.payload.status == "error")


def test_status_that_sends_each_event() -> None:
    sent = {name: DATA["events"][name]["status"] for name in described()}
    assert sent["video.started"] == sent["image.started"] == sent["audio.started"] == "rendering"
    assert sent["video.completed"] == "complete" and sent["audio.errored"] == "error"
    assert "canceled" not in sent.values()
    assert DATA["headers"] == ["magic-hour-event-signature", "magic-hour-event-timestamp"]


def test_an_unknown_event_type_parses_into_the_generic_event() -> None:
    raw = {"type": "video.deleted", "payload": {"id": "p1", "anything": [1, 2]}, "extra": True}
    event = ADAPTER.validate_json(json.dumps(raw))
    assert isinstance(event, ev.UnknownWebhookEvent)
    assert event.type == "video.deleted"
    assert event.payload == {"id": "p1", "anything": [1, 2]}
    assert event.model_extra == {"extra": True}
    # a payload of any JSON type, or none
    assert ADAPTER.validate_python({"type": "x.y", "payload": [1]}).payload == [1]
    assert ADAPTER.validate_python({"type": "x.y"}).payload is None


def test_unknown_fields_the_api_adds_are_kept() -> None:
    body = copy.deepcopy(DATA["events"]["image.completed"]["example"])
    body["payload"]["new_field"] = {"a": 1}
    body["webhook_id"] = "wh_1"
    event = ADAPTER.validate_python(body)
    assert isinstance(event, ev.ImageCompletedWebhookEvent)
    assert event.payload.model_extra == {"new_field": {"a": 1}}
    assert event.model_extra == {"webhook_id": "wh_1"}
    assert json.loads(event.model_dump_json(by_alias=True))["payload"]["type"] == body["payload"]["type"]


@pytest.mark.parametrize(
    "raw",
    [
        {"type": "video.completed", "payload": {"id": "x"}},  # a known type whose payload does not fit
        {"type": "video.completed"},
        {"payload": {}},  # no type
        {"type": 3, "payload": {}},
        {"type": ["video.completed"], "payload": {}},  # unhashable: still no crash in the discriminator
        [],
        "video.completed",
    ],
)
def test_what_is_not_an_event_is_refused(raw: Any) -> None:
    with pytest.raises(pydantic.ValidationError):
        ADAPTER.validate_python(raw)


def test_isinstance_narrows_the_union() -> None:
    event = ADAPTER.validate_python(DATA["events"]["video.completed"]["example"])
    assert isinstance(event, ev.VideoCompletedWebhookEvent)
    assert event.payload.downloads[0].url.startswith("https://")


# --- the generator ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def api() -> Api:
    return load(ROOT / "spec")


def payload_of(api: Api, name: str) -> Dict[str, Any]:
    schema: Dict[str, Any] = api.webhooks["paths"][f"/{name}"]["post"]["requestBody"]["content"][
        "application/json"
    ]["schema"]["properties"]["payload"]
    return schema


def changed(api: Api, name: str, edit: Any) -> Api:
    new = copy.deepcopy(api)
    edit(payload_of(new, name))
    return new


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda p: p["properties"].update(rating={"type": "integer"}), "payload.rating: is not a field"),
        (lambda p: p["properties"]["fps"].update(type="string"), "payload.fps: is string in the event"),
        (lambda p: p["properties"]["width"].update(nullable=True), "payload.width: is nullable in the event"),
        (lambda p: p["required"].remove("downloads"), "['downloads'] required by the project's GET"),
        (
            lambda p: p["properties"]["downloads"]["items"]["properties"]["url"].update(type="integer"),
            "payload.downloads[].url: is integer",
        ),
    ],
)
def test_the_generator_stops_when_a_payload_does_not_fit_the_reused_model(
    api: Api, edit: Any, message: str
) -> None:
    with pytest.raises(SystemExit) as info:
        gen.render(changed(api, "video.completed", edit))
    assert "/video.completed" in str(info.value) and message in str(info.value)


def test_the_generator_stops_on_an_event_of_no_known_kind_or_status(api: Api) -> None:
    for name in ("face_detection2.started", "video.paused"):
        new = copy.deepcopy(api)
        op = copy.deepcopy(new.webhooks["paths"]["/video.started"])
        op["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"]["type"]["enum"] = [
            name
        ]
        new.webhooks["paths"][f"/{name}"] = op
        with pytest.raises(SystemExit, match="must be in metadata's projects and"):
            gen.render(new)


def test_a_new_event_of_a_known_kind_is_generated(api: Api) -> None:
    new = copy.deepcopy(api)
    new.webhook_meta["status_events"]["queued"] = "queued"
    op = copy.deepcopy(new.webhooks["paths"]["/audio.started"])
    op["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"]["type"]["enum"] = [
        "audio.queued"
    ]
    new.webhooks["paths"]["/audio.queued"] = op
    files = gen.render(new)
    assert "class AudioQueuedWebhookEvent(BaseModel):" in files[gen.MODULE]
    assert '"audio.queued"' in files[gen.MODULE]
    assert json.loads(files[gen.DATA])["events"]["audio.queued"]["example"]["payload"]["status"] == "queued"
