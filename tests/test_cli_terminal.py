"""``magic-hour`` on a pseudo-terminal of 50 and 120 columns: rich bars that fit, Ctrl-C and SIGTERM.

What a user sees is checked on a terminal emulator (pyte) fed with everything the command wrote.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path
from typing import List

import pytest
from _cli import PY, SAMPLE, TOKEN, TTY_ENV, drawn_lines, env, make_media, plain, run_in_pty, screen
from rich.cells import cell_len

from magic_hour.testing import FakeMagicHour, FakeServer

pytestmark = pytest.mark.full

COLUMNS = [50, 120]


@pytest.fixture
def media(tmp_path: Path) -> List[Path]:
    return make_media(tmp_path, [("clip.mp4", 300_000), ("photo.png", 2_000), ("song.mp3", 50_000)])


def upload(server: FakeServer, *args: str) -> List[str]:
    return [PY, "-m", "magic_hour", "--base-url", server.url, "files", "upload", *args]


def bar_lines(out: str) -> List[str]:
    return [line for line in drawn_lines(out) if "━" in line or "╸" in line]


def check_fits(out: str, columns: int) -> None:
    """Every bar line drawn fits the terminal, with 2 columns to spare; no rate shown as '?'."""
    lines = [line.replace("^C", "") for line in bar_lines(out)]  # the terminal echoes a typed ^C
    assert lines
    widest = max(cell_len(line) for line in lines)
    assert widest <= columns - 2, [line for line in lines if cell_len(line) > columns - 2]
    assert not [line for line in lines if " ? " in line or line.rstrip().endswith("?")]


@pytest.mark.parametrize("columns", COLUMNS)
def test_progress_bars_fit_the_terminal(
    fake: FakeMagicHour, server: FakeServer, media: List[Path], columns: int
) -> None:
    fake.set_latency(0.3, "storage")  # long enough for a frame with the bars in flight
    fake.fail_next("storage", 503, headers={"Retry-After": "0"})  # the first file's first PUT: retried
    code, out = run_in_pty(
        upload(server, "--concurrency", "1", *map(str, media[:2])), env(TOKEN, **TTY_ENV), columns=columns
    )
    assert code == 0, out
    assert "Traceback" not in out
    assert "\x1b[?25h" in out.rsplit("\x1b[?25l", 1)[-1]  # the cursor is shown again
    assert "started (" not in out  # not the plain lines
    check_fits(out, columns)
    text = plain(out)
    assert "  0%" in text and "100%" in text
    assert "(retry 1)" in text
    if columns >= 100:
        assert "clip.mp4 (retry 1)" in text
    shown = screen(out, columns)
    # The final frame, one line per bar: sizes whole (never "3..."), each file once.
    (clip,) = [line for line in shown if "clip.mp4" in line]
    (photo,) = [line for line in shown if "photo.png" in line]
    (total,) = [line for line in shown if "total (2 files)" in line]
    assert clip.startswith("✓ ") and "100% 300.0/300.0 kB" in clip
    assert photo.startswith("✓ ") and "100% 2.0/2.0 kB" in photo
    assert "100% 302.0/302.0 kB" in total
    if columns >= 100:  # the rate of a small file: its average, not "?"
        assert "B/s" in photo
    paths = [line for line in shown if line.startswith("api-assets/")]
    assert len(paths) == 2 and set(paths) == set(fake.files)


@pytest.mark.parametrize("columns", COLUMNS)
def test_failed_upload_on_a_terminal(
    fake: FakeMagicHour, server: FakeServer, media: List[Path], columns: int
) -> None:
    fake.fail_next("storage", 403)  # the first PUT (one file at a time): clip.mp4
    code, out = run_in_pty(
        upload(server, "--concurrency", "1", *map(str, media)), env(TOKEN, **TTY_ENV), columns=columns
    )
    assert code == 1, out
    assert "Traceback" not in out
    check_fits(out, columns)
    shown = screen(out, columns)
    (clip,) = [line for line in shown if "clip.mp4" in line and "━" in line]
    assert clip.startswith("✗ ") and "0% 0.0/300.0 kB" in clip
    (total,) = [line for line in shown if "failed)" in line and "━" in line]
    label = "total (1 of 3 failed)" if columns >= 100 else "total (1/3 failed)"
    assert total.startswith(label)
    assert " 14% 52.0/352.0 kB" in total  # only what was stored counts
    assert "magic-hour: 1 of 3 uploads failed (2 files uploaded)" in plain(out).splitlines()
    errors = [line for line in plain(out).splitlines() if line.startswith("magic-hour: error: ")]
    assert len(errors) == 1 and errors[0].startswith(f"magic-hour: error: {media[0]}: PUT ")


def test_terminal_without_rich_falls_back_to_plain_lines(fake: FakeMagicHour, server: FakeServer) -> None:
    no_rich = "import sys; sys.modules['rich'] = None; from magic_hour.cli import main; sys.exit(main())"
    code, out = run_in_pty(
        [PY, "-c", no_rich, "--base-url", server.url, "files", "upload", str(SAMPLE)],
        env(TOKEN, **TTY_ENV),
    )
    assert code == 0, out
    assert "progress bars need rich: pip install 'magic-hour[cli]' (showing plain progress)" in out
    assert f"{SAMPLE}: 100% (313 B of 313 B)" in out
    assert "api-assets/" in out
    code, out = run_in_pty(  # a job command says the same
        [
            PY,
            "-c",
            no_rich,
            "--base-url",
            server.url,
            "image",
            "upscale",
            "--image",
            str(SAMPLE),
            "--no-wait",
        ],
        env(TOKEN, **TTY_ENV),
    )
    assert code == 0, out
    assert "progress bars need rich: pip install 'magic-hour[cli]' (showing plain progress)" in out
    assert f"{SAMPLE}: 100% (313 B of 313 B)" in out  # the job's plain lines
    assert "magic-hour: started image project " in out


def _stop_when_uploading(fake: FakeMagicHour, count: int) -> object:
    return lambda out: len(fake.requests_to("storage")) >= count and "━" in out


@pytest.mark.parametrize("columns", COLUMNS)
def test_ctrl_c_draws_each_bar_once_and_exits_130(
    fake: FakeMagicHour, server: FakeServer, media: List[Path], columns: int
) -> None:
    fake.set_latency(3, "storage")  # the uploads hang: Ctrl-C comes while every bar is drawn
    code, out = run_in_pty(
        upload(server, *map(str, media)),
        env(TOKEN, **TTY_ENV),
        columns=columns,
        signal_when=lambda out: len(fake.requests_to("storage")) >= 3 and out.count("total (") >= 2,
    )
    assert code == 130, out
    assert "\x1b[?25h" in out.rsplit("\x1b[?25l", 1)[-1]  # the cursor is shown again
    check_fits(out, columns)
    shown = screen(out, columns)
    for path in media:  # each bar once (an echoed ^C that wrapped would make the first bar drawn twice)
        assert len([line for line in shown if path.name in line]) == 1, shown
    assert shown[-1] == "magic-hour: interrupted"
    assert "Traceback" not in out


def test_sigterm_gets_the_same_cleanup_and_exits_143(
    fake: FakeMagicHour, server: FakeServer, media: List[Path]
) -> None:
    fake.set_latency(3, "storage")

    def terminate(master: int, proc: subprocess.Popen[bytes]) -> None:
        proc.send_signal(signal.SIGTERM)

    code, out = run_in_pty(
        upload(server, *map(str, media)),
        env(TOKEN, **TTY_ENV),
        signal_when=lambda out: len(fake.requests_to("storage")) >= 3 and out.count("total (") >= 2,
        send=terminate,
    )
    assert code == 143, out
    assert "\x1b[?25h" in out.rsplit("\x1b[?25l", 1)[-1]
    shown = screen(out, 120)
    assert shown[-1] == "magic-hour: terminated"
    for path in media:
        assert len([line for line in shown if path.name in line]) == 1, shown
    assert "Traceback" not in out
    assert os.path.exists(media[0])  # inputs are never touched


@pytest.mark.parametrize("columns", COLUMNS)
def test_a_job_on_a_terminal_shows_uploads_status_and_downloads(
    fake: FakeMagicHour, server: FakeServer, tmp_path: Path, columns: int
) -> None:
    fake.render_seconds = 1.5  # a few frames of the status line, its elapsed time ticking
    code, out = run_in_pty(
        [
            PY,
            "-m",
            "magic_hour",
            "--base-url",
            server.url,
            "image",
            "face-swap",
            "--source",
            str(SAMPLE),
            "--target",
            str(SAMPLE),
            "--output-dir",
            str(tmp_path),
        ],
        env(TOKEN, **TTY_ENV),
        columns=columns,
    )
    assert code == 0, out
    assert "\x1b[?25h" in out.rsplit("\x1b[?25l", 1)[-1]
    check_fits(out, columns)
    shown = screen(out, columns)
    upload, status, download = (line for line in shown if "━" in line)
    assert upload.startswith("✓ ") and "sample.png" in upload and "100% 313/313 B" in upload
    assert status.startswith("project ✓ complete") and status.endswith(" s")
    (project,) = fake.projects
    shown_name = download.split()[1].lstrip("…")  # a long name keeps its end on a narrow terminal
    assert f"{project.id}.png".endswith(shown_name) and len(shown_name) > 8 and "100%" in download
    assert "rendering" in plain(out)  # the status was shown while the project rendered
    assert plain(out).splitlines()[-2] == str(tmp_path / f"{project.id}.png")  # stdout
    # the last line: what it came to and what it cost
    last = re.sub(r"\s+", " ", " ".join(shown[-2:]) if columns < 80 else shown[-1])  # wrapped at 50
    assert re.search(r"magic-hour: image project cm\w+ ?\w* complete in [\d.]+ s; 10 credits charged$", last)


def test_ctrl_c_while_rendering_shows_the_project_and_how_to_resume(
    fake: FakeMagicHour, server: FakeServer, tmp_path: Path
) -> None:
    """The project's id is shown above the bars as soon as it exists; Ctrl-C says the project keeps
    running (and costs credits) and gives the exact command that picks it up."""
    fake.render_seconds = 30
    code, out = run_in_pty(
        [
            PY,
            "-m",
            "magic_hour",
            "--base-url",
            server.url,
            "image",
            "face-swap",
            "--source",
            str(SAMPLE),
            "--target",
            str(SAMPLE),
            "--output-dir",
            str(tmp_path),
        ],
        env(TOKEN, **TTY_ENV),
        columns=100,
        signal_when=lambda out: "rendering" in plain(out),
    )
    assert code == 130, out
    (project,) = fake.projects
    shown = screen(out, 240)  # wide enough for the resume command on one line
    assert f"magic-hour: started image project {project.id}" in shown
    (status,) = [line for line in shown if line.startswith("project ")]
    assert "rendering" in status
    assert shown[-3:] == [
        "magic-hour: interrupted",
        f"magic-hour: image project {project.id} keeps running on Magic Hour and costs its credits "
        "(stopping this command does not cancel it)",
        f"magic-hour: to wait for it and get its outputs: magic-hour --base-url {server.url} image download "
        f"{project.id} --output-dir {tmp_path}",
    ]
    assert "\x1b[?25h" in out.rsplit("\x1b[?25l", 1)[-1]  # the cursor is shown again
