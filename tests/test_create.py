"""``client.v1.files.upload_urls.create``: the wire request, the parsed response, input checks, options."""

from __future__ import annotations

import datetime
import json
from typing import Any, Dict, List

import httpx
import pytest
import respx
from conftest import (
    EXPIRES_AT,
    SEED_ITEMS,
    SEED_RESPONSE,
    TOKEN,
    UPLOAD_URLS_PATH,
    UPLOAD_URLS_URL,
    Flavor,
    presign_response,
)

import magic_hour
from magic_hour import InvalidParameterError
from magic_hour._upload.flow import parse_expires_at
from magic_hour.types.models import V1FilesUploadUrlsCreateResponse, V1FilesUploadUrlsCreateResponseItemsItem

pytestmark = pytest.mark.anyio

UTC = datetime.timezone.utc

# The API's current list (spec/openapi.json, POST /v1/files/upload-urls), written out here on purpose (the
# SDK's own table is what is under test): the extensions accepted with each type. The API's "gif" group
# (gif, webp, webm: face swap's video_file_path) is accepted with video or image.
ACCEPTED_EXTENSIONS: Dict[str, List[str]] = {
    "video": ["mp4", "m4v", "mov", "webm", "gif", "webp"],
    "audio": ["mp3", "wav", "aac", "flac", "webm", "weba", "m4a", "opus", "ogg", "oga", "aiff", "amr"],
    "image": [
        "png",
        "jpg",
        "jpeg",
        "jfif",
        "heic",
        "heif",
        "webp",
        "avif",
        "jp2",
        "tiff",
        "tif",
        "bmp",
        "gif",
        "webm",
    ],
}


def sent_json(route: respx.Route) -> Any:
    return json.loads(route.calls.last.request.content)


# --- the wire request -------------------------------------------------------------------------------


async def test_seed_example_sends_the_documented_request(sdk: Flavor, api: respx.MockRouter) -> None:
    route = api.post(UPLOAD_URLS_PATH).respond(200, json=SEED_RESPONSE)
    client = sdk.client()

    await sdk.create(client, items=SEED_ITEMS)

    assert route.call_count == 1
    request = route.calls.last.request
    assert request.method == "POST"
    assert str(request.url) == UPLOAD_URLS_URL
    assert json.loads(request.content) == {
        "items": [{"extension": "mp4", "type": "video"}, {"extension": "mp3", "type": "audio"}]
    }
    expected = {
        "authorization": f"Bearer {TOKEN}",
        "user-agent": f"magic-hour-python/{magic_hour.__version__}",
        "content-type": "application/json",
        "accept": "application/json",
        "content-length": str(len(request.content)),
    }
    for name, value in expected.items():
        assert request.headers.get_list(name) == [value], name


async def test_the_callers_items_are_not_mutated(sdk: Flavor, upload_urls: respx.Route) -> None:
    items = [{"extension": ".MP4", "type_": "video"}]
    await sdk.create(sdk.client(), items=items)
    assert items == [{"extension": ".MP4", "type_": "video"}]


async def test_works_under_trio() -> None:
    import trio

    async def main() -> V1FilesUploadUrlsCreateResponse:
        async with magic_hour.AsyncClient(token=TOKEN) as client:
            return await client.v1.files.upload_urls.create(items=SEED_ITEMS)  # type: ignore[typeddict-item]

    with respx.mock(assert_all_mocked=True) as router:
        router.post(UPLOAD_URLS_URL).mock(side_effect=presign_response)
        res = trio.run(main)
    assert [i.file_path for i in res.items] == ["api-assets/id/0-video.mp4", "api-assets/id/1-audio.mp3"]


# --- the response -------------------------------------------------------------------------------------


