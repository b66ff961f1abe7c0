"""The async engine's file reader (``magic_hour._upload.areading``): how far it reads ahead of the body.

A larger file's chunks are read on the loop while the page cache holds them (``nowait.chunk_cached``);
from the first that it does not, by one worker thread, handed to the body through a bounded queue:
memory stays flat, and the file's last chunk (with the probe past its end, which catches a file that
grew) is read only once the body has taken every chunk before it, as when each chunk was read on demand.
"""

from __future__ import annotations

import errno
import os
import pathlib
import threading
from typing import Any, List

import anyio
import pytest

from magic_hour._upload import areading, nowait
from magic_hour._upload.afile import AttemptFile
from magic_hour._upload.areading import ThreadReader
from magic_hour._upload.flow import CHUNK_SIZE
from magic_hour._upload.inputs import Source

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def uncached(monkeypatch: pytest.MonkeyPatch) -> None:
    """The thread's tests: no chunk is in the page cache (tests that read on the loop undo it)."""
    monkeypatch.setattr(nowait, "chunk_cached", lambda fd, offset, length: False)


@pytest.fixture
def page_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """A kernel that can tell what is cached (whatever this machine's is)."""
    monkeypatch.setattr(nowait, "page_cache_known", lambda: True)
    monkeypatch.setattr(nowait, "prepare_page_cache", lambda: True)


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: Any) -> str:
    return str(request.param)


def _source(tmp_path: pathlib.Path, chunks: int) -> Source:
    path = tmp_path / "a.mp4"
    path.write_bytes(b"".join(bytes([i]) * CHUNK_SIZE for i in range(chunks)) + b"end")
    size = chunks * CHUNK_SIZE + 3
    return Source(index=0, name="a.mp4", size=size, type_="video", extension="mp4", path=str(path))


