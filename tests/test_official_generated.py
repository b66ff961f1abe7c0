"""The official SDK repository's generated tests (one per operation, sync and async: its ``tests/``
folder), replayed on our package against the fake in mock-server mode.

Those tests build ``Client(token="API_TOKEN", environment=Environment.MOCK_SERVER)``, call one operation
with made-up values (ids such as ``"cuid-example"`` included) and check that the answer validates as the
operation's response model (``None`` for a delete). ``tests/compat/official_generated_calls.json`` holds
their calls as data (extracted by ``tests/compat/official_generated.py``, with the repository's MIT
notice); here each one runs with the same client arguments plus the fake's httpx client, so that
``Environment.MOCK_SERVER`` reaches the fake instead of the internet. One fake serves them all, as one
hosted mock serves the official suite.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pydantic
import pytest
from conftest import Flavor

import magic_hour
from magic_hour import AsyncClient, Client, Environment
from magic_hour.testing import FakeMagicHour
from magic_hour.types import models

pytestmark = pytest.mark.anyio

API_JSON = Path(magic_hour.__file__).resolve().parent / "_data" / "api.json"
DATA = json.loads(
    (Path(__file__).parent / "compat" / "official_generated_calls.json").read_text(encoding="utf-8")
)
CALLS: List[Dict[str, Any]] = DATA["calls"]
LATER = {
    f"test_v1_{name}_client.py"
    for name in (
        "account",
        "ai_video_editor",
        "ai_video_translator",
        "audio_to_video",
        "character_replace",
        "saved_items",
    )
}
"""Files of the official repository newer than the snapshot of its 66 tests (``DATA["source"]``)."""


OPERATIONS = {
    f"v1.{op['x-magic-hour']['resource']}.{op['x-magic-hour']['method']}": op
    for methods in json.loads(API_JSON.read_text(encoding="utf-8"))["paths"].values()
    for verb, op in methods.items()
    if isinstance(op, dict) and "x-magic-hour" in op
}


def unknown_keys(value: Any, schema: Dict[str, Any], where: str = "") -> List[str]:
    """The keys of ``value`` (Python names) that ``schema`` (our description) does not have."""
    if isinstance(value, list):
        return [k for item in value for k in unknown_keys(item, schema.get("items", {}), where + "[]")]
    if not isinstance(value, dict) or "properties" not in schema:
        return []
    by_python_name = {python_name(wire): sub for wire, sub in schema["properties"].items()}
    found: List[str] = []
    for key, sub in value.items():
        if key not in by_python_name:
            found.append(where + key)
        else:
            found += unknown_keys(sub, by_python_name[key], f"{where}{key}.")
    return found


def python_name(wire: str) -> str:
    """``searchWeb`` -> ``search_web``, ``type`` -> ``type_``: the official SDK's parameter names."""
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", wire).lower()
    return "type_" if name == "type" else name


def lacking(call: Dict[str, Any]) -> List[str]:
    body = OPERATIONS[call["call"]].get("requestBody", {}).get("content", {}).get("application/json", {})
    return unknown_keys(call["kwargs"], body.get("schema", {}))


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeMagicHour]:
    with FakeMagicHour(mock_server=True) as fake:
        yield fake


def test_the_calls_are_the_official_suite() -> None:
    files = {c["test"].split("::")[0] for c in CALLS}
    assert len([c for c in CALLS if c["test"].split("::")[0] not in LATER]) == 66
    assert len(CALLS) == 80 and files >= LATER
    assert {c["mode"] for c in CALLS} == {"sync", "async"}
    assert sum(c["mode"] == "sync" for c in CALLS) == sum(c["mode"] == "async" for c in CALLS)
    assert DATA["license"][0] == "MIT License" and "Magic Hour AI" in DATA["license"][2]


def test_our_description_has_every_key_the_official_calls_send() -> None:
    # the deprecated ones (assets.image_file_path, style.enhancement, ...) come from spec/official.json
    lacked = {c["call"]: lacking(c) for c in CALLS if lacking(c)}
    assert not lacked, lacked


@pytest.mark.parametrize("call", CALLS, ids=[c["test"] for c in CALLS])
async def test_the_official_generated_test_passes(fake: FakeMagicHour, call: Dict[str, Any]) -> None:
    flavor = Flavor(call["mode"] == "async")
    before = len(fake.requests)
    # as the official test builds it, plus the fake's httpx client in place of the internet
    if flavor.is_async:
        client: Any = AsyncClient(
            token="API_TOKEN", environment=Environment.MOCK_SERVER, httpx_client=fake.async_httpx_client()
        )
    else:
        client = Client(
            token="API_TOKEN", environment=Environment.MOCK_SERVER, httpx_client=fake.httpx_client()
        )
    method = functools.reduce(getattr, call["call"].split("."), client)
    response = await flavor.call(method, **call["kwargs"])

    if call["response"] is None:
        assert response is None
    else:  # the official test's check
        pydantic.TypeAdapter(getattr(models, call["response"])).validate_python(response)
    (record,) = fake.requests[before:]
    resource, name = call["call"].split(".", 1)[1].rsplit(".", 1)
    assert record.route in (f"{resource}.{name}", "upload_urls")
    assert record.url.startswith(Environment.MOCK_SERVER.value + "/v1/")
    assert record.headers["authorization"] == "Bearer API_TOKEN"
    assert record.status in (200, 204)
    if "id" in call["kwargs"]:
        assert record.path.endswith("/" + call["kwargs"]["id"])
        if response is not None:
            assert response.id == call["kwargs"]["id"]
