"""The async engine's file reader (``magic_hour._upload.reading``): how far it reads ahead of the body.

A larger file's chunks are read by one worker thread, handed to the body through a bounded queue:
memory stays flat, and the file's last chunk (with the probe past its end, which catches a file that
grew) is read only once the body has taken every chunk before it, as when each chunk was read on demand.
"""

from __future__ import annotations

import os
import pathlib
import threading
from typing import Any, List

import anyio
import pytest

from magic_hour._upload import nowait, reading
from magic_hour._upload.flow import CHUNK_SIZE
from magic_hour._upload.inputs import Source
from magic_hour._upload.reading import AttemptFile, ThreadReader

pytestmark = pytest.mark.anyio


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
    assert max(ready_at_read) < reading._HIGH  # pyright: ignore[reportPrivateUsage]
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


async def test_a_larger_file_is_read_in_the_thread_from_its_first_chunk(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _source(tmp_path, 3)
    threads: List[int] = []
    step = AttemptFile.step

    def recording_step(self: Any) -> List[bytes]:
        threads.append(threading.get_ident())
        return step(self)

    monkeypatch.setattr(AttemptFile, "step", recording_step)
    assert await _read_whole(source)
    assert len(threads) == 4 and threading.get_ident() not in threads


async def test_a_one_chunk_file_too_large_for_a_nowait_read_is_read_in_one_thread_call(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.mp4"
    path.write_bytes(os.urandom(nowait.LOOP_READ_MAX + 100))
    source = Source(
        index=0, name="a.mp4", size=nowait.LOOP_READ_MAX + 100, type_="video", extension="mp4", path=str(path)
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
    assert len(threads) == 1 and threads[0] != threading.get_ident()
    assert reader._file.file is None  # pyright: ignore[reportPrivateUsage]
