"""Batches (client.batches.run) against the fake served on 127.0.0.1, with Client and AsyncClient: a folder
of inputs, reruns that never create twice (after a crash at every step too), the budget, the 429 back-off,
the unclosable window, failed items, and two runs on one journal."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List

import anyio.to_thread
import httpx
import pytest
from _batch_helpers import CREATE_ROUTE, PNG, TOOL, client_for, creates, photos, run, served, states
from conftest import Flavor

from magic_hour import (
    BatchJob,
    BatchUpdate,
    InvalidParameterError,
    JournalError,
    JournalInUseError,
    MissingFileError,
    batches,
)

pytestmark = pytest.mark.anyio


async def test_a_folder_runs_once_per_file_with_outputs_named_after_the_inputs(
    sdk: Flavor, tmp_path: Path
) -> None:
    names = photos(tmp_path / "photos", 4, sub=1)
    seen: List[BatchUpdate] = []
    # Renders of 0.5 s: the items uploaded while three render wait for a slot (instant renders freed
    # the slots before the last uploads ended, on a loaded machine).
    with served(render_seconds=0.5) as (fake, server):
        client = client_for(sdk, fake, server)
        summary = await run(
            sdk,
            client,
            batches.each_file(TOOL, tmp_path / "photos"),
            output_dir=tmp_path / "out",
            on_progress=seen.append,
            poll_interval=0.02,
        )
    assert summary.complete and summary.total == 5 and summary.stopped is None
    assert summary.credits_charged == 5 * 5  # the documented example charges 5 per image
    out = tmp_path / "out"
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.png")) == [
        "p0.png",
        "p1.png",
        "p2.png",
        "p3.png",
        "sub/p4.png",
    ]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in out.rglob("*.png"))
    assert fake.create_counts("input") == {digest: 1 for digest in fake.create_counts("input")}
    assert len(fake.create_counts("input")) == 5
    assert fake.create_counts() == dict.fromkeys(names, 1)  # each project is named after its input
    journal = out / "magic-hour-batch.sqlite"
    assert states(journal) == dict.fromkeys(names, "downloaded")
    steps = {key: [(u.previous, u.item.state) for u in seen if u.item.key == key] for key in names}
    waited = [("planned", "uploaded"), ("uploaded", "creating")]  # uploaded while no slot was free
    at_once = [("planned", "creating")]  # a slot at once: the upload recorded with 'creating'
    rest = [("creating", "created"), ("created", "finished"), ("finished", "downloaded")]
    assert all(one in (waited + rest, at_once + rest) for one in steps.values()), steps
    assert any(one == waited + rest for one in steps.values())  # 5 items, a bound of 3
    item = next(batches.items(journal, state="downloaded"))
    assert (
        item.project_id in {p.id for p in fake.projects} and item.creates == 1 and item.credits_charged == 5
    )
    assert not list(out.rglob("*.part"))


async def test_a_rerun_sends_nothing_new(sdk: Flavor, tmp_path: Path) -> None:
    photos(tmp_path / "photos", 3)
    with served() as (fake, server):
        client = client_for(sdk, fake, server)
        jobs = lambda: batches.each_file(TOOL, tmp_path / "photos")  # noqa: E731
        await run(sdk, client, jobs(), output_dir=tmp_path / "out")
        before = len(fake.requests)
        again = await run(sdk, client, jobs(), output_dir=tmp_path / "out")
        resumed = await run(sdk, client, output_dir=tmp_path / "out")  # no jobs: the journal's
    assert again.complete and resumed.complete and len(fake.requests) == before


class Crash(Exception):
    """Stands for the process dying right after a step was recorded."""


@pytest.mark.parametrize("step", ["uploaded", "creating", "created", "finished", "downloaded"])
async def test_a_rerun_after_a_crash_at_every_step_never_creates_twice(
    sdk: Flavor, tmp_path: Path, step: str
) -> None:
    names = photos(tmp_path / "photos", 3)
    out = tmp_path / "out"
    victims: List[str] = []

    def crash(update: BatchUpdate) -> None:  # the first item to reach the step
        if update.item.state == step and not victims:
            victims.append(update.item.key)
            raise Crash(step)

    # Renders of 0.1 s with one job at a time: the next item is uploaded while the first renders, so it
    # waits for a slot as 'uploaded'.
    with served(render_seconds=0.1) as (fake, server):
        client = client_for(sdk, fake, server)
        with pytest.raises(Crash):
            await run(
                sdk,
                client,
                batches.each_file(TOOL, tmp_path / "photos"),
                output_dir=out,
                on_progress=crash,
                max_concurrent_jobs=1,
                poll_interval=0.02,
            )
        victim = victims[0]
        assert states(out / "magic-hour-batch.sqlite")[victim] == step
        summary = await run(
            sdk, client, batches.each_file(TOOL, tmp_path / "photos"), output_dir=out, poll_interval=0.02
        )
        if step == "creating":
            # The create was never sent (the crash came first), but nothing can tell a rerun so: the
            # item is unknown, never sent again until someone says its project does not exist.
            assert summary.unknown == 1 and summary.resumed_creating == 1
            assert victim not in fake.create_counts()
            assert (await run(sdk, client, output_dir=out, poll_interval=0.02)).unknown == 1
            batches.resolve(out / "magic-hour-batch.sqlite", victim, project_id=None)
            summary = await run(sdk, client, output_dir=out, poll_interval=0.02)
        counts = fake.create_counts()
    assert summary.complete
    assert counts == dict.fromkeys(names, 1)
    assert sorted(p.name for p in out.glob("*.png")) == ["p0.png", "p1.png", "p2.png"]


async def test_every_create_leaves_only_once_its_creating_record_is_committed(
    sdk: Flavor, tmp_path: Path
) -> None:
    """The write-ahead promise at the wire: when a create request leaves (httpx's request hook, the last
    step before the socket), another connection to the journal already reads its item as 'creating'.
    Twelve items and six jobs at once: several items' records share a commit (the group commit)."""
    names = photos(tmp_path / "photos", 12)
    out = tmp_path / "out"
    journal = out / "magic-hour-batch.sqlite"
    seen: List[Any] = []

    def check(request: httpx.Request) -> None:
        if request.method == "POST" and request.url.path == "/v1/image-background-remover":
            label = json.loads(request.content)["name"]
            db = sqlite3.connect(f"file:{journal}?mode=ro", uri=True)
            try:
                seen.append(db.execute("SELECT label, state FROM items WHERE label = ?", (label,)).fetchone())
            finally:
                db.close()

    async def check_async(request: httpx.Request) -> None:
        check(request)

    with served(render_seconds=0.05) as (fake, server):
        lent = sdk.httpx_client(event_hooks={"request": [check_async if sdk.is_async else check]})
        client = client_for(sdk, fake, server, httpx_client=lent)
        summary = await run(
            sdk,
            client,
            batches.each_file(TOOL, tmp_path / "photos"),
            output_dir=out,
            max_concurrent_jobs=6,
            poll_interval=0.02,
        )
    assert summary.complete
    assert sorted(seen) == [(name, "creating") for name in sorted(names)]