async def test_seed_example_response_is_parsed(sdk: Flavor, api: respx.MockRouter) -> None:
    api.post(UPLOAD_URLS_PATH).respond(200, json=SEED_RESPONSE)

    res = await sdk.create(sdk.client())

    assert type(res) is V1FilesUploadUrlsCreateResponse
    assert [type(item) for item in res.items] == [V1FilesUploadUrlsCreateResponseItemsItem] * 2
    first, second = res.items
    assert first.file_path == "api-assets/id/video.mp4"
    assert first.upload_url == "https://videos.magichour.ai/api-assets/id/video.mp4?auth-value=1234567890"
    assert second.file_path == "api-assets/id/audio.mp3"
    assert first.expires_at == EXPIRES_AT  # the wire's string, as the official SDK keeps it


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (EXPIRES_AT, datetime.datetime(2024, 7, 25, 16, 56, 21, 932000, tzinfo=UTC)),
        ("2024-07-25T18:56:21+02:00", datetime.datetime(2024, 7, 25, 16, 56, 21, tzinfo=UTC)),
        # No offset: the API speaks UTC, so the value must still be aware (comparable with now()).
        ("2024-07-25T16:56:21", datetime.datetime(2024, 7, 25, 16, 56, 21, tzinfo=UTC)),
    ],
)
async def test_expires_at_is_the_wire_string_and_the_engine_reads_an_aware_time(
    sdk: Flavor, api: respx.MockRouter, raw: str, expected: datetime.datetime
) -> None:
    item = {"expires_at": raw, "file_path": "api-assets/id/a.mp4", "upload_url": "https://s/a.mp4"}
    api.post(UPLOAD_URLS_PATH).respond(200, json={"items": [item]})

    res = await sdk.create(sdk.client(), items=[SEED_ITEMS[0]])

    assert res.items[0].expires_at == raw
    expires_at = parse_expires_at(raw)
    assert expires_at.tzinfo is not None
    assert expires_at == expected
    assert expires_at < datetime.datetime.now(UTC) + datetime.timedelta(days=365 * 100)


async def test_unknown_response_fields_are_kept(sdk: Flavor, api: respx.MockRouter) -> None:
    body = {
        "items": [dict(SEED_RESPONSE["items"][0], max_bytes=1024, headers={"x-amz-acl": "private"})],
        "request_id": "abc",
    }
    api.post(UPLOAD_URLS_PATH).respond(200, json=body)

    res = await sdk.create(sdk.client(), items=[SEED_ITEMS[0]])

    assert res.model_extra == {"request_id": "abc"}
    assert res.items[0].model_extra == {"max_bytes": 1024, "headers": {"x-amz-acl": "private"}}
    assert res.items[0].max_bytes == 1024  # type: ignore[attr-defined]
    assert res.model_dump(mode="json")["items"][0]["max_bytes"] == 1024


async def test_repr_hides_the_signed_query(sdk: Flavor, api: respx.MockRouter) -> None:
    api.post(UPLOAD_URLS_PATH).respond(200, json=SEED_RESPONSE)
    res = await sdk.create(sdk.client())
    assert "auth-value" not in repr(res)
    assert "auth-value" not in str(res)
    assert "api-assets/id/video.mp4" in repr(res)
    assert res.items[0].upload_url.endswith("?auth-value=1234567890")  # the value itself is intact


# --- input checks (before any request) ----------------------------------------------------------------

BAD_ITEMS = [
    pytest.param(
        [{"extension": "mp4", "type_": "movie"}],
        "items[0].type_",
        ["'movie'", "video, audio, image"],
        id="bad-type",
    ),
    pytest.param(
        [{"extension": "exe", "type_": "video"}],
        "items[0].extension",
        ["'exe'", "mp4, m4v, mov, webm"],
        id="bad-extension",
    ),
    pytest.param(
        [{"extension": "mp3", "type_": "video"}],
        "items[0].extension",
        ["'mp3'", "mp4"],
        id="audio-extension-as-video",
    ),
    pytest.param(
        [{"extension": "png", "type_": "audio"}],
        "items[0].extension",
        ["'png'", "mp3, wav, aac"],
        id="image-extension-as-audio",
    ),
    pytest.param(
        [{"extension": "mpeg", "type_": "audio"}],
        "items[0].extension",
        ["'mpeg'", "not in the API's list", "mp3"],
        id="mpeg-is-not-in-the-apis-list",
    ),
    pytest.param(
        [{"extension": "", "type_": "image"}], "items[0].extension", ["''", "png"], id="empty-extension"
    ),
    pytest.param(
        [{"extension": ".", "type_": "image"}], "items[0].extension", ["'.'", "png"], id="dot-extension"
    ),
    pytest.param(
        [{"extension": 4, "type_": "image"}], "items[0].extension", ["4", "png"], id="extension-not-a-string"
    ),
    pytest.param([{"type_": "video"}], "items[0].extension", ["missing", "mp4"], id="missing-extension"),
    pytest.param(
        [{"extension": "mp4"}], "items[0].type_", ["missing", "video, audio, image"], id="missing-type"
    ),
    pytest.param(
        [{"extension": "mp4", "type_": "Video"}],
        "items[0].type_",
        ["'Video'", "video, audio, image"],
        id="type-is-case-sensitive",
    ),
    pytest.param(
        [{"extension": "mp4", "type_": "video", "size": 3}],
        "items[0]",
        ["'size'", "extension, type_"],
        id="unknown-key",
    ),
    pytest.param(
        [{"extension": "mp4", "type_": "video", "type": "audio"}],
        "items[0].type_",
        ["disagree"],
        id="type-and-type_-disagree",
    ),
    pytest.param(
        [SEED_ITEMS[0], {"extension": "mp4", "type_": "audio"}],
        "items[1].extension",
        ["'mp4'", "mp3"],
        id="second-item",
    ),
    pytest.param(["mp4"], "items[0]", ["'mp4'", "extension"], id="item-not-a-dict"),
    pytest.param([], "items", ["[]", "empty"], id="empty-list"),
    pytest.param(
        {"extension": "mp4", "type_": "video"}, "items", ["'extension'", "list"], id="a-dict-not-a-list"
    ),
    pytest.param("mp4", "items", ["'mp4'", "list"], id="a-string-not-a-list"),
    pytest.param(None, "items", ["None", "list"], id="none"),
]


