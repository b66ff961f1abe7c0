"""The official package's own tests of ``upload_file`` (``magic_hour/resources/v1/files/client_test.py`` in
the 0.90.0 wheel), reproduced by behaviour on ``Client`` and ``AsyncClient``.

The cases that do not patch httpx are written as there (same inputs, same ``pytest.raises(..., match=)``,
the same ``mock.patch.object`` of ``upload_urls.create`` where they use it). The cases that patch
``httpx.Client.put`` assert what the patched call saw (the URL, the bytes) on the fake storage instead:
our uploads are streamed through the client's pool, not sent with ``put(content=...)``.
"""

from __future__ import annotations

import io
import os
import pathlib
import sys
import tempfile
import types
from typing import Any, Iterator
from unittest import mock

import pytest

from magic_hour.environment import Environment
from magic_hour.testing import FakeMagicHour

pytestmark = pytest.mark.anyio


@pytest.fixture
def fake() -> Iterator[FakeMagicHour]:
    with FakeMagicHour() as fake:
        yield fake


def wired(sdk: Any, fake: FakeMagicHour) -> Any:
    return sdk.client(
        token=fake.token, base_url=fake.base_url, httpx_client=sdk.httpx_client(transport=fake.transport())
    )


def official(sdk: Any) -> Any:
    """The client as the official tests build it (nothing it is used for here reaches the network)."""
    return sdk.client(token="API_TOKEN", environment=Environment.MOCK_SERVER)


def temp_file(suffix: str, data: bytes = b"test data") -> str:
    with tempfile.NamedTemporaryFile(delete=False, suffix=suffix) as tmp:
        tmp.write(data)
        return tmp.name


# ----------------------------------------------------------------------- the cases that do not patch httpx


async def test_upload_file_nonexistent_file(sdk: Any) -> None:
    with pytest.raises(FileNotFoundError, match=r"File not found: /nonexistent/file.mp4"):  # as written there
        await sdk.call(official(sdk).v1.files.upload_file, "/nonexistent/file.mp4")


async def test_upload_file_unsupported_file_type(sdk: Any) -> None:
    path = temp_file(".txt")
    try:
        with pytest.raises(ValueError, match="Could not determine file type"):
            await sdk.call(official(sdk).v1.files.upload_file, path)
    finally:
        os.remove(path)


async def test_upload_file_binary_io_without_name(sdk: Any) -> None:
    file_obj = io.BytesIO(b"test data")
    with pytest.raises(ValueError, match="File-like object must have a 'name' attribute"):
        await sdk.call(official(sdk).v1.files.upload_file, file_obj)


async def test_upload_file_binary_io_with_non_string_name(sdk: Any) -> None:
    file_obj = io.BytesIO(b"test data")
    file_obj.name = 123  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="File-like object must have a 'name' attribute of type str"):
        await sdk.call(official(sdk).v1.files.upload_file, file_obj)


async def test_upload_file_no_upload_url_returned(sdk: Any) -> None:
    path = temp_file(".mp4")
    client = official(sdk)
    new_callable = mock.AsyncMock if sdk.is_async else mock.MagicMock
    try:
        with mock.patch.object(client.v1.files.upload_urls, "create", new_callable=new_callable) as create:
            create.return_value = mock.Mock(items=[])
            with pytest.raises(ValueError, match="No upload URL was returned from the server"):
                await sdk.call(client.v1.files.upload_file, path)
        create.assert_called_once()
    finally:
        os.remove(path)


@pytest.mark.parametrize(
    "value",
    [
        "http://example.com/image.jpg",
        "https://example.com/video.mp4",
        "http://example.com/audio.mp3",
        "https://example.com/document.pdf",  # any URL, whatever its extension
        "https://example.com/image.jpg?token=abc123&expires=1234567890",
        "https://example.com/video.mp4#section",
        "http://example.com/audio.mp3?key=value&another=param",
        "https://cdn.example.com/file.jpg?signed=true&token=xyz",
        "api-assets/user123/image.jpg",
        "api-assets/project456/video.mp4",
        "api-assets/user789/audio.wav",
        "api-assets/session101/photo.png",
    ],
)
async def test_urls_and_blob_paths_come_back_without_any_request(sdk: Any, value: str) -> None:
    client = official(sdk)
    new_callable = mock.AsyncMock if sdk.is_async else mock.MagicMock
    with mock.patch.object(client.v1.files.upload_urls, "create", new_callable=new_callable) as create:
        assert await sdk.call(client.v1.files.upload_file, value) == value
    create.assert_not_called()


# ------------------------------------------------ the cases that patch httpx.Client.put, by their behaviour


@pytest.mark.parametrize(
    ("suffix", "data"), [(".mp4", b"test data"), (".mp3", b"test data"), (".jpg", b"jpg")]
)
async def test_upload_file_local_sends_the_whole_file(
    sdk: Any, fake: FakeMagicHour, suffix: str, data: bytes
) -> None:
    path = temp_file(suffix, data)
    try:
        for value in (path, pathlib.Path(path)):  # str and pathlib.Path
            file_path = await sdk.call(wired(sdk, fake).v1.files.upload_file, value)
            assert file_path.startswith("api-assets/") and file_path.endswith(suffix)
            assert fake.file(file_path).content == data  # put(url=..., content=data)
    finally:
        os.remove(path)


