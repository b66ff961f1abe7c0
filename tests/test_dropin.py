"""Issue 10: code written for the official ``magic-hour`` 0.90.0 runs unchanged on ours.

Each test body is written as a user of the official package writes code: public calls, ``except``
clauses and file objects, no knowledge of our internals. Only the set-up (a client wired to the offline
fake) is ours. Every test runs on ``Client`` and ``AsyncClient`` (the ``sdk`` fixture).
"""

from __future__ import annotations

import io
import os
import pathlib
import socket
from typing import Any, Iterator, List

import httpx
import pytest

from magic_hour import ApiError
from magic_hour.testing import FakeMagicHour

pytestmark = pytest.mark.anyio

DATA = bytes(range(100))


@pytest.fixture
def fake() -> Iterator[FakeMagicHour]:
    with FakeMagicHour() as fake:
        yield fake


def wired(sdk: Any, fake: FakeMagicHour, **kwargs: Any) -> Any:
    """A client of the test's flavor whose API and storage are the fake (no sockets)."""
    lent = sdk.httpx_client(transport=fake.transport())
    kwargs.setdefault("token", fake.token)
    return sdk.client(base_url=fake.base_url, httpx_client=lent, **kwargs)


def named(data: bytes, name: str) -> io.BytesIO:
    f = io.BytesIO(data)
    f.name = name  # type: ignore[attr-defined]
    return f


class Pipe(io.RawIOBase):
    """A stream that cannot seek but knows its length (a socket or pipe with a known size)."""

    def __init__(self, data: bytes, name: str = "stream.mp4") -> None:
        self._buf = io.BytesIO(data)
        self._size = len(data)
        self.name = name

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, b: Any) -> int:
        data = self._buf.read(len(b))
        b[: len(data)] = data
        return len(data)

    def __len__(self) -> int:
        return self._size


# --------------------------------------------------------------------------------------------------- data


async def test_a_bytesio_read_to_the_end_uploads_whole_and_stays_at_the_end(
    sdk: Any, fake: FakeMagicHour
) -> None:
    client = wired(sdk, fake)
    f = named(DATA, "photo.png")
    f.read()
    file_path = await sdk.call(client.v1.files.upload_file, f)
    assert fake.file(file_path).content == DATA
    assert f.tell() == len(DATA)


async def test_an_open_file_after_read_uploads_whole_and_keeps_its_position(
    sdk: Any, fake: FakeMagicHour, tmp_path: pathlib.Path
) -> None:
    client = wired(sdk, fake)
    (tmp_path / "clip.mp4").write_bytes(DATA)
    with open(tmp_path / "clip.mp4", "rb") as f:
        header = f.read(30)
        file_path = await sdk.call(client.v1.files.upload_file, f)
        assert f.tell() == 30 and f.read(10) == DATA[30:40] and header == DATA[:30]
    assert fake.file(file_path).content == DATA


async def test_upload_files_uploads_each_file_object_whole(sdk: Any, fake: FakeMagicHour) -> None:
    client = wired(sdk, fake)
    a, b = named(DATA, "a.png"), named(DATA[::-1], "b.mp3")
    a.seek(10)
    b.seek(0, os.SEEK_END)
    paths = await sdk.call(client.v1.files.upload_files, [a, b])
    assert [fake.file(p).content for p in paths] == [DATA, DATA[::-1]]
    assert (a.tell(), b.tell()) == (10, len(DATA))


async def test_the_position_comes_back_when_the_storage_refuses(sdk: Any, fake: FakeMagicHour) -> None:
    client = wired(sdk, fake, max_retries=0)
    f = named(DATA, "clip.mp4")
    f.seek(42)
    fake.fail_next("storage", 403)
    with pytest.raises(Exception):  # noqa: B017 (any error: the point is the position)
        await sdk.call(client.v1.files.upload_file, f)
    assert f.tell() == 42
    assert len(fake.requests_to("storage")) == 1  # it failed while sending, not before


async def test_the_position_comes_back_when_the_api_refuses(sdk: Any, fake: FakeMagicHour) -> None:
    client = wired(sdk, fake, max_retries=0)
    f = named(DATA, "clip.mp4")
    f.seek(7)
    fake.fail_next("upload_urls", 401)
    with pytest.raises(Exception):  # noqa: B017
        await sdk.call(client.v1.files.upload_file, f)
    assert f.tell() == 7


