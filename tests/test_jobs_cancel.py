"""Cancelling a job at each phase (uploading, waiting, downloading): asyncio and trio cancel scopes, and
Ctrl-C in sync code. The call stops promptly, no worker thread survives, nothing is left under a final
file name (nor any temporary file), and the client still works."""

from __future__ import annotations

import pathlib
import signal
import threading
import time
from typing import Any, Iterator, List

import anyio
import pytest
from _jobs_helpers import FILES, ImageProjectWithDownloads, creator, leftovers, runner
from _jobs_server import JobsServer, Large
from conftest import TOKEN

from magic_hour import AsyncClient, Client, UploadProgress
from magic_hour._jobs.events import DownloadProgress, ProjectStatus

pytestmark = [pytest.mark.anyio, pytest.mark.full]

MB = 1024 * 1024
PHASES = ["upload", "wait", "download"]


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def server() -> Iterator[JobsServer]:
    with JobsServer() as srv:
        srv.state.render_time = 0.3
        srv.state.chunk_delay = 0.02  # downloads last long enough to be interrupted
        srv.state.outputs = [("a.mp4", Large(16 * MB)), ("b.mp4", Large(16 * MB))]
        yield srv


def _inputs(tmp_path: pathlib.Path) -> dict[str, Any]:
    src = tmp_path / "in" / "me.png"
    src.parent.mkdir()
    src.write_bytes(b"\x89PNG" + b"x" * (3 * MB))
    return {"assets": {"source_file_path": str(src), "target_file_path": "api-assets/t.png"}}


def _reached(phase: str, event: Any) -> bool:
    if phase == "upload":
        return isinstance(event, UploadProgress) and event.bytes_sent > 0
    if phase == "wait":
        return isinstance(event, ProjectStatus) and event.status == "rendering"
    return isinstance(event, DownloadProgress) and event.bytes_received > 0


def _threads() -> List[threading.Thread]:
    return [
        t for t in threading.enumerate() if t.name.startswith(("magic-hour-download", "magic-hour-upload"))
    ]


def _assert_nothing_left(out: pathlib.Path, tmp_path: pathlib.Path) -> None:
    assert not (out / "a.mp4").exists() and not (out / "b.mp4").exists()
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("phase", PHASES)
async def test_a_cancel_scope_stops_the_job(
    anyio_backend: str, server: JobsServer, tmp_path: pathlib.Path, phase: str
) -> None:
    out = tmp_path / "out"
    async with AsyncClient(base_url=server.url, token=TOKEN) as client:
        jobs = runner(client)
        cancelled_at: List[float] = []
        with anyio.CancelScope() as scope:

            def on_progress(event: Any) -> None:
                if not cancelled_at and _reached(phase, event):
                    cancelled_at.append(time.monotonic())
                    scope.cancel()

            await jobs.generate(
                "image",
                ImageProjectWithDownloads,
                create=creator(client),
                body=_inputs(tmp_path),
                files=FILES,
                download_directory=str(out),
                poll_interval=0.05,
                on_progress=on_progress,
            )
        assert scope.cancelled_caught and cancelled_at
        assert time.monotonic() - cancelled_at[0] < 1.0, "the cancellation was not prompt"
        _assert_nothing_left(out, tmp_path)
        # The client still works.
        created = await creator(client)({"assets": {}})
        assert created.id


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
        with self._lock:
            if self.sent.is_set():
                return
            self.sent.set()
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)

    def __exit__(self, *exc: object) -> None:
        signal.signal(signal.SIGINT, self._previous)


@pytest.mark.parametrize("phase", PHASES)
def test_ctrl_c_stops_a_sync_job(server: JobsServer, tmp_path: pathlib.Path, phase: str) -> None:
    out = tmp_path / "out"
    with Client(base_url=server.url, token=TOKEN) as client:
        jobs = runner(client)
        with CtrlC() as ctrl_c:

            def on_progress(event: Any) -> None:
                if _reached(phase, event):
                    ctrl_c.press()

            def run() -> None:
                jobs.generate(
                    "image",
                    ImageProjectWithDownloads,
                    create=creator(client),
                    body=_inputs(tmp_path),
                    files=FILES,
                    download_directory=str(out),
                    poll_interval=0.05,
                    on_progress=on_progress,
                )
                time.sleep(5)  # should the job win the race, the interrupt still lands in here

            start = time.monotonic()
            with pytest.raises(KeyboardInterrupt):
                run()
            assert ctrl_c.sent.is_set()
        assert time.monotonic() - start < 4
        assert _threads() == [], "worker threads survived the interrupt"
        _assert_nothing_left(out, tmp_path)
        assert creator(client)({"assets": {}}).id