@pytest.mark.parametrize(("items", "param", "in_message"), BAD_ITEMS)
async def test_bad_items_are_refused_before_any_request(
    sdk: Flavor, api: respx.MockRouter, items: Any, param: str, in_message: List[str]
) -> None:
    api.post(UPLOAD_URLS_PATH).respond(200, json=SEED_RESPONSE)
    client = sdk.client()

    with pytest.raises(InvalidParameterError) as info:
        await sdk.create(client, items=items)

    err = info.value
    assert isinstance(err, ValueError)
    assert err.param.startswith(param)
    message = str(err)
    assert param in message
    for fragment in in_message:
        assert fragment in message
    assert not api.calls, "nothing may be sent when the input is invalid"


async def test_wrong_type_extension_says_which_type_it_belongs_to(sdk: Flavor, api: respx.MockRouter) -> None:
    with pytest.raises(InvalidParameterError, match=r"mp3.*audio"):
        await sdk.create(sdk.client(), items=[{"extension": "mp3", "type_": "video"}])
    assert not api.calls


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        ({"extension": ".MP4", "type_": "video"}, {"extension": "mp4", "type": "video"}),
        ({"extension": "JPG", "type_": "image"}, {"extension": "jpg", "type": "image"}),
        ({"extension": " .Wav ", "type_": "audio"}, {"extension": "wav", "type": "audio"}),
        ({"extension": "gif", "type_": "video"}, {"extension": "gif", "type": "video"}),
        ({"extension": "mp4", "type": "video"}, {"extension": "mp4", "type": "video"}),
        ({"extension": "mp4", "type_": "video", "type": "video"}, {"extension": "mp4", "type": "video"}),
    ],
)
async def test_items_are_normalised_on_the_wire(
    sdk: Flavor, upload_urls: respx.Route, given: Dict[str, str], sent: Dict[str, str]
) -> None:
    await sdk.create(sdk.client(), items=[given])
    assert sent_json(upload_urls) == {"items": [sent]}


async def test_a_tuple_of_items_is_accepted(sdk: Flavor, upload_urls: respx.Route) -> None:
    res = await sdk.create(sdk.client(), items=tuple(SEED_ITEMS))
    assert len(res.items) == 2
    assert [i["type"] for i in sent_json(upload_urls)["items"]] == ["video", "audio"]


async def test_every_extension_is_accepted_for_its_types_only(sdk: Flavor, upload_urls: respx.Route) -> None:
    client = sdk.client()
    for asset_type, extensions in ACCEPTED_EXTENSIONS.items():
        items = [{"extension": ext, "type_": asset_type} for ext in extensions]
        res = await sdk.create(client, items=items)
        assert len(res.items) == len(extensions)
        assert sent_json(upload_urls)["items"] == [{"extension": e, "type": asset_type} for e in extensions]
        for other, accepted in ACCEPTED_EXTENSIONS.items():
            for ext in extensions:
                if ext not in accepted:
                    with pytest.raises(InvalidParameterError):
                        await sdk.create(client, items=[{"extension": ext, "type_": other}])
    assert upload_urls.call_count == len(ACCEPTED_EXTENSIONS)


