"""What the newest official release declares beyond the published description reaches ours.

``spec/official.json`` (written by ``python -m codegen.official`` from the installed official package)
adds deprecated request keys, deprecated response fields and enum values; ``python -m codegen`` merges
it. Table-driven from that file, sync and async, against the fake (which validates against the merged
``_data/api.json``): every deprecated key is sent as given and accepted, every added enum value is
accepted, the deprecated response fields parse into typed attributes; the CLI's catalog and completion
list the added values. The issue's own examples are spelled out first.
"""

from __future__ import annotations

import copy
import importlib
import json
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest
from conftest import Flavor

from codegen import names
from magic_hour.cli._catalog import load_catalog
from magic_hour.cli._complete import candidates
from magic_hour.testing import FakeMagicHour
from magic_hour.testing._spec import Operation, example, load_spec

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parent.parent
FACTS: Dict[str, Any] = json.loads((ROOT / "spec" / "official.json").read_text(encoding="utf-8"))
SPEC = load_spec()
BY_KEY: Dict[str, Operation] = {op.key: op for op in SPEC.operations.values()}


def _facts(part: str, kind: str) -> List[Tuple[str, str, Dict[str, Any]]]:
    return [
        (key, path, fact)
        for key, entry in sorted(FACTS["operations"].items())
        for path, fact in sorted(entry.get(part, {}).items())
        if kind in fact
    ]


ADDED_KEYS = _facts("body", "schema")
ADDED_VALUES = _facts("body", "enum")
ADDED_FIELDS = _facts("response", "schema")


@pytest.fixture
def fake() -> Iterator[FakeMagicHour]:
    with FakeMagicHour() as fake:
        fake.queue_seconds = fake.render_seconds = 0
        yield fake


def client_of(sdk: Flavor, fake: FakeMagicHour) -> Any:
    http = sdk.httpx_client(transport=fake.transport())
    return sdk.client(token=fake.token, base_url=fake.base_url, httpx_client=http, max_retries=0)


def method_of(client: Any, op: Operation, name: str = "") -> Any:
    meta = op.spec["x-magic-hour"]
    target = client.v1
    for part in meta["resource"].split("."):
        target = getattr(target, part)
    return getattr(target, name or meta["method"])


def python_names(value: Any) -> Any:
    if isinstance(value, dict):
        return {("type_" if k == "type" else k): python_names(v) for k, v in value.items()}
    if isinstance(value, list):
        return [python_names(v) for v in value]
    return value


def body_with(op: Operation, path: str, value: Any) -> Dict[str, Any]:
    """The operation's documented example body with ``value`` at the dotted ``path``."""
    assert op.body_schema is not None
    body: Dict[str, Any] = copy.deepcopy(example(op.body_schema, SPEC.document))
    *parents, leaf = path.removesuffix("[]").split(".")
    node = body
    for name in parents:
        node = node.setdefault(name, {})
    node[leaf] = [value] if path.endswith("[]") else value
    return body


def a_value(schema: Dict[str, Any]) -> Any:
    """A value of the schema's type that is not its example (so the test sees it pass through)."""
    if schema.get("enum"):
        return schema["enum"][-1]
    return {"string": "api-assets/id/given.png", "integer": 720, "number": 0.5, "boolean": True}.get(
        schema.get("type", ""), []
    )


# --- the issue's examples ---------------------------------------------------------------------------------


async def test_upscaler_takes_the_deprecated_enhancement(sdk: Flavor, fake: FakeMagicHour) -> None:
    client = client_of(sdk, fake)
    res = await sdk.call(
        client.v1.ai_image_upscaler.create,
        assets={"image_file_path": "api-assets/id/photo.png"},
        scale_factor=2,
        style={"enhancement": "Balanced", "prompt": "sharper"},
    )
    (record,) = fake.requests_to("ai_image_upscaler.create")
    assert record.status == 200
    assert record.json["style"] == {"enhancement": "Balanced", "prompt": "sharper"}
    # the deprecated response field is a typed attribute (Optional[int]), filled when the API sends it
    assert res.frame_cost == res.credits_charged


async def test_editor_generate_uploads_the_deprecated_image_file_path(
    sdk: Flavor, fake: FakeMagicHour, tmp_path: Path
) -> None:
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    client = client_of(sdk, fake)
    res = await sdk.call(
        client.v1.ai_image_editor.generate,
        assets={"image_file_path": str(photo)},
        style={"prompt": "add sunglasses", "model": "Nano Banana"},
        download_directory=str(tmp_path / "out"),
    )
    (record,) = fake.requests_to("ai_image_editor.create")
    sent = record.json["assets"]["image_file_path"]
    assert set(record.json["assets"]) == {"image_file_path"} and sent.startswith("api-assets/")
    assert fake.file(sent).content == photo.read_bytes()
    assert record.json["style"] == {"prompt": "add sunglasses", "model": "Nano Banana"}
    assert res.status == "complete" and len(res.downloaded_paths) == 1


@pytest.mark.parametrize("key", ["POST /v1/text-to-video", "POST /v1/image-to-video"])
async def test_a_new_model_is_accepted(sdk: Flavor, fake: FakeMagicHour, key: str) -> None:
    op = BY_KEY[key]
    client = client_of(sdk, fake)
    res = await sdk.call(method_of(client, op), **python_names(body_with(op, "model", "wan-3.0")))
    (record,) = fake.requests_to(op.route)
    assert (record.status, record.json["model"]) == (200, "wan-3.0")
    assert res.estimated_frame_cost == res.credits_charged


