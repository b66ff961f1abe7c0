"""Issue 10: code written for the official ``magic-hour`` 0.90.0 runs unchanged on ours.

Each test body is written as a user of the official package writes code: public calls, ``except``
clauses and file objects, no knowledge of our internals. Only the set-up (a client wired to the offline
fake) is ours. Every test runs on ``Client`` and ``AsyncClient`` (the ``sdk`` fixture).
"""

from __future__ import annotations

import io
import os
import pathlib
from typing import Any, Iterator

import pytest

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
    return sdk.client(token=fake.token, base_url=fake.base_url, httpx_client=lent, **kwargs)


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
