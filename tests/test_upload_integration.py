"""The upload engine against a real storage server on 127.0.0.1 (``magic_hour.testing``), sync and async.

The fake storage checks what S3 checks: exact bytes (sha256), Content-Length framing (no chunked body),
no Authorization header, the signed query intact, and expiry.
"""

from __future__ import annotations

import hashlib
import io
import os
import pathlib
import threading
from typing import Any, Iterator, List

import pytest

from magic_hour import (
    ApiConnectionError,
    ApiTimeoutError,
    AuthenticationError,
    StorageError,
    UploadError,
    UploadProgress,
    UploadUrlsMismatchError,
)
from magic_hour.testing import FakeMagicHour

pytestmark = pytest.mark.anyio


_URLS: dict[int, str] = {}


@pytest.fixture
def fake() -> Iterator[FakeMagicHour]:
    """A fake API + storage, served for real on 127.0.0.1 for the duration of the test."""
    fake = FakeMagicHour()
    with fake.serve() as server:
        _URLS[id(fake)] = server.url
        yield fake
    del _URLS[id(fake)]


def _server_url(fake: FakeMagicHour) -> str:
    return _URLS[id(fake)]


def _client(sdk: Any, fake: FakeMagicHour, **kwargs: Any) -> Any:
    return sdk.client(base_url=_server_url(fake), token=fake.token, **kwargs)