async def test_a_file_every_item_shares_is_uploaded_once_per_run(sdk: Flavor, tmp_path: Path) -> None:
    """One face swapped into eight posters: the face is uploaded once, though the eight items upload
    at once (eight workers), and it was written moments before the run (its key not settled yet)."""
    posters = photos(tmp_path / "posters", 8)
    face = tmp_path / "me.png"
    face.write_bytes(PNG + b"the face" * 64)
    digest = hashlib.sha256(face.read_bytes()).hexdigest()
    jobs = batches.each_file(
        "face_swap_photo",
        tmp_path / "posters",
        field="assets.target_file_path",
        params={"assets": {"source_file_path": str(face)}},
    )
    with served() as (fake, server):
        client = client_for(sdk, fake, server)
        summary = await run(sdk, client, jobs, output_dir=tmp_path / "out", max_concurrent_jobs=4)
        stored = [f for f in fake.files.values() if f.sha256 == digest]
        bodies = [p.body for p in fake.projects]
        puts = len(fake.requests_to("storage"))
    assert summary.complete and summary.done == len(posters)
    assert len(stored) == 1 and puts == len(posters) + 1  # the face was PUT to storage once
    assert {b["assets"]["source_file_path"] for b in bodies} == {stored[0].file_path}


async def test_an_existing_file_is_never_overwritten(sdk: Flavor, tmp_path: Path) -> None:
    photos(tmp_path / "photos", 2)
    out = tmp_path / "out"
    out.mkdir()
    (out / "p0.png").write_bytes(b"mine")
    with served() as (fake, server):
        client = client_for(sdk, fake, server)
        await run(sdk, client, batches.each_file(TOOL, tmp_path / "photos"), output_dir=out)
    item = next(i for i in batches.items(out / "magic-hour-batch.sqlite") if i.key == "p0.png")
    assert item.outputs == (f"p0-{item.project_id}.png",)
    assert (out / "p0.png").read_bytes() == b"mine"
    assert (out / item.outputs[0]).read_bytes().startswith(b"\x89PNG")


