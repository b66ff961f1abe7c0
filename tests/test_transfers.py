"""The client-wide bound on transfers in flight (``max_concurrent_transfers``, ``_core/transfers.py``):
upload PUTs and output downloads of every call on one client share it. Counted on the wire, by a
transport in front of the fake that sees each transfer from its request to the end of its body. And
what one download holds in memory. Sync, and async on asyncio and trio."""

from __future__ import annotations

import os
import pathlib
import threading
import time
import tracemalloc
from typing import Any, Callable, Dict, List

import _modes
import anyio
import httpx
import pytest
from _servers import RawServer, Respond, Unframed
from conftest import Flavor

from magic_hour import AsyncClient, Client, InvalidParameterError, UploadProgress
from magic_hour.testing import FakeMagicHour

pytestmark = [pytest.mark.anyio, pytest.mark.full]
mode, anyio_backend, sdk = _modes.mode, _modes.anyio_backend, _modes.sdk

MB = 1024 * 1024
LATENCY = 0.15
"""Seconds the fake waits before answering each PUT and download: transfers overlap when allowed to."""


class Counted(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """The fake's transport, counting the transfers in flight (PUTs to storage, GETs of downloads):
    from the request reaching it to the response being closed."""

    def __init__(self, fake: FakeMagicHour) -> None:
        self._inner = fake.transport()
        self._lock = threading.Lock()
        self.now = 0
        self.peak = 0
        self.total = 0

    def _is_transfer(self, request: httpx.Request) -> bool:
        return request.url.host == "storage.magichour.test"

    def _begin(self) -> None:
        with self._lock:
            self.now += 1
            self.total += 1
            self.peak = max(self.peak, self.now)

    def _end(self) -> None:
        with self._lock:
            self.now -= 1

    def _counted(self, response: httpx.Response) -> httpx.Response:
        # The fake's body is already in memory: the transfer ends when the client closes the response.
        content = response.read()
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_Body(content, self._end),
            request=response.request,
            extensions=response.extensions,
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not self._is_transfer(request):
            return self._inner.handle_request(request)
        self._begin()
        try:
            response = self._inner.handle_request(request)
        except BaseException:
            self._end()
            raise
        return self._counted(response)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self._is_transfer(request):
            return await self._inner.handle_async_request(request)
        self._begin()
        try:
            response = await self._inner.handle_async_request(request)
        except BaseException:
            self._end()
            raise
        return self._counted(response)


class _Body(httpx.SyncByteStream, httpx.AsyncByteStream):
    def __init__(self, content: bytes, closed: Callable[[], None]) -> None:
        self._content, self._closed, self._open = content, closed, True

    def __iter__(self) -> Any:
        yield self._content

    async def __aiter__(self) -> Any:
        yield self._content

    def close(self) -> None:
        if self._open:
            self._open = False
            self._closed()

    async def aclose(self) -> None:
        self.close()


def _setup(sdk: Flavor, **kwargs: Any) -> tuple[FakeMagicHour, Counted, Any]:
    fake = FakeMagicHour()
    fake.set_latency(LATENCY, "storage")
    fake.set_latency(LATENCY, "downloads")
    counted = Counted(fake)
    client = sdk.client(
        base_url=fake.base_url, token=fake.token, httpx_client=sdk.httpx_client(transport=counted), **kwargs
    )
    return fake, counted, client


def _inputs(tmp_path: pathlib.Path, job: int) -> Dict[str, str]:
    out: Dict[str, str] = {}
    for field in ("source_file_path", "target_file_path"):
        path = tmp_path / f"in-{job}-{field}.png"
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes([job]) * 300_000)
        out[field] = str(path)
    return out