def test_the_extension_table_is_the_apis() -> None:
    from magic_hour._extensions import EXTENSIONS

    assert {t: list(exts) for t, exts in EXTENSIONS.items()} == ACCEPTED_EXTENSIONS


# --- request_options ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timeout", "expected"),
    [
        (5, {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 5.0}),
        (2.5, {"connect": 2.5, "read": 2.5, "write": 2.5, "pool": 2.5}),
        (httpx.Timeout(30, connect=3), {"connect": 3.0, "read": 30.0, "write": 30.0, "pool": 30.0}),
        (None, {"connect": None, "read": None, "write": None, "pool": None}),
    ],
)
async def test_request_options_timeout(
    sdk: Flavor, upload_urls: respx.Route, timeout: Any, expected: Dict[str, Any]
) -> None:
    client = sdk.client(timeout=100)
    await sdk.create(client, request_options={"timeout": timeout})
    assert upload_urls.calls.last.request.extensions["timeout"] == expected
    # ...and only for that request.
    await sdk.create(client)
    assert upload_urls.calls.last.request.extensions["timeout"]["read"] == 100.0


async def test_request_options_additional_headers(sdk: Flavor, upload_urls: respx.Route) -> None:
    client = sdk.client(default_headers={"X-Team": "a"})
    await sdk.create(
        client,
        request_options={"additional_headers": {"X-Trace-Id": "t-1", "x-team": "b", "user-agent": "mine/1"}},
    )
    headers = upload_urls.calls.last.request.headers
    assert headers.get_list("x-trace-id") == ["t-1"]
    # Header names are case-insensitive: an override replaces, it never sends the header twice.
    assert headers.get_list("x-team") == ["b"]
    assert headers.get_list("user-agent") == ["mine/1"]
    assert headers.get_list("authorization") == [f"Bearer {TOKEN}"]

    await sdk.create(client)
    headers = upload_urls.calls.last.request.headers
    assert "x-trace-id" not in headers
    assert headers.get_list("x-team") == ["a"]


async def test_request_options_additional_params(sdk: Flavor, upload_urls: respx.Route) -> None:
    client = sdk.client()
    params = {"dry_run": "true", "n": 2, "ids": ["a", "b"], "x": 1.5, "flag": True}
    await sdk.create(client, request_options={"additional_params": params})
    url = upload_urls.calls.last.request.url
    assert url.path == UPLOAD_URLS_PATH
    assert url.params.multi_items() == [
        ("dry_run", "true"),
        ("n", "2"),
        ("ids", "a"),
        ("ids", "b"),
        ("x", "1.5"),
        ("flag", "true"),
    ]
    await sdk.create(client)
    assert not upload_urls.calls.last.request.url.params


@pytest.mark.parametrize(
    ("options", "in_message"),
    [
        ({"timeot": 5}, "'timeot'"),
        ({"headers": {"a": "b"}}, "'headers'"),
        ({"timeout": -1}, "-1"),
        ({"timeout": "5"}, "'5'"),
        ({"max_retries": -1}, "-1"),
        ({"max_retries": 1.5}, "1.5"),
        ({"additional_headers": {"x-n": 1}}, "string"),
        ({"additional_headers": {"x-bad": "a\r\nInjected: yes"}}, "x-bad"),
        ({"additional_params": ["a"]}, "['a']"),
        ({"additional_params": {"filter": {"a": 1}}}, "'filter'"),
        ({"additional_params": {"ids": [1, object]}}, "'ids'"),
        ({"additional_params": {1: "a"}}, "name"),
        ("fast", "'fast'"),
    ],
)
async def test_bad_request_options_are_refused_before_any_request(
    sdk: Flavor, api: respx.MockRouter, options: Any, in_message: str
) -> None:
    api.post(UPLOAD_URLS_PATH).respond(200, json=SEED_RESPONSE)
    with pytest.raises(InvalidParameterError) as info:
        await sdk.create(sdk.client(), request_options=options)
    assert "request_options" in str(info.value)
    assert in_message in str(info.value)
    assert not api.calls
