"""Catalog commands run through the job runner against the fake: ``python -m magic_hour`` on its server,
and in-process for what needs no process of its own. Every command in every mode (``--no-wait``, failed
and canceled projects...) runs in ``test_cli_commands.py``."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable, List

import pytest
from _cli import PY, SAMPLE, TOKEN, cli, env, no_traceback

from magic_hour.cli import main
from magic_hour.testing import FakeMagicHour, FakeServer

pytestmark = pytest.mark.full


FACE_SWAP = ("image", "face-swap", "--source", str(SAMPLE), "--target", str(SAMPLE))


def created(fake: FakeMagicHour, route: str) -> dict:
    (request,) = fake.requests_to(route)
    return json.loads(request.body or b"")


def test_face_swap_uploads_creates_waits_and_downloads(
    fake: FakeMagicHour, server: FakeServer, tmp_path: Path
) -> None:
    proc = cli(server, *FACE_SWAP, cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    (line,) = proc.stdout.splitlines()
    out = Path(line)
    assert out.parent == tmp_path and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    body = created(fake, "face_swap_photo.create")
    # The same local file given twice is uploaded once, and both fields get its api-assets path.
    assert body["assets"]["source_file_path"] == body["assets"]["target_file_path"]
    assert body["assets"]["source_file_path"].startswith("api-assets/")
    assert len(fake.requests_to("storage")) == 1
    assert "started (313 B)" in proc.stderr and ": complete" in proc.stderr
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".part")]


def test_json_document_and_no_download(fake: FakeMagicHour, server: FakeServer, tmp_path: Path) -> None:
    proc = cli(server, "--json", *FACE_SWAP, "--no-download", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["ok"] is True and doc["type"] == "image" and doc["status"] == "complete"
    assert doc["downloaded"] == [] and len(doc["outputs"]) == 1
    assert doc["outputs"][0].startswith(server.storage_url)
    assert doc["project"]["id"] == doc["id"]
    assert "faces" not in doc["project"]  # only what the API sent
    assert os.listdir(tmp_path) == []
    text = cli(server, *FACE_SWAP, "--no-download", cwd=tmp_path)
    assert text.stdout.splitlines()[0].startswith(server.storage_url)


def test_missing_required_flag_is_a_usage_error(server: FakeServer, tmp_path: Path) -> None:
    proc = cli(server, "--json", "image", "face-swap", "--source", str(SAMPLE), cwd=tmp_path)
    assert proc.returncode == 2
    assert "the following arguments are required: --image" in proc.stderr
    assert json.loads(proc.stdout)["error"]["type"] == "UsageError"


def test_outputs_chain_through_a_pipe(fake: FakeMagicHour, server: FakeServer, tmp_path: Path) -> None:
    first = cli(
        server,
        "--json",
        "image",
        "generate",
        "--prompt",
        "a lighthouse",
        "--image-count",
        "1",
        "--no-download",
        cwd=tmp_path,
    )
    assert first.returncode == 0, first.stderr
    url = json.loads(first.stdout)["outputs"][0]
    second = cli(
        server,
        "video",
        "from-image",
        "--image",
        "-",
        "--prompt",
        "slow pan",
        "--end-seconds",
        "5",
        "--no-download",
        cwd=tmp_path,
        stdin=first.stdout,
    )
    assert second.returncode == 0, second.stderr
    assert created(fake, "image_to_video.create")["assets"]["image_file_path"] == url


def test_mock_face_swap_of_the_sample(tmp_path: Path) -> None:
    """The README's run command: an end-to-end job offline, with no token."""
    readme = (SAMPLE.parent.parent.parent / "README.md").read_text()
    assert (
        "magic-hour --mock image face-swap --face docs/assets/sample.png --image docs/assets/sample.png"
        in readme
    )
    proc = subprocess.run(
        [PY, "-m", "magic_hour", "--mock", *FACE_SWAP],
        capture_output=True,
        text=True,
        env=env(),
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip()).read_bytes()[:4] == b"\x89PNG"


def test_ctrl_c_while_waiting_exits_130(fake: FakeMagicHour, server: FakeServer, tmp_path: Path) -> None:
    fake.render_seconds = 60
    proc = subprocess.Popen(
        [PY, "-m", "magic_hour", "--base-url", server.url, *FACE_SWAP],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env(TOKEN),
        cwd=tmp_path,
        text=True,
    )
    deadline = time.monotonic() + 20
    while not fake.requests_to("image_projects.get") and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 130, err
    (project,) = fake.projects
    assert err.splitlines()[-3:] == [
        "magic-hour: interrupted",
        f"magic-hour: image project {project.id} keeps running on Magic Hour and costs its credits "
        "(stopping this command does not cancel it)",
        f"magic-hour: to wait for it and get its outputs: magic-hour --base-url {server.url} image download "
        f"{project.id}",
    ]
    assert os.listdir(tmp_path) == []


