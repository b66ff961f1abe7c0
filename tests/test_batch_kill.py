"""Batches in processes killed with SIGKILL (the full tier: subprocesses): resumed after each kill, the batch
ends with every output present and exactly one project per item; a run in another process holds the
journal until it dies, and its death releases it."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import List

import pytest
from _batch_helpers import TOOL, photos, served

from magic_hour import Client, JournalError, JournalInUseError, batches

pytestmark = pytest.mark.full

CHILD = str(Path(__file__).with_name("_batch_child.py"))


def _child(url: str, token: str, photos_dir: Path, out: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, CHILD, url, token, str(photos_dir), str(out), *extra],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_killed_at_random_moments_and_resumed_every_output_is_there_once(tmp_path: Path) -> None:
    names = photos(tmp_path / "photos", 30)
    out = tmp_path / "out"
    journal = out / "magic-hour-batch.sqlite"
    rng = random.Random(24)
    kills: List[str] = []
    with served(render_seconds=0.05) as (fake, server):
        for _ in range(6):
            child = _child(server.url, fake.token, tmp_path / "photos", out)
            time.sleep(rng.uniform(0.3, 1.0))
            if child.poll() is None:
                child.send_signal(signal.SIGKILL)
                kills.append("killed")
            child.communicate(timeout=30)
            if journal.exists() and batches.status(journal).complete:
                break
        with Client(base_url=server.url, token=fake.token) as client:
            summary = client.batches.run(
                batches.each_file(TOOL, tmp_path / "photos"), output_dir=out, poll_interval=0.02
            )
            # Items whose create was in flight at a kill: settle them as a person would, by looking for
            # their project (named after the item) among those the API has.
            projects = {p.name: p.id for p in fake.projects}
            for item in batches.items(journal, state="unknown"):
                batches.resolve(journal, item.key, project_id=projects.get(item.label))
            summary = client.batches.run(output_dir=out, poll_interval=0.02)
        counts = fake.create_counts()
    assert kills, "the batch ended before any kill: make it longer"
    assert summary.complete and summary.total == len(names)
    assert counts == dict.fromkeys(names, 1)
    assert sorted(p.name for p in out.glob("*.png")) == sorted(names)
    assert not list(out.rglob("*.part"))


def test_a_run_in_another_process_holds_the_journal_until_it_dies(tmp_path: Path) -> None:
    photos(tmp_path / "photos", 2)
    out = tmp_path / "out"
    with served() as (fake, server):
        child = _child(server.url, fake.token, tmp_path / "photos", out, "hold")
        try:
            assert child.stdout is not None and child.stdout.readline().strip() == "holding"
            with (
                Client(base_url=server.url, token=fake.token) as client,
                pytest.raises(JournalInUseError) as caught,
            ):
                client.batches.run(batches.each_file(TOOL, tmp_path / "photos"), output_dir=out)
            assert caught.value.owner is not None and f"pid {child.pid} " in caught.value.owner
            os.kill(child.pid, signal.SIGKILL)
            child.wait(30)
            with Client(base_url=server.url, token=fake.token) as client:
                summary = client.batches.run(batches.each_file(TOOL, tmp_path / "photos"), output_dir=out)
                # It held the journal at its first step, which may be an item's 'creating' (never sent):
                # that item is unknown until settled.
                journal = out / "magic-hour-batch.sqlite"
                assert summary.unknown == summary.resumed_creating
                for item in batches.items(journal, state="unknown"):
                    batches.resolve(journal, item.key, project_id=None)
                summary = client.batches.run(output_dir=out)
        finally:
            if child.poll() is None:
                child.kill()
            child.communicate(timeout=30)
        counts = fake.create_counts()
    assert summary.complete and all(n == 1 for n in counts.values())


def test_ctrl_c_in_a_sync_run_stops_it_with_every_create_recorded(tmp_path: Path) -> None:
    names = photos(tmp_path / "photos", 8)
    out = tmp_path / "out"
    journal = out / "magic-hour-batch.sqlite"
    with served(render_seconds=0.5) as (fake, server):
        child = _child(server.url, fake.token, tmp_path / "photos", out)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(JournalError):
                if journal.exists() and batches.status(journal).counts["created"] >= 2:
                    break
            time.sleep(0.02)
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=30)
        assert child.returncode != 0 and "KeyboardInterrupt" in stderr
        summary = batches.status(journal)
        assert summary.counts["creating"] == 0 and summary.unknown == 0 and not summary.complete
        with Client(base_url=server.url, token=fake.token) as client:
            final = client.batches.run(output_dir=out)
        counts = fake.create_counts()
    assert final.complete and counts == dict.fromkeys(names, 1)