async def test_the_budget_stops_new_jobs_and_the_summary_says_what_is_left(
    sdk: Flavor, tmp_path: Path
) -> None:
    photos(tmp_path / "photos", 6)
    out = tmp_path / "out"
    with served() as (fake, server):
        client = client_for(sdk, fake, server)
        summary = await run(
            sdk,
            client,
            batches.each_file(TOOL, tmp_path / "photos"),
            output_dir=out,
            max_credits=12,
            max_concurrent_jobs=1,
        )
        # 0 and 5 are under 12: a third job starts, and brings the total to 15; then none.
        assert summary.stopped == "budget" and summary.credits_charged == 15
        assert summary.done == 3 and summary.not_started == 3 and creates(fake) == 3
        rest = await run(sdk, client, output_dir=out)  # the budget is the run's: none now
        counts = fake.create_counts()
    assert (
        rest.complete
        and rest.credits_charged == 30
        and all(n == 1 for n in counts.values())
        and len(counts) == 6
    )


async def test_the_budget_counts_creates_in_flight(sdk: Flavor, tmp_path: Path) -> None:
    photos(tmp_path / "photos", 8)
    with served(render_seconds=0.2) as (fake, server):
        client = client_for(sdk, fake, server)
        summary = await run(
            sdk,
            client,
            batches.each_file(TOOL, tmp_path / "photos"),
            output_dir=tmp_path / "out",
            max_credits=20,
            max_concurrent_jobs=4,
        )
    # Once one create told the price (5), no more start than the budget can pay for.
    assert summary.stopped == "budget" and 20 <= summary.credits_charged <= 20 + 5 * 3


async def test_429_lowers_the_bound_and_every_item_still_runs_once(sdk: Flavor, tmp_path: Path) -> None:
    names = photos(tmp_path / "photos", 10)
    bounds: List[int] = []
    with served(render_seconds=0.05) as (fake, server):
        fake.limit_concurrent_jobs(2)
        client = client_for(sdk, fake, server)
        summary = await run(
            sdk,
            client,
            batches.each_file(TOOL, tmp_path / "photos"),
            output_dir=tmp_path / "out",
            max_concurrent_jobs=6,
            poll_interval=0.02,
            on_progress=lambda u: bounds.append(u.concurrency),
        )
        refused, counts = fake.refused_creates, fake.create_counts()
    assert summary.complete and counts == dict.fromkeys(names, 1)
    assert refused >= 1 and creates(fake) == 10 + refused
    assert min(bounds) <= 3  # halved at least once from 6
    items = list(batches.items(tmp_path / "out" / "magic-hour-batch.sqlite"))
    assert all(i.creates == 1 for i in items)  # a 429 proves nothing started: not counted


async def test_a_create_that_may_have_started_is_unknown_and_never_sent_again(
    sdk: Flavor, tmp_path: Path
) -> None:
    photos(tmp_path / "photos", 3)
    out = tmp_path / "out"
    journal = out / "magic-hour-batch.sqlite"
    with served() as (fake, server):
        fake.fail_next(CREATE_ROUTE, 503)
        client = client_for(sdk, fake, server)
        summary = await run(
            sdk, client, batches.each_file(TOOL, tmp_path / "photos"), output_dir=out, max_concurrent_jobs=1
        )
        assert summary.unknown == 1 and summary.done == 2 and creates(fake) == 3
        unknown = next(batches.items(journal, state="unknown"))
        assert unknown.failure is not None and unknown.failure.type == "ProjectMayExistServerError"
        assert unknown.failure.status_code == 503 and unknown.creating_since is not None
        again = await run(sdk, client, output_dir=out)
        assert again.unknown == 1 and creates(fake) == 3  # never sent again by itself
        # Someone found its project (here: one the API has): the next run waits for it and downloads it.
        project = fake.seed_project("image", status="complete", outputs=1)
        batches.resolve(journal, unknown.key, project_id=project.id)
        final = await run(sdk, client, output_dir=out)
        assert final.complete and creates(fake) == 3
    assert (out / unknown.outputs[0] if unknown.outputs else out / "p0.png").exists()


