"""``magic-hour batch`` against the fake served on 127.0.0.1: the folder/glob/listed-files form built on the
job commands' own options, the JSONL manifest, status, report, resolve, the budget, usage errors; and
(full tier, a process of its own) Ctrl-C stopping cleanly with the command that resumes it."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import shlex
import signal
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator, List

import pytest
from _batch_helpers import photos
from _cli import PY, TOKEN, TTY_ENV, drawn_lines, env, run_in_pty, screen

from magic_hour import JournalError, batches
from magic_hour.cli import main
from magic_hour.testing import FakeMagicHour, FakeServer


@pytest.fixture
def fake() -> FakeMagicHour:
    return FakeMagicHour(tokens=TOKEN)


@pytest.fixture
def server(fake: FakeMagicHour) -> Iterator[FakeServer]:
    with fake.serve() as running:
        yield running


def cli(server: FakeServer, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["--base-url", server.url, "--token", TOKEN, *args])
    captured = capsys.readouterr()
    assert TOKEN not in captured.out + captured.err
    return code, captured.out, captured.err


def test_a_folder_given_to_the_commands_own_option(
    fake: FakeMagicHour, server: FakeServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    names = photos(tmp_path / "photos", 3, sub=1)
    (tmp_path / "photos" / "notes.txt").write_text("not an image")
    out = tmp_path / "out"
    args = [
        "batch",
        "run",
        "image",
        "remove-background",
        "--image",
        str(tmp_path / "photos"),
        "--output-dir",
        str(out),
    ]
    code, stdout, stderr = cli(server, capsys, *args, "--json")
    assert code == 0, stderr
    document = json.loads(stdout)
    assert (
        document["ok"]
        and document["done"] == 4
        and document["credits_charged"] == 20
        and document["resume"] is None
    )
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png")) == [
        "p0.png",
        "p1.png",
        "p2.png",
        "sub/p3.png",
    ]
    assert fake.create_counts() == dict.fromkeys(names, 1)
    before = len(fake.requests)
    code, _, stderr = cli(server, capsys, *args)  # the same line again: nothing to do, nothing sent
    assert code == 0 and len(fake.requests) == before
    assert "4 of 4 done, 0 failed, 20 credits charged" in stderr

    code, stdout, _ = cli(server, capsys, "batch", "status", str(out / "magic-hour-batch.sqlite"))
    assert code == 0 and stdout == "4 items: 4 downloaded; 20 credits charged\n"
    code, stdout, _ = cli(server, capsys, "batch", "report", str(out / "magic-hour-batch.sqlite"))
    rows = list(csv.DictReader(io.StringIO(stdout)))
    assert [r["input"] for r in rows] == names and {r["state"] for r in rows} == {"downloaded"}
    assert (
        rows[3]["outputs"] == "sub/p3.png"
        and rows[0]["credits"] == "5"
        and rows[0]["project_id"].startswith("cm")
    )
    code, stdout, _ = cli(
        server, capsys, "batch", "report", str(out / "magic-hour-batch.sqlite"), "--format", "jsonl"
    )
    lines = [json.loads(line) for line in stdout.splitlines()]
    assert [line["key"] for line in lines] == names and lines[0]["error"] is None


def test_report_shows_the_servers_control_characters_as_escapes(
    fake: FakeMagicHour, server: FakeServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # A server's error message must not retitle the terminal or reorder what is shown (issue 21 item 17),
    # in the report too: CSV and JSON lines.
    photos(tmp_path / "photos", 1)
    hostile = "bad \x1b]0;pwned\x07 input \u009b2J \u202egnp.exe"
    fake.fail_next("image_background_remover.create", 422, body={"message": hostile})
    out = tmp_path / "out"
    code, _, _ = cli(
        server, capsys, "batch", "run", "image", "remove-background", "--image", str(tmp_path / "photos"),
        "--output-dir", str(out), "-q",
    )  # fmt: skip
    assert code != 0
    journal = str(out / "magic-hour-batch.sqlite")
    failure = next(iter(batches.items(journal))).failure
    assert failure is not None and "\x1b]0;pwned" in failure.message
    for extra in ([], ["--format", "jsonl"]):
        code, stdout, _ = cli(server, capsys, "batch", "report", journal, *extra)
        assert code == 0 and "pwned" in stdout
        assert not {"\x1b", "\x07", "\x9b", "\u202e"} & set(stdout), repr(stdout)
    assert hostile in json.loads(stdout.splitlines()[0])["error"]["message"]  # the data is kept whole


def test_listed_files_and_a_glob_with_each(
    fake: FakeMagicHour,
    server: FakeServer,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    photos(tmp_path / "photos", 3)
    (tmp_path / "me.png").write_bytes((tmp_path / "photos" / "p0.png").read_bytes())
    monkeypatch.chdir(tmp_path)
    listed = ["photos/p1.png", "photos/p2.png"]  # as a shell expands photos/*.png
    code, _, stderr = cli(
        server,
        capsys,
        "batch",
        "run",
        "image",
        "face-swap",
        "--source",
        "me.png",
        "--each",
        "target",
        *listed,
        "--output-dir",
        "swapped",
    )
    assert code == 0, stderr
    assert sorted(p.name for p in (tmp_path / "swapped").glob("*.png")) == ["p1.png", "p2.png"]
    bodies = [r.json for r in fake.requests_to("face_swap_photo.create")]
    assert len(bodies) == 2 and len({b["assets"]["target_file_path"] for b in bodies}) == 2
    code, _, stderr = cli(
        server,
        capsys,
        "batch",
        "run",
        "image",
        "colorize",
        "--image",
        "photos/*.png",
        "--output-dir",
        "colored",
        "-q",
    )
    assert code == 0, stderr
    assert [i.key for i in batches.items(tmp_path / "colored" / "magic-hour-batch.sqlite")] == [
        "p0.png",
        "p1.png",
        "p2.png",
    ]


def test_a_manifest_names_jobs_as_the_sdk_or_the_command_does(
    fake: FakeMagicHour, server: FakeServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    photos(tmp_path, 1)
    lines = [
        {
            "tool": "image remove-background",
            "params": {"assets": {"image_file_path": str(tmp_path / "p0.png")}},
            "key": "one",
        },
        {
            "tool": "ai_image_generator",
            "params": {"image_count": 2, "aspect_ratio": "1:1", "style": {"prompt": "x"}},
            "output": "gen",
        },
    ]
    manifest = tmp_path / "jobs.jsonl"
    manifest.write_text("# jobs\n" + "\n".join(json.dumps(line) for line in lines) + "\n\n")
    code, stdout, _ = cli(
        server, capsys, "batch", "manifest", str(manifest), "--output-dir", str(tmp_path / "out"), "--json"
    )
    assert code == 0 and json.loads(stdout)["done"] == 2
    assert sorted(p.name for p in (tmp_path / "out").glob("*.png")) == ["gen-1.png", "gen-2.png", "one.png"]
    manifest.write_text(json.dumps(lines[0]) + "\n[1, 2]\n")
    code, _, stderr = cli(
        server, capsys, "batch", "manifest", str(manifest), "--output-dir", str(tmp_path / "out2")
    )
    assert code == 2 and f"{manifest}:2: not a JSON object" in stderr
    manifest.write_text(json.dumps({"tool": "image remove-background", "params": {"assets": {}}}) + "\n")
    code, _, stderr = cli(
        server, capsys, "batch", "manifest", str(manifest), "--output-dir", str(tmp_path / "out3")
    )
    assert code == 2 and f"{manifest}:1: invalid assets.image_file_path: None (missing)" in stderr
    assert len(fake.projects) == 2  # nothing sent for the bad manifests


def test_the_budget_leaves_items_and_says_how_to_resume(
    fake: FakeMagicHour, server: FakeServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    photos(tmp_path / "photos", 4)
    out = tmp_path / "out"
    base = [
        "batch",
        "run",
        "image",
        "remove-background",
        "--image",
        str(tmp_path / "photos"),
        "--output-dir",
        str(out),
    ]
    code, stdout, _ = cli(
        server, capsys, *base, "--max-credits", "10", "--max-concurrent-jobs", "1", "--json"
    )
    document = json.loads(stdout)
    assert (
        code == 1
        and document["stopped"] == "budget"
        and document["done"] == 2
        and document["not_started"] == 2
    )
    assert (
        document["resume"]
        == f"magic-hour --base-url {server.url} batch resume {out / 'magic-hour-batch.sqlite'}"
    )
    code, _, stderr = cli(server, capsys, *base, "--max-credits", "10")
    assert code == 1 and "stopped: the budget (--max-credits) is reached" in stderr
    assert "left: 2 not started (nothing charged); to resume: magic-hour --base-url" in stderr
    resume = shlex.split(document["resume"])[1:]
    code, stdout, _ = cli(server, capsys, *resume[2:], "--json")  # the resume command, as printed
    assert code == 0 and json.loads(stdout)["done"] == 4
    assert all(n == 1 for n in fake.create_counts().values()) and len(fake.projects) == 4


def test_a_create_that_may_have_started_is_reported_and_resolved(
    fake: FakeMagicHour, server: FakeServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    photos(tmp_path / "photos", 2)
    out = tmp_path / "out"
    journal = str(out / "magic-hour-batch.sqlite")
    fake.fail_next("image_background_remover.create", 502)
    args = [
        "batch",
        "run",
        "image",
        "remove-background",
        "--image",
        str(tmp_path / "photos"),
        "--output-dir",
        str(out),
    ]
    code, _, stderr = cli(server, capsys, *args, "--max-concurrent-jobs", "1")
    assert code == 1
    key = next(batches.items(journal, state="unknown")).key  # the first create sent (either file)
    assert (
        f"{key}: its create may have started a project (look for one named '{key}', created around" in stderr
    )
    assert f"magic-hour batch resolve {journal} {key} --project-id ID (or --not-created)" in stderr
    code, stdout, _ = cli(server, capsys, "batch", "status", journal, "--json")
    assert json.loads(stdout)["may_exist"][0]["error"]["type"] == "ProjectMayExistServerError"
    code, _, stderr = cli(server, capsys, "batch", "resolve", journal, key, "--not-created")
    assert code == 0 and f"{key}: now uploaded; the next run has it created again" in stderr
    code, _, _ = cli(server, capsys, "batch", "resume", journal)
    assert code == 0 and len(fake.projects) == 2
    code, _, stderr = cli(server, capsys, "batch", "resolve", journal, key, "--not-created")
    assert code == 2 and "an item in state 'unknown'" in stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            [],
            "batch run: which tool? magic-hour batch run GROUP COMMAND [options] [FILE...], with GROUP one of "
            "image, video, audio, faces (",
        ),
        (["image", "remove-background", "--output-dir", "o"], "give a folder or a glob to the file option"),
        (["image", "remove-background", "--image", "nothing/*.png", "--output-dir", "o"], "no file matches"),
        (
            ["image", "face-swap", "--each", "video", "a.png", "--output-dir", "o"],
            "--each video: not a file option",
        ),
        (["image", "remove-background", "--image", ".", "--no-wait", "--output-dir", "o"], "--no-wait"),
        (["image", "remove-background", "--image", "."], "--output-dir (or --journal) is needed"),
    ],
)
def test_usage_errors(
    fake: FakeMagicHour,
    server: FakeServer,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: List[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    photos(tmp_path, 1)
    code, _, stderr = cli(server, capsys, "batch", "run", *args)
    assert code == 2 and message in stderr
    assert fake.requests == []


@pytest.mark.full
def test_ctrl_c_stops_cleanly_and_prints_the_command_that_resumes(
    fake: FakeMagicHour, server: FakeServer, tmp_path: Path
) -> None:
    names = photos(tmp_path / "photos", 6)
    out = tmp_path / "out"
    journal = out / "magic-hour-batch.sqlite"
    fake.render_seconds = 1.0
    argv = [PY, "-m", "magic_hour", "--base-url", server.url, "batch", "run", "image", "remove-background"]
    argv += ["--image", str(tmp_path / "photos"), "--output-dir", str(out), "--json"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(TOKEN))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # until projects render
        with contextlib.suppress(JournalError):  # the run may be writing the journal's first tables
            if journal.exists() and batches.status(journal).counts["created"] >= 2:
                break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr
    assert "stopping: no new job starts" in stderr and "Traceback" not in stderr
    document: Any = json.loads(stdout)
    assert document["stopped"] == "interrupted" and not document["ok"]
    summary = batches.status(journal)
    assert summary.counts["creating"] == 0 and summary.unknown == 0  # every create sent was recorded
    resume = shlex.split(document["resume"])
    assert resume[:5] == ["magic-hour", "--base-url", server.url, "batch", "resume"]
    done = subprocess.run(
        [PY, "-m", "magic_hour", *resume[1:]], capture_output=True, text=True, env=env(TOKEN), timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert fake.create_counts() == dict.fromkeys(names, 1)
    assert sorted(p.name for p in out.glob("*.png")) == sorted(names)


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["batch", ""], ["run", "manifest", "resume", "status", "report", "resolve"]),
        (["batch", "run", "im"], ["image"]),
        (["batch", "run", "image", "remove-b"], ["remove-background"]),
        (["batch", "run", "image", "remove-background", "--image", ""], ["__files__"]),
        (
            ["batch", "run", "image", "remove-background", "--max-c"],
            ["--max-concurrent-transfers", "--max-concurrent-jobs", "--max-credits"],
        ),
        (["batch", "report", "j.sqlite", "--format", ""], ["csv", "jsonl"]),
        (["batch", "report", "j.sqlite", "--state", "u"], ["uploaded", "unknown"]),
        (["batch", "status", ""], ["__files__"]),
        (["batch", "resolve", "j.sqlite", "k", "--"], ["--project-id", "--not-created"]),
    ],
)
def test_completion(words: List[str], expected: List[str]) -> None:
    from magic_hour.cli._complete import candidates

    found = candidates(words)
    assert found[: len(expected)] == expected or set(expected) <= set(found), found


STATUS = re.compile(r"^magic-hour: \[(\d+)/(\d+)\] (\d+) done.*?(?:; ([\d.]+)/s(?:, ETA (\w+))?)?$")


@pytest.mark.full
@pytest.mark.parametrize("columns", [50, 120])
def test_the_status_line_on_a_terminal_shows_the_rate_and_an_eta_and_fits(
    fake: FakeMagicHour, server: FakeServer, tmp_path: Path, columns: int
) -> None:
    """12 items, 2 at a time, renders of 0.4 s, on a pseudo-terminal: one status line redrawn in place,
    never wider than the terminal (a wrapped line left its first rows behind at each redraw, the rate
    and ETA cut off at 50 columns), with a rate and an ETA once items end (never 'ETA 0s' while
    items are left); at the end the terminal shows the summary alone."""
    photos(tmp_path / "photos", 12)
    fake.render_seconds = 0.4
    argv = [PY, "-m", "magic_hour", "--base-url", server.url, "batch", "run", "image", "remove-background"]
    argv += ["--image", str(tmp_path / "photos"), "--output-dir", str(tmp_path / "out")]
    code, out = run_in_pty([*argv, "--max-concurrent-jobs", "2"], env(TOKEN, **TTY_ENV), columns=columns)
    assert code == 0, out
    drawn = [line for line in drawn_lines(out) if line.startswith("magic-hour: [")]
    assert drawn and all(len(line) <= columns - 1 for line in drawn), drawn
    seen = [STATUS.match(line) for line in drawn]
    assert all(seen), drawn
    paced = [m for m in seen if m is not None and m.group(4)]
    assert paced, drawn  # the rate shows once items end
    for m in paced:
        ended, total, rate, eta = int(m.group(1)), int(m.group(2)), float(m.group(4)), m.group(5)
        assert 0 < rate < 100 and total == 12
        if ended < total:
            assert eta is not None and eta != "0s"
    etas = [int(m.group(5).rstrip("s")) for m in paced if m.group(5) and m.group(5)[:-1].isdigit()]
    assert len(etas) < 2 or etas[0] > etas[-1]  # it comes down
    shown = " ".join(screen(out, columns))
    assert shown.replace(" ", "").startswith("magic-hour:12of12done,0failed,60creditscharged")
    assert "[" not in shown  # no status line left behind
