"""What a hostile server or a hostile command line cannot do to ``magic-hour`` (issue 21, items 17-20):
retitle the terminal or forge its lines, delete another process's download, make ``--json`` print
something that is not JSON, or exhaust the memory or the stack."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import unicodedata
from pathlib import Path
from typing import List

import pyte
import pytest
from _cli import PY, SAMPLE, TOKEN, TTY_ENV, cli, env, no_traceback, run_in_pty

from magic_hour.testing import FakeMagicHour, FakeServer

pytestmark = pytest.mark.full  # CLI subprocesses

HOSTILE = "\x1b]0;pwned\x07\x1b[2K\rmagic-hour: done \x9b31m invoice\u202egnp\u200b.exe\nforged line"
SHOWN = ("\\x1b]0;pwned\\x07\\x1b[2K", "magic-hour: done \\x9b31m invoice\\u202egnp\\u200b.exe")


def inert(text: str) -> None:
    """Nothing a terminal would act on or hide: no control but newline (C0, C1), no format character
    (bidirectional overrides, zero-width ones), no lone surrogate, no line or paragraph separator."""
    acted_on = [c for c in text if c != "\n" and unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp")]
    assert acted_on == [], text


FACE_SWAP = ("image", "face-swap", "--source", str(SAMPLE), "--target", str(SAMPLE))


def test_an_api_error_message_is_shown_not_obeyed(
    fake: FakeMagicHour, server: FakeServer, tmp_path: Path
) -> None:
    fake.fail_next("face_swap_photo.create", 400, body={"message": HOSTILE})
    proc = cli(server, *FACE_SWAP, cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 1
    inert(proc.stderr)
    (line,) = [x for x in proc.stderr.splitlines() if x.startswith("magic-hour: error:")]
    assert all(part in line for part in SHOWN)
    assert not [x for x in proc.stderr.splitlines() if x.startswith("forged line")]
    # --json stays faithful: the error object holds the API's message (its lines joined), escaped as JSON
    fake.fail_next("face_swap_photo.create", 400, body={"message": HOSTILE})
    proc = cli(server, "--json", *FACE_SWAP, cwd=tmp_path)
    assert proc.returncode == 1
    inert(proc.stdout)
    assert "\x1b]0;pwned\x07\x1b[2K" in json.loads(proc.stdout)["error"]["message"]


def test_a_projects_error_message_is_shown_not_obeyed(
    fake: FakeMagicHour, server: FakeServer, tmp_path: Path
) -> None:
    fake.end_next_projects("error", message=HOSTILE, times=2)
    proc = cli(server, *FACE_SWAP, cwd=tmp_path)
    assert proc.returncode == 1
    inert(proc.stderr)
    assert all(part in proc.stderr for part in SHOWN)
    proc = cli(server, "--json", *FACE_SWAP, cwd=tmp_path)
    assert proc.returncode == 1
    inert(proc.stdout)
    assert json.loads(proc.stdout)["error"]["message"] == HOSTILE


def test_on_a_terminal_the_title_and_the_lines_stay_ours(
    fake: FakeMagicHour, server: FakeServer, tmp_path: Path
) -> None:
    fake.end_next_projects("error", message=HOSTILE)
    code, out = run_in_pty(
        [PY, "-m", "magic_hour", "--base-url", server.url, *FACE_SWAP, "--output-dir", str(tmp_path)],
        env(TOKEN, **TTY_ENV),
        columns=100,
    )
    assert code == 1, out
    term = pyte.Screen(100, 40)
    pyte.Stream(term).feed(out)
    assert term.title == ""  # the server's OSC 0 would have set it to "pwned"
    shown = [line.rstrip() for line in term.display if line.strip()]
    assert not [line for line in shown if line.startswith(("forged line", "magic-hour: done"))], shown
    (error,) = [line for line in shown if line.startswith("magic-hour: error: image project")]
    assert "\\x1b]0;pwned\\x07" in error


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain text, tabs\tand all", "plain text, tabs\\x09and all"),
        ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
        ("\x9b2J \x85 \x7f", "\\x9b2J \\x85 \\x7f"),
        ("a\u202eb\u2066c\u200fd\u061ce\u2028f", "a\\u202eb\\u2066c\\u200fd\\u061ce\\u2028f"),
        # zero-width and other format characters hide text (the CLI missed them before)
        (
            "zero\u200bwidth\u200djoin\ufeffbom\u00adshy\u2060wj",
            "zero\\u200bwidth\\u200djoin\\ufeffbom\\xadshy\\u2060wj",
        ),
        ("tag\U000e0041 lone\ud800", "tag\\U000e0041 lone\\ud800"),
        ("café ✓ 日本", "café ✓ 日本"),
    ],
)
def test_clean_shows_every_control_character(text: str, shown: str) -> None:
    from magic_hour.cli._output import clean

    assert clean(text) == shown
    assert clean("line one\nline two\ttab\x1b", lines=True) == "line one\nline two\ttab\\x1b"


def test_a_name_is_drawn_as_it_is(server: FakeServer, tmp_path: Path) -> None:
    """Bar labels are plain text: a name with brackets is not shown with rich's markup escapes
    (``photo\\[final].png``), and a name's control characters are shown, not obeyed."""
    named = tmp_path / "photo[final].png"
    named.write_bytes(SAMPLE.read_bytes())
    odd = tmp_path / "a\x1b[2Jb.png"
    odd.write_bytes(SAMPLE.read_bytes())
    code, out = run_in_pty(
        [PY, "-m", "magic_hour", "--base-url", server.url, "files", "upload", named.name, odd.name],
        env(TOKEN, **TTY_ENV),
        columns=120,
        cwd=tmp_path,
    )
    assert code == 0, out
    term = pyte.Screen(120, 40)
    pyte.Stream(term).feed(out)
    shown = "\n".join(term.display)
    assert "✓ photo[final].png" in shown and "\\[" not in shown
    assert "✓ a\\x1b[2Jb.png" in shown


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupt_deletes_only_its_own_partial_files(
    fake: FakeMagicHour, server: FakeServer, tmp_path: Path, sig: signal.Signals
) -> None:
    """Another process downloading into the same folder keeps its temporary file (it appeared after
    the command started, as the command's own does); the command's own is gone."""
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
    while not [n for n in os.listdir(tmp_path) if n.endswith(".part")] and time.monotonic() < deadline:
        time.sleep(0.05)
    (ours,) = [n for n in os.listdir(tmp_path) if n.endswith(".part")]
    theirs = tmp_path / ".output.png.0123abcd.part"  # named as ours are, held open by "them"
    with open(theirs, "wb") as other:
        other.write(b"another download, half done")
        other.flush()
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=10)
        assert proc.returncode == (130 if sig == signal.SIGINT else 143), err
        assert sorted(os.listdir(tmp_path)) == [theirs.name]
    assert theirs.read_bytes() == b"another download, half done"
    assert ours != theirs.name