async def test_failed_items_are_retried_only_when_asked(sdk: Flavor, tmp_path: Path) -> None:
    photos(tmp_path / "photos", 4)
    out = tmp_path / "out"
    with served() as (fake, server):
        fake.end_next_projects("error", times=2, code="bad_input", message="no face found")
        client = client_for(sdk, fake, server)
        first = await run(
            sdk, client, batches.each_file(TOOL, tmp_path / "photos"), output_dir=out, max_concurrent_jobs=1
        )
        assert (
            first.failed == 2 and first.done == 2 and first.credits_charged == 10
        )  # failed renders refunded
        failed = list(batches.items(out / "magic-hour-batch.sqlite", state="failed"))
        assert [f.failure.code for f in failed if f.failure] == ["bad_input", "bad_input"]
        assert [f.failure.message for f in failed if f.failure] == ["no face found", "no face found"]
        assert (await run(sdk, client, output_dir=out)).failed == 2 and creates(fake) == 4
        retried = await run(sdk, client, output_dir=out, retry_failed=True)
        assert retried.complete and creates(fake) == 6
    again = {i.key: i for i in batches.items(out / "magic-hour-batch.sqlite")}
    assert [len(again[f.key].previous_projects) for f in failed] == [1, 1]
    assert [again[f.key].previous_projects[0] for f in failed] == [f.project_id for f in failed]


@pytest.mark.parametrize("status", [422, 400])
async def test_a_refusal_while_the_runs_jobs_render_waits_for_one_to_end(
    sdk: Flavor, tmp_path: Path, status: int
) -> None:
    """The API's description documents no answer for the plan's limit of concurrent jobs: its creates
    answer 400 and 422 to what they refuse (nothing started). Such a refusal while jobs of the run render
    may be that limit: the item is tried again once one of them ends (and the bound comes down to what
    renders), a few times at most; every item ends up created once, none failed."""
    names = photos(tmp_path / "photos", 8)
    bounds: List[int] = []
    with served(render_seconds=0.1) as (fake, server):
        fake.limit_concurrent_jobs(2, status=status)
        client = client_for(sdk, fake, server)
        summary = await run(
            sdk,
            client,
            batches.each_file(TOOL, tmp_path / "photos"),
            output_dir=tmp_path / "out",
            max_concurrent_jobs=5,
            poll_interval=0.02,
            on_progress=lambda u: bounds.append(u.concurrency),
        )
        refused, counts = fake.refused_creates, fake.create_counts()
    assert summary.complete and summary.failed == 0 and counts == dict.fromkeys(names, 1)
    assert refused >= 1 and min(bounds) <= 2


async def test_refusals_of_the_items_themselves_fail_at_once(sdk: Flavor, tmp_path: Path) -> None:
    """Items the API refuses for themselves (a 422 for each, nothing of the run ever renders) fail at
    once: the other items' creates in flight are no project rendering, so no refusal is taken for the
    plan's limit (a 60 s pause and retried creates before)."""
    jobs = [
        BatchJob(
            "ai_image_generator", {"image_count": 1, "style": {"prompt": f"cat {i}"}, "aspect_ratio": "7:3"}
        )
        for i in range(8)
    ]
    with served() as (fake, server):
        client = client_for(sdk, fake, server)
        started = time.monotonic()
        summary = await run(sdk, client, jobs, output_dir=tmp_path / "out", max_concurrent_jobs=4)
        elapsed = time.monotonic() - started
        sent = len(fake.requests_to("ai_image_generator.create"))
    assert summary.failed == 8 and sent == 8 and elapsed < 20, (summary, sent, elapsed)


