"""``magic_hour.testing.FakeMagicHour``: the API and storage behaviour, through both front-ends.

Every behaviour runs through the httpx transport (no sockets) and through the real server on
127.0.0.1, with ``Client`` and ``AsyncClient`` (or sync and async raw httpx clients).
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import hmac
import json
import re
import socket
import ssl
import time
from contextlib import ExitStack
from typing import Any, Dict, Iterator, List, Optional

import httpx
import pytest
from conftest import Flavor

from magic_hour import (
    ApiResponseValidationError,
    ApiTimeoutError,
    AuthenticationError,
    InternalServerError,
    InvalidParameterError,
    RateLimitError,
    UnprocessableEntityError,
)
from magic_hour._extensions import EXTENSIONS
from magic_hour._upload.flow import parse_expires_at
from magic_hour.testing import EXPIRED_MESSAGE, FakeMagicHour, FakeServer
from magic_hour.testing._storage import UploadUrls

pytestmark = pytest.mark.anyio

FILE_PATH_RE = re.compile(r"^api-assets/[0-9a-f]{16}/(video|audio|image)\.[a-z0-9]+$")


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    # Building an SSL context is most of the cost of an httpx client; the tests never use TLS.
    return ssl.create_default_context()


class Mode:
    """One front-end of the fake: the transport (no sockets) or the real server."""

    def __init__(self, name: str, fake: FakeMagicHour, server: Optional[FakeServer]) -> None:
        self.name = name
        self.fake = fake
        self.server = server
        self.base_url = server.url if server is not None else fake.base_url
        self._http: Any = None
        self._http_flavor: Optional[Flavor] = None
        self.storage_prefix = (
            server.storage_url if server is not None else "https://storage.magichour.test"
        ) + "/"

    def __repr__(self) -> str:
        return f"Mode({self.name})"

    def client(self, sdk: Flavor, **kwargs: Any) -> Any:
        """A ``Client``/``AsyncClient`` (per ``sdk``) talking to the fake; no retries unless asked."""
        kwargs.setdefault("token", self.fake.token)
        kwargs.setdefault("max_retries", 0)
        return sdk.client(base_url=self.base_url, httpx_client=self.http(sdk), **kwargs)

    def http(self, sdk: Flavor) -> Any:
        """The raw ``httpx.Client``/``httpx.AsyncClient`` (per ``sdk``) that reaches the fake.

        One per test (creating an httpx client costs ~25 ms); the SDK clients borrow it too.
        """
        if self._http is None or self._http_flavor is not sdk:
            kwargs: Dict[str, Any] = {"verify": _ssl_context()}
            if self.server is None:
                kwargs["transport"] = self.fake.transport()
            self._http, self._http_flavor = sdk.httpx_client(**kwargs), sdk
        return self._http

    def api_url(self) -> str:
        return self.base_url + "/v1/files/upload-urls"

    def auth(self) -> Dict[str, str]:
        return {"Authorization": f"Bearer {self.fake.token}"}


@pytest.fixture
def fake() -> Iterator[FakeMagicHour]:
    with FakeMagicHour() as fake:
        yield fake


@pytest.fixture(params=["transport", "server"])
def mode(request: pytest.FixtureRequest, fake: FakeMagicHour) -> Iterator[Mode]:
    with ExitStack() as stack:
        server = stack.enter_context(fake.serve()) if request.param == "server" else None
        yield Mode(request.param, fake, server)


async def presign(sdk: Flavor, mode: Mode, items: Any = None, **kwargs: Any) -> Any:
    client = mode.client(sdk, **kwargs)
    items = items if items is not None else [{"extension": "mp4", "type_": "video"}]
    return await sdk.call(client.v1.files.upload_urls.create, items=items)


async def put(sdk: Flavor, mode: Mode, url: str, content: Any = b"hello", **kwargs: Any) -> httpx.Response:
    http = mode.http(sdk)
    response: httpx.Response = await sdk.call(http.put, url, content=content, **kwargs)
    return response


def xml_code(response: httpx.Response) -> str:
    match = re.search(r"<Code>([^<]*)</Code>", response.text)
    assert match, response.text
    return match.group(1)


# ---------------------------------------------------------------------------------------- upload-urls


async def test_upload_urls_answers_like_the_documented_api(sdk: Flavor, mode: Mode) -> None:
    items = [
        {"extension": "mp4", "type_": "video"},
        {"extension": "mp3", "type_": "audio"},
        {"extension": "png", "type_": "image"},
    ]
    before = datetime.datetime.now(datetime.timezone.utc)
    res = await presign(sdk, mode, items)

    assert [i.file_path.rsplit("/", 1)[1] for i in res.items] == ["video.mp4", "audio.mp3", "image.png"]
    assert len({i.file_path for i in res.items}) == 3
    for item in res.items:
        assert FILE_PATH_RE.match(item.file_path), item.file_path
        assert parse_expires_at(item.expires_at) > before + datetime.timedelta(minutes=59)
        assert item.upload_url.startswith(mode.storage_prefix + item.file_path + "?")
        query = httpx.URL(item.upload_url).params
        assert set(query) == {"X-Expires", "X-Signature"}
        assert int(query["X-Expires"]) == int(parse_expires_at(item.expires_at).timestamp())

    (record,) = mode.fake.requests
    assert (record.method, record.path, record.route, record.status) == (
        "POST",
        "/v1/files/upload-urls",
        "upload_urls",
        200,
    )
    assert record.json == {
        "items": [
            {"extension": "mp4", "type": "video"},
            {"extension": "mp3", "type": "audio"},
            {"extension": "png", "type": "image"},
        ]
    }
    assert record.body_size == len(record.body or b"") > 0
    assert record.headers["authorization"] == f"Bearer {mode.fake.token}"
    assert [i.file_path for i in mode.fake.issued] == [i.file_path for i in res.items]


async def test_expires_at_is_rfc3339_with_z(sdk: Flavor, mode: Mode) -> None:
    http = mode.http(sdk)
    body = {"items": [{"extension": "wav", "type": "audio"}]}
    response = await sdk.call(http.post, mode.api_url(), json=body, headers=mode.auth())
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-request-id"].startswith("req_")
    (item,) = response.json()["items"]
    assert set(item) == {"expires_at", "file_path", "upload_url"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", item["expires_at"])


async def test_every_extension_of_the_table_is_accepted(sdk: Flavor, mode: Mode) -> None:
    items = [{"extension": ext, "type_": t} for t, exts in EXTENSIONS.items() for ext in exts]
    res = await presign(sdk, mode, items)
    assert [i.file_path.rsplit(".", 1)[1] for i in res.items] == [i["extension"] for i in items]


@pytest.mark.parametrize(
    ("headers", "token"),
    [
        ({}, None),
        ({"Authorization": "Bearer wrong"}, None),
        ({"Authorization": "Basic test-token"}, None),
        (None, "wrong-token"),
    ],
    ids=["missing", "wrong", "not-bearer", "client-wrong-token"],
)
async def test_401_without_the_right_bearer_token(
    sdk: Flavor, mode: Mode, headers: Optional[Dict[str, str]], token: Optional[str]
) -> None:
    if token is not None:
        with pytest.raises(AuthenticationError) as info:
            await presign(sdk, mode, token=token)
        assert info.value.status_code == 401
        assert info.value.body == {"message": "Unauthorized"}
        assert str(info.value).startswith("401: Unauthorized")
    else:
        http = mode.http(sdk)
        body = {"items": [{"extension": "mp4", "type": "video"}]}
        response = await sdk.call(http.post, mode.api_url(), json=body, headers=headers)
        assert response.status_code == 401
        assert response.json() == {"message": "Unauthorized"}
    assert mode.fake.issued == []


async def test_several_tokens_can_be_accepted(sdk: Flavor) -> None:
    with FakeMagicHour(tokens=["a-token", "b-token"]) as fake:
        mode = Mode("transport", fake, None)
        assert fake.token == "a-token"
        assert fake.tokens == ("a-token", "b-token")
        res = await presign(sdk, mode, token="b-token")
        assert len(res.items) == 1
        with pytest.raises(AuthenticationError):
            await presign(sdk, mode, token="test-token")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "Invalid request body: the body is empty"),
        (b"   ", "Invalid request body: the body is empty"),
        (b"{not json", "Invalid request body: not valid JSON"),
        (b"[]", 'Invalid request body: expected an object with an "items" array'),
        (b"{}", 'Invalid request body: expected an object with an "items" array'),
    ],
    ids=["empty", "blank", "not-json", "array", "no-items"],
)
async def test_400_for_a_missing_or_unreadable_body(
    sdk: Flavor, mode: Mode, content: bytes, message: str
) -> None:
    http = mode.http(sdk)
    headers = {**mode.auth(), "Content-Type": "application/json"}
    response = await sdk.call(http.post, mode.api_url(), content=content, headers=headers)
    assert response.status_code == 400
    assert response.json() == {"message": message}
    assert mode.fake.requests[0].status == 400


@pytest.mark.parametrize(
    ("items", "fragment"),
    [
        ([], "items must be a non-empty array"),
        ("mp4", "items must be a non-empty array"),
        (["mp4"], "items[0] must be an object"),
        (
            [{"extension": "mp4", "type": "movie"}],
            'items[0].type must be one of video, audio, image, got "movie"',
        ),
        ([{"extension": "mp4"}], "items[0].type must be one of video, audio, image, got null"),
        (
            [{"extension": "mp4", "type": "video"}, {"extension": "mp4", "type": "audio"}],
            'items[1].extension "mp4" is not allowed for audio: mp3, wav, aac, flac, webm, weba',
        ),
        ([{"extension": "MP4", "type": "video"}], 'items[0].extension "MP4" is not allowed for video: mp4'),
        ([{"extension": ".mp4", "type": "video"}], 'items[0].extension ".mp4" is not allowed'),
        ([{"type": "image"}], "items[0].extension null is not allowed for image: png, jpg"),
    ],
)
async def test_422_for_a_bad_type_or_extension(sdk: Flavor, mode: Mode, items: Any, fragment: str) -> None:
    http = mode.http(sdk)
    response = await sdk.call(http.post, mode.api_url(), json={"items": items}, headers=mode.auth())
    assert response.status_code == 422
    message = response.json()["message"]
    assert message.startswith("Invalid request body: ")
    assert fragment in message
    assert mode.fake.issued == []


async def test_max_items_gives_422_through_the_client(sdk: Flavor, mode: Mode) -> None:
    mode.fake.max_items = 2
    items = [{"extension": "mp4", "type_": "video"}] * 3
    with pytest.raises(UnprocessableEntityError) as info:
        await presign(sdk, mode, items)
    assert "at most 2" in str(info.value)
    assert len((await presign(sdk, mode, items[:2])).items) == 2


async def test_unknown_route_and_wrong_method(sdk: Flavor, mode: Mode) -> None:
    http = mode.http(sdk)
    response = await sdk.call(http.get, mode.base_url + "/v1/nope", headers=mode.auth())
    assert (response.status_code, response.json()) == (404, {"message": "Not Found"})
    response = await sdk.call(http.get, mode.api_url(), headers=mode.auth())
    assert (response.status_code, response.headers["allow"]) == (405, "POST")
    assert [r.route for r in mode.fake.requests] == [None, "upload_urls"]


# ---------------------------------------------------------------------------------------- storage


async def test_put_stores_the_bytes(sdk: Flavor, mode: Mode) -> None:
    res = await presign(sdk, mode)
    item = res.items[0]
    data = bytes(range(256)) * 1000
    response = await put(sdk, mode, item.upload_url, data, headers={"Content-Type": "video/mp4"})
    assert response.status_code == 200
    digest = hashlib.sha256(data).hexdigest()
    assert response.headers["etag"] == f'"{digest[:32]}"'

    stored = mode.fake.file(item.file_path)
    assert (stored.size, stored.sha256, stored.content, stored.path) == (len(data), digest, data, None)
    assert stored.content_type == "video/mp4"
    assert stored.read_bytes() == data
    assert list(mode.fake.files) == [item.file_path]

    record = mode.fake.requests_to("storage")[0]
    assert (record.method, record.status, record.body_size, record.body) == ("PUT", 200, len(data), None)
    assert "authorization" not in record.headers
    assert record.path.endswith("/" + item.file_path)


async def test_put_accepts_a_streamed_body_with_content_length(sdk: Flavor, mode: Mode) -> None:
    item = (await presign(sdk, mode)).items[0]
    parts = [b"a" * 70000, b"b" * 70000, b"c"]

    if sdk.is_async:

        async def agen() -> Any:
            for p in parts:
                yield p

        content: Any = agen()
    else:
        content = iter(parts)
    response = await put(sdk, mode, item.upload_url, content, headers={"Content-Length": "140001"})
    assert response.status_code == 200
    assert mode.fake.file(item.file_path).read_bytes() == b"".join(parts)


async def test_an_empty_file_can_be_stored(sdk: Flavor, mode: Mode) -> None:
    item = (await presign(sdk, mode)).items[0]
    assert (await put(sdk, mode, item.upload_url, b"")).status_code == 200
    assert mode.fake.file(item.file_path).size == 0


async def test_a_second_put_overwrites(sdk: Flavor, mode: Mode) -> None:
    item = (await presign(sdk, mode)).items[0]
    await put(sdk, mode, item.upload_url, b"first")
    await put(sdk, mode, item.upload_url, b"second")
    assert mode.fake.file(item.file_path).content == b"second"


async def test_chunked_body_is_refused_with_501(sdk: Flavor, mode: Mode) -> None:
    item = (await presign(sdk, mode)).items[0]
    if sdk.is_async:

        async def agen() -> Any:
            yield b"abc"
            yield b"def"

        content: Any = agen()
    else:
        content = iter([b"abc", b"def"])
    response = await put(sdk, mode, item.upload_url, content)
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert response.status_code == 501
    assert xml_code(response) == "NotImplemented"
    assert "<Header>Transfer-Encoding</Header>" in response.text
    assert mode.fake.files == {}
    assert mode.fake.requests[-1].body_size == 6  # the body was read (and discarded)


async def test_authorization_header_is_refused_with_400(sdk: Flavor, mode: Mode) -> None:
    item = (await presign(sdk, mode)).items[0]
    response = await put(sdk, mode, item.upload_url, headers=mode.auth())
    assert response.status_code == 400
    assert xml_code(response) == "InvalidArgument"
    assert "<ArgumentName>Authorization</ArgumentName>" in response.text
    assert mode.fake.files == {}


def _tamper(url: str, **changes: str) -> str:
    parsed = httpx.URL(url)
    params = dict(parsed.params)
    params.update(changes)
    return str(parsed.copy_with(params=params))


@pytest.mark.parametrize("what", ["signature", "expiry", "path", "missing-query", "bad-expiry"])
async def test_tampered_url_is_refused_with_403(sdk: Flavor, mode: Mode, what: str) -> None:
    item = (await presign(sdk, mode)).items[0]
    url = item.upload_url
    query = httpx.URL(url).params
    if what == "signature":
        url = _tamper(url, **{"X-Signature": "0" * 64})
    elif what == "expiry":
        url = _tamper(url, **{"X-Expires": str(int(query["X-Expires"]) + 3600)})
    elif what == "path":
        url = url.replace("/video.mp4?", "/other.mp4?")
    elif what == "missing-query":
        url = url.split("?", 1)[0]
    else:
        url = _tamper(url, **{"X-Expires": "soon"})
    response = await put(sdk, mode, url)
    assert response.status_code == 403
    expected = "AccessDenied" if what == "missing-query" else "SignatureDoesNotMatch"
    assert xml_code(response) == expected
    assert EXPIRED_MESSAGE not in response.text
    assert response.headers["content-type"] == "application/xml"
    assert mode.fake.files == {}


async def test_expired_url_is_refused_with_403_that_says_so(sdk: Flavor, mode: Mode) -> None:
    mode.fake.expire_next_urls()
    expired, fresh = (await presign(sdk, mode, [{"extension": "mp4", "type_": "video"}] * 2)).items
    assert parse_expires_at(expired.expires_at) < datetime.datetime.now(datetime.timezone.utc)
    assert mode.fake.requests[0].fault == "expired_url"

    response = await put(sdk, mode, expired.upload_url)
    assert response.status_code == 403
    assert xml_code(response) == "AccessDenied"
    assert EXPIRED_MESSAGE.encode() in response.content
    assert "<Expires>" in response.text and "<ServerTime>" in response.text
    assert (await put(sdk, mode, fresh.upload_url)).status_code == 200
    assert list(mode.fake.files) == [fresh.file_path]


async def test_expired_url_can_advertise_a_valid_expires_at(sdk: Flavor, mode: Mode) -> None:
    mode.fake.expire_next_urls(times=1, advertise_valid=True)
    item = (await presign(sdk, mode)).items[0]
    assert parse_expires_at(item.expires_at) > datetime.datetime.now(
        datetime.timezone.utc
    ) + datetime.timedelta(minutes=30)
    (issued,) = mode.fake.issued
    assert issued.expires_at < issued.advertised_expires_at
    response = await put(sdk, mode, item.upload_url)
    assert response.status_code == 403
    assert EXPIRED_MESSAGE.encode() in response.content


async def test_url_ttl_and_advance_clock_expire_urls(sdk: Flavor, mode: Mode) -> None:
    mode.fake.url_ttl = 60
    item = (await presign(sdk, mode)).items[0]
    assert parse_expires_at(item.expires_at) < datetime.datetime.now(
        datetime.timezone.utc
    ) + datetime.timedelta(seconds=61)
    mode.fake.advance_clock(61)
    response = await put(sdk, mode, item.upload_url)
    assert response.status_code == 403
    assert EXPIRED_MESSAGE in response.text
    # A URL issued after the clock moved is valid on the moved clock.
    item2 = (await presign(sdk, mode)).items[0]
    assert (await put(sdk, mode, item2.upload_url)).status_code == 200


async def test_too_large_is_refused_with_413(sdk: Flavor, mode: Mode) -> None:
    mode.fake.max_upload_size = 10
    item = (await presign(sdk, mode)).items[0]
    response = await put(sdk, mode, item.upload_url, b"x" * 11)
    assert response.status_code == 413
    assert xml_code(response) == "EntityTooLarge"
    assert "<MaxSizeAllowed>10</MaxSizeAllowed>" in response.text
    assert (await put(sdk, mode, item.upload_url, b"x" * 10)).status_code == 200


async def test_storage_only_accepts_put_and_get(sdk: Flavor, mode: Mode) -> None:
    item = (await presign(sdk, mode)).items[0]
    http = mode.http(sdk)
    for method in ("POST", "DELETE", "PATCH"):
        response = await sdk.call(http.request, method, item.upload_url)
        assert (response.status_code, xml_code(response)) == (405, "MethodNotAllowed")
    # A URL signed for PUT does not sign a GET (as with S3's pre-signed URLs).
    response = await sdk.call(http.get, item.upload_url)
    assert (response.status_code, xml_code(response)) == (403, "SignatureDoesNotMatch")


async def test_connection_stays_usable_after_refusals(sdk: Flavor, mode: Mode) -> None:
    """The fake reads and discards refused bodies, so keep-alive connections stay in sync."""
    item = (await presign(sdk, mode)).items[0]
    http = mode.http(sdk)
    statuses: List[int] = []
    for headers in (mode.auth(), {}, mode.auth(), {}):
        response = await sdk.call(http.put, item.upload_url, content=b"z" * 100_000, headers=headers)
        statuses.append(response.status_code)
    assert statuses == [400, 200, 400, 200]
    assert [r.body_size for r in mode.fake.requests_to("storage")] == [100_000] * 4


async def test_spool_dir_keeps_files_on_disk(sdk: Flavor, tmp_path: Any) -> None:
    with FakeMagicHour(spool_dir=tmp_path / "spool") as fake, fake.serve() as server:
        mode = Mode("server", fake, server)
        item = (await presign(sdk, mode)).items[0]
        data = b"spooled" * 1000
        assert (await put(sdk, mode, item.upload_url, data)).status_code == 200
        stored = fake.file(item.file_path)
        assert stored.content is None
        assert stored.path == tmp_path / "spool" / item.file_path
        assert stored.path.read_bytes() == data == stored.read_bytes()
        assert stored.sha256 == hashlib.sha256(data).hexdigest()
        # Refused and failed uploads leave nothing behind (no partial files).
        fake.max_upload_size = 1
        assert (await put(sdk, mode, item.upload_url, data)).status_code == 413
        assert sorted(p.name for p in (tmp_path / "spool").rglob("*") if p.is_file()) == ["video.mp4"]


async def test_keep_content_false_keeps_only_size_and_hash(sdk: Flavor) -> None:
    with FakeMagicHour(keep_content=False) as fake:
        mode = Mode("transport", fake, None)
        item = (await presign(sdk, mode)).items[0]
        assert (await put(sdk, mode, item.upload_url, b"abc")).status_code == 200
        stored = fake.file(item.file_path)
        assert (stored.size, stored.sha256, stored.content, stored.path) == (
            3,
            hashlib.sha256(b"abc").hexdigest(),
            None,
            None,
        )
        with pytest.raises(LookupError, match="keep_content=False"):
            stored.read_bytes()


def test_file_lookup_names_what_is_stored(fake: FakeMagicHour) -> None:
    with pytest.raises(KeyError, match=r"'api-assets/x/video.mp4' is not stored; stored: \[\]"):
        fake.file("api-assets/x/video.mp4")


async def test_signature_is_an_hmac_over_path_and_expiry(sdk: Flavor, mode: Mode) -> None:
    """Two fakes have different secrets: a URL of one is refused by the other."""
    item = (await presign(sdk, mode)).items[0]
    other = FakeMagicHour()
    other_mode = Mode("transport", other, None)
    url = item.upload_url.replace(mode.storage_prefix, other_mode.storage_prefix)
    response = await put(sdk, other_mode, url)
    assert (response.status_code, xml_code(response)) == (403, "SignatureDoesNotMatch")
    # ...and the signature does not depend on the host, only on path + expiry.
    query = httpx.URL(item.upload_url).params
    assert not hmac.compare_digest(query["X-Signature"], "0" * 64)


# ---------------------------------------------------------------------------------------- fault knobs


async def test_fail_next_upload_urls_with_retry_after(sdk: Flavor, mode: Mode) -> None:
    mode.fake.fail_next("upload_urls", 429, times=2, headers={"Retry-After": "0"})
    with pytest.raises(RateLimitError) as info:
        await presign(sdk, mode)
    assert info.value.response.headers["retry-after"] == "0"
    assert info.value.body == {"message": "Too Many Requests"}
    # The second failure is still armed; a client that retries gets through on the third attempt.
    res = await presign(sdk, mode, max_retries=2)
    assert len(res.items) == 1
    assert [(r.status, r.fault) for r in mode.fake.requests] == [(429, "fail"), (429, "fail"), (200, None)]


async def test_fail_next_queues_in_order_with_custom_bodies(sdk: Flavor, mode: Mode) -> None:
    mode.fake.fail_next("upload_urls", 500, body={"message": "boom"})
    mode.fake.fail_next("upload_urls", 502, body="bad gateway")
    with pytest.raises(InternalServerError) as first:
        await presign(sdk, mode)
    assert (first.value.status_code, first.value.body) == (500, {"message": "boom"})
    with pytest.raises(InternalServerError) as second:
        await presign(sdk, mode)
    assert (second.value.status_code, second.value.body) == (502, "bad gateway")
    assert len((await presign(sdk, mode)).items) == 1


async def test_fail_next_storage(sdk: Flavor, mode: Mode) -> None:
    item = (await presign(sdk, mode)).items[0]
    mode.fake.fail_next("storage", 503, headers={"Retry-After": "1"})
    response = await put(sdk, mode, item.upload_url)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert xml_code(response) == "SlowDown"
    assert mode.fake.files == {}
    mode.fake.fail_next("storage", 500, body=b"<Error><Code>InternalError</Code></Error>")
    response = await put(sdk, mode, item.upload_url)
    assert (response.status_code, response.content) == (500, b"<Error><Code>InternalError</Code></Error>")
    assert (await put(sdk, mode, item.upload_url)).status_code == 200
    assert [r.status for r in mode.fake.requests_to("storage")] == [503, 500, 200]


async def test_fail_next_only_counts_its_route(sdk: Flavor, mode: Mode) -> None:
    mode.fake.fail_next("storage", 500)
    assert len((await presign(sdk, mode)).items) == 1  # upload-urls is not affected
    item = mode.fake.issued[0]
    assert (await put(sdk, mode, item.upload_url)).status_code == 500


async def test_per_file_faults_hit_each_file_the_same_way(sdk: Flavor, mode: Mode) -> None:
    """Concurrent uploads arrive in any order: per_file knobs fail the first N PUTs of every file."""
    fake = mode.fake
    fake.fail_next("storage", 503, times=1, per_file=True)
    fake.drop_next_uploads(times=1, after_bytes=2, per_file=True)
    items = (await presign(sdk, mode, [{"extension": "mp4", "type_": "video"}] * 2)).items
    outcomes: List[Any] = []
    # Interleave the two files: a, b, b, a, a, b.
    for item in (items[0], items[1], items[1], items[0], items[0], items[1]):
        try:
            outcomes.append((await put(sdk, mode, item.upload_url, b"data")).status_code)
        except httpx.TransportError:
            outcomes.append("dropped")
    assert outcomes == [503, 503, "dropped", "dropped", 200, 200]
    # Still armed for files issued later, until reset_faults().
    later = (await presign(sdk, mode)).items[0]
    assert (await put(sdk, mode, later.upload_url, b"x")).status_code == 503
    fake.reset_faults()
    assert (await put(sdk, mode, later.upload_url, b"x")).status_code == 200


async def test_latency_delays_each_request(sdk: Flavor, mode: Mode) -> None:
    mode.fake.set_latency(0.15, route="upload_urls")
    start = time.perf_counter()
    item = (await presign(sdk, mode)).items[0]
    assert time.perf_counter() - start >= 0.15
    mode.fake.set_latency(60, route="upload_urls")  # the route's latency, not the storage's:
    start = time.perf_counter()
    assert (await put(sdk, mode, item.upload_url)).status_code == 200
    assert time.perf_counter() - start < 30  # a PUT that waited for it would take a minute
    mode.fake.set_latency(0.1)  # every route
    start = time.perf_counter()
    assert (await put(sdk, mode, item.upload_url)).status_code == 200
    assert time.perf_counter() - start >= 0.1


async def test_latency_beyond_the_timeout_times_out(sdk: Flavor, mode: Mode) -> None:
    # A first call outside the clock: the first call of a process imports and compiles what later calls
    # reuse (0.7 s in the transport mode when this test ran first, against < 0.25 s). The answer then
    # comes 1 s late and the client gives up long before, with room for a loaded machine.
    await presign(sdk, mode)
    issued = len(mode.fake.issued)
    mode.fake.set_latency(1.0)
    start = time.perf_counter()
    with pytest.raises(ApiTimeoutError):
        await presign(sdk, mode, timeout=0.05)
    assert time.perf_counter() - start < 0.8
    assert len(mode.fake.issued) == issued or mode.name == "server"  # the server may still answer, too late


async def test_drop_next_uploads_drops_the_connection_mid_body(sdk: Flavor, mode: Mode) -> None:
    item = (await presign(sdk, mode)).items[0]
    mode.fake.drop_next_uploads(after_bytes=1000)
    data = b"d" * 200_000
    with pytest.raises(httpx.TransportError):
        await put(sdk, mode, item.upload_url, data)
    record = mode.fake.requests_to("storage")[0]
    assert (record.status, record.fault, record.body_size) == (None, "drop", 1000)
    assert mode.fake.files == {}
    # One drop only: the next PUT goes through, even on a fresh connection.
    assert (await put(sdk, mode, item.upload_url, data)).status_code == 200
    assert mode.fake.file(item.file_path).size == len(data)


async def test_drop_defaults_to_half_the_body(sdk: Flavor, mode: Mode) -> None:
    item = (await presign(sdk, mode)).items[0]
    mode.fake.drop_next_uploads(times=2)
    for _ in range(2):
        with pytest.raises(httpx.TransportError):
            await put(sdk, mode, item.upload_url, b"h" * 5000)
    assert [r.body_size for r in mode.fake.requests_to("storage")] == [2500, 2500]
    assert (await put(sdk, mode, item.upload_url, b"h")).status_code == 200


async def test_malformed_json_on_200(sdk: Flavor, mode: Mode) -> None:
    mode.fake.malformed_next_responses()
    with pytest.raises(ApiResponseValidationError) as info:
        await presign(sdk, mode)
    assert info.value.status_code == 200
    assert isinstance(info.value.body, str) and info.value.body.startswith('{"items": [')
    assert mode.fake.requests[0].fault == "malformed_json"
    assert len((await presign(sdk, mode)).items) == 1


@pytest.mark.parametrize("delta", [-1, 1, 2])
async def test_wrong_item_count(sdk: Flavor, mode: Mode, delta: int) -> None:
    mode.fake.wrong_item_count_next(delta=delta)
    items = [{"extension": "mp4", "type_": "video"}, {"extension": "png", "type_": "image"}]
    res = await presign(sdk, mode, items)
    assert len(res.items) == 2 + delta
    assert mode.fake.requests[0].fault == "wrong_item_count"
    assert len((await presign(sdk, mode, items)).items) == 2


async def test_reset_faults_and_reset(sdk: Flavor, mode: Mode) -> None:
    fake = mode.fake
    fake.fail_next("upload_urls", 500)
    fake.fail_next("storage", 500)
    fake.set_latency(5)
    fake.expire_next_urls()
    fake.drop_next_uploads()
    fake.malformed_next_responses()
    fake.wrong_item_count_next()
    fake.reset_faults()
    item = (await presign(sdk, mode)).items[0]
    assert (await put(sdk, mode, item.upload_url)).status_code == 200
    assert len(fake.requests) == 2 and len(fake.files) == 1 and len(fake.issued) == 1
    fake.reset()
    assert (fake.requests, fake.files, fake.issued) == ([], {}, [])


@pytest.mark.parametrize(
    ("call", "param"),
    [
        (lambda f: f.fail_next("uploads", 500), "route"),
        (lambda f: f.fail_next("storage", 99), "status"),
        (lambda f: f.fail_next("storage", 500, times=0), "times"),
        (lambda f: f.fail_next("storage", 500, body=42), "body"),
        (lambda f: f.fail_next("upload_urls", 500, per_file=True), "per_file"),
        (lambda f: f.set_latency(-1), "seconds"),
        (lambda f: f.set_latency(1, route="apis"), "route"),
        (lambda f: f.expire_next_urls(times=True), "times"),
        (lambda f: f.advance_clock("1h"), "seconds"),
        (lambda f: f.drop_next_uploads(after_bytes=-1), "after_bytes"),
        (lambda f: f.malformed_next_responses(times=-2), "times"),
        (lambda f: f.wrong_item_count_next(delta=0), "delta"),
        (lambda f: f.requests_to("nope"), "route"),
        (lambda f: FakeMagicHour(tokens=[]), "tokens"),
        (lambda f: FakeMagicHour(tokens=""), "tokens"),
        (lambda f: FakeMagicHour(max_upload_size=0), "max_upload_size"),
        (lambda f: FakeMagicHour(url_ttl=-5), "url_ttl"),
        (lambda f: FakeMagicHour(max_items=0), "max_items"),
        (lambda f: f.serve(port=70000), "port"),
    ],
)
def test_bad_knob_arguments_raise_a_typed_error(fake: FakeMagicHour, call: Any, param: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        call(fake)
    assert info.value.param == param
    assert "allowed:" in str(info.value)


# ---------------------------------------------------------------------------------------- front-ends


async def test_transport_refuses_other_hosts(sdk: Flavor, fake: FakeMagicHour) -> None:
    http = sdk.httpx_client(transport=fake.transport())
    with pytest.raises(httpx.ConnectError, match=r"unknown host 'api\.magichour\.ai'"):
        await sdk.call(http.post, "https://api.magichour.ai/v1/files/upload-urls")
    assert fake.requests == []


async def test_transport_opens_no_socket(
    sdk: Flavor, fake: FakeMagicHour, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_sockets(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the transport mode opened a socket")

    monkeypatch.setattr(socket.socket, "connect", no_sockets)
    monkeypatch.setattr(socket, "create_connection", no_sockets)
    monkeypatch.setattr(socket, "getaddrinfo", no_sockets)
    mode = Mode("transport", fake, None)
    item = (await presign(sdk, mode)).items[0]
    assert (await put(sdk, mode, item.upload_url, b"offline")).status_code == 200
    assert fake.file(item.file_path).content == b"offline"


async def test_client_helpers(sdk: Flavor, fake: FakeMagicHour) -> None:
    client = fake.async_client(max_retries=0) if sdk.is_async else fake.client(max_retries=0)
    async with sdk.session(client):
        assert client.base_url == fake.base_url == "https://api.magichour.test"
        res = await sdk.create(client)
    assert len(res.items) == 2
    with fake.serve() as server:
        client = server.async_client() if sdk.is_async else server.client()
        async with sdk.session(client):
            assert client.base_url == server.url == server.base_url
            res = await sdk.create(client)
        assert res.items[0].upload_url.startswith(server.storage_url + "/api-assets/")


async def test_transport_raw_httpx_helpers(fake: FakeMagicHour) -> None:
    with fake.httpx_client() as http:
        response = http.post(
            fake.base_url + "/v1/files/upload-urls",
            headers={"Authorization": "Bearer test-token"},
            json={"items": [{"extension": "mp4", "type": "video"}]},
        )
        assert response.status_code == 200
    async with fake.async_httpx_client() as ahttp:
        response = await ahttp.put(response.json()["items"][0]["upload_url"], content=b"x")
        assert response.status_code == 200


def _raw_http(server: FakeServer, data: bytes, *, responses: int = 1, shut_write: bool = False) -> bytes:
    """Send raw bytes to the server and read ``responses`` complete responses (or until it closes)."""
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(data)
        if shut_write:
            sock.shutdown(socket.SHUT_WR)
        buf = b""
        done = 0
        pos = 0
        while done < responses:
            head_end = buf.find(b"\r\n\r\n", pos)
            if head_end >= 0:
                match = re.search(rb"(?i)\r\ncontent-length: *(\d+)", buf[pos:head_end])
                end = head_end + 4 + (int(match.group(1)) if match else 0)
                if len(buf) >= end:
                    done, pos = done + 1, end
                    continue
            chunk = sock.recv(65536)
            if not chunk:
                break
            buf += chunk
        return buf


def test_server_keep_alive_serves_pipelined_requests_on_one_connection(fake: FakeMagicHour) -> None:
    with fake.serve() as server:
        body = json.dumps({"items": [{"extension": "mp4", "type": "video"}]}).encode()
        one = (
            b"POST /v1/files/upload-urls HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer test-token\r\n"
            b"Content-Type: application/json\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )
        answer = _raw_http(server, one + one, responses=2)
        assert answer.count(b"HTTP/1.1 200 OK") == 2
    assert [r.status for r in fake.requests] == [200, 200]


def test_server_missing_content_length_is_refused_with_411(fake: FakeMagicHour) -> None:
    with fake.serve() as server, server.client(max_retries=0) as client:
        item = client.v1.files.upload_urls.create(items=[{"extension": "mp4", "type_": "video"}]).items[0]
        target = item.upload_url[len(server.url) :]
        answer = _raw_http(server, f"PUT {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert answer.startswith(b"HTTP/1.1 411 ")
        assert b"<Code>MissingContentLength</Code>" in answer


async def test_transport_missing_content_length_is_refused_with_411(sdk: Flavor, fake: FakeMagicHour) -> None:
    mode = Mode("transport", fake, None)
    item = (await presign(sdk, mode)).items[0]
    http = mode.http(sdk)
    request = http.build_request("PUT", item.upload_url)
    del request.headers["Content-Length"]
    response = await sdk.call(http.send, request)
    assert (response.status_code, xml_code(response)) == (411, "MissingContentLength")


async def test_transport_body_shorter_than_content_length_is_400(sdk: Flavor, fake: FakeMagicHour) -> None:
    mode = Mode("transport", fake, None)
    item = (await presign(sdk, mode)).items[0]
    response = await put(sdk, mode, item.upload_url, b"abc", headers={"Content-Length": "10"})
    assert (response.status_code, xml_code(response)) == (400, "IncompleteBody")
    assert fake.files == {}


def test_server_on_ipv6_loopback(fake: FakeMagicHour) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        server = fake.serve(host="::1")
    except OSError as exc:
        pytest.skip(f"cannot bind ::1: {exc}")
    with server, server.client(max_retries=0) as client:
        assert server.url.startswith("http://[::1]:")
        item = client.v1.files.upload_urls.create(items=[{"extension": "mp4", "type_": "video"}]).items[0]
        with httpx.Client() as http:
            assert http.put(item.upload_url, content=b"v6").status_code == 200
    assert fake.file(item.file_path).content == b"v6"


def test_server_client_vanishing_mid_body_stores_nothing(fake: FakeMagicHour) -> None:
    with fake.serve() as server, server.client(max_retries=0) as client:
        item = client.v1.files.upload_urls.create(items=[{"extension": "mp4", "type_": "video"}]).items[0]
        target = item.upload_url[len(server.url) :]
        head = f"PUT {target} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n".encode()
        assert _raw_http(server, head + b"x" * 10, shut_write=True) == b""
        deadline = time.time() + 5
        while fake.requests[-1].body_size < 10 and time.time() < deadline:
            time.sleep(0.01)
        time.sleep(0.05)
        assert fake.requests[-1].status is None
        assert fake.files == {}


def test_server_prints_nothing_and_stops_cleanly(
    fake: FakeMagicHour, capfd: pytest.CaptureFixture[str]
) -> None:
    server = fake.serve()
    assert server.running and repr(server) == f"FakeServer({server.url}, running)"
    with server.client(max_retries=0) as client:
        client.v1.files.upload_urls.create(items=[{"extension": "mp4", "type_": "video"}])
        with httpx.Client() as http:
            http.put(server.url + "/storage/x", content=b"1")  # a refused request
            http.get(server.url + "/nope")
    server.stop()
    server.stop()  # idempotent
    assert not server.running
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")
    with pytest.raises(httpx.ConnectError), httpx.Client() as http:
        http.get(server.url + "/")


def test_server_answers_500_and_keeps_the_exception_when_handling_fails(
    fake: FakeMagicHour, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    with fake.serve() as server:
        monkeypatch.setattr(UploadUrls, "answer", broken)
        with server.client(max_retries=0) as client, pytest.raises(InternalServerError) as info:
            client.v1.files.upload_urls.create(items=[{"extension": "mp4", "type_": "video"}])
        assert info.value.body == {"message": "FakeMagicHour internal error: RuntimeError"}
        assert [str(e) for e in server.errors] == ["boom"]


def test_fake_close_stops_its_servers(fake: FakeMagicHour) -> None:
    first, second = fake.serve(), fake.serve()
    assert first.url != second.url
    fake.close()
    assert not first.running and not second.running


async def test_concurrent_uploads_are_all_recorded(sdk: Flavor, mode: Mode) -> None:
    """Many uploads at once (threads for sync, tasks for async): records and files stay consistent."""
    import anyio

    n = 16
    items = (await presign(sdk, mode, [{"extension": "png", "type_": "image"}] * n)).items
    http = mode.http(sdk)
    statuses: List[int] = []

    async def one(i: int) -> None:
        data = str(i).encode() * 5000
        if sdk.is_async:
            response = await http.put(items[i].upload_url, content=data)
        else:
            response = await anyio.to_thread.run_sync(lambda: http.put(items[i].upload_url, content=data))
        statuses.append(response.status_code)

    async with anyio.create_task_group() as tg:
        for i in range(n):
            tg.start_soon(one, i)
    assert statuses == [200] * n
    assert len(mode.fake.requests_to("storage")) == n
    for i, item in enumerate(items):
        assert mode.fake.file(item.file_path).content == str(i).encode() * 5000


# ---------------------------------------------------------------------------------------- reprs


async def test_reprs_hide_the_token_and_the_signature(sdk: Flavor, mode: Mode) -> None:
    item = (await presign(sdk, mode)).items[0]
    await put(sdk, mode, item.upload_url)
    signature = httpx.URL(item.upload_url).params["X-Signature"]
    texts = [repr(mode.fake), *map(repr, mode.fake.requests), *map(repr, mode.fake.issued)]
    texts += [repr(f) for f in mode.fake.files.values()]
    for text in texts:
        assert mode.fake.token not in text
        assert signature not in text
    assert "?<redacted>" in repr(mode.fake.requests[1])


def test_a_recorded_request_shows_its_url_without_secrets() -> None:
    # One URL shower for the package (_redact.safe_url): credentials and the signed query go.
    from magic_hour.testing import RecordedRequest

    request = RecordedRequest(
        method="PUT",
        url="https://u:h1dden@storage.example/api-assets/a.mp4?X-Signature=h1dden",
        path="/api-assets/a.mp4",
        query={"X-Signature": "h1dden"},
        headers=httpx.Headers(),
        route="storage",
        request_id="r",
        time=0.0,
    )
    assert repr(request) == (
        "RecordedRequest(PUT https://storage.example/api-assets/a.mp4?<redacted>, status=None, body_size=0)"
    )
