"""Small files read on the event loop only when the kernel says the read cannot block (``_upload/nowait.py``).

Everything else (not in the page cache, a file system without ``RWF_NOWAIT``, a file object, a larger
file) is read in a worker thread, as before; the bytes the body gets are the same either way.
"""

from __future__ import annotations

import errno
import os
import pathlib
import threading
from typing import Any, Callable, List

import pytest

from magic_hour._upload import nowait, reading
from magic_hour._upload.inputs import Source
from magic_hour._upload.reading import ThreadReader

SUPPORTED = nowait._SUPPORTED  # pyright: ignore[reportPrivateUsage]


def _source(path: pathlib.Path, size: int) -> Source:
    return Source(index=0, name=path.name, size=size, type_="video", extension="mp4", path=str(path))


def _file(tmp_path: pathlib.Path, data: bytes) -> pathlib.Path:
    path = tmp_path / "a.mp4"
    path.write_bytes(data)  # just written: in the page cache
    return path


def test_a_cached_file_is_read_here_with_the_probe(tmp_path: pathlib.Path) -> None:
    data = os.urandom(10_240)
    got = nowait.read_cached(str(_file(tmp_path, data)), len(data))
    assert got == ([data, b""] if SUPPORTED else None)


def test_an_empty_file_is_only_the_probe(tmp_path: pathlib.Path) -> None:
    assert nowait.read_cached(str(_file(tmp_path, b"")), 0) == ([b""] if SUPPORTED else None)


def test_a_file_that_grew_gives_the_probe_its_first_extra_byte(tmp_path: pathlib.Path) -> None:
    path = _file(tmp_path, b"0123456789xyz")
    assert nowait.read_cached(str(path), 10) == ([b"0123456789", b"x"] if SUPPORTED else None)
    # a 0-byte file makes one read: the probe
    assert nowait.read_cached(str(path), 0) == ([b"0"] if SUPPORTED else None)


def test_a_file_that_shrank_is_left_to_the_thread(tmp_path: pathlib.Path) -> None:
    path = _file(tmp_path, b"0123456789")
    assert nowait.read_cached(str(path), 20) is None


def test_large_files_file_objects_and_missing_files_are_left_to_the_thread(tmp_path: pathlib.Path) -> None:
    big = nowait.LOOP_READ_MAX + 1
    path = _file(tmp_path, b"a" * big)
    assert nowait.read_cached(str(path), big) is None
    with open(path, "rb") as f:
        source = Source(index=0, name="a.mp4", size=big, type_="video", extension="mp4", fileobj=f, start=0)
        assert nowait.read_cached(source.path, source.size) is None
    assert nowait.read_cached(str(tmp_path / "gone.mp4"), 3) is None


def test_without_nowait_reads_nothing_is_read_here(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A platform without ``preadv``/``RWF_NOWAIT`` (macOS, Windows, old kernels): the thread reads."""
    monkeypatch.setattr(nowait, "_SUPPORTED", False)
    assert nowait.read_cached(str(_file(tmp_path, b"abc")), 3) is None


def _failing_preadv(code: int, calls: List[int]) -> Callable[..., int]:
    def preadv(fd: int, buffers: Any, offset: int, flags: int = 0) -> int:
        calls.append(flags)
        raise OSError(code, os.strerror(code))

    return preadv


def test_data_not_in_the_page_cache_is_left_to_the_thread(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: List[int] = []
    monkeypatch.setattr(nowait, "_SUPPORTED", True)
    monkeypatch.setattr(nowait, "_NOWAIT", 8)
    monkeypatch.setattr(os, "preadv", _failing_preadv(errno.EAGAIN, calls), raising=False)
    path = _file(tmp_path, b"abc")
    assert nowait.read_cached(str(path), 3) is None
    assert nowait.read_cached(str(path), 3) is None
    assert calls == [8, 8], "EAGAIN is about this read: the next one tries again"


def test_a_file_system_without_nowait_reads_is_not_opened_on_the_loop_again(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: List[int] = []
    monkeypatch.setattr(nowait, "_SUPPORTED", True)
    monkeypatch.setattr(nowait, "_NOWAIT", 8)
    monkeypatch.setattr(nowait, "_unsupported_devices", set())
    monkeypatch.setattr(os, "preadv", _failing_preadv(errno.EOPNOTSUPP, calls), raising=False)
    opened: List[str] = []
    real_open = os.open

    def recording_open(path: Any, *args: Any, **kwargs: Any) -> int:
        opened.append(str(path))
        return int(real_open(path, *args, **kwargs))

    monkeypatch.setattr(nowait.os, "open", recording_open)
    path = _file(tmp_path, b"abc")
    assert nowait.read_cached(str(path), 3) is None
    assert nowait.read_cached(str(path), 3) is None
    assert nowait.open_here(str(path)) is None
    assert len(calls) == 1
    assert opened == [str(path)], "opened on the loop once: the read that found the file system out"
    assert nowait._unsupported_devices == {path.stat().st_dev}  # pyright: ignore[reportPrivateUsage]


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: Any) -> str:
    return str(request.param)


@pytest.mark.anyio
@pytest.mark.parametrize("cached", [True, False], ids=["cached", "not-cached"])
async def test_the_reader_uses_the_loop_only_for_cached_files(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, cached: bool
) -> None:
    data = os.urandom(5000)
    path = _file(tmp_path, data)
    if not cached:
        monkeypatch.setattr(nowait, "_SUPPORTED", True)
        monkeypatch.setattr(nowait, "_NOWAIT", 8)
        monkeypatch.setattr(os, "preadv", _failing_preadv(errno.EAGAIN, []), raising=False)
    readers: List[str] = []
    run_in_thread = reading.run_in_thread

    async def recording(fn: Callable[[], Any]) -> Any:
        readers.append("thread")
        return await run_in_thread(fn)

    monkeypatch.setattr(reading, "run_in_thread", recording)
    loop_thread = threading.get_ident()
    opened_in: List[int] = []
    real_open = os.open

    def recording_open(*args: Any, **kwargs: Any) -> int:
        opened_in.append(threading.get_ident())
        return real_open(*args, **kwargs)

    monkeypatch.setattr(nowait.os, "open", recording_open)
    reader = ThreadReader(_source(path, len(data)))
    await reader.start(None)
    assert await reader.read(len(data)) == data
    assert await reader.read(1) == b""
    reader.close()
    expect_thread = not (cached and SUPPORTED)
    assert readers == (["thread"] if expect_thread else [])
    assert opened_in == ([loop_thread] if SUPPORTED or not cached else [])


def test_a_path_swapped_for_a_fifo_is_not_opened_on_the_loop(tmp_path: pathlib.Path) -> None:
    """Opening a FIFO for reading waits for a writer: on the loop it would hang every task."""
    fifo = tmp_path / "a.mp4"
    os.mkfifo(fifo)
    got: List[Any] = []
    opener = threading.Thread(
        target=lambda: got.extend([nowait.open_here(str(fifo)), nowait.read_cached(str(fifo), 10)]),
        daemon=True,
    )
    opener.start()
    opener.join(10)
    if opener.is_alive():  # it waits for a writer: give it one, so the thread ends
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("opening a FIFO blocked")
    assert got == [None, None]  # at once (O_NONBLOCK), closing what it opened
    path = tmp_path / "b.mp4"
    path.write_bytes(b"abc")
    fd = nowait.open_here(str(path))
    assert fd is not None
    try:
        assert os.read(fd, 10) == b"abc"
    finally:
        os.close(fd)