async def test_a_create_the_api_refuses_fails_the_item_without_charging(sdk: Flavor, tmp_path: Path) -> None:
    photos(tmp_path / "photos", 2)
    with served() as (fake, server):
        fake.fail_next(CREATE_ROUTE, 422, body={"message": "Unable to create image"})
        client = client_for(sdk, fake, server)
        summary = await run(
            sdk,
            client,
            batches.each_file(TOOL, tmp_path / "photos"),
            output_dir=tmp_path / "out",
            max_concurrent_jobs=1,
        )
    assert summary.failed == 1 and summary.done == 1 and summary.credits_charged == 5
    failed = next(batches.items(tmp_path / "out" / "magic-hour-batch.sqlite", state="failed"))
    assert failed.failure is not None
    assert (failed.failure.step, failed.failure.type, failed.failure.status_code) == (
        "create",
        "UnprocessableEntityError",
        422,
    )


async def test_402_stops_the_batch_with_items_left_to_start(sdk: Flavor, tmp_path: Path) -> None:
    photos(tmp_path / "photos", 4)
    with served() as (fake, server):
        fake.fail_next(CREATE_ROUTE, 402, body={"message": "Payment required"})
        client = client_for(sdk, fake, server)
        summary = await run(
            sdk,
            client,
            batches.each_file(TOOL, tmp_path / "photos"),
            output_dir=tmp_path / "out",
            max_concurrent_jobs=1,
        )
        assert summary.stopped == "payment_required" and summary.not_started == 4 and creates(fake) == 1
        rest = await run(sdk, client, output_dir=tmp_path / "out")
    assert rest.complete


async def test_two_runs_on_one_journal_refuse_each_other(sdk: Flavor, tmp_path: Path) -> None:
    import threading

    photos(tmp_path / "photos", 2)
    out = tmp_path / "out"
    with served() as (fake, server):
        holding, release = threading.Event(), threading.Event()

        def hold(update: BatchUpdate) -> None:
            holding.set()
            release.wait(10)

        first_client = sdk.client_cls(base_url=server.url, token=fake.token) if not sdk.is_async else None
        from magic_hour import Client

        first = Client(base_url=server.url, token=fake.token)
        thread = threading.Thread(
            target=first.batches.run,
            args=(batches.each_file(TOOL, tmp_path / "photos"),),
            kwargs={"output_dir": out, "on_progress": hold},
        )
        thread.start()
        try:
            assert holding.wait(10)
            client = client_for(sdk, fake, server)
            with pytest.raises(JournalInUseError) as caught:
                await run(sdk, client, batches.each_file(TOOL, tmp_path / "photos"), output_dir=out)
        finally:
            release.set()
            thread.join(10)
            first.close()
        del first_client
    error = caught.value
    assert error.path == str(out / "magic-hour-batch.sqlite")
    assert error.owner is not None and f"pid {__import__('os').getpid()}" in error.owner
    assert "in use by another run" in str(error)
    assert states(out / "magic-hour-batch.sqlite") == {"p0.png": "downloaded", "p1.png": "downloaded"}


@pytest.mark.parametrize(
    ("jobs", "param"),
    [
        ([BatchJob("no_such_tool", {})], "jobs[0].tool"),
        ([BatchJob(TOOL, {"assets": {}})], "jobs[0].params.assets.image_file_path"),
        ([BatchJob(TOOL, {"assets": {"image_file_path": "x.png"}, "colour": 1})], "jobs[0].params.colour"),
        ([{"tool": TOOL, "params": {}, "keys": "x"}], "jobs[0].keys"),
        (
            [
                BatchJob(TOOL, {"assets": {"image_file_path": "https://x.test/a.png"}}, key="k"),
                BatchJob(TOOL, {"assets": {"image_file_path": "https://x.test/b.png"}}, key="k"),
            ],
            "jobs[1].key",
        ),
        ("photos", "jobs"),
    ],
)
async def test_a_bad_job_is_refused_before_anything_is_sent(
    sdk: Flavor, tmp_path: Path, jobs: Any, param: str
) -> None:
    with served() as (fake, server):
        client = client_for(sdk, fake, server)
        with pytest.raises(InvalidParameterError) as caught:
            await run(sdk, client, jobs, output_dir=tmp_path / "out")
        assert fake.requests == []
    assert caught.value.param == param
    journal = tmp_path / "out" / "magic-hour-batch.sqlite"
    if journal.exists():
        assert states(journal) == {}  # one transaction: nothing of the batch recorded