async def test_reads_ahead_at_most_high_chunks_and_the_last_one_on_demand(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _source(tmp_path, 7)
    readers: List[ThreadReader] = []
    ready_at_read: List[int] = []  # chunks ready and not taken, each time the thread reads
    step = AttemptFile.step

    def recording_step(self: Any) -> List[bytes]:
        ready_at_read.append(len(readers[0]._slot))  # pyright: ignore[reportPrivateUsage]
        return step(self)

    monkeypatch.setattr(AttemptFile, "step", recording_step)
    got: List[bytes] = []
    async with anyio.create_task_group() as tg:
        reader = ThreadReader(source)
        readers.append(reader)
        await reader.start(tg)
        left = source.size
        while left:
            await anyio.sleep(0.01)  # a slow connection: the thread fills its queue meanwhile
            chunk = await reader.read(min(CHUNK_SIZE, left))
            got.append(chunk)
            left -= len(chunk)
        assert await reader.read(1) == b""  # the probe
    reader.close()
    assert b"".join(got) == pathlib.Path(source.path or "").read_bytes()
    assert len(ready_at_read) == 8
    assert max(ready_at_read) < areading._HIGH  # pyright: ignore[reportPrivateUsage]
    assert ready_at_read[-1] == 0, "the last chunk and the probe are read once the body took the rest"
    assert reader._file.file is None  # pyright: ignore[reportPrivateUsage]


async def test_stopping_mid_file_ends_the_thread_and_closes_the_file(tmp_path: pathlib.Path) -> None:
    source = _source(tmp_path, 6)
    reader = ThreadReader(source)
    async with anyio.create_task_group() as tg:
        await reader.start(tg)
        assert len(await reader.read(CHUNK_SIZE)) == CHUNK_SIZE
        await anyio.sleep(0.05)  # the thread has filled its queue and waits for the body
        reader.stop()  # the attempt ends (an early answer, an error): the group exits only if it stops
    reader.close()
    assert reader._file.file is None  # pyright: ignore[reportPrivateUsage]


async def _read_through(reader: ThreadReader, source: Source) -> bytes:
    got: List[bytes] = []
    left = source.size
    while left:
        chunk = await reader.read(min(CHUNK_SIZE, left))
        got.append(chunk)
        left -= len(chunk)
    assert await reader.read(1) == b""  # the probe
    return b"".join(got)


async def _read_whole(source: Source) -> bool:
    """Reads ``source`` as the body would, checks the bytes, and says whether a thread read any of it."""
    async with anyio.create_task_group() as tg:
        reader = ThreadReader(source)
        await reader.start(tg)
        data = await _read_through(reader, source)
    reader.close()
    assert data == pathlib.Path(source.path or "").read_bytes()
    assert reader._file.file is None  # pyright: ignore[reportPrivateUsage]
    return reader._threaded  # pyright: ignore[reportPrivateUsage]


@pytest.mark.usefixtures("page_cache")
async def test_cached_chunks_are_read_on_the_loop_without_a_thread(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _source(tmp_path, 3)
    asked: List[Any] = []

    def cached(fd: int, offset: int, length: int) -> bool:
        asked.append((offset, length))
        return True

    monkeypatch.setattr(nowait, "chunk_cached", cached)
    monkeypatch.setattr(areading, "_ASK_FOR", 600.0)
    assert not await _read_whole(source)
    assert asked == [(0, source.size)], "the kernel is asked about 8 chunks at once"


@pytest.mark.usefixtures("page_cache")
async def test_the_first_uncached_chunk_hands_the_rest_to_the_thread(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _source(tmp_path, 5)
    monkeypatch.setattr(nowait, "chunk_cached", lambda fd, offset, length: offset + length <= 2 * CHUNK_SIZE)
    threads: List[int] = []
    step = AttemptFile.step

    def recording_step(self: Any) -> List[bytes]:
        threads.append(threading.get_ident())
        return step(self)

    monkeypatch.setattr(AttemptFile, "step", recording_step)
    loop_thread = threading.get_ident()
    assert await _read_whole(source)
    assert threads[:2] == [loop_thread, loop_thread]
    assert len(threads) == 6 and loop_thread not in threads[2:]


async def test_where_the_kernel_cannot_tell_the_thread_reads_from_the_start(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _source(tmp_path, 2)
    asked: List[int] = []
    monkeypatch.setattr(nowait, "page_cache_known", lambda: True)
    monkeypatch.setattr(nowait, "prepare_page_cache", lambda: False)
    monkeypatch.setattr(nowait, "chunk_cached", lambda fd, offset, length: bool(asked.append(offset)))
    assert await _read_whole(source)
    assert asked == []


@pytest.mark.usefixtures("page_cache")
@pytest.mark.parametrize("cached", [True, False], ids=["cached", "not-cached"])
async def test_a_one_chunk_file_too_large_for_a_nowait_read_asks_the_page_cache(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, cached: bool
) -> None:
    path = tmp_path / "a.mp4"
    path.write_bytes(os.urandom(nowait.LOOP_READ_MAX + 100))
    source = Source(
        index=0, name="a.mp4", size=nowait.LOOP_READ_MAX + 100, type_="video", extension="mp4", path=str(path)
    )
    asked: List[Any] = []
    monkeypatch.setattr(
        nowait, "chunk_cached", lambda fd, offset, length: bool(asked.append((offset, length))) or cached
    )
    threads: List[int] = []
    read_all = AttemptFile.read_all

    def recording(self: Any) -> List[bytes]:
        threads.append(threading.get_ident())
        return read_all(self)

    monkeypatch.setattr(AttemptFile, "read_all", recording)
    reader = ThreadReader(source)
    await reader.start(None)
    assert await _read_through(reader, source) == path.read_bytes()
    reader.close()
    assert asked == [(0, source.size)]
    assert (threads == [threading.get_ident()]) is cached
    assert reader._file.file is None  # pyright: ignore[reportPrivateUsage]


@pytest.mark.usefixtures("page_cache")
async def test_the_page_cache_is_asked_eight_chunks_ahead_then_chunk_by_chunk(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _source(tmp_path, 12)  # 12 chunks and 3 bytes
    asked: List[Any] = []
    cached_to = 10 * CHUNK_SIZE  # the last two chunks and a bit are not cached

    def cached(fd: int, offset: int, length: int) -> bool:
        asked.append((offset // CHUNK_SIZE, length))
        return offset + length <= cached_to

    monkeypatch.setattr(nowait, "chunk_cached", cached)
    monkeypatch.setattr(areading, "_ASK_FOR", 600.0)  # however slow this machine, no answer expires
    assert await _read_whole(source)
    left = source.size - 8 * CHUNK_SIZE
    assert asked == [
        (0, 8 * CHUNK_SIZE),  # chunks 0-7 at once
        (8, left),  # not all cached: chunk 8 alone
        (8, CHUNK_SIZE),
        (9, left - CHUNK_SIZE),
        (9, CHUNK_SIZE),
        (10, left - 2 * CHUNK_SIZE),
        (10, CHUNK_SIZE),  # not cached: the thread reads from chunk 10 on
    ]


@pytest.mark.usefixtures("page_cache")
async def test_an_answer_of_the_page_cache_expires_on_a_slow_link(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _source(tmp_path, 3)
    asked: List[int] = []

    def cached(fd: int, offset: int, length: int) -> bool:
        asked.append(offset // CHUNK_SIZE)
        return True

    monkeypatch.setattr(nowait, "chunk_cached", cached)
    monkeypatch.setattr(areading, "_ASK_FOR", 0.01)
    async with anyio.create_task_group() as tg:
        reader = ThreadReader(source)
        await reader.start(tg)
        got: List[bytes] = []
        for _ in range(4):
            got.append(await reader.read(CHUNK_SIZE))
            await anyio.sleep(0.03)  # the connection takes its time with each chunk
    reader.close()
    assert b"".join(got) == pathlib.Path(source.path or "").read_bytes()
    assert asked == [0, 1, 2, 3], "asked again for every chunk read after the answer expired"


@pytest.mark.usefixtures("page_cache")
async def test_a_file_system_without_nowait_reads_is_read_in_the_thread(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NFS and FUSE refuse RWF_NOWAIT (EOPNOTSUPP): even their cached pages may wait for a server."""
    source = _source(tmp_path, 2)
    preadv_flags: List[int] = []

    def preadv(fd: int, buffers: Any, offset: int, flags: int = 0) -> int:
        preadv_flags.append(flags)
        raise OSError(errno.EOPNOTSUPP, "not supported")

    monkeypatch.setattr(nowait, "_SUPPORTED", True)
    monkeypatch.setattr(nowait, "_NOWAIT", 8)
    monkeypatch.setattr(nowait, "_unsupported_devices", set())
    monkeypatch.setattr(os, "preadv", preadv, raising=False)
    monkeypatch.setattr(nowait, "chunk_cached", lambda fd, offset, length: True)
    assert await _read_whole(source)
    assert preadv_flags == [8]
    assert nowait._unsupported_devices == {os.stat(source.path or "").st_dev}  # pyright: ignore[reportPrivateUsage]