async def test_a_stream_that_cannot_seek_is_refused_before_any_request(sdk: Any, fake: FakeMagicHour) -> None:
    client = wired(sdk, fake)
    with pytest.raises(ValueError, match="from_current_position=True") as info:
        await sdk.call(client.v1.files.upload_file, Pipe(DATA))
    assert "not seekable" in str(info.value) and "stream.mp4" in str(info.value)
    assert fake.requests == []


async def test_a_real_pipe_is_refused_before_any_request(sdk: Any, fake: FakeMagicHour) -> None:
    client = wired(sdk, fake)
    r, w = os.pipe()
    with os.fdopen(r, "rb") as reader, os.fdopen(w, "wb") as writer:
        writer.write(DATA)
        writer.flush()
        with pytest.raises(ValueError, match="not seekable"):
            await sdk.call(client.v1.files.upload_file, reader, extension="mp4")
        # Vouching for its position is not enough: a pipe has no length, and pre-signed PUTs need one.
        with pytest.raises(ValueError, match="length"):
            await sdk.call(client.v1.files.upload_file, reader, extension="mp4", from_current_position=True)
    assert fake.requests == []


async def test_a_stream_vouched_for_is_uploaded_from_where_it_is(sdk: Any, fake: FakeMagicHour) -> None:
    client = wired(sdk, fake)
    file_path = await sdk.call(client.v1.files.upload_file, Pipe(DATA), from_current_position=True)
    assert fake.file(file_path).content == DATA
    [path] = await sdk.call(client.v1.files.upload_files, [Pipe(DATA[:5])], from_current_position=True)
    assert fake.file(path).content == DATA[:5]


async def test_from_current_position_on_a_seekable_file_uploads_the_rest(
    sdk: Any, fake: FakeMagicHour
) -> None:
    client = wired(sdk, fake)
    f = named(DATA, "clip.mp4")
    f.seek(60)
    file_path = await sdk.call(client.v1.files.upload_file, f, from_current_position=True)
    assert fake.file(file_path).content == DATA[60:]
    assert f.tell() == 60


@pytest.mark.parametrize("value", ["yes", 1, None])
async def test_from_current_position_takes_a_bool(sdk: Any, fake: FakeMagicHour, value: Any) -> None:
    client = wired(sdk, fake)
    with pytest.raises(ValueError, match="from_current_position"):
        await sdk.call(client.v1.files.upload_file, named(DATA, "a.png"), from_current_position=value)
    assert fake.requests == []


# ------------------------------------------------------------------------------------------------- errors
# The official package raises builtin and httpx exceptions; an `except` clause written for them must
# catch ours. No test names one of our classes.


async def test_a_missing_path_is_a_file_not_found_error(
    sdk: Any, fake: FakeMagicHour, tmp_path: pathlib.Path
) -> None:
    client = wired(sdk, fake)
    missing = str(tmp_path / "nope.mp4")
    with pytest.raises(FileNotFoundError) as info:
        await sdk.call(client.v1.files.upload_file, missing)
    assert str(info.value).startswith(f"File not found: {missing}")
    with pytest.raises(FileNotFoundError, match="File not found: "):
        await sdk.call(client.v1.files.upload_files, [missing])
    assert fake.requests == []


async def test_a_dangling_symlink_is_a_file_not_found_error(
    sdk: Any, fake: FakeMagicHour, tmp_path: pathlib.Path
) -> None:
    client = wired(sdk, fake)
    link = tmp_path / "clip.mp4"
    link.symlink_to(tmp_path / "gone.mp4")
    with pytest.raises(FileNotFoundError, match=f"File not found: {link}"):
        await sdk.call(client.v1.files.upload_file, str(link))
    with pytest.raises(FileNotFoundError):
        await sdk.call(client.v1.files.upload_file, link)  # a pathlib.Path too
    assert fake.requests == []


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda d: str(d / "notes.txt"), "Could not determine file type"),
        (lambda d: io.BytesIO(b"data"), "File-like object must have a 'name' attribute of type str"),
        (lambda d: named(b"data", 123), "File-like object must have a 'name' attribute of type str"),  # type: ignore[arg-type]
        (lambda d: 42, "file"),
    ],
    ids=["extension", "nameless", "int-name", "not-a-file"],
)
async def test_what_cannot_be_uploaded_is_a_value_error(
    sdk: Any, fake: FakeMagicHour, tmp_path: pathlib.Path, make: Any, match: str
) -> None:
    (tmp_path / "notes.txt").write_bytes(b"hello")
    client = wired(sdk, fake)
    with pytest.raises(ValueError, match=match):
        await sdk.call(client.v1.files.upload_file, make(tmp_path))
    assert fake.requests == []