async def test_a_missing_input_file_is_refused_before_anything_is_sent(sdk: Flavor, tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"\x89PNG")
    jobs = [
        BatchJob(TOOL, {"assets": {"image_file_path": str(tmp_path / name)}})
        for name in ("a.png", "gone.png")
    ]
    with served() as (fake, server):
        client = client_for(sdk, fake, server)
        with pytest.raises(MissingFileError) as caught:
            await run(sdk, client, jobs, output_dir=tmp_path / "out")
        assert fake.requests == []
    assert caught.value.param == "jobs[1].params.assets.image_file_path"


async def test_a_manifest_of_several_tools(sdk: Flavor, tmp_path: Path) -> None:
    photos(tmp_path, 1)
    jobs: List[Dict[str, Any]] = [
        {
            "tool": "ai_image_generator",
            "params": {"image_count": 2, "aspect_ratio": "1:1", "style": {"prompt": "a lighthouse"}},
            "output": "lighthouse",
        },
        {
            "tool": "ai_image_generator",
            "params": {"image_count": 1, "aspect_ratio": "1:1", "style": {"prompt": "a lighthouse"}},
        },
        {
            "tool": "ai_image_generator",
            "params": {"image_count": 1, "aspect_ratio": "1:1", "style": {"prompt": "a lighthouse"}},
        },
        {
            "tool": "photo_colorizer",
            "params": {"assets": {"image_file_path": str(tmp_path / "p0.png")}},
            "key": "old",
        },
    ]
    with served() as (fake, server):
        client = client_for(sdk, fake, server)
        summary = await run(sdk, client, jobs, output_dir=tmp_path / "out")
        again = await run(sdk, client, jobs, output_dir=tmp_path / "out")
        projects = len(fake.projects)
    assert summary.complete and again.complete and projects == 4
    items = list(batches.items(tmp_path / "out" / "magic-hour-batch.sqlite"))
    assert items[0].outputs == ("lighthouse-1.png", "lighthouse-2.png")
    assert items[2].key == items[1].key + "#2"  # the same job twice is two items
    assert items[3].key == "old" and items[3].outputs == ("old.png",)


@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_cancelling_an_async_run_records_every_create_and_a_rerun_finishes(tmp_path: Path) -> None:
    import anyio

    from magic_hour import AsyncClient

    names = photos(tmp_path / "photos", 8)
    out = tmp_path / "out"
    journal = out / "magic-hour-batch.sqlite"
    created: List[str] = []
    with served(render_seconds=0.3) as (fake, server):
        async with AsyncClient(base_url=server.url, token=fake.token) as client:
            with anyio.move_on_after(5) as scope:

                def cancel_once_two_render(update: BatchUpdate) -> None:
                    if update.item.state == "created":
                        created.append(update.item.key)
                        if len(created) == 2:
                            scope.cancel()

                await client.batches.run(
                    batches.each_file(TOOL, tmp_path / "photos"),
                    output_dir=out,
                    on_progress=cancel_once_two_render,
                    poll_interval=0.02,
                )
            assert scope.cancelled_caught
            summary = batches.status(journal)
            assert summary.counts["creating"] == 0 and summary.unknown == 0  # every create sent was recorded
            assert summary.done < 8 and len(fake.projects) == summary.in_progress + summary.done
            final = await client.batches.run(output_dir=out, poll_interval=0.02)
        counts = fake.create_counts()
    assert final.complete and counts == dict.fromkeys(names, 1)


