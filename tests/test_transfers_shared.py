"""One client's transfer slots (``_core/transfers.py``) shared beyond one process: a child forked while
another thread held the module's lock still transfers. Counted on the wire by the transport of
``tests/test_transfers.py``."""

from __future__ import annotations

import os
import pathlib
import signal
import threading
import time
import warnings
from typing import Callable, List

import _modes
import anyio
import pytest
from conftest import Flavor
from test_transfers import _setup, _slots

from magic_hour import AsyncClient
from magic_hour._core import transfers

pytestmark = pytest.mark.anyio
mode, anyio_backend, sdk = _modes.mode, _modes.anyio_backend, _modes.sdk


def _pngs(tmp_path: pathlib.Path, prefix: str, count: int) -> List[str]:
    paths = []
    for i in range(count):
        path = tmp_path / f"{prefix}-{i}.png"
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + prefix.encode() * 500 + bytes([i]))
        paths.append(str(path))
    return paths


def _fork_and_wait(child: Callable[[], bool], timeout: float = 15.0) -> int:
    """Run ``child`` in a forked child; its exit code (0: it returned true), or -1 when it was still
    running after ``timeout`` seconds (stuck: killed)."""
    with warnings.catch_warnings():  # "use of fork() may lead to deadlocks" (3.12+, threads running)
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover  (runs in the child)
        code = 1
        try:
            code = 0 if child() else 3
        except BaseException:
            code = 2
        finally:
            os._exit(code)
    stop = time.monotonic() + timeout
    while time.monotonic() < stop:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return -1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork() on this platform")
async def test_a_child_forked_while_another_thread_held_the_lock_still_transfers(
    sdk: Flavor, mode: str, tmp_path: pathlib.Path
) -> None:
    """Another thread holds the module's lock (it looks up a client's slots) at ``fork()``: the child
    has only the forking thread, so before the lock was reset there it waited for it forever at its
    first transfer. The child uploads on the same client, with the parent's slot set in place."""
    _, counted, client = _setup(sdk, max_concurrent_transfers=1)
    [first, second] = _pngs(tmp_path, "fork", 2)
    assert (await sdk.call(client.v1.files.upload_file, first)).startswith("api-assets/")
    slots = _slots(client)
    held, release = threading.Event(), threading.Event()

    def hold_the_lock() -> None:
        with transfers._lock:
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold_the_lock, daemon=True)
    holder.start()
    assert held.wait(5)

    def upload() -> bool:
        # In a new thread (and, async, its own event loop): the test's loop is the parent's.
        result: List[str] = []

        async def async_upload() -> None:
            result.append(await client.v1.files.upload_file(second))

        def run() -> None:
            if isinstance(client, AsyncClient):
                anyio.run(async_upload, backend=mode)
            else:
                result.append(client.v1.files.upload_file(second))

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        worker.join()
        return bool(result) and result[0].startswith("api-assets/") and _slots(client) is slots

    try:
        code = _fork_and_wait(upload)
    finally:
        release.set()
        holder.join(5)
    assert code == 0, "the child was stuck (-1) or its upload failed"
    assert counted.total == 1, "the child's upload counted in the child only"