@pytest.mark.parametrize("status", [403, 503])
async def test_a_storage_error_status_is_an_http_status_error(
    sdk: Any, fake: FakeMagicHour, sleeps: Any, status: int
) -> None:
    client = wired(sdk, fake)
    fake.fail_next("storage", status, times=3)  # more than the retries (2 by default) for a 503
    with pytest.raises(httpx.HTTPStatusError) as info:
        await sdk.call(client.v1.files.upload_file, named(DATA, "photo.png"))
    assert info.value.response.status_code == status
    assert info.value.request.method == "PUT" and "/api-assets/" in str(info.value.request.url)


async def test_no_response_from_storage_is_an_httpx_transport_error(
    sdk: Any, fake: FakeMagicHour, sleeps: Any
) -> None:
    client = wired(sdk, fake)
    fake.drop_next_uploads(times=3)
    with pytest.raises(httpx.TransportError) as info:
        await sdk.call(client.v1.files.upload_file, named(DATA, "photo.png"))
    assert info.value.request.method == "PUT"
    assert len(fake.requests_to("storage")) == 3  # it was retried first


async def test_no_response_from_the_api_is_caught_by_except_httpx_http_error(sdk: Any, sleeps: Any) -> None:
    with socket.socket() as s:  # a port on this machine that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = sdk.client(base_url=f"http://127.0.0.1:{port}")
    with pytest.raises(httpx.HTTPError) as info:
        await sdk.call(client.v1.files.upload_file, named(DATA, "photo.png"))
    assert isinstance(info.value, httpx.TransportError)
    assert info.value.request.url.host == "127.0.0.1"
    with pytest.raises(httpx.TransportError):
        await sdk.call(client.v1.files.upload_urls.create, items=[{"extension": "mp4", "type_": "video"}])


async def test_fewer_upload_urls_than_files_is_a_value_error(sdk: Any, fake: FakeMagicHour) -> None:
    client = wired(sdk, fake)
    fake.wrong_item_count_next(delta=-1)
    with pytest.raises(ValueError, match="upload URL"):
        await sdk.call(client.v1.files.upload_file, named(DATA, "photo.png"))
    fake.wrong_item_count_next(delta=+1)
    with pytest.raises(ValueError, match="2 upload URLs for 1 file;"):
        await sdk.call(client.v1.files.upload_file, named(DATA, "photo.png"))
    assert fake.requests_to("storage") == []


async def test_api_errors_keep_the_official_attributes(sdk: Any, fake: FakeMagicHour) -> None:
    client = wired(sdk, fake, token="not-the-token")
    with pytest.raises(ApiError) as info:
        await sdk.call(client.v1.files.upload_urls.create, items=[{"extension": "mp4", "type_": "video"}])
    assert info.value.status_code == 401
    assert isinstance(info.value.body, dict) and "message" in info.value.body
    assert info.value.response.status_code == 401


def test_api_error_takes_the_official_constructor() -> None:
    """Test doubles written for the official package build ``ApiError(response=...)``."""
    response = httpx.Response(422, json={"message": "bad extension"})
    err = ApiError(response=response)
    assert (err.status_code, err.body, err.response) == (422, {"message": "bad extension"}, response)
    assert "bad extension" in str(err)
    not_json = ApiError(response=httpx.Response(502, text="<html>bad gateway</html>"))
    assert (not_json.status_code, not_json.body) == (502, None)  # as the official: None when not JSON
    with pytest.raises(TypeError):
        ApiError(httpx.Response(500))  # type: ignore[arg-type]  # keyword-only, as there