def test_any_exception_in_the_calling_thread_stops_and_waits_for_the_workers(tmp_path: Path) -> None:
    """A SystemExit raised in a sync run's calling thread (an app's SIGTERM handler; the same for any
    exception other than KeyboardInterrupt) stops the batch as Ctrl-C does: the run returns once its
    workers have ended (it returned under live workers, then released the journal they still wrote),
    and the next run finishes the batch without creating anything twice."""
    import os
    import signal

    from magic_hour import Client

    names = photos(tmp_path / "photos", 4)
    out = tmp_path / "out"

    def terminate(fake: Any) -> None:
        deadline = time.monotonic() + 20
        while not fake.projects and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGUSR1)  # its handler runs in the main thread: the run's caller

    def exit_now(signum: int, frame: Any) -> None:
        raise SystemExit(3)

    previous = signal.signal(signal.SIGUSR1, exit_now)
    try:
        with served(render_seconds=1.0) as (fake, server):
            with Client(token=fake.token, base_url=server.url) as client:
                threading.Thread(target=terminate, args=(fake,), daemon=True).start()
                jobs = batches.each_file(TOOL, tmp_path / "photos")
                with pytest.raises(SystemExit):
                    client.batches.run(jobs, output_dir=out, poll_interval=0.02)
                assert not [t for t in threading.enumerate() if t.name.startswith("magic-hour-batch")]
                summary = client.batches.run(output_dir=out, poll_interval=0.02)
            assert summary.complete and fake.create_counts() == dict.fromkeys(names, 1)
    finally:
        signal.signal(signal.SIGUSR1, previous)


async def _stopped_when(sdk: Flavor, ready: Callable[[], None], call: Callable[[], Awaitable[Any]]) -> None:
    """Runs ``call`` and stops it once ``ready`` returns (``ready`` runs in a thread): async, by
    cancelling its task group; sync, as Ctrl-C does (KeyboardInterrupt in the calling thread)."""
    import _thread

    if sdk.is_async:
        async with anyio.create_task_group() as tg:

            async def stop() -> None:
                await anyio.to_thread.run_sync(ready)
                tg.cancel_scope.cancel()

            tg.start_soon(stop)
            await call()
    else:

        def ctrl_c() -> None:
            ready()
            _thread.interrupt_main()  # what Ctrl-C does to the calling thread

        threading.Thread(target=ctrl_c, daemon=True).start()
        with pytest.raises(KeyboardInterrupt):
            await call()


@pytest.mark.parametrize(("route", "left"), [("downloads", "finished"), ("storage", "planned")])
async def test_a_stop_ends_a_stalled_transfer_at_once(
    sdk: Flavor, tmp_path: Path, route: str, left: str
) -> None:
    """A download (or an upload's PUT) whose server stalls (20 s before it answers; the read timeout is
    60 s): Ctrl-C (a sync run: its workers see no KeyboardInterrupt of their own) or a cancel (an async
    run) ends the run within a second or two, not when the server or the read timeout gives up; the
    item stays where it was (its download, or its upload, not recorded) and the next run finishes it."""

    photos(tmp_path / "photos", 1)
    out = tmp_path / "out"
    stopped_at: List[float] = []

    def wait_for_the_download(fake: Any) -> None:
        deadline = time.monotonic() + 20
        while not fake.requests_to(route) and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)  # the worker is in its read
        stopped_at.append(time.monotonic())

    with served() as (fake, server):
        fake.set_latency(20, route=route)
        client = client_for(sdk, fake, server)
        jobs = batches.each_file(TOOL, tmp_path / "photos")
        await _stopped_when(
            sdk, lambda: wait_for_the_download(fake), lambda: run(sdk, client, jobs, output_dir=out)
        )
        ended = time.monotonic()
        assert stopped_at and ended - stopped_at[0] < 2.0
        # Every worker ended before the run returned (a Thread.join() interrupted by Ctrl-C took a live
        # worker for ended, and the run returned under it).
        assert not [t for t in threading.enumerate() if t.name.startswith("magic-hour-batch")]
        assert states(out / "magic-hour-batch.sqlite") == {"p0.png": left}
        fake.set_latency(0, route=route)
        summary = await run(sdk, client, output_dir=out)
    assert summary.complete and (out / "p0.png").exists() and len(fake.projects) == 1


