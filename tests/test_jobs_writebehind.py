"""Async downloads write behind the network (``_jobs/downloads.py``'s ``WriteBehind``): one write in
flight in a worker thread while the next chunk is received; its progress event after it is written, in
order; its error raised as itself by the next step. On asyncio and trio. (The downloads' public behaviour, disk full
included, is in test_jobs_downloads.py and test_hostile_downloads.py.)"""

from __future__ import annotations

import threading
from typing import Any, List

import anyio
import pytest

from magic_hour import DownloadProgress, DownloadWriteError
from magic_hour._jobs.downloads import WriteBehind
from magic_hour._jobs.events import Emitter

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _event(n: int) -> DownloadProgress:
    return DownloadProgress(0, "out.png", n, 3)


async def test_a_write_runs_while_the_next_chunk_is_received_and_reports_after_it() -> None:
    release, started = threading.Event(), threading.Event()
    written: List[bytes] = []
    events: List[Any] = []

    def write(data: bytes) -> None:
        started.set()
        release.wait(5)
        written.append(data)

    behind = WriteBehind(write, Emitter(events.append))
    async with anyio.create_task_group() as tg:
        await behind.start(tg, b"a", _event(1))  # returns at once: the write is behind
        await anyio.to_thread.run_sync(started.wait, 5)
        assert written == [] and events == []  # meanwhile the caller goes on receiving
        release.set()
        await behind.start(tg, b"b", _event(2))  # waits for "a", reports it, starts "b"
        assert written == [b"a"] and events == [_event(1)]
        await behind.wait()
    assert written == [b"a", b"b"] and events == [_event(1), _event(2)]
    await behind.wait()  # nothing in flight: nothing happens
    assert events == [_event(1), _event(2)]


async def test_a_failed_write_is_raised_as_itself_by_the_next_step_and_not_reported() -> None:
    failure = DownloadWriteError(
        "writing out.png failed: disk full", url="https://x.test/o.png", path="out.png"
    )
    events: List[Any] = []

    def write(data: bytes) -> None:
        raise failure

    behind = WriteBehind(write, Emitter(events.append))
    async with anyio.create_task_group() as tg:  # the task group itself sees no error
        await behind.start(tg, b"a", _event(1))
        with pytest.raises(DownloadWriteError) as info:
            await behind.start(tg, b"b", _event(2))
    assert info.value is failure and events == []
