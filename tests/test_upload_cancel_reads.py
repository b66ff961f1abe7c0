"""A cancelled async upload returns only once its worker thread is done with the caller's file object.

A small file is read in one worker-thread call. Under asyncio, a native cancellation
(``asyncio.wait_for``, ``asyncio.timeout``, ``task.cancel()``) went through anyio's shield: the upload
returned while the thread still read the file object, and moved its position after the upload had
given it back. The sync client has no cancellation; anyio's own (a cancel scope) on asyncio and trio is
checked alongside.
"""

from __future__ import annotations

import asyncio
import io
import threading
from typing import Any

import anyio
import pytest

from magic_hour.testing import FakeMagicHour

pytestmark = pytest.mark.anyio

START = 7  # the caller's position, given back after the upload, cancelled or not


class _SlowFile(io.BytesIO):
    """A file object whose first read blocks until 0.2 s after it started (a slow disk)."""

    name = "clip.mp4"

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.started, self.finished = threading.Event(), threading.Event()

    def read(self, n: Any = -1) -> bytes:
        if not self.started.is_set():
            self.started.set()
            threading.Event().wait(0.2)
            self.finished.set()
        return super().read(n)


@pytest.fixture(
    params=[("asyncio", "native"), ("asyncio", "scope"), ("trio", "scope")], ids=lambda p: "-".join(p)
)
def case(request: pytest.FixtureRequest) -> Any:
    return request.param


@pytest.fixture
def anyio_backend(case: Any) -> str:
    return str(case[0])


async def test_a_cancelled_upload_waits_for_the_read_and_gives_the_position_back(case: Any) -> None:
    with FakeMagicHour() as fake:
        client = fake.async_client()
        f = _SlowFile(b"x" * 1000)
        f.seek(START)
        if case[1] == "native":
            task = asyncio.ensure_future(client.v1.files.upload_file(f))
            await asyncio.get_running_loop().run_in_executor(None, f.started.wait, 5)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        else:
            async with anyio.create_task_group() as tg:

                async def upload() -> None:
                    await client.v1.files.upload_file(f)

                tg.start_soon(upload)
                await anyio.to_thread.run_sync(f.started.wait, 5)
                tg.cancel_scope.cancel()
        assert f.finished.is_set(), "the upload returned while its thread still read the file"
        assert f.tell() == START
        await client.aclose()
