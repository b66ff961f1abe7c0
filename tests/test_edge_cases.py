"""Edge cases found in review: each test fails without its fix (sync and async where it applies)."""

from __future__ import annotations

import gzip
import io
import pathlib
from typing import Any, Iterator, List

import httpx
import pytest
import respx

from magic_hour import (
    ApiConnectionError,
    ClientClosedError,
    InvalidFileError,
    InvalidParameterError,
    UploadError,
    UploadProgress,
)
from magic_hour._core.retry import parse_retry_after
from magic_hour._upload.flow import storage_error_detail
from magic_hour.testing import FakeMagicHour

pytestmark = pytest.mark.anyio


@pytest.fixture
def served() -> Iterator[Any]:
    fake = FakeMagicHour()
    with fake.serve() as server:
        yield server


async def test_the_same_file_object_twice_is_refused_before_any_request(
    sdk: Any, api: respx.MockRouter
) -> None:
    f = io.BytesIO(b"x" * 1000)
    f.name = "a.mp4"  # type: ignore[attr-defined]
    with pytest.raises(InvalidFileError, match=r"same file object as files\[0\]"):
        await sdk.call(sdk.client().v1.files.upload_files, [f, "https://example.com/b.png", f])
    assert not api.calls


def _bad_gzip() -> httpx.Response:
    # A stream, so that httpx decodes it when the client reads it (not when the mock builds it).
    return httpx.Response(200, headers={"Content-Encoding": "gzip"}, stream=httpx.ByteStream(b"not gzip"))


async def test_a_body_that_fails_to_decode_is_a_typed_error(
    sdk: Any, api: respx.MockRouter, sleeps: List[float]
) -> None:
    route = api.post("/v1/files/upload-urls").mock(side_effect=lambda request: _bad_gzip())
    with pytest.raises(ApiConnectionError):
        await sdk.create(sdk.client(max_retries=1))
    assert route.call_count == 2


async def test_a_storage_body_that_fails_to_decode_fails_only_that_file(
    sdk: Any, api: respx.MockRouter, upload_urls: respx.Route, tmp_path: pathlib.Path, sleeps: List[float]
) -> None:
    good = gzip.compress(b"ok")

    def storage(request: httpx.Request) -> httpx.Response:
        request.read()
        if request.url.path.endswith("0-video.mp4"):
            return _bad_gzip()
        return httpx.Response(200, content=good, headers={"Content-Encoding": "gzip"})

    api.route(method="PUT", host="videos.magichour.ai").mock(side_effect=storage)
    paths = []
    for i in range(3):
        (tmp_path / f"{i}.mp4").write_bytes(b"v" * 100)
        paths.append(tmp_path / f"{i}.mp4")
    with pytest.raises(UploadError) as info:
        await sdk.call(sdk.client().v1.files.upload_files, paths, max_concurrency=1)
    assert [r.ok for r in info.value.results] == [False, True, True]
    assert isinstance(info.value.results[0].error, ApiConnectionError)


@pytest.mark.parametrize("value", ["Mon, 01 Jan 99999 00:00:00 GMT", "soon", ""])
def test_retry_after_dates_that_cannot_exist_are_ignored(value: str) -> None:
    assert parse_retry_after({"retry-after": value}) is None


async def test_a_file_that_grows_during_upload_is_not_stored_truncated(
    sdk: Any, served: Any, tmp_path: pathlib.Path
) -> None:
    src = tmp_path / "growing.mp4"
    src.write_bytes(b"a" * (3 * 1024 * 1024))
    grown = False

    def grow(event: UploadProgress) -> None:
        nonlocal grown
        if event.bytes_sent and not grown:
            grown = True
            with open(src, "ab") as f:
                f.write(b"b" * 1024)

    client = sdk.client(base_url=served.url, token=served.fake.token)
    with pytest.raises(InvalidFileError, match="does not change"):
        await sdk.call(client.v1.files.upload_file, src, on_progress=grow)
    assert served.fake.files == {}, "nothing may be stored for a file that changed"


@pytest.mark.parametrize(
    "base_url", ["https://api.example.com/?", "https://api.example.com/#", "https://x.test?a=1"]
)
def test_base_url_with_an_empty_query_or_fragment_is_refused(base_url: str) -> None:
    from magic_hour import Client

    with pytest.raises(InvalidParameterError, match="base_url"):
        Client(token="t", base_url=base_url)


async def test_a_client_closed_over_a_borrowed_httpx_client_refuses_calls(
    sdk: Any, api: respx.MockRouter, upload_urls: respx.Route
) -> None:
    lent = sdk.httpx_client()
    client = sdk.client(httpx_client=lent)
    await sdk.create(client)
    await sdk.close(client)
    assert client.is_closed
    assert not lent.is_closed, "a borrowed httpx client is never closed by us"
    with pytest.raises(ClientClosedError):
        await sdk.create(client)
    assert upload_urls.call_count == 1


def test_storage_errors_hide_signature_parameters_quoted_without_a_query() -> None:
    response = httpx.Response(
        403, text="denied: X-Amz-Signature=deadbeef&X-Amz-Credential=AKIAXX/2024 (token=abc)"
    )
    detail = storage_error_detail(response)
    for secret in ("deadbeef", "AKIAXX", "abc)"):
        assert secret not in detail
    assert "X-Amz-Signature=<redacted>" in detail


async def test_a_represign_that_gets_no_answer_is_a_typed_error(
    sdk: Any, api: respx.MockRouter, tmp_path: pathlib.Path
) -> None:
    # The first presign hands out a URL that has already expired, so the upload asks for a new one;
    # that call gets no answer. The caller must see ApiConnectionError, not an AttributeError from the
    # flow taking the error for a new upload target (our errors are also httpx.TransportErrors).
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"x" * 100)
    expired = {
        "items": [
            {
                "expires_at": "2000-01-01T00:00:00Z",
                "file_path": "api-assets/id/clip.mp4",
                "upload_url": "https://videos.magichour.ai/api-assets/id/clip.mp4?auth-value=1",
            }
        ]
    }
    route = api.post("/v1/files/upload-urls")
    route.side_effect = [httpx.Response(200, json=expired), httpx.ConnectError("refused")]
    client = sdk.client(max_retries=0)
    with pytest.raises(ApiConnectionError, match="upload-urls"):
        await sdk.call(client.v1.files.upload_file, str(path))
    assert route.call_count == 2
