"""One client's transfer slots (``_core/transfers.py``) shared beyond one process and one event loop: a
child forked while another thread held the module's lock still transfers; an ``AsyncClient`` used from
two event loops at once (one per thread) keeps the bound in each, and forgets a loop when it ends.
Counted on the wire by the transport of ``tests/test_transfers.py``."""

from __future__ import annotations

import gc
import os
import pathlib
import threading
from typing import Any, Dict, List

import _modes
import anyio
import httpx
import pytest
from _forking import fork_and_wait
from conftest import Flavor
from test_transfers import Counted, _setup, _slots

from magic_hour import AsyncClient
from magic_hour._core import transfers
from magic_hour.testing import FakeMagicHour

pytestmark = [pytest.mark.anyio, pytest.mark.full]
mode, anyio_backend, sdk = _modes.mode, _modes.anyio_backend, _modes.sdk


def _pngs(tmp_path: pathlib.Path, prefix: str, count: int) -> List[str]:
    paths = []
    for i in range(count):
        path = tmp_path / f"{prefix}-{i}.png"
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + prefix.encode() * 500 + bytes([i]))
        paths.append(str(path))
    return paths


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
        code = fork_and_wait(upload, timeout=15)
    finally:
        release.set()
        holder.join(5)
    assert code == 0, "the child was stuck (-1) or its upload failed"
    assert counted.total == 1, "the child's upload counted in the child only"


class PerLoop(Counted):
    """:class:`Counted`, and the transfers in flight counted per event loop (each loop has a thread)."""

    def __init__(self, fake: FakeMagicHour) -> None:
        super().__init__(fake)
        self.now_in: Dict[int, int] = {}
        self.peak_in: Dict[int, int] = {}

    def _begin(self) -> None:
        super()._begin()
        thread = threading.get_ident()
        with self._lock:
            self.now_in[thread] = self.now_in.get(thread, 0) + 1
            self.peak_in[thread] = max(self.peak_in.get(thread, 0), self.now_in[thread])

    def _end(self) -> None:  # in the thread of _begin: the loop's client closes the response
        super()._end()
        with self._lock:
            self.now_in[threading.get_ident()] -= 1


@pytest.mark.parametrize("backends", [("asyncio", "asyncio"), ("trio", "trio"), ("asyncio", "trio")])
@pytest.mark.parametrize("mode", ["asyncio"])  # the test runs its own loops, in threads
async def test_two_event_loops_at_once_each_keep_the_bound(tmp_path: pathlib.Path, backends: Any) -> None:
    """One AsyncClient (bound 2) uploads 6 files, started 30 ms apart, in each of two event loops
    running at once, one per thread: at most 2 in flight in each loop, and 2 at some point in each (4 in all). With one slot set
    for all loops, each loop replaced the other's semaphore when it took a slot, so a loop's transfers
    went past its bound. When the loops end, the client keeps no slots of theirs."""
    fake = FakeMagicHour()
    fake.set_latency(0.15, "storage")
    counted = PerLoop(fake)
    client = AsyncClient(
        base_url=fake.base_url,
        token=fake.token,
        max_concurrent_transfers=2,
        httpx_client=httpx.AsyncClient(transport=counted),
    )
    slots = _slots(client)
    results: Dict[int, List[str]] = {}
    errors: List[BaseException] = []
    start = threading.Barrier(2)

    def loop(index: int, backend: str) -> None:
        files = _pngs(tmp_path, f"loop{index}", 6)

        async def upload(path: str) -> None:
            results.setdefault(index, []).append(await client.v1.files.upload_file(path))

        async def main() -> None:
            async with anyio.create_task_group() as tg:
                for path in files:  # one after the other: each takes its slot while the other loop runs
                    tg.start_soon(upload, path)
                    await anyio.sleep(0.03)
            assert slots.in_use == 0

        try:
            start.wait(5)
            anyio.run(main, backend=backend)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=loop, args=(i, b), daemon=True) for i, b in enumerate(backends)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads), "a loop is stuck"
    assert not errors, errors
    assert [len(results[i]) for i in (0, 1)] == [6, 6]
    assert counted.total == 12
    assert sorted(counted.peak_in.values()) == [2, 2], counted.peak_in
    assert counted.now == 0 and set(counted.now_in.values()) == {0}
    gc.collect()
    assert len(slots._loops) == 0, "the semaphores of ended loops are gone"


def test_two_threads_of_a_forked_child_taking_their_first_slot_at_once_share_one_state(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Sync slots (an async client's are per event loop, each used from its loop's thread only). In a
    forked child (here: the process generation changes), two threads take their first slot at once: the
    second one's look at the generation returns only after the first made the child's state and took
    the only slot. The second must wait for it; before, it made the state anew too, which reset the
    count and let it take a second slot of a bound of 1."""
    slots = transfers.ThreadSlots(1)
    child = slots._generation + 1  # pyright: ignore[reportPrivateUsage]
    second_looks, first_took = threading.Event(), threading.Event()
    second: List[int] = []

    def generation() -> int:
        if second and threading.get_ident() == second[0] and not second_looks.is_set():
            second_looks.set()
            assert first_took.wait(5)
        return child

    cancel = threading.Event()
    got: List[object] = []

    def take() -> None:
        second.append(threading.get_ident())
        try:
            got.append(slots.acquire(cancel))
        except transfers.Interrupted as exc:
            got.append(exc)

    monkeypatch.setattr(transfers, "generation", generation)
    thread = threading.Thread(target=take, daemon=True)
    thread.start()
    assert second_looks.wait(5)  # the second thread is looking at the generation
    assert slots.acquire() is True  # the first takes the child's only slot
    first_took.set()
    thread.join(0.5)  # the second waits for that slot (polling its cancel event)
    cancel.set()
    thread.join(5)
    assert not thread.is_alive()
    assert len(got) == 1 and isinstance(got[0], transfers.Interrupted), (
        f"a second slot of a bound of 1: {got}"
    )
    assert slots.in_use == 1
    slots.release()
    assert slots.in_use == 0