def _write(path: pathlib.Path, size: int, seed: int = 0) -> pathlib.Path:
    data = hashlib.sha256(str(seed).encode()).digest() * (size // 32 + 1)
    path.write_bytes(data[:size])
    return path


def _sha(path: pathlib.Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def test_upload_file_stores_exact_bytes_like_s3_expects(
    sdk: Any, fake: FakeMagicHour, tmp_path: pathlib.Path
) -> None:
    src = _write(tmp_path / "clip.mp4", 3 * 1024 * 1024 + 17)
    file_path = await sdk.call(_client(sdk, fake).v1.files.upload_file, src)
    stored = fake.file(file_path)
    assert (stored.size, stored.sha256) == (src.stat().st_size, _sha(src))
    assert file_path.startswith("api-assets/") and file_path.endswith(".mp4")
    [presign] = fake.requests_to("upload_urls")
    assert presign.json == {"items": [{"extension": "mp4", "type": "video"}]}
    [put] = fake.requests_to("storage")
    assert put.status == 200
    assert put.headers["content-length"] == str(src.stat().st_size)
    assert "transfer-encoding" not in put.headers
    assert "authorization" not in put.headers
    assert "user-agent" not in put.headers or "magic-hour" not in put.headers["user-agent"]
    issued = fake.issued[0]
    assert put.url == issued.upload_url, "the signed URL must be used exactly as received"


async def test_zero_byte_file(sdk: Any, fake: FakeMagicHour, tmp_path: pathlib.Path) -> None:
    src = _write(tmp_path / "empty.png", 0)
    file_path = await sdk.call(_client(sdk, fake).v1.files.upload_file, src)
    assert fake.file(file_path).size == 0


async def test_file_object_is_uploaded_whole_put_back_and_left_open(
    sdk: Any, fake: FakeMagicHour, tmp_path: pathlib.Path
) -> None:
    src = _write(tmp_path / "song.mp3", 100_000)
    with open(src, "rb") as f:
        f.seek(1000)
        file_path = await sdk.call(_client(sdk, fake).v1.files.upload_file, f)
        assert not f.closed and f.tell() == 1000
        assert fake.file(file_path).sha256 == _sha(src)
        partial = await sdk.call(_client(sdk, fake).v1.files.upload_file, f, from_current_position=True)
        assert f.tell() == 1000
    assert fake.file(partial).sha256 == hashlib.sha256(src.read_bytes()[1000:]).hexdigest()
    buf = io.BytesIO(b"\x89PNG fake image")
    file_path = await sdk.call(_client(sdk, fake).v1.files.upload_file, buf, extension=".PNG")
    assert file_path.endswith(".png")
    assert fake.file(file_path).read_bytes() == b"\x89PNG fake image"


async def test_upload_files_presigns_once_and_keeps_input_order(
    sdk: Any, fake: FakeMagicHour, tmp_path: pathlib.Path
) -> None:
    names = ["a.mp4", "b.png", "c.mp3", "d.webm", "e.jpg", "f.wav"]
    srcs = [_write(tmp_path / n, 50_000 + i * 1000, seed=i) for i, n in enumerate(names)]
    inputs: List[Any] = [*srcs, "https://example.com/x.mp4", "api-assets/already/there.png"]
    paths = await sdk.call(_client(sdk, fake).v1.files.upload_files, inputs, max_concurrency=3)
    assert len(fake.requests_to("upload_urls")) == 1, "one presign call for the whole batch"
    assert paths[-2:] == ["https://example.com/x.mp4", "api-assets/already/there.png"]
    for src, path in zip(srcs, paths):
        assert path.endswith(src.suffix)
        assert fake.file(path).sha256 == _sha(src)
    assert [i.file_path for i in fake.issued] == paths[:6]


async def test_presign_is_batched_by_100(sdk: Any, fake: FakeMagicHour, tmp_path: pathlib.Path) -> None:
    srcs = [_write(tmp_path / f"{i}.png", 10, seed=i) for i in range(205)]
    paths = await sdk.call(_client(sdk, fake).v1.files.upload_files, srcs, max_concurrency=8)
    assert [len(r.json["items"]) for r in fake.requests_to("upload_urls")] == [100, 100, 5]
    assert len(set(paths)) == 205
    assert all(fake.file(p).sha256 == _sha(s) for p, s in zip(paths, srcs))


async def test_5xx_then_success_resends_from_first_byte(
    sdk: Any, fake: FakeMagicHour, tmp_path: pathlib.Path, sleeps: List[float]
) -> None:
    src = _write(tmp_path / "clip.mp4", 2 * 1024 * 1024 + 5)
    fake.fail_next("storage", 503, times=2)
    events: List[UploadProgress] = []
    file_path = await sdk.call(_client(sdk, fake).v1.files.upload_file, src, on_progress=events.append)
    assert [r.status for r in fake.requests_to("storage")] == [503, 503, 200]
    assert fake.file(file_path).sha256 == _sha(src)
    assert len(sleeps) == 2
    # progress rewinds to 0 for each attempt and ends at the total
    starts = [i for i, e in enumerate(events) if e.bytes_sent == 0]
    assert len(starts) == 3
    assert events[-1].bytes_sent == events[-1].total == src.stat().st_size
    last = events[starts[-1] :]
    assert [e.bytes_sent for e in last] == sorted(e.bytes_sent for e in last)


async def test_connection_reset_mid_body_is_retried(
    sdk: Any, fake: FakeMagicHour, tmp_path: pathlib.Path, sleeps: List[float]
) -> None:
    src = _write(tmp_path / "clip.mov", 4 * 1024 * 1024)
    fake.drop_next_uploads(1, after_bytes=1024 * 1024)
    file_path = await sdk.call(_client(sdk, fake).v1.files.upload_file, src)
    puts = fake.requests_to("storage")
    assert [p.fault for p in puts] == ["drop", None]
    assert fake.file(file_path).sha256 == _sha(src)
    assert len(fake.files) == 1, "the dropped attempt stored nothing"


async def test_timeout_gives_up_after_retries_and_stores_nothing(
    sdk: Any, fake: FakeMagicHour, tmp_path: pathlib.Path, sleeps: List[float]
) -> None:
    src = _write(tmp_path / "clip.mp4", 1000)
    fake.set_latency(1.0, route="storage")
    client = _client(sdk, fake, timeout=0.2, max_retries=1)
    with pytest.raises(ApiTimeoutError) as info:
        await sdk.call(client.v1.files.upload_file, src)
    assert "X-Signature" not in str(info.value) and "?" not in str(info.value)
    assert len(fake.requests_to("storage")) == 2


async def test_url_expired_before_the_put_is_represigned(
    sdk: Any, fake: FakeMagicHour, tmp_path: pathlib.Path
) -> None:
    src = _write(tmp_path / "clip.mp4", 1000)
    fake.expire_next_urls(1)
    file_path = await sdk.call(_client(sdk, fake).v1.files.upload_file, src)
    assert len(fake.requests_to("upload_urls")) == 2
    assert [p.status for p in fake.requests_to("storage")] == [200], "no PUT to the expired URL"
    assert fake.file(file_path).sha256 == _sha(src)


async def test_storage_saying_expired_is_represigned_once(
    sdk: Any, fake: FakeMagicHour, tmp_path: pathlib.Path
) -> None:
    src = _write(tmp_path / "clip.mp4", 1000)
    fake.expire_next_urls(1, advertise_valid=True)
    file_path = await sdk.call(_client(sdk, fake).v1.files.upload_file, src)
    assert [p.status for p in fake.requests_to("storage")] == [403, 200]
    assert len(fake.requests_to("upload_urls")) == 2
    assert fake.file(file_path).sha256 == _sha(src)


async def test_403_forever_fails_after_one_represign(
    sdk: Any, fake: FakeMagicHour, tmp_path: pathlib.Path
) -> None:
    src = _write(tmp_path / "clip.mp4", 1000)
    fake.expire_next_urls(5, advertise_valid=True)
    with pytest.raises(StorageError) as info:
        await sdk.call(_client(sdk, fake).v1.files.upload_file, src)
    assert info.value.status_code == 403
    assert "expired" in str(info.value)
    assert "X-Signature" not in str(info.value)
    assert len(fake.requests_to("storage")) == 2
    assert not fake.files


async def test_mixed_success_in_a_batch_reports_every_file(
    sdk: Any, fake: FakeMagicHour, tmp_path: pathlib.Path
) -> None:
    srcs = [_write(tmp_path / f"{i}.mp4", 20_000, seed=i) for i in range(4)]
    fake.fail_next("storage", 400, times=1)  # not retryable: exactly one file fails
    with pytest.raises(UploadError) as info:
        await sdk.call(_client(sdk, fake).v1.files.upload_files, srcs, max_concurrency=1)
    err = info.value
    assert [r.index for r in err.results] == [0, 1, 2, 3]
    assert len(err.failed) == 1 and len(err.succeeded) == 3
    assert isinstance(err.failed[0].error, StorageError)
    assert str(srcs[err.failed[0].index]) in str(err)
    for r in err.succeeded:
        assert r.file_path is not None
        assert fake.file(r.file_path).sha256 == _sha(srcs[r.index])
    assert len(fake.files) == 3


async def test_presign_failure_fails_the_files_with_the_api_error(
    sdk: Any, fake: FakeMagicHour, tmp_path: pathlib.Path
) -> None:
    src = _write(tmp_path / "clip.mp4", 10)
    client = sdk.client(base_url=_server_url(fake), token="wrong-token")
    with pytest.raises(AuthenticationError):
        await sdk.call(client.v1.files.upload_file, src)
    with pytest.raises(AuthenticationError):  # the one upload-urls call failed: its own error
        await sdk.call(client.v1.files.upload_files, [src, src])
    assert not fake.requests_to("storage")


async def test_wrong_item_count_uploads_nothing(
    sdk: Any, fake: FakeMagicHour, tmp_path: pathlib.Path
) -> None:
    srcs = [_write(tmp_path / f"{i}.png", 10, seed=i) for i in range(3)]
    fake.wrong_item_count_next(1, delta=-1)
    with pytest.raises(UploadUrlsMismatchError) as info:  # the batch's one presign answer: raised itself
        await sdk.call(_client(sdk, fake).v1.files.upload_files, srcs)
    assert "2 upload URLs for 3 files" in str(info.value)
    assert not fake.requests_to("storage")


class _Unseekable(io.RawIOBase):
    """A stream that cannot seek but knows its length (like a pipe with a known size)."""

    def __init__(self, data: bytes) -> None:
        self._buf = io.BytesIO(data)
        self._len = len(data)
        self.name = "stream.mp4"

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, b: Any) -> int:
        data = self._buf.read(len(b))
        b[: len(data)] = data
        return len(data)

    def __len__(self) -> int:
        return self._len


async def test_a_stream_that_cannot_rewind_is_sent_once(
    sdk: Any, fake: FakeMagicHour, sleeps: List[float]
) -> None:
    fake.fail_next("storage", 503)
    with pytest.raises(StorageError) as info:
        await sdk.call(
            _client(sdk, fake).v1.files.upload_file, _Unseekable(b"x" * 5000), from_current_position=True
        )
    assert "not retried" in str(info.value)
    assert len(fake.requests_to("storage")) == 1
    path = await sdk.call(
        _client(sdk, fake).v1.files.upload_file, _Unseekable(b"y" * 5000), from_current_position=True
    )
    assert fake.file(path).read_bytes() == b"y" * 5000


async def test_progress_callback_is_never_called_concurrently(
    sdk: Any, fake: FakeMagicHour, tmp_path: pathlib.Path
) -> None:
    srcs = [_write(tmp_path / f"{i}.mp4", 3 * 1024 * 1024, seed=i) for i in range(6)]
    inside = threading.Lock()
    overlaps: List[int] = []
    final: dict[int, int] = {}

    def on_progress(event: UploadProgress) -> None:
        if not inside.acquire(blocking=False):
            overlaps.append(event.index)
            return
        try:
            final[event.index] = event.bytes_sent
            threading.Event().wait(0.001)  # widen the window a concurrent call would hit
        finally:
            inside.release()

    await sdk.call(_client(sdk, fake).v1.files.upload_files, srcs, max_concurrency=4, on_progress=on_progress)
    assert overlaps == []
    assert final == {i: 3 * 1024 * 1024 for i in range(6)}


async def test_connection_refused_is_a_connection_error(
    sdk: Any, tmp_path: pathlib.Path, sleeps: List[float]
) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    src = _write(tmp_path / "clip.mp4", 10)
    client = sdk.client(base_url=f"http://127.0.0.1:{port}", max_retries=2)
    with pytest.raises(ApiConnectionError):
        await sdk.call(client.v1.files.upload_file, src)
    assert len(sleeps) == 2


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_async_upload_works_under_trio(
    anyio_backend: str, fake: FakeMagicHour, tmp_path: pathlib.Path
) -> None:
    from magic_hour import AsyncClient

    srcs = [_write(tmp_path / f"{i}.mp4", 200_000, seed=i) for i in range(3)]
    # Files of several chunks are read by a thread that wakes the event loop (asyncio or trio's way).
    srcs += [_write(tmp_path / f"big{i}.mp4", 3 * 1024 * 1024 + i, seed=10 + i) for i in range(2)]
    async with AsyncClient(base_url=_server_url(fake), token=fake.token) as client:
        paths = await client.v1.files.upload_files(srcs)
        one = await client.v1.files.upload_file(srcs[-1])
    assert [fake.file(p).sha256 for p in paths] == [_sha(s) for s in srcs]
    assert fake.file(one).sha256 == _sha(srcs[-1])


def test_file_that_shrinks_during_upload_is_not_reported_as_uploaded(
    fake: FakeMagicHour, tmp_path: pathlib.Path
) -> None:
    from magic_hour import Client, InvalidFileError

    src = _write(tmp_path / "clip.mp4", 3 * 1024 * 1024)
    calls = 0

    def shrink(event: UploadProgress) -> None:
        nonlocal calls
        calls += 1
        if event.bytes_sent >= 1024 * 1024:
            os.truncate(src, 1024 * 1024 + 10)

    with Client(base_url=_server_url(fake), token=fake.token) as client, pytest.raises(InvalidFileError):
        client.v1.files.upload_file(src, on_progress=shrink)
    assert not fake.files