@pytest.mark.parametrize(("step", "left"), [("wait", "created"), ("fetch", "finished")])
async def test_a_stop_ends_a_stalled_poll_at_once(sdk: Flavor, tmp_path: Path, step: str, left: str) -> None:
    """A poll of the created project (or, resuming a finished item, the fetch of its download URLs) whose
    server stalls (20 s before it answers; the read timeout is 60 s): Ctrl-C (sync) or a cancel (async)
    ends the run within a second or two, not when the server or the read timeout gives up; the stop is
    no failure of the item, which stays where it was, and the next run finishes it without a second
    create."""

    photos(tmp_path / "photos", 1)
    out = tmp_path / "out"
    route = "image_projects.get"
    stopped_at: List[float] = []
    polls = [0]  # of the route before the run that stalls

    def wait_for_the_poll(fake: Any) -> None:
        deadline = time.monotonic() + 20
        while len(fake.requests_to(route)) == polls[0] and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)  # the worker is in its read
        stopped_at.append(time.monotonic())

    with served() as (fake, server):
        client = client_for(sdk, fake, server)
        jobs = batches.each_file(TOOL, tmp_path / "photos")
        if step == "fetch":  # the project finished, its outputs not downloaded: a rerun fetches it anew
            await run(sdk, client, jobs, output_dir=out, download_outputs=False)
            assert states(out / "magic-hour-batch.sqlite") == {"p0.png": "finished"}
            jobs = None
        polls[0] = len(fake.requests_to(route))
        fake.set_latency(20, route=route)
        await _stopped_when(
            sdk, lambda: wait_for_the_poll(fake), lambda: run(sdk, client, jobs, output_dir=out)
        )
        ended = time.monotonic()
        assert stopped_at and ended - stopped_at[0] < 1.5
        assert len(fake.requests_to(route)) == polls[0] + 1  # cut, not retried
        assert not [t for t in threading.enumerate() if t.name.startswith("magic-hour-batch")]
        (item,) = batches.items(out / "magic-hour-batch.sqlite")
        assert (item.state, item.failure) == (left, None)
        fake.set_latency(0, route=route)
        summary = await run(sdk, client, output_dir=out)
    assert summary.complete and (out / "p0.png").exists() and creates(fake) == 1


async def test_a_run_on_a_closed_journal_fails_with_journal_error(sdk: Flavor, tmp_path: Path) -> None:
    # Both drivers read the items to work on from the journal: once it is closed, that read raises the
    # JournalError a write raises (sqlite3.ProgrammingError before), and nothing is sent.
    from magic_hour._client import http_of
    from magic_hour.batches._api import _options
    from magic_hour.batches._async import run_async
    from magic_hour.batches._run import Run
    from magic_hour.batches._sync import run_sync

    photos(tmp_path / "photos", 2)
    options = _options(
        journal=tmp_path / "j.sqlite",
        output_dir=tmp_path / "out",
        max_concurrent_jobs=1,
        max_credits=None,
        retry_failed=False,
        download_outputs=True,
        wait_timeout=None,
        poll_interval=None,
        on_progress=None,
    )
    with served() as (fake, server):
        client = client_for(sdk, fake, server)
        opened = Run.open(options, batches.each_file(TOOL, tmp_path / "photos"))
        opened.journal.close()
        http = http_of(client)
        driven = (
            run_async(client, http, opened)
            if sdk.is_async
            else anyio.to_thread.run_sync(run_sync, client, http, opened)
        )
        with pytest.raises(JournalError, match=r"cannot read the batch journal .*: it is closed"):
            await driven
        assert fake.requests == []


@pytest.mark.parametrize("bad", ["foreign", "text", "newer"])
async def test_a_refused_journal_is_left_closed(sdk: Flavor, tmp_path: Path, bad: str) -> None:
    # A journal refused as it opens (another program's SQLite file, not SQLite at all, a newer format)
    # closes what it opened: its connection and the run lock were left to the garbage collector, the
    # file held open as long as the error's traceback lived (and a ResourceWarning on Python 3.13).
    import psutil

    from magic_hour.batches._journal import APPLICATION_ID

    path = tmp_path / "j.sqlite"
    if bad == "text":
        path.write_text("hello " * 100)
    else:
        db = sqlite3.connect(path)
        db.execute("CREATE TABLE t (x)" if bad == "foreign" else "CREATE TABLE meta (name, value)")
        if bad == "newer":
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            db.execute("INSERT INTO meta VALUES ('format', '99')")
        db.commit()
        db.close()
    with served() as (fake, server):
        client = client_for(sdk, fake, server)
        with pytest.raises(JournalError) as info:
            await run(sdk, client, journal=path, output_dir=tmp_path / "out")
        with pytest.raises(JournalError) as reading:
            batches.status(path)
    # The errors (and their tracebacks, which hold the frames that opened the files) are still alive.
    assert info.value is not None and reading.value is not None
    assert [f.path for f in psutil.Process().open_files() if f.path.startswith(str(path))] == []
