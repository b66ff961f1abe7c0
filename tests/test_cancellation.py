"""Cancellation: an upload stopped half-way (asyncio ``task.cancel()``, an anyio/trio cancel scope, a
timeout around the call, Ctrl-C in sync code) leaves no open file, no connection in use, no worker thread,
and no ``file_path`` reported; the storage holds whole files only; and the client still works afterwards.

Real sockets on 127.0.0.1 (the fake's server); open files and sockets are counted with psutil.
"""

from __future__ import annotations

import asyncio
import hashlib
import pathlib
import signal
import threading
import time
from typing import Any, Callable, Iterator, List, Optional

import anyio
import anyio.to_thread
import psutil
import pytest

from magic_hour import AsyncClient, Client, UploadProgress
from magic_hour.testing import FakeMagicHour, FakeServer

pytestmark = [pytest.mark.anyio, pytest.mark.full]

MB = 1024 * 1024


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def fake() -> FakeMagicHour:
    return FakeMagicHour()


@pytest.fixture
def server(fake: FakeMagicHour) -> Iterator[FakeServer]:
    with fake.serve() as srv:
        yield srv


def _files(tmp_path: pathlib.Path, n: int, size: int) -> List[pathlib.Path]:
    out = []
    for i in range(n):
        p = tmp_path / f"clip{i}.mp4"
        block = hashlib.sha256(f"{i}".encode()).digest() * 2048  # 64 KiB
        p.write_bytes(block * (size // len(block)))
        out.append(p)
    return out


def open_files(paths: List[pathlib.Path]) -> List[str]:
    """The files among ``paths`` that this process has open."""
    wanted = {str(p.resolve()) for p in paths}
    return [f.path for f in psutil.Process().open_files() if f.path in wanted]


def sockets_to(server: FakeServer) -> List[Any]:
    """Our client-side TCP sockets to ``server`` (an fd we hold, whatever its state)."""
    return [
        c for c in psutil.Process().net_connections(kind="tcp") if c.raddr and c.raddr.port == server.port
    ]


def busy_connections(client: Any) -> List[Any]:
    """Connections of the client's pool that are neither idle nor closed (a request still on them)."""
    pool = client._client.own_transport.pool
    return [c for c in pool.connections if not (c.is_idle() or c.is_closed())]


def assert_storage_whole(fake: FakeMagicHour, srcs: List[pathlib.Path]) -> None:
    shas = {hashlib.sha256(p.read_bytes()).hexdigest() for p in srcs}
    for stored in fake.files.values():
        assert stored.sha256 in shas, f"a partial upload was stored: {stored!r}"


async def _cancel_during(
    how: str,
    call: Callable[[Callable[[UploadProgress], None]], Any],
    trigger: Callable[[UploadProgress], bool],
) -> List[Any]:
    """Run ``call(on_progress)``; cancel it (``how``) at the first progress event where ``trigger`` is true.

    Returns what the call returned (must stay empty: a cancelled upload reports nothing).
    """
    reported: List[Any] = []
    if how == "task.cancel":  # plain asyncio
        task: Optional[asyncio.Task[Any]] = None

        def on_progress(event: UploadProgress) -> None:
            if trigger(event) and task is not None:
                task.cancel()

        async def run() -> None:
            reported.append(await call(on_progress))

        task = asyncio.ensure_future(run())
        with pytest.raises(asyncio.CancelledError):
            await task
    else:  # an anyio cancel scope: asyncio or trio
        with anyio.CancelScope() as scope:

            def on_progress(event: UploadProgress) -> None:
                if trigger(event):
                    scope.cancel()

            reported.append(await call(on_progress))
        assert scope.cancelled_caught
    return reported


HOWS = ["task.cancel", "cancel-scope"]


@pytest.mark.parametrize("how", HOWS)
@pytest.mark.parametrize("what", ["upload_file", "upload_files"])
async def test_cancel_mid_body(
    anyio_backend: str,
    fake: FakeMagicHour,
    server: FakeServer,
    tmp_path: pathlib.Path,
    how: str,
    what: str,
) -> None:
    if how == "task.cancel" and anyio_backend == "trio":
        how = "cancel-scope"  # trio has no tasks to cancel; its scopes are the way
    srcs = _files(tmp_path, 4, 8 * MB)
    client = AsyncClient(base_url=server.url, token=fake.token)
    try:

        def call(on_progress: Callable[[UploadProgress], None]) -> Any:
            if what == "upload_file":
                return client.v1.files.upload_file(srcs[0], on_progress=on_progress)
            return client.v1.files.upload_files(srcs, max_concurrency=4, on_progress=on_progress)

        started = time.monotonic()
        reported = await _cancel_during(how, call, lambda e: e.bytes_sent >= 2 * MB)
        assert reported == [], "a cancelled upload reported a result"
        assert time.monotonic() - started < 5
        assert open_files(srcs) == [], "a source file was left open"
        assert busy_connections(client) == [], "a connection still carries the cancelled request"
        assert_storage_whole(fake, srcs)
        assert len(fake.files) < len(srcs) if what == "upload_files" else not fake.files
        # the client is not poisoned: the same upload now goes through
        path = await client.v1.files.upload_file(srcs[1])
        assert fake.file(path).sha256 == hashlib.sha256(srcs[1].read_bytes()).hexdigest()
    finally:
        await client.aclose()
    assert sockets_to(server) == [], "a socket stayed open after aclose()"
    assert open_files(srcs) == []


@pytest.mark.parametrize("stage", ["presign", "waiting-for-storage", "retry-sleep"])
async def test_cancel_by_timeout_at_every_stage(
    anyio_backend: str, fake: FakeMagicHour, server: FakeServer, tmp_path: pathlib.Path, stage: str
) -> None:
    """``anyio.move_on_after`` around the call (``asyncio.wait_for`` works the same way) at each await."""
    srcs = _files(tmp_path, 3, 1 * MB)
    if stage == "presign":
        fake.set_latency(5, route="upload_urls")
    elif stage == "waiting-for-storage":
        fake.set_latency(5, route="storage")
    else:
        fake.fail_next("storage", 503, times=3, headers={"Retry-After": "30"})  # real sleeps, 30 s each
    async with AsyncClient(base_url=server.url, token=fake.token) as client:
        reported: List[Any] = []
        started = time.monotonic()
        with anyio.move_on_after(0.5) as scope:
            reported.append(await client.v1.files.upload_files(srcs, max_concurrency=3))
        assert scope.cancelled_caught and reported == []
        assert time.monotonic() - started < 3
        assert open_files(srcs) == []
        assert busy_connections(client) == []
        fake.reset_faults()
        assert len(await client.v1.files.upload_files(srcs)) == 3
    assert sockets_to(server) == []
    assert_storage_whole(fake, srcs)


# ----------------------------------------------------------------------------------------- sync: Ctrl-C


class CtrlC:
    """Delivers one real SIGINT to the main thread (as a terminal's Ctrl-C would), from any thread."""

    def __init__(self) -> None:
        self.sent = threading.Event()
        self._lock = threading.Lock()
        self._previous: Any = None

    def __enter__(self) -> CtrlC:
        def handler(signum: int, frame: Any) -> None:
            raise KeyboardInterrupt

        self._previous = signal.signal(signal.SIGINT, handler)
        return self

    def press(self) -> None:
        with self._lock:  # progress events come from several worker threads: press once
            if self.sent.is_set():
                return
            self.sent.set()
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)

    def __exit__(self, *exc: object) -> None:
        signal.signal(signal.SIGINT, self._previous)


def _upload_threads() -> List[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("magic-hour-upload")]


@pytest.mark.parametrize("what", ["upload_file", "upload_files"])
def test_ctrl_c_stops_a_sync_upload(
    fake: FakeMagicHour, server: FakeServer, tmp_path: pathlib.Path, what: str
) -> None:
    """Ctrl-C in the main thread: in-flight bodies stop at their next chunk, queued files never start, the
    worker threads are gone when KeyboardInterrupt reaches the caller, and nothing half-sent is stored."""
    srcs = _files(tmp_path, 8, 8 * MB)
    # The storage reads slowly enough that the batch cannot finish before the interrupt lands.
    fake.set_latency(0.2, route="storage")
    client = Client(base_url=server.url, token=fake.token)
    reported: List[Any] = []
    try:
        with CtrlC() as ctrl_c:

            def on_progress(event: UploadProgress) -> None:
                if event.bytes_sent >= 1 * MB:
                    ctrl_c.press()

            def run() -> None:
                if what == "upload_file":
                    reported.append(client.v1.files.upload_file(srcs[0], on_progress=on_progress))
                else:
                    reported.append(
                        client.v1.files.upload_files(srcs, max_concurrency=4, on_progress=on_progress)
                    )
                time.sleep(2)  # should the upload win the race, the interrupt still lands in here

            started = time.monotonic()
            with pytest.raises(KeyboardInterrupt):
                run()
            elapsed = time.monotonic() - started
        assert ctrl_c.sent.is_set()
        assert reported == []
        assert elapsed < 3, f"the interrupt took {elapsed:.1f}s to stop the batch"
        assert _upload_threads() == [], "worker threads survived the interrupt"
        assert open_files(srcs) == []
        assert busy_connections(client) == []
        assert_storage_whole(fake, srcs)
        assert len(fake.files) < len(srcs)
        fake.reset_faults()
        path = client.v1.files.upload_file(srcs[1])  # still usable
        assert fake.file(path).size == srcs[1].stat().st_size
    finally:
        client.close()
    assert sockets_to(server) == []


# ------------------------------------------------------------------- a progress callback that raises


class CallbackFailed(Exception):
    pass


@pytest.mark.parametrize("flavor", ["sync", "async"])
async def test_a_raising_progress_callback_stops_the_batch_and_surfaces_as_is(
    anyio_backend: str, fake: FakeMagicHour, server: FakeServer, tmp_path: pathlib.Path, flavor: str
) -> None:
    """The caller's own exception comes back unwrapped (not an ExceptionGroup), the other uploads stop,
    and nothing is left open, sync and async alike."""
    srcs = _files(tmp_path, 6, 4 * MB)

    def on_progress(event: UploadProgress) -> None:
        if event.bytes_sent >= 1 * MB:
            raise CallbackFailed(event.name)

    if flavor == "sync":
        client: Any = Client(base_url=server.url, token=fake.token)
        with pytest.raises(CallbackFailed):
            await anyio.to_thread.run_sync(
                lambda: client.v1.files.upload_files(srcs, max_concurrency=3, on_progress=on_progress)
            )
        assert _upload_threads() == []
        client.close()
    else:
        async with AsyncClient(base_url=server.url, token=fake.token) as client:
            with pytest.raises(CallbackFailed):
                await client.v1.files.upload_files(srcs, max_concurrency=3, on_progress=on_progress)
            assert busy_connections(client) == []
    assert open_files(srcs) == []
    assert_storage_whole(fake, srcs)
    assert len(fake.files) < len(srcs)
    assert sockets_to(server) == []