# --- every fact of spec/official.json ---------------------------------------------------------------------


def test_official_json_holds_what_the_issue_counted() -> None:
    assert FACTS["package"].startswith("magic-hour 0.90.")
    keys = {(k, p) for k, p, _ in ADDED_KEYS}
    assert {
        ("POST /v1/ai-image-editor", "assets.image_file_path"),
        ("POST /v1/ai-image-editor", "style.model"),
        ("POST /v1/ai-image-generator", "style.quality_mode"),
        ("POST /v1/ai-image-upscaler", "style.enhancement"),
        ("POST /v1/ai-talking-photo", "style.intensity"),
        ("POST /v1/image-to-video", "style.high_quality"),
        ("POST /v1/image-to-video", "style.quality_mode"),
        ("POST /v1/text-to-video", "style.quality_mode"),
    } <= keys
    assert sum(len(f["enum"]) for _, _, f in ADDED_VALUES) == 1911 - 1028
    legacy = sorted(p for _, p, _ in ADDED_FIELDS if p.endswith("frame_cost"))
    assert len(legacy) == 27  # frame_cost, estimated_frame_cost, total_frame_cost
    for _, _, fact in ADDED_KEYS + ADDED_VALUES + ADDED_FIELDS:
        assert fact["source"].startswith(FACTS["package"] + " magic_hour/types/"), fact["source"]


@pytest.mark.parametrize(("key", "path", "fact"), ADDED_KEYS, ids=[f"{k} {p}" for k, p, _ in ADDED_KEYS])
async def test_every_added_request_key_is_sent_as_given(
    sdk: Flavor, fake: FakeMagicHour, key: str, path: str, fact: Dict[str, Any]
) -> None:
    op = BY_KEY[key]
    value = a_value(fact["schema"].get("items", fact["schema"]) if path.endswith("[]") else fact["schema"])
    body = body_with(op, path, value)
    await sdk.call(method_of(client_of(sdk, fake), op), **python_names(body))
    (record,) = fake.requests_to(op.route)
    assert (record.status, record.json) == (200, body)
    # documented, with the official's wording, and marked deprecated where that wording says so
    schema = op.spec["requestBody"]["content"]["application/json"]["schema"]
    for name in path.split("."):
        schema = schema["properties"][name]
    assert schema["description"] == fact["schema"]["description"]
    assert schema["x-magic-hour-official"] == fact["source"]
    assert schema.get("deprecated", False) == ("deprecated" in fact["schema"]["description"].lower())


@pytest.mark.parametrize(("key", "path", "fact"), ADDED_VALUES, ids=[f"{k} {p}" for k, p, _ in ADDED_VALUES])
async def test_added_enum_values_are_accepted(
    sdk: Flavor, fake: FakeMagicHour, key: str, path: str, fact: Dict[str, Any]
) -> None:
    op = BY_KEY[key]
    client = client_of(sdk, fake)
    for value in dict.fromkeys([fact["enum"][0], fact["enum"][-1]]):
        body = body_with(op, path, value)
        await sdk.call(method_of(client, op), **python_names(body))
        record = fake.requests_to(op.route)[-1]
        assert (record.status, record.json) == (200, body)


@pytest.mark.parametrize(("key", "path", "fact"), ADDED_FIELDS, ids=[f"{k} {p}" for k, p, _ in ADDED_FIELDS])
def test_every_added_response_field_is_an_optional_attribute(
    key: str, path: str, fact: Dict[str, Any]
) -> None:
    op = BY_KEY[key]
    meta = op.spec["x-magic-hour"]
    name = names.type_name(["v1", names.snake(meta["resource"]), meta["method"], "response"])
    model = getattr(importlib.import_module("magic_hour.types.models"), name)
    assert not model.model_fields[path].is_required()
    content = op.success[1]
    assert content is not None
    sample = dict(content.get("example") or example(content["schema"], SPEC.document))
    sample.pop(path, None)
    assert getattr(model.model_validate(sample), path) is None  # the published answer still parses
    value = example(fact["schema"], SPEC.document)
    assert model.model_validate({**sample, path: value}).model_dump()[path] == value


# --- the CLI lists them -----------------------------------------------------------------------------------


def _flag(key: str, path: str) -> Dict[str, Any]:
    catalog = load_catalog()
    assert catalog is not None
    for command in catalog["commands"]:
        if command["operation"] == key:
            for flag in command["flags"]:
                if flag["path"] == path.removesuffix("[]"):
                    return {"command": [command["group"], command["name"]], **flag}
    raise AssertionError(f"no flag of {key} sets {path}")


@pytest.mark.parametrize(("key", "path", "fact"), ADDED_VALUES, ids=[f"{k} {p}" for k, p, _ in ADDED_VALUES])
def test_the_cli_offers_every_added_value(key: str, path: str, fact: Dict[str, Any]) -> None:
    flag = _flag(key, path)
    assert set(map(str, fact["enum"])) <= set(flag["choices"])
    value = str(fact["enum"][-1])
    words = [*flag["command"], flag["flag"], value[:-1]]
    assert value in candidates(words)


def test_the_cli_completes_a_new_model_and_voice() -> None:
    assert "wan-3.0" in candidates(["video", "generate", "--model", "wan-"])
    assert candidates(["audio", "speech", "--voice-name", "Aang"]) == ["Aang (Avatar)"]