def _interrupt_when(
    server: FakeServer, argv: List[str], cwd: Path, ready: Callable[[], bool]
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.Popen(
        [PY, "-m", "magic_hour", "--base-url", server.url, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env(TOKEN),
        cwd=cwd,
        text=True,
    )
    deadline = time.monotonic() + 20
    while not ready() and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_ctrl_c_json_document_and_the_resume_command_works(
    fake: FakeMagicHour, server: FakeServer, tmp_path: Path
) -> None:
    """--json gets a document on Ctrl-C too: the project, its last status, the command that resumes it;
    that command, run as given, waits for the same project and downloads its output."""
    fake.render_seconds = 6  # still rendering when interrupted, however loaded the machine
    proc = _interrupt_when(
        server,
        ["--json", *FACE_SWAP, "--output-dir", "out dir"],
        tmp_path,
        # a second poll: the first one's answer was read (polls are sequential), so a status is known
        lambda: len(fake.requests_to("image_projects.get")) >= 2,
    )
    assert proc.returncode == 130, proc.stderr
    (project,) = fake.projects
    doc = json.loads(proc.stdout)
    resume = f"magic-hour --base-url {server.url} image download {project.id} --output-dir 'out dir'"
    assert doc == {
        "ok": False,
        "id": project.id,
        "type": "image",
        "status": doc["status"],
        "started": True,
        "resume": resume,
        "error": {"type": "Interrupted", "message": "interrupted", "status_code": None},
    }
    assert doc["status"] in ("queued", "rendering")
    again = subprocess.run(
        [PY, "-m", "magic_hour", *shlex.split(resume)[1:]],
        capture_output=True,
        text=True,
        env=env(TOKEN),
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    (path,) = again.stdout.splitlines()
    assert Path(path).parent == tmp_path / "out dir" and Path(path).read_bytes()[:4] == b"\x89PNG"
    assert len(fake.requests_to("face_swap_photo.create")) == 1  # resumed, not started again


def test_ctrl_c_before_the_project_exists_says_nothing_was_started(
    fake: FakeMagicHour, server: FakeServer, tmp_path: Path
) -> None:
    fake.set_latency(5, "storage")  # the upload hangs
    proc = _interrupt_when(server, ["--json", *FACE_SWAP], tmp_path, lambda: bool(fake.issued))
    assert proc.returncode == 130, proc.stderr
    assert proc.stderr.splitlines()[-2:] == [
        "magic-hour: interrupted",
        "magic-hour: no project was started: nothing was charged",
    ]
    doc = json.loads(proc.stdout)
    assert doc["id"] is None and doc["started"] is False and doc["resume"] is None
    assert fake.projects == []


def test_nothing_is_printed_after_an_interrupt(capsys: pytest.CaptureFixture[str]) -> None:
    """Ctrl-C stops the reporters before ``interrupted`` is printed: an event that the runner's or the
    upload pool's threads report meanwhile (a poll's answer arriving) prints nothing after it."""
    from magic_hour import UploadProgress
    from magic_hour._jobs.events import ProjectStatus
    from magic_hour.cli._progress import JobReporter, PlainReporter

    job = JobReporter()
    job(ProjectStatus("p1", "queued", 0.0, True))
    job.interrupt()
    job(ProjectStatus("p1", "rendering", 0.5, True))
    job(UploadProgress(0, "a.png", 0, 10))
    plain = PlainReporter()
    plain.on_progress(UploadProgress(0, "b.png", 0, 10))
    plain.interrupt()
    plain.on_progress(UploadProgress(0, "b.png", 10, 10))
    assert capsys.readouterr().err.splitlines() == [
        "magic-hour: project p1: queued (0.0 s)",
        "magic-hour: b.png: started (10 B)",
    ]


# ------------------------------------------------------------------------------------------ in-process


def test_get_wait_download_delete(
    fake: FakeMagicHour,
    server: FakeServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MAGIC_HOUR_API_TOKEN", TOKEN)
    monkeypatch.chdir(tmp_path)
    base = ["--base-url", server.url, "--json"]
    assert (
        main([*base, "audio", "speech", "--prompt", "hello", "--voice-name", "Elon Musk", "--no-wait"]) == 0
    )
    project_id = json.loads(capsys.readouterr().out)["id"]
    assert main([*base, "audio", "get", project_id]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == project_id
    assert main([*base, "audio", "wait", project_id]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "complete"
    assert main([*base, "audio", "download", project_id, "--output-dir", str(tmp_path / "out")]) == 0
    (path,) = json.loads(capsys.readouterr().out)["downloaded"]
    assert Path(path).parent == tmp_path / "out" and Path(path).stat().st_size > 0
    assert main(["--base-url", server.url, "audio", "delete", project_id]) == 0
    assert f"deleted audio project {project_id}" in capsys.readouterr().err
    assert main([*base, "audio", "get", project_id]) == 1
    assert json.loads(capsys.readouterr().out)["error"]["status_code"] == 404


def test_account_and_saved_items(
    fake: FakeMagicHour,
    server: FakeServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MAGIC_HOUR_API_TOKEN", TOKEN)
    assert main(["--base-url", server.url, "account", "get"]) == 0
    assert (
        capsys.readouterr().out
        == "12,500 credits left; plan Pro (active, renews 2026-10-01); user@example.com\n"
    )
    assert main(["--base-url", server.url, "--json", "account", "get"]) == 0
    assert json.loads(capsys.readouterr().out)["credits"] == 12500
    fake.seed("saved_items.list", count=3)
    assert main(["--base-url", server.url, "saved-items", "list", "--limit", "2"]) == 0
    page = json.loads(capsys.readouterr().out)
    assert len(page["items"]) == 2 and page["next_cursor"]
    (request,) = fake.requests_to("saved_items.list")
    assert "limit=2" in str(request.url)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_download_leaves_no_partial_file(
    fake: FakeMagicHour, server: FakeServer, tmp_path: Path, sig: signal.Signals
) -> None:
    fake.set_latency(5, "downloads")  # the output's GET hangs: the job is interrupted mid-download
    proc = subprocess.Popen(
        [PY, "-m", "magic_hour", "--base-url", server.url, *FACE_SWAP],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env(TOKEN),
        cwd=tmp_path,
        text=True,
    )
    deadline = time.monotonic() + 20
    while not fake.requests_to("downloads") and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == (130 if sig == signal.SIGINT else 143), err
    assert os.listdir(tmp_path) == []  # neither output.png nor its .output.png.*.part


def test_the_mock_commands_of_the_docs_run(tmp_path: Path) -> None:
    """Every ``magic-hour --mock ...`` and ``magic-hour mock ...`` line of docs/cli.md and the README, in
    order, offline, in one folder (with a copy of the repository's sample for the README) and one mock
    state."""
    import re
    import shlex
    import shutil

    repo = SAMPLE.parent.parent.parent
    (tmp_path / "docs" / "assets").mkdir(parents=True)
    shutil.copy(SAMPLE, tmp_path / "docs" / "assets" / SAMPLE.name)
    lines = []
    for doc in (repo / "docs" / "cli.md", repo / "README.md"):
        lines += re.findall(r"^(?:.*&& )?(magic-hour (?:--mock|mock) .*)$", doc.read_text(), re.M)
    assert len(lines) >= 4 and lines[0] == "magic-hour mock samples"
    environ = env()
    for line in lines:
        argv = shlex.split(line)[1:]
        proc = subprocess.run(
            [PY, "-m", "magic_hour", *argv],
            capture_output=True,
            text=True,
            env=environ,
            cwd=tmp_path,
            timeout=60,
            check=False,
        )
        no_traceback(proc)
        assert proc.returncode == 0, (line, proc.stderr)
        assert proc.stdout.strip(), line


def test_results_never_replace_each_other_and_o_names_the_file(
    fake: FakeMagicHour, server: FakeServer, tmp_path: Path
) -> None:
    # Every job saved output.png (its URL's last segment): a second face swap into the same folder
    # replaced the first, a paid render lost without a word (issue 25 item 1).
    runs = [cli(server, *FACE_SWAP, cwd=tmp_path) for _ in range(2)]
    assert [r.returncode for r in runs] == [0, 0], runs[-1].stderr
    paths = [Path(r.stdout.strip()) for r in runs]
    assert sorted(p.name for p in paths) == sorted(f"{p.id}.png" for p in fake.projects)
    assert all(p.parent == tmp_path and p.is_file() for p in paths)
    # -o FILE: that name; an existing FILE stops the command before anything is uploaded or started.
    named = cli(server, *FACE_SWAP, "-o", "swap.png", cwd=tmp_path)
    assert named.returncode == 0, named.stderr
    assert Path(named.stdout.strip()) == tmp_path / "swap.png"
    started, stored = len(fake.projects), len(fake.requests_to("storage"))
    refused = cli(server, *FACE_SWAP, "-o", "swap.png", cwd=tmp_path)
    no_traceback(refused)
    assert refused.returncode == 2 and "--overwrite" in refused.stderr, refused.stderr
    assert (len(fake.projects), len(fake.requests_to("storage"))) == (started, stored), "nothing was sent"
    (tmp_path / "swap.png").write_bytes(b"mine")
    forced = cli(server, *FACE_SWAP, "-o", "swap.png", "--overwrite", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert (tmp_path / "swap.png").read_bytes()[:4] == b"\x89PNG"
    # download ID -o FILE, and the project's name again: kept, the new copy beside it.
    project_id = fake.projects[0].id
    again = cli(server, "image", "download", project_id, "-o", "sub/again.png", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert Path(again.stdout.strip()) == tmp_path / "sub" / "again.png"
    copy = cli(server, "image", "download", project_id, cwd=tmp_path)
    assert Path(copy.stdout.strip()) == tmp_path / f"{project_id}-1.png"
    both = cli(server, "image", "download", project_id, "-o", "x.png", "--output-dir", "d", cwd=tmp_path)
    assert both.returncode == 2 and "not both" in both.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [*(p.name for p in paths), "swap.png", "sub", f"{project_id}-1.png"]
    )