async def _all_at_once(sdk: Flavor, calls: List[Callable[[], Any]]) -> List[Any]:
    """Run the calls concurrently: threads for the sync client, tasks for the async one."""
    results: List[Any] = [None] * len(calls)
    errors: List[BaseException] = []
    if not sdk.is_async:

        def run(i: int) -> None:
            try:
                results[i] = calls[i]()
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(calls))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert not any(t.is_alive() for t in threads), "a call is stuck (deadlock?)"
        if errors:
            raise errors[0]
        return results

    async def run_async(i: int) -> None:
        try:
            results[i] = await calls[i]()
        except Exception as exc:  # raised below as itself, not in an ExceptionGroup
            errors.append(exc)

    with anyio.fail_after(30):  # a deadlock fails the test instead of hanging it
        async with anyio.create_task_group() as tg:
            for i in range(len(calls)):
                tg.start_soon(run_async, i)
    if errors:
        raise errors[0]
    return results


def _generate(client: Any, tmp_path: pathlib.Path, job: int) -> Callable[[], Any]:
    def call() -> Any:
        return client.v1.face_swap_photo.generate(
            assets={**_inputs(tmp_path, job), "face_swap_mode": "all-faces"},
            download_directory=str(tmp_path / f"out-{job}"),
        )

    return call


def _slots(client: Any) -> Any:
    return client._http.transfers


@pytest.mark.parametrize("bound", [1, 3])
async def test_transfers_of_concurrent_calls_stay_within_the_client_bound(
    sdk: Flavor, tmp_path: pathlib.Path, bound: int
) -> None:
    """4 generate() calls at once (8 input PUTs, 4 output GETs, each call with its own max_concurrency
    of 4) and a download call: never more than ``bound`` transfers in flight, and exactly ``bound`` at
    some point (the bound does not serialise them further)."""
    fake, counted, client = _setup(sdk, max_concurrent_transfers=bound)
    fake.output_size = 200_000
    calls = [_generate(client, tmp_path, job) for job in range(4)]
    done = await _all_at_once(sdk, calls)
    assert [p.status for p in done] == ["complete"] * 4
    urls = [p.downloads[0].url for p in done]
    calls = [lambda: client.v1.files.download(urls, directory=str(tmp_path / "again"))]
    await _all_at_once(sdk, calls)
    assert counted.total == 8 + 4 + 4
    assert counted.peak == bound
    assert counted.now == 0 and _slots(client).in_use == 0
    for project in done:
        assert [pathlib.Path(p).stat().st_size for p in project.downloaded_paths] == [200_000]


async def test_without_a_client_bound_each_call_has_only_its_own(sdk: Flavor, tmp_path: pathlib.Path) -> None:
    """``max_concurrent_transfers=None``: 4 calls put their 8 inputs in flight at once (what the bound
    prevents; the counter sees it)."""
    _, counted, client = _setup(sdk, max_concurrent_transfers=None)
    await _all_at_once(sdk, [_generate(client, tmp_path, job) for job in range(4)])
    assert counted.peak == 8


async def test_the_default_bound_is_8(sdk: Flavor, tmp_path: pathlib.Path) -> None:
    _, counted, client = _setup(sdk)
    await _all_at_once(sdk, [_generate(client, tmp_path, job) for job in range(6)])
    assert counted.total == 12 + 6
    assert counted.peak == 8


async def test_one_slot_never_deadlocks_a_job_or_a_transfer_started_inside_one(
    sdk: Flavor, tmp_path: pathlib.Path
) -> None:
    """With one slot: a generate() whose upload batch runs inside the job, concurrent with another, and
    an upload started from a progress callback while its own upload holds the only slot (it runs on
    that slot instead of waiting for it forever)."""
    _, counted, client = _setup(sdk, max_concurrent_transfers=1)
    nested: List[str] = []
    extra = tmp_path / "extra.png"
    extra.write_bytes(b"\x89PNG\r\n\x1a\n" + b"e" * 1000)

    def sync_callback(event: Any) -> None:
        if isinstance(event, UploadProgress) and not nested:
            nested.append(client.v1.files.upload_file(str(extra)))

    async def async_callback(event: Any) -> None:
        if isinstance(event, UploadProgress) and not nested:
            nested.append(await client.v1.files.upload_file(str(extra)))

    first = tmp_path / "first.png"
    first.write_bytes(b"\x89PNG\r\n\x1a\n" + b"f" * 1000)
    callback = async_callback if sdk.is_async else sync_callback
    calls = [
        _generate(client, tmp_path, 0),
        _generate(client, tmp_path, 1),
        lambda: client.v1.files.upload_file(str(first), on_progress=callback),
    ]
    results = await _all_at_once(sdk, calls)
    assert results[2].startswith("api-assets/") and nested[0].startswith("api-assets/")
    assert counted.peak <= 2  # the callback's upload ran on the slot of the upload that called it
    assert _slots(client).in_use == 0


