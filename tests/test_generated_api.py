"""The generated API on the core: the generic body path, a few operations end to end, laziness.

The exhaustive per-operation tables come from the generator's own tests; here: the checker's refusals
name the full path and what is expected, the wire request uses wire names, responses parse into the
official model names, and nothing is imported before it is needed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any, Dict, List

import httpx
import pytest
import respx
from conftest import BASE_URL, Flavor

from magic_hour import InvalidParameterError
from magic_hour._core.body import Endpoint, to_wire
from magic_hour._core.config import NOT_GIVEN
from magic_hour._core.schema import INT, NUM, STR, Arr, Obj, Scalar

pytestmark = pytest.mark.anyio

PHOTO = {"source_file_path": "api-assets/id/me.png", "target_file_path": "api-assets/id/poster.jpg"}
CREATED = {"id": "cuid-example", "credits_charged": 5}
MAPPINGS = [{"new_face": "api-assets/id/a.png", "original_face": "api-assets/id/0-0.png"}]


def sent(api: respx.MockRouter) -> Dict[str, Any]:
    request = api.calls.last.request
    return {
        "method": request.method,
        "path": request.url.path,
        "json": json.loads(request.content or b"null"),
    }


# --- end to end through respx -----------------------------------------------------------------------


async def test_nested_body_goes_out_with_wire_names(sdk: Flavor, api: respx.MockRouter) -> None:
    api.post("/v1/face-swap-photo").respond(200, json=CREATED)
    client = sdk.client()

    res = await sdk.call(
        client.v1.face_swap_photo.create,
        assets={**PHOTO, "face_swap_mode": "individual-faces", "face_mappings": MAPPINGS},
        name="poster",
    )

    assert type(res).__name__ == "V1FaceSwapPhotoCreateResponse"
    assert (res.id, res.credits_charged) == ("cuid-example", 5)
    assert sent(api) == {
        "method": "POST",
        "path": "/v1/face-swap-photo",
        "json": {
            "assets": {**PHOTO, "face_swap_mode": "individual-faces", "face_mappings": MAPPINGS},
            "name": "poster",
        },
    }
    assert api.calls.last.request.headers["content-type"] == "application/json"


async def test_not_given_and_none_optionals_are_left_out(sdk: Flavor, api: respx.MockRouter) -> None:
    api.post("/v1/face-swap-photo").respond(200, json=CREATED)
    client = sdk.client()
    await sdk.call(client.v1.face_swap_photo.create, assets=PHOTO, name=None)
    assert sent(api)["json"] == {"assets": PHOTO}


async def test_get_with_path_id_and_delete_without_body(sdk: Flavor, api: respx.MockRouter) -> None:
    project = {
        "id": "v1/../x",
        "name": None,
        "status": "complete",
        "type": "FACE_SWAP",
        "created_at": "2026-01-01T00:00:00.000Z",
        "width": 512,
        "height": 960,
        "enabled": True,
        "start_seconds": 0,
        "end_seconds": 15,
        "credits_charged": 450,
        "fps": 30,
        "error": None,
        "downloads": [{"url": "https://videos.magichour.ai/out.mp4?X-Signature=secret", "expires_at": "z"}],
        "a_field_added_later": 1,
        "preview": {"urls": ["https://cdn.example/p.png?Signature=hidden", "plain"]},
    }
    api.get(url__regex=r".*/v1/video-projects/.*").respond(200, json=project)
    api.delete(url__regex=r".*/v1/video-projects/.*").respond(204)
    client = sdk.client()

    res = await sdk.call(client.v1.video_projects.get, id="v1/x?y#z")

    assert api.calls.last.request.url.raw_path == b"/v1/video-projects/v1%2Fx%3Fy%23z"  # quoted whole
    assert type(res).__name__ == "V1VideoProjectsGetResponse"
    assert res.type_ == "FACE_SWAP" and res.status == "complete"
    assert res.created_at == "2026-01-01T00:00:00.000Z"  # date-times stay the wire's strings
    assert res.downloads[0].url.endswith("?X-Signature=secret")  # the value is intact...
    assert "secret" not in repr(res) and "secret" not in str(res)  # ...reprs redact the query
    assert res.model_extra["a_field_added_later"] == 1
    assert "hidden" not in repr(res) and "https://cdn.example/p.png?<redacted>" in repr(res)  # extras too
    assert res.model_dump(by_alias=True)["type"] == "FACE_SWAP"

    assert await sdk.call(client.v1.video_projects.delete, id="abc") is None
    assert (api.calls.last.request.method, api.calls.last.request.url.path) == (
        "DELETE",
        "/v1/video-projects/abc",
    )


@pytest.mark.parametrize("bad", ["", "  ", None, 5])
async def test_bad_path_id_is_refused_before_sending(sdk: Flavor, api: respx.MockRouter, bad: Any) -> None:
    with pytest.raises(InvalidParameterError, match="invalid id"):
        await sdk.call(sdk.client().v1.image_projects.get, id=bad)
    assert not api.calls


# --- the generic checker's refusals -----------------------------------------------------------------

REFUSALS = [
    pytest.param(
        {"assets": {**PHOTO, "face_mappings": [{"original_face": "0-0.png"}]}},
        "assets.face_mappings[0].new_face",
        ["missing", "a string"],
        id="missing-nested-required",
    ),
    pytest.param(
        {"assets": {**PHOTO, "face_mappings": [{**MAPPINGS[0], "new_fce": "x"}]}},
        "assets.face_mappings[0] key",
        ["'new_fce'", "new_face, original_face", "V1FaceSwapPhotoCreateBodyAssetsFaceMappingsItem"],
        id="typo-in-nested-key",
    ),
    pytest.param(
        {"assets": {"source_file_path": "a.png"}},
        "assets.target_file_path",
        ["missing"],
        id="missing-required",
    ),
    pytest.param(
        {"assets": {**PHOTO, "face_mappings": {"new_face": "x"}}},
        "assets.face_mappings",
        ["a list", "got dict"],
        id="dict-for-a-list",
    ),
    pytest.param(
        {"assets": {**PHOTO, "target_file_path": 7}},
        "assets.target_file_path",
        ["a string", "got int"],
        id="int-for-a-string",
    ),
    pytest.param(
        {"assets": "me.png"}, "assets", ["a dict", "V1FaceSwapPhotoCreateBodyAssets"], id="str-for-a-dict"
    ),
    pytest.param({"assets": None}, "assets", ["None is not allowed"], id="none-for-required"),
    pytest.param({"assets": PHOTO, "name": 3}, "name", ["a string"], id="top-level-type"),
]


@pytest.mark.parametrize(("kwargs", "param", "in_message"), REFUSALS)
async def test_checker_refuses_before_sending_naming_the_full_path(
    sdk: Flavor, api: respx.MockRouter, kwargs: Dict[str, Any], param: str, in_message: List[str]
) -> None:
    api.post("/v1/face-swap-photo").respond(200, json=CREATED)
    with pytest.raises(InvalidParameterError) as info:
        await sdk.call(sdk.client().v1.face_swap_photo.create, **kwargs)
    assert info.value.param == param
    for fragment in [param, *in_message]:
        assert fragment in str(info.value)
    assert not api.calls


async def test_enum_values_and_bounds_are_left_to_the_api(sdk: Flavor, api: respx.MockRouter) -> None:
    api.post("/v1/face-swap-photo").respond(200, json=CREATED)
    await sdk.call(sdk.client().v1.face_swap_photo.create, assets={**PHOTO, "face_swap_mode": "a-new-mode"})
    assert sent(api)["json"]["assets"]["face_swap_mode"] == "a-new-mode"


# --- the checker as a pure function ------------------------------------------------------------------

ITEM = Obj("Item", {"type_": ("type", True, STR), "count": ("count", False, INT)})
BODY = Obj(
    "Body",
    {
        "items": ("items", True, Arr(ITEM)),
        "ratio": ("ratio", False, NUM),
        "note": ("note", False, Scalar("str", True)),
    },
)


def test_to_wire_converts_names_and_drops_not_given() -> None:
    value = {"items": [{"type_": "a", "count": 2}, {"type": "b"}], "ratio": 1, "note": None}
    assert to_wire(BODY, value) == {
        "items": [{"type": "a", "count": 2}, {"type": "b"}],
        "ratio": 1,
        "note": None,
    }
    assert to_wire(BODY, {"items": (), "ratio": NOT_GIVEN}) == {"items": []}


@pytest.mark.parametrize(
    ("value", "param"),
    [
        ({"items": [{"type_": "a", "count": "many"}]}, "items[0].count"),  # not a number, even read as one
        ({"items": [{"type_": "a", "count": 1.5}]}, "items[0].count"),
        ({"items": [], "ratio": "one"}, "ratio"),
        ({"items": [{"type_": "a", "type": "b"}]}, "items[0].type_"),  # both spellings of one field
        ({}, "items"),
    ],
)
def test_to_wire_refusals(value: Dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        to_wire(BODY, value)
    assert info.value.param == param


def test_integral_floats_are_integers() -> None:
    assert to_wire(BODY, {"items": [{"type_": "a", "count": 2.0}]}) == {
        "items": [{"type": "a", "count": 2.0}]
    }


def test_endpoint_builds_query_and_path() -> None:
    endpoint = Endpoint("GET", "/v1/things/{id}", query=Obj("query", {"type_": ("type", False, STR)}))
    request = endpoint.build(path={"id": "a b"}, query={"type_": "x"})
    assert (request.method, request.path, request.params, request.json) == (
        "GET",
        "/v1/things/a%20b",
        {"type": "x"},
        None,
    )
    assert endpoint.build(path={"id": "a"}, query={"type_": NOT_GIVEN}).params is None


def test_additional_params_merge_with_operation_query() -> None:
    from magic_hour._core.config import resolve_config
    from magic_hour._core.request import ApiRequest, build_request, resolve_options

    config = resolve_config(
        token="t" * 10,
        base_url=BASE_URL,
        environment=None,
        timeout=NOT_GIVEN,
        fallback_timeout=None,
        max_retries=0,
        default_headers=None,
        allow_insecure_http=False,
    )
    options = resolve_options(config, {"additional_params": {"limit": 5}})
    request = build_request(config, ApiRequest("GET", "/v1/x", params={"type": "a", "limit": 1}), options)
    assert request.url.params == httpx.QueryParams({"type": "a", "limit": "5"})


# --- laziness ------------------------------------------------------------------------------------------


def test_client_and_first_call_import_only_what_they_use() -> None:
    script = (
        "import json, sys, respx, magic_hour\n"
        "client = magic_hour.Client(token='x' * 10)\n"
        "before = sorted(sys.modules)\n"
        "with respx.mock() as m:\n"
        "    m.get('https://api.magichour.ai/v1/image-projects/abc').respond(200, json={})\n"
        "    try:\n"
        "        client.v1.image_projects.get(id='abc')\n"
        "    except magic_hour.MagicHourError:\n"
        "        pass\n"
        "print(json.dumps([before, sorted(sys.modules)]))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    before, after = json.loads(out)
    early = [m for m in before if m.startswith(("magic_hour.types", "magic_hour.resources.v1.", "pydantic"))]
    assert early == ["magic_hour.resources.v1.client"]  # V1Client only: its namespaces load on first use
    models = {m.rsplit(".", 1)[-1] for m in after if m.startswith("magic_hour.types.models.")}
    assert models == {
        "v1_image_projects_get_response",
        "v1_image_projects_get_response_downloads_item",
        "v1_image_projects_get_response_error",
    }
    resources = {m for m in after if m.startswith("magic_hour.resources.v1.") and m.endswith(".client")}
    assert resources == {"magic_hour.resources.v1.client", "magic_hour.resources.v1.image_projects.client"}


# --- cursor pagination -----------------------------------------------------------------------------------


def saved_item(n: int) -> Dict[str, Any]:
    return {"id": f"item-{n}", "name": None, "type": "character", "assets": []}


def saved_pages(request: httpx.Request) -> httpx.Response:
    cursor = request.url.params.get("cursor")
    pages = {None: ([1, 2], "c2"), "c2": ([3], "c3"), "c3": ([4, 5], None)}
    numbers, next_cursor = pages[cursor]
    return httpx.Response(200, json={"items": [saved_item(n) for n in numbers], "next_cursor": next_cursor})


async def test_saved_items_list_returns_one_page(sdk: Flavor, api: respx.MockRouter) -> None:
    api.get("/v1/saved-items").mock(side_effect=saved_pages)
    page = await sdk.call(sdk.client().v1.saved_items.list, limit=2, type_="character")
    assert type(page).__name__ == "V1SavedItemsListResponse"
    assert [i.id for i in page.items] == ["item-1", "item-2"] and page.next_cursor == "c2"
    assert dict(api.calls.last.request.url.params) == {"limit": "2", "type": "character"}


async def test_saved_items_iter_all_follows_the_cursor(sdk: Flavor, api: respx.MockRouter) -> None:
    api.get("/v1/saved-items").mock(side_effect=saved_pages)
    it = sdk.client().v1.saved_items.iter_all(type_="character")
    ids = [item.id async for item in it] if sdk.is_async else [item.id for item in it]
    assert ids == [f"item-{n}" for n in range(1, 6)]
    sent_params = [dict(call.request.url.params) for call in api.calls]
    assert sent_params == [
        {"type": "character"},
        {"type": "character", "cursor": "c2"},
        {"type": "character", "cursor": "c3"},
    ]


async def test_iter_all_stops_when_the_cursor_repeats(sdk: Flavor, api: respx.MockRouter) -> None:
    api.get("/v1/saved-items").respond(200, json={"items": [saved_item(1)], "next_cursor": "same"})
    it = sdk.client().v1.saved_items.iter_all()
    ids = [item.id async for item in it] if sdk.is_async else [item.id for item in it]
    assert ids == ["item-1", "item-1"]  # the first page, then the page of cursor "same" once
    assert len(api.calls) == 2


# --- open bodies (additionalProperties) ----------------------------------------------------------------


async def test_additional_properties_are_sent_under_the_named_arguments(
    sdk: Flavor, api: respx.MockRouter
) -> None:
    api.post("/v1/ai-music-generator").respond(200, json=CREATED)
    client = sdk.client()
    await sdk.call(
        client.v1.ai_music_generator.create,
        duration=30,
        style={"prompt": "calm piano", "tempo": 80},  # an open nested object keeps unknown keys too
        additional_properties={"seed": 7, "duration": 999, "name": "ignored"},
    )
    # named arguments win, even when not given (name): as the official SDK's {**additional_properties, ...}
    assert sent(api)["json"] == {"seed": 7, "duration": 30, "style": {"prompt": "calm piano", "tempo": 80}}


async def test_additional_properties_must_be_a_dict(sdk: Flavor, api: respx.MockRouter) -> None:
    with pytest.raises(InvalidParameterError, match="additional_properties"):
        await sdk.call(
            sdk.client().v1.ai_music_generator.create,
            duration=30,
            style={"prompt": "p"},
            additional_properties=[1],
        )
    assert not api.calls


async def test_official_only_fields_from_official_json_are_accepted(
    sdk: Flavor, api: respx.MockRouter
) -> None:
    # spec/official.json: the official 0.90.0 package still sends the deprecated height/width
    api.post("/v1/face-swap").respond(200, json={"id": "x", "credits_charged": 1, "estimated_frame_cost": 1})
    assets = {
        "video_source": "file",
        "video_file_path": "api-assets/a.mp4",
        "image_file_path": "api-assets/b.png",
    }
    await sdk.call(
        sdk.client().v1.face_swap.create,
        assets=assets,
        start_seconds=0,
        end_seconds=5,
        height=None,
        width=512,
    )
    assert sent(api)["json"] == {
        "assets": assets,
        "start_seconds": 0,
        "end_seconds": 5,
        "height": None,
        "width": 512,
    }


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://s.example/a.mp4?X-Signature=abc", "https://s.example/a.mp4?<redacted>"),
        ("https://user:pw@s.example/a.mp4", "https://<redacted>@s.example/a.mp4"),
        ("https://s.example/a.mp4", "https://s.example/a.mp4"),
        ("api-assets/id/a.mp4", "api-assets/id/a.mp4"),
        # URLs a parser would refuse still hide their secrets: a blank in the path, a leading blank, no scheme
        ("https://s.example/a b.mp4?X-Signature=abc", "https://s.example/a b.mp4?<redacted>"),
        (" https://user:pw@s.example/a.mp4", " https://<redacted>@s.example/a.mp4"),
        ("//user:pw@s.example/a.mp4?X-Signature=abc", "//<redacted>@s.example/a.mp4?<redacted>"),
        ("a prompt: a cat, a hat", "a prompt: a cat, a hat"),
    ],
)
def test_model_reprs_redact_url_secrets(url: str, shown: str) -> None:
    from magic_hour.types.models import V1ImageProjectsGetResponseDownloadsItem

    item = V1ImageProjectsGetResponseDownloadsItem(url=url, expires_at="2030-01-01T00:00:00Z")
    assert item.url == url
    assert f"url={shown!r}" in repr(item) and f"url={shown!r}" in str(item)