@pytest.mark.parametrize(
    ("name", "data"), [("test.png", b"test image data"), ("test.wav", b"test audio data")]
)
async def test_upload_file_with_binary_io(sdk: Any, fake: FakeMagicHour, name: str, data: bytes) -> None:
    file_obj = io.BytesIO(data)
    file_obj.name = name  # type: ignore[attr-defined]
    file_path = await sdk.call(wired(sdk, fake).v1.files.upload_file, file_obj)
    assert fake.file(file_path).content == data
    [put] = fake.requests_to("storage")
    assert put.url == fake.issued[0].upload_url  # the URL exactly as issued


async def test_upload_file_preserves_file_position(sdk: Any, fake: FakeMagicHour) -> None:
    data = b"test data for position preservation"
    file_obj = io.BytesIO(data)
    file_obj.name = "test.mp4"  # type: ignore[attr-defined]
    file_obj.seek(5)
    file_path = await sdk.call(wired(sdk, fake).v1.files.upload_file, file_obj)
    assert file_obj.tell() == 5
    assert fake.file(file_path).content == data  # full data, not data[5:]


async def test_upload_file_http_error(sdk: Any, fake: FakeMagicHour) -> None:
    path = temp_file(".mp4")
    fake.fail_next("storage", 400)
    try:
        with pytest.raises(Exception, match="400"):
            await sdk.call(wired(sdk, fake).v1.files.upload_file, path)
    finally:
        os.remove(path)
    assert fake.files == {}


@pytest.mark.parametrize(
    ("extension", "expected_type"),
    [
        (".mp4", "video"),
        (".mov", "video"),
        (".webm", "video"),
        (".mp3", "audio"),
        (".wav", "audio"),
        (".png", "image"),
        (".jpg", "image"),
        (".jpeg", "image"),
    ],
)
async def test_upload_different_file_types(
    sdk: Any, fake: FakeMagicHour, extension: str, expected_type: str
) -> None:
    path = temp_file(extension)
    try:
        await sdk.call(wired(sdk, fake).v1.files.upload_file, path)
    finally:
        os.remove(path)
    [presign] = fake.requests_to("upload_urls")
    assert presign.json == {"items": [{"extension": extension[1:], "type": expected_type}]}


# ------------------------------------------------------ the official file itself, where it can run offline

OFFICIAL_VENV = pathlib.Path(
    os.environ.get(
        "MAGIC_HOUR_OFFICIAL_VENV", pathlib.Path(__file__).resolve().parent.parent / ".ci" / ".venv-official"
    )
)
OFFICIAL_TESTS = sorted(
    OFFICIAL_VENV.glob("lib/python3*/site-packages/magic_hour/resources/v1/files/client_test.py")
)

# Every case of the official file that needs no network: the ones above that patch httpx.Client.put with
# a fake response (and ask the hosted mock server for an upload URL first) are reproduced by behaviour.
OFFLINE_CASES = [
    "test_upload_file_nonexistent_file",
    "test_upload_file_unsupported_file_type",
    "test_upload_file_binary_io_without_name",
    "test_upload_file_binary_io_with_non_string_name",
    "test_upload_file_no_upload_url_returned",
    "test_upload_file_with_http_url",
    "test_upload_file_with_https_url",
    "test_async_upload_file_with_http_url",
    "test_async_upload_file_with_https_url",
    "test_upload_file_with_blob_path",
    "test_upload_file_with_blob_path_different_format",
    "test_async_upload_file_with_blob_path",
    "test_async_upload_file_with_blob_path_different_format",
    "test_upload_file_with_url_does_not_make_http_requests",
    "test_upload_file_with_blob_path_does_not_make_http_requests",
    "test_async_upload_file_with_url_does_not_make_http_requests",
    "test_async_upload_file_with_blob_path_does_not_make_http_requests",
    "test_upload_file_with_url_and_query_params",
    "test_upload_file_with_url_and_fragment",
    "test_async_upload_file_with_url_and_query_params",
    "test_upload_file_with_url_and_query_params_does_not_make_http_requests",
]


@pytest.mark.skipif(
    not OFFICIAL_TESTS, reason=f"no official SDK venv at {OFFICIAL_VENV} (run: bash .ci/official_sdk.sh)"
)
@pytest.mark.parametrize("name", OFFLINE_CASES)
async def test_the_official_test_passes_on_ours(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The official file's source, run unchanged with `magic_hour` being this package."""
    import inspect

    import httpx

    import magic_hour

    def no_network(self: Any, request: httpx.Request, **kwargs: Any) -> Any:
        raise AssertionError(f"{name} sent {request.method} {request.url}")

    monkeypatch.setattr(httpx.Client, "send", no_network)
    monkeypatch.setattr(httpx.AsyncClient, "send", no_network)
    # Its `@pytest.mark.asyncio` is pytest-asyncio's marker, unknown here (--strict-markers): the file's
    # `import pytest` gets pytest's raises and a mark that only returns the function; we await it.
    shim = types.SimpleNamespace(raises=pytest.raises, mark=types.SimpleNamespace(asyncio=lambda fn: fn))
    monkeypatch.setitem(sys.modules, "pytest", shim)
    namespace: dict[str, Any] = {"__name__": "official_client_test"}
    exec(compile(OFFICIAL_TESTS[0].read_text(encoding="utf-8"), str(OFFICIAL_TESTS[0]), "exec"), namespace)
    assert namespace["Client"] is magic_hour.Client  # ours, not the official package
    result = namespace[name]()
    if inspect.isawaitable(result):
        await result