async def test_a_failed_batch_gives_back_its_slots_and_stops_its_waiting_transfers(
    sdk: Flavor, tmp_path: pathlib.Path
) -> None:
    """A progress callback that raises stops its batch: the transfer in flight ends, the one waiting for
    a slot never starts (a waiting thread gives up at once), every slot is given back, and the client
    uploads again."""
    fake, counted, client = _setup(sdk, max_concurrent_transfers=1)
    fake.set_latency(1.0, "storage")
    files = []
    for name in ("a.png", "b.png"):
        (tmp_path / name).write_bytes(b"\x89PNG\r\n\x1a\n" + b"x" * 1000)
        files.append(str(tmp_path / name))

    def explode(event: UploadProgress) -> None:
        raise KeyError("stop")

    start = time.monotonic()
    with pytest.raises(KeyError):  # (in a thread, or a task, that a stuck wait fails after 30 s)
        await _all_at_once(sdk, [lambda: client.v1.files.upload_files(files, on_progress=explode)])
    assert time.monotonic() - start < 0.9  # nothing waited for the 1 s PUT, nor for its slot
    assert counted.total <= 1 and _slots(client).in_use == 0
    fake.set_latency(0, "storage")
    assert (await sdk.call(client.v1.files.upload_file, files[0])).startswith("api-assets/")


@pytest.mark.parametrize("mode", ["asyncio", "trio"])  # threads cannot be cancelled: see the test above
@pytest.mark.parametrize("where", ["waiting", "transferring"])
async def test_a_cancelled_transfer_gives_back_its_slot(
    sdk: Flavor, tmp_path: pathlib.Path, where: str
) -> None:
    """A cancelled task gives back the slot it held, or never takes the one it waited for."""
    fake, counted, client = _setup(sdk, max_concurrent_transfers=1)
    fake.set_latency(5.0, "storage")
    path = tmp_path / "a.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"x" * 1000)
    assert isinstance(client, AsyncClient)
    slots = client._http.transfers

    async def upload() -> None:
        await client.v1.files.upload_file(str(path))

    with anyio.move_on_after(0.3):
        async with anyio.create_task_group() as tg:
            tg.start_soon(upload)
            if where == "waiting":
                tg.start_soon(upload)
    assert slots.in_use == 0 and counted.now == 0
    fake.set_latency(0, "storage")
    with anyio.fail_after(5):
        assert (await client.v1.files.upload_file(str(path))).startswith("api-assets/")


@pytest.mark.parametrize("value", [0, -1, True, 1.5, "4"])
async def test_a_bad_bound_is_refused(sdk: Flavor, value: object) -> None:
    with pytest.raises(InvalidParameterError) as info:
        sdk.client(max_concurrent_transfers=value)
    assert info.value.param == "max_concurrent_transfers"
    assert repr(value) in str(info.value) and "an integer >= 1, or None" in str(info.value)


async def test_the_bound_is_per_client(sdk: Flavor) -> None:
    one, other = sdk.client(max_concurrent_transfers=2), sdk.client(max_concurrent_transfers=None)
    assert _slots(one) is _slots(one) and _slots(one) is not _slots(other)
    assert (_slots(one).limit, _slots(other).limit) == (2, None)
    assert isinstance(one, (Client, AsyncClient))