def test_errors_with_httpx_bases_survive_pickling(tmp_path: pathlib.Path) -> None:
    """httpx's and OSError's own pickling cannot rebuild these; ours must (process pools)."""
    import pickle

    errors: List[BaseException] = []
    with FakeMagicHour() as fake, fake.client(max_retries=0) as client:
        fake.fail_next("storage", 403)
        fake.drop_next_uploads(times=1)
        for value in (str(tmp_path / "missing.mp4"), named(DATA, "a.png"), named(DATA, "b.png")):
            with pytest.raises(Exception) as info:
                client.v1.files.upload_file(value)
            errors.append(info.value)
    missing, status, transport = (pickle.loads(pickle.dumps(e)) for e in errors)
    assert isinstance(missing, FileNotFoundError) and str(missing) == str(errors[0])
    assert isinstance(status, httpx.HTTPStatusError) and status.response.status_code == 403
    assert status.request.method == "PUT"
    assert isinstance(transport, httpx.TransportError) and transport.request.method == "PUT"


# ------------------------------------------------------------------------------------- what the API takes


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("clip.mp4", ("mp4", "video")),
        ("clip.mov", ("mov", "video")),
        ("clip.webm", ("webm", "video")),  # listed as video and audio: a .webm is most often a video
        ("song.mp3", ("mp3", "audio")),
        ("voice.wav", ("wav", "audio")),
        ("voice.m4a", ("m4a", "audio")),
        ("voice.opus", ("opus", "audio")),
        ("photo.png", ("png", "image")),
        ("photo.JPG", ("jpg", "image")),
        ("photo.jpeg", ("jpeg", "image")),
        ("photo.heic", ("heic", "image")),
        ("photo.webp", ("webp", "image")),
        ("anim.gif", ("gif", "image")),  # as the official SDK (mimetypes: image/gif)
    ],
)
async def test_the_type_is_inferred_from_the_name(
    sdk: Any, fake: FakeMagicHour, tmp_path: pathlib.Path, name: str, expected: Any
) -> None:
    (tmp_path / name).write_bytes(DATA)
    client = wired(sdk, fake)
    file_path = await sdk.call(client.v1.files.upload_file, str(tmp_path / name))
    [presign] = fake.requests_to("upload_urls")
    [item] = presign.json["items"]
    assert (item["extension"], item["type"]) == expected
    assert fake.file(file_path).content == DATA


@pytest.mark.parametrize(
    ("name", "type_"), [("voice.webm", "audio"), ("face.gif", "video"), ("anim.webp", "video")]
)
async def test_type_overrides_the_inference_where_the_api_allows_it(
    sdk: Any, fake: FakeMagicHour, name: str, type_: str
) -> None:
    client = wired(sdk, fake)
    await sdk.call(client.v1.files.upload_file, named(DATA, name), type_=type_)
    [presign] = fake.requests_to("upload_urls")
    assert presign.json["items"][0]["type"] == type_


async def test_mpeg_is_not_in_the_apis_list(sdk: Any, fake: FakeMagicHour) -> None:
    client = wired(sdk, fake)
    with pytest.raises(ValueError, match="Could not determine file type: not in the API's list"):
        await sdk.call(client.v1.files.upload_file, named(DATA, "old.mpeg"))
    assert fake.requests == []


# --------------------------------------------------------------------------------------- names and paths


async def test_the_official_import_paths_name_what_the_clients_are_made_of(sdk: Any) -> None:
    import magic_hour
    from magic_hour import ApiError, AsyncClient, BinaryResponse, Client, Environment
    from magic_hour.client import AsyncClient as ModuleAsyncClient
    from magic_hour.client import Client as ModuleClient
    from magic_hour.resources.v1.files.client import AsyncFilesClient, FilesClient
    from magic_hour.resources.v1.files.upload_urls.client import AsyncUploadUrlsClient, UploadUrlsClient

    assert (ModuleClient, ModuleAsyncClient) == (Client, AsyncClient)
    client = sdk.client(environment=Environment.MOCK_SERVER)
    files_cls, urls_cls = (
        (AsyncFilesClient, AsyncUploadUrlsClient) if sdk.is_async else (FilesClient, UploadUrlsClient)
    )
    assert isinstance(client.v1.files, files_cls)
    assert isinstance(client.v1.files.upload_urls, urls_cls)
    assert issubclass(ApiError, Exception) and BinaryResponse.__name__ == "BinaryResponse"
    assert {"ApiError", "AsyncClient", "BinaryResponse", "Client", "Environment"} <= set(magic_hour.__all__)
