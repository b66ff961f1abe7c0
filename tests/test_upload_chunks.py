"""What a sync upload's body holds in memory (``_upload/bodies.py``'s ``sync_chunks``), and that the bytes
stored are exactly the file's, chunk boundaries included, with uploads running at once.

The body yields an empty chunk between two chunks so that httpx and httpcore let go of the chunk just
sent before the next one is read: one MiB alive per upload thread instead of two (each thread's malloc
arena kept what it had held: 20 sync jobs at once grew the RSS by 34 MB; bench_jobs.py). Checked at
each read by counting who still holds the previous chunk, against the fake's real server on 127.0.0.1
(the real httpcore and h11 path).
"""

from __future__ import annotations

import hashlib
import io
import pathlib
import sys
from typing import Any, Iterator, List, Optional

import _modes
import pytest

from magic_hour import Client
from magic_hour._upload.flow import CHUNK_SIZE
from magic_hour.testing import FakeMagicHour, FakeServer

pytestmark = pytest.mark.anyio
mode, anyio_backend, sdk = _modes.mode, _modes.anyio_backend, _modes.sdk

SIZES = [3 * CHUNK_SIZE + 12_345, 2 * CHUNK_SIZE, CHUNK_SIZE + 1, CHUNK_SIZE, CHUNK_SIZE - 1, 1, 7]
"""Around the chunk boundaries: whole chunks, one byte over and under, a tail, a one-chunk file."""


@pytest.fixture
def fake() -> FakeMagicHour:
    return FakeMagicHour()


@pytest.fixture
def server(fake: FakeMagicHour) -> Iterator[FakeServer]:
    with fake.serve() as running:
        yield running


def _content(size: int, seed: int) -> bytes:
    block = hashlib.sha256(str(seed).encode()).digest()
    return (block * (size // len(block) + 1))[:size]


async def test_stored_bytes_are_the_files_bytes_across_chunks_with_uploads_at_once(
    sdk: Any, fake: FakeMagicHour, server: FakeServer, tmp_path: pathlib.Path
) -> None:
    paths = []
    for i, size in enumerate(SIZES):
        path = tmp_path / f"clip{i}.mp4"
        path.write_bytes(_content(size, i))
        paths.append(path)
    client = sdk.client(base_url=server.url, token=fake.token)
    stored = await sdk.call(client.v1.files.upload_files, [str(p) for p in paths], max_concurrency=4)
    assert [fake.file(s).content for s in stored] == [p.read_bytes() for p in paths]
    puts = fake.requests_to("storage")
    assert sorted(int(r.headers["content-length"]) for r in puts) == sorted(SIZES)
    assert all("transfer-encoding" not in r.headers for r in puts)


class Watched(io.BytesIO):
    """A file object that notes, at each read, how many references other than its own the chunk it
    returned before still has (``sys.getrefcount`` counts the attribute and its own argument: 2)."""

    def __init__(self, data: bytes, name: str) -> None:
        super().__init__(data)
        self.name = name
        self._size = len(data)
        self._last: Optional[bytes] = None
        self.held: List[int] = []

    def read(self, size: Optional[int] = -1) -> bytes:
        at_end = self.tell() >= self._size  # check_end's read(1): the body holds the last chunk
        if self._last is not None and not at_end:
            self.held.append(sys.getrefcount(self._last) - 2)
        chunk = super().read(size)
        self._last = chunk if len(chunk) > 1 else None  # not check_end's read(1), nor b"" (shared)
        return chunk


def test_the_chunk_sent_is_released_before_the_next_is_read(fake: FakeMagicHour, server: FakeServer) -> None:
    files = [Watched(_content(size, i), f"clip{i}.mp4") for i, size in enumerate(SIZES[:4])]
    with Client(base_url=server.url, token=fake.token) as client:
        stored = client.v1.files.upload_files(files, max_concurrency=4)  # type: ignore[arg-type]
    assert [fake.file(s).content for s in stored] == [f.getvalue() for f in files]
    for f in files:
        chunks = -(-len(f.getvalue()) // CHUNK_SIZE)
        # At each read of a chunk after the first, nobody but the file object still holds the chunk
        # before. (Without the empty chunks: 4 each, the body's variable, httpx's loop variable, and
        # httpcore's chunk and h11 event.)
        # (<= 0: newer Pythons may count one reference fewer, e.g. 3.14's borrowed argument.)
        assert all(held <= 0 for held in f.held) and len(f.held) == chunks - 1, (f.name, f.held)


def test_a_sync_body_is_read_once_and_closing_it_closes_the_file(tmp_path: pathlib.Path) -> None:
    """The body a sync PUT hands httpx is a stream of its own (httpx would probe a generator for a file
    length): one pass over the file, a second refused as httpx refuses it for its iterator streams, and
    the file closed when the body is, read or not."""
    import threading

    import httpx

    from magic_hour._upload.bodies import Progress, SyncBody, sync_chunks
    from magic_hour._upload.inputs import inspect_input

    path = tmp_path / "a.mp4"
    path.write_bytes(b"0123456789" * (CHUNK_SIZE // 5))  # two chunks
    opened: List[Any] = []

    def body() -> SyncBody:
        source = inspect_input(str(path), 0)
        assert source is not None and not isinstance(source, str)

        def open_() -> Any:
            opened.append(open(path, "rb", buffering=0))  # noqa: SIM115 (the body closes it)
            return opened[-1]

        return SyncBody(sync_chunks(open_, source, Progress(None), threading.Event()))

    whole = body()
    assert b"".join(whole) == path.read_bytes()
    with pytest.raises(httpx.StreamConsumed):
        iter(whole)
    whole.close()
    halfway = body()
    assert len(next(iter(halfway))) == CHUNK_SIZE
    halfway.close()
    never = body()
    never.close()
    assert len(opened) == 2 and all(f.closed for f in opened)