async def test_first_transfers_started_at_once_share_one_bound(sdk: Flavor) -> None:
    """The bound is made by a client's first transfer, not with the client: threads that start their
    first transfers at the same moment all get the same one (two would each let ``limit`` through)."""
    for _ in range(20):
        client = sdk.client(max_concurrent_transfers=3)
        start = threading.Barrier(8)
        seen: List[Any] = []

        def first(client: Any = client, start: threading.Barrier = start, seen: List[Any] = seen) -> None:
            start.wait()
            seen.append(_slots(client))

        threads = [threading.Thread(target=first) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(seen) == 8 and all(slots is seen[0] for slots in seen)
        assert seen[0].limit == 3 and _slots(client) is seen[0]


@pytest.mark.parametrize("mode", ["sync"])  # a cancelled task is the test above
async def test_ctrl_c_stops_sync_transfers_waiting_for_a_slot_at_once(
    sdk: Flavor, tmp_path: pathlib.Path
) -> None:
    """Another call holds the only slot for 3 s; Ctrl-C in a batch whose two files wait for it returns
    at once: the waiting worker threads give up without waiting for the slot."""
    from test_jobs_cancel import CtrlC

    fake, _, client = _setup(sdk, max_concurrent_transfers=1)
    fake.set_latency(3.0, "storage")
    files = []
    for name in ("held.png", "a.png", "b.png"):
        (tmp_path / name).write_bytes(b"\x89PNG\r\n\x1a\n" + b"x" * 1000)
        files.append(str(tmp_path / name))
    holder = threading.Thread(target=client.v1.files.upload_file, args=(files[0],), daemon=True)
    holder.start()
    while _slots(client).in_use == 0:
        time.sleep(0.01)

    def run() -> None:
        client.v1.files.upload_files(files[1:], max_concurrency=2)
        time.sleep(5)  # should the interrupt come late, it still lands in here

    with CtrlC() as ctrl_c:
        threading.Timer(0.3, ctrl_c.press).start()
        start = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            run()
        stopped = time.monotonic() - start
    assert stopped < 1.5  # not when the holder's slot came free, 3 s after it was taken
    assert not [t for t in threading.enumerate() if t.name.startswith("magic-hour-upload")]
    holder.join(timeout=10)
    assert _slots(client).in_use == 0


async def test_a_download_holds_about_one_write_in_memory(sdk: Flavor, tmp_path: pathlib.Path) -> None:
    """A 16 MiB output over a real socket: Python allocates at most ~1.5 MiB at once (traced), a write
    being collected and, async, the one written behind the network (512 KiB each, kept as the pieces
    received). Joining 1 MiB of pieces into a new buffer per write made it 2.2 MiB sync, 2.3-3.3 async."""
    body = os.urandom(16 * MB)
    with RawServer(then=Unframed(Respond(200, [("Content-Type", "image/png")], body))) as server:
        client = sdk.client(max_retries=0)
        await sdk.call(client.v1.files.download, f"{server.url}/warm.png", directory=tmp_path)  # imports
        tracemalloc.start()
        try:
            paths = await sdk.call(client.v1.files.download, f"{server.url}/render.png", directory=tmp_path)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert pathlib.Path(paths[0]).read_bytes() == body
    assert peak < 2 * MB, f"{peak / MB:.2f} MiB in memory at once"


def test_a_thread_that_gives_up_its_wait_passes_the_wake_up_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """ThreadSlots: a release wakes the longest waiter; when that one gives up (its batch interrupted),
    the next waiter gets the slot instead of waiting forever."""
    from magic_hour._core import transfers
    from magic_hour._core.transfers import Interrupted, ThreadSlots

    monkeypatch.setattr(transfers, "_POLL", 30.0)  # the first waiter stays first in the queue
    slots = ThreadSlots(1)
    assert slots.acquire()
    gave_up, stop_first = threading.Event(), threading.Event()

    def first() -> None:
        try:
            slots.acquire(stop_first)
        except Interrupted:
            gave_up.set()

    waiting = threading.Thread(target=first, daemon=True)
    waiting.start()
    time.sleep(0.2)  # the first waiter is queued before the second
    second = threading.Thread(target=slots.acquire, daemon=True)  # waits without polling
    second.start()
    time.sleep(0.2)
    stop_first.set()
    slots.release()  # wakes the first waiter, which gives up
    second.join(timeout=5)
    waiting.join(timeout=5)
    assert gave_up.is_set() and not second.is_alive() and slots.in_use == 1
