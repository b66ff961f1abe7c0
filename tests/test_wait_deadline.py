"""A wait's ``timeout`` bounds its polls too: their attempts, retries and ``Retry-After`` waits (issue 21,
item 9). Against scripted servers on 127.0.0.1 that answer slowly or not at all, with ``Client`` and
``AsyncClient`` on asyncio and trio; ``generate(wait_timeout=...)`` and the CLI's ``--wait-timeout`` too."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, List, Optional

import _modes
import pytest
from _servers import Drip, Forward, Hang, RawServer, Received, Respond
from conftest import TOKEN, Flavor

from magic_hour import ProjectTimeoutError, RateLimitError
from magic_hour._core.retry import Sleep
from magic_hour._jobs.polling import KINDS, POLL, TimedOut, wait_flow
from magic_hour.testing import FakeMagicHour

pytestmark = pytest.mark.anyio
mode, anyio_backend, sdk = _modes.mode, _modes.anyio_backend, _modes.sdk

PROJECT = json.dumps(
    {
        "id": "p1",
        "status": "rendering",
        "created_at": "2024-01-01T00:00:00.000Z",
        "credits_charged": 5,
        "downloads": [],
        "enabled": True,
        "error": None,
        "image_count": 1,
        "name": None,
        "total_frame_cost": 5,
        "type": "FACE_SWAP",
    }
).encode()
RENDERING = Respond(200, [("Content-Type", "application/json")], PROJECT)
SLACK = 0.4  # a loaded 2-core machine's scheduling, never a poll's own timeout (5 s here)
SAMPLE = str(Path(__file__).resolve().parent.parent / "docs" / "assets" / "sample.png")


def script(*actions: Any, then: Any) -> Any:
    """A RawServer script: ``actions`` for the wait's polls, in order, then ``then``; the warm-up call
    (``GET .../warm-up``) answered apart."""
    queue = list(actions)

    def choose(request: Received) -> Any:
        if request.target.endswith("/warm-up"):
            return RENDERING
        return queue.pop(0) if queue else then

    return choose


async def timed_wait(sdk: Flavor, server: RawServer, timeout: float, max_retries: int = 2) -> Any:
    """``wait("p1", wait_timeout=...)`` on a client whose own timeout (5 s a poll) is far longer; returns the
    error and the seconds it took (the client warmed up first: imports are not the wait's)."""
    client = sdk.client(base_url=server.url, timeout=5.0, max_retries=max_retries)
    await sdk.call(client.v1.image_projects.get, id="warm-up")
    start = time.monotonic()
    with pytest.raises(ProjectTimeoutError) as info:
        await sdk.call(client.v1.image_projects.wait, "p1", wait_timeout=timeout)
    return info.value, time.monotonic() - start


def gets(server: RawServer) -> List[str]:
    return [r.target for r in server.requests if r.method == "GET" and "warm-up" not in r.target]


@pytest.mark.parametrize(
    "slow",
    [Hang(30), Drip(Respond(200, [("Content-Type", "application/json")], PROJECT * 20), every=0.05)],
    ids=["silent", "dripping"],
)
@pytest.mark.full  # real seconds of waiting
async def test_a_slow_status_endpoint_ends_the_wait_at_its_timeout(sdk: Flavor, slow: Any) -> None:
    with RawServer(script(then=slow)) as server:
        err, took = await timed_wait(sdk, server, timeout=1.0)
    assert 0.9 <= took <= 1.0 + SLACK  # before: a poll's own timeouts and retries, 15 s here
    assert err.project is None and err.id == "p1" and err.timeout == 1.0
    assert "no status of project p1 could be read within 1 s" in str(err)
    assert len(gets(server)) == 1


@pytest.mark.full  # real seconds of waiting
async def test_the_last_status_seen_is_kept_when_a_later_poll_is_cut(sdk: Flavor) -> None:
    with RawServer(script(RENDERING, then=Hang(30))) as server:
        err, took = await timed_wait(sdk, server, timeout=1.5)
    assert took <= 1.5 + SLACK
    assert err.status == "rendering" and err.project is not None and err.project.id == "p1"
    assert len(gets(server)) == 2


async def test_a_retry_after_past_the_deadline_ends_the_wait_at_once(sdk: Flavor) -> None:
    """429 asking for 30 s, 1 s left: no point waiting; the 429 is the cause, and said."""
    with RawServer(script(Respond(429, [("Retry-After", "30")]), then=RENDERING)) as server:
        err, took = await timed_wait(sdk, server, timeout=1.0)
    assert took <= 1.0 + SLACK
    assert isinstance(err.__cause__.__cause__, RateLimitError)
    assert "(the last poll: 429: Too Many Requests)" in str(err)
    assert len(gets(server)) == 1


@pytest.mark.full  # real seconds of waiting
async def test_retries_of_a_poll_stop_at_the_deadline(sdk: Flavor) -> None:
    with RawServer(script(then=Respond(503, [("Retry-After", "0.4")]))) as server:
        err, took = await timed_wait(sdk, server, timeout=1.0, max_retries=10)
    assert took <= 1.0 + SLACK
    assert 2 <= len(gets(server)) <= 3  # 0, 0.4, 0.8 s: no attempt starts after the deadline
    assert "503" in str(err)


@pytest.mark.full  # real seconds of waiting
async def test_generate_timeout_bounds_its_polls(sdk: Flavor, tmp_path: Path) -> None:
    fake = FakeMagicHour(tokens=TOKEN)
    with fake.serve() as served:
        slow_gets = lambda r: Hang(30) if r.method == "GET" else Forward(served.url)  # noqa: E731
        with RawServer(slow_gets) as proxy:
            client = sdk.client(base_url=proxy.url, timeout=5.0)
            start = time.monotonic()
            with pytest.raises(ProjectTimeoutError):
                await sdk.call(
                    client.v1.face_swap_photo.generate,
                    assets={"source_file_path": SAMPLE, "target_file_path": SAMPLE},
                    download_directory=str(tmp_path),
                    wait_timeout=1.0,
                )
            took = time.monotonic() - start
    assert took <= 1.0 + 1.0 + SLACK  # the wait's second, and the upload and create before it (<1 s)
    assert len(fake.requests_to("face_swap_photo.create")) == 1


@pytest.mark.full  # real seconds of waiting
def test_the_cli_wait_timeout_bounds_its_polls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from magic_hour.cli import main

    monkeypatch.setenv("MAGIC_HOUR_API_TOKEN", TOKEN)
    with RawServer([], then=Hang(30)) as server:
        start = time.monotonic()
        code = main(
            ["--base-url", server.url, "--timeout", "5", "image", "wait", "p1", "--wait-timeout", "1"]
        )
        took = time.monotonic() - start
    assert code == 1
    assert took <= 1.0 + 1.0  # the command's own start-up, then the wait's second (before: 15 s)
    assert "no status of project p1 could be read within 1 s" in capsys.readouterr().err


# ------------------------------------------------------------------------------------- the flow


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def run(timeout: float, answers: List[Any]) -> Any:
    """Drive the wait flow with a fake clock; each poll takes no time. Returns (error, sleeps, polls)."""
    clock, sleeps, polls = Clock(), [], 0
    flow = wait_flow(
        KINDS["image"],
        timeout=timeout,
        poll_interval=None,
        raise_on_failure=True,
        emit=lambda e: None,
        clock=clock,
        id="p1",
    )
    action: Any = next(flow)
    it = iter(answers)

    def drive() -> None:
        nonlocal action, polls
        while True:
            if isinstance(action, Sleep):
                sleeps.append(action.seconds)
                clock.now += action.seconds
                action = flow.send(None)
            else:
                assert action is POLL
                polls += 1
                action = flow.send(next(it))

    with pytest.raises(ProjectTimeoutError) as info:
        drive()
    return info.value, sleeps, polls


class P:
    def __init__(self, status: str) -> None:
        self.status, self.id, self.error = status, "p1", None


def test_the_last_poll_leaves_itself_room_before_the_deadline() -> None:
    err, sleeps, _polls = run(10.0, [P("rendering")] * 100)
    # The last poll starts a second (a tenth of short waits) early; the wait ends at its deadline.
    assert sum(sleeps[:-1]) <= 10.0 - 1.0 and sum(sleeps) == pytest.approx(10.0)
    assert err.status == "rendering"
    err, sleeps, _ = run(1.0, [P("rendering")] * 100)
    assert sum(sleeps[:-1]) <= 0.9 and sum(sleeps) == pytest.approx(1.0)


def test_a_poll_cut_by_the_deadline_keeps_the_last_status() -> None:
    cause = TimeoutError("cut")
    err, _, polls = run(10.0, [P("queued"), TimedOut(cause)])
    assert (err.status, err.id, polls) == ("queued", "p1", 2)
    assert err.__cause__ is cause
    err, _, _ = run(10.0, [TimedOut()])
    first: Optional[object] = err.project
    assert first is None and err.id == "p1" and err.status == ""