def test_json_is_valid_json_when_the_api_sends_numbers_json_cannot_hold(
    fake: FakeMagicHour, server: FakeServer, tmp_path: Path
) -> None:
    """``1e999`` is decoded as infinity (and a server's bare ``NaN`` as NaN): ``--json`` prints ``null``
    for them, as JavaScript's JSON.stringify does, never ``Infinity``, which jq and JSON parsers refuse."""
    fake.fail_next(
        "account.list", 200, body='{"credits": 1e999, "debt": -1e999, "ratio": NaN, "n": [1.5, 1e999]}'
    )
    proc = cli(server, "--json", "account", "get", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    strict = json.loads(proc.stdout, parse_constant=lambda c: pytest.fail(f"not JSON: {c}"))
    assert strict == {"credits": None, "debt": None, "ratio": None, "n": [1.5, None]}
    # a job's document: the project's answer as polled
    fake.render_seconds = 0
    proc = cli(server, "--json", *FACE_SWAP, "--no-wait", cwd=tmp_path)
    project_id = json.loads(proc.stdout)["id"]
    fake.fail_next(
        "image_projects.get",
        200,
        body=f'{{"id": "{project_id}", "status": "complete", "credits_charged": 1e999, "downloads": []}}',
    )
    proc = cli(server, "--json", "image", "wait", project_id, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout, parse_constant=lambda c: pytest.fail(f"not JSON: {c}"))
    assert doc["credits_charged"] is None and doc["project"]["credits_charged"] is None


DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["--set", "x[999999999999]=1"], "", "[999999999999] is past the largest list index, 999"),
        (
            ["--set", "x[" + "9" * 5000 + "]=1"],
            "",
            "[99999999999999999999...] is past the largest list index",
        ),
        (["--set", "assets.face_mappings[1000].new_face=a.png"], "", "the largest list index, 999"),
        (["--set", "a" + ".a" * 40 + "=1"], "", "more than 32 levels"),
        (["--set", "x=" + "[" * 20_000 + "]" * 20_000], "", "the value is nested deeper than 31 levels"),
        (["--set", "x=" + "[" * 40 + "]" * 40], "", "the value is nested deeper than 31 levels"),
        (["--set", "x=1e999"], "", "the value is the number 1e999 is out of range"),
        (["--body", "-"], DEEP, "--body -: nested deeper than 32 levels"),
        (["--body", "-"], '{"a": -1e999}', "--body -: the number -1e999 is out of range"),
        (["--body", "-"], '{"a": NaN}', "--body -: NaN is not a JSON number"),
        (["--source", "-"], DEEP, "the JSON document on stdin is nested deeper than 32 levels"),
        (["--strength", "1e999"], "", "invalid value '1e999': a finite number"),
        (["--strength", "nan"], "", "invalid value 'nan': a finite number"),
    ],
    ids=lambda v: v[:40] if isinstance(v, str) else None,
)
def test_inputs_past_a_bound_are_usage_errors(
    args: List[str], stdin: str, message: str, tmp_path: Path
) -> None:
    """Before: a MemoryError or RecursionError, exit 1 as an internal error; now exit 2, naming the bound,
    before any request (no server: a request would fail to connect, exit 1)."""
    command = ["image", "face-swap", "--target", str(SAMPLE)]
    if "--source" not in args:
        command += ["--source", str(SAMPLE)]
    if "--strength" in args:  # a number option
        command = ["image", "upscale", "--image", str(SAMPLE), "--scale-factor", args[1]]
        args = []
    proc = subprocess.run(
        [PY, "-m", "magic_hour", "--json", "--base-url", "http://127.0.0.1:9", *command, *args],
        capture_output=True,
        text=True,
        env=env(TOKEN),
        input=stdin,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    no_traceback(proc)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr, proc.stderr
    assert json.loads(proc.stdout)["error"]["type"] == "UsageError"
