"""The ``magic-hour`` command, run as a real subprocess against the fake's real server on 127.0.0.1.

Every test starts ``python -m magic_hour`` (the same code as the ``magic-hour`` console script) and
checks what a user sees: stdout, stderr, the exit code, and what reached the fake.
"""

from __future__ import annotations

import datetime
import fcntl
import importlib.metadata
import json
import os
import pty
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import termios
import time
import zlib
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import pytest

import magic_hour
from magic_hour.cli import main
from magic_hour.testing import FakeMagicHour, FakeServer

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "docs" / "assets" / "sample.png"
TOKEN = "mh-cli-token-7c41d09e55"
"""Easy to search for: it must never appear in the command's output."""
PY = sys.executable


@pytest.fixture
def fake() -> FakeMagicHour:
    return FakeMagicHour(tokens=TOKEN)


@pytest.fixture
def server(fake: FakeMagicHour) -> Iterator[FakeServer]:
    with fake.serve() as running:
        yield running


def _env(token: Optional[str] = None, **extra: str) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAGIC_HOUR_")}
    if token is not None:
        env["MAGIC_HOUR_API_TOKEN"] = token
    env.pop("COLUMNS", None)
    env.update(extra)
    return env


def run(
    *args: str, env: Optional[Dict[str, str]] = None, cwd: Optional[Path] = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PY, "-m", "magic_hour", *args],
        capture_output=True,
        text=True,
        env=env if env is not None else _env(),
        cwd=cwd,
        timeout=60,
        check=False,
    )


def against(server: FakeServer, *args: str, **kw: str) -> subprocess.CompletedProcess[str]:
    """Run with the token in the environment (as users should) and --base-url at the fake."""
    return run("--base-url", server.url, *args, env=_env(TOKEN, **kw))


def no_traceback(proc: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in proc.stderr, proc.stderr
    assert TOKEN not in proc.stderr + proc.stdout


@pytest.fixture
def media(tmp_path: Path) -> List[Path]:
    """Three small files of three types, with distinct contents."""
    files = []
    for name, size in (("clip.mp4", 300_000), ("photo.png", 2_000), ("song.mp3", 50_000)):
        path = tmp_path / name
        path.write_bytes(os.urandom(size))
        files.append(path)
    return files


# ------------------------------------------------------------------------------------------ upload


def test_upload_prints_one_file_path_per_line_in_input_order(
    fake: FakeMagicHour, server: FakeServer, media: List[Path]
) -> None:
    proc = against(server, "files", "upload", *map(str, media), "--concurrency", "3")
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 3
    for path, file_path in zip(media, lines):
        assert file_path.startswith("api-assets/")
        assert fake.file(file_path).content == path.read_bytes()
    # Not a TTY: plain progress lines on stderr, nothing else on stdout.
    assert "uploading 3 files (352.0 kB), 3 at a time" in proc.stderr
    assert f"[1/3] {media[0]}: started (300.0 kB)" in proc.stderr
    assert f"[1/3] {media[0]}: sent 300.0 kB" in proc.stderr
    assert "uploaded 3 files (352.0 kB)" in proc.stderr
    # One presign call for the batch.
    assert len(fake.requests_to("upload_urls")) == 1


def test_plain_progress_reports_retries(fake: FakeMagicHour, server: FakeServer) -> None:
    fake.fail_next("storage", 503, headers={"Retry-After": "0"})
    proc = against(server, "files", "upload", str(SAMPLE))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines()[1:] == [
        f"magic-hour: {SAMPLE}: started (313 B)",
        f"magic-hour: {SAMPLE}: sent 313 B",
        f"magic-hour: {SAMPLE}: retrying from the first byte (attempt 2)",
        f"magic-hour: {SAMPLE}: sent 313 B",
        proc.stderr.splitlines()[-1],
    ]
    assert re.fullmatch(r"magic-hour: uploaded 1 file \(313 B\) in \d+\.\d\d s", proc.stderr.splitlines()[-1])


def test_upload_json_document(fake: FakeMagicHour, server: FakeServer, media: List[Path]) -> None:
    proc = against(server, "files", "upload", *map(str, media), "--json")
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["ok"] is True
    assert [f["path"] for f in doc["files"]] == [str(p) for p in media]
    assert [f["size"] for f in doc["files"]] == [p.stat().st_size for p in media]
    assert [f["error"] for f in doc["files"]] == [None, None, None]
    for path, entry in zip(media, doc["files"]):
        assert fake.file(entry["file_path"]).content == path.read_bytes()


def test_upload_with_type_checks_every_extension(
    fake: FakeMagicHour, server: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = tmp_path / "a.png", tmp_path / "b.jpg"
    a.write_bytes(b"a")
    b.write_bytes(b"b")
    ok = against(server, "files", "upload", str(a), str(b), "--type", "image")
    assert ok.returncode == 0, ok.stderr
    sent = json.loads(fake.requests_to("upload_urls")[0].body or b"")
    assert sent == {"items": [{"extension": "png", "type": "image"}, {"extension": "jpg", "type": "image"}]}

    fake.reset()
    args = ["--base-url", server.url, "--token", TOKEN, "files", "upload", str(a), str(b), "--type", "video"]
    assert main(args) == 2  # in-process: rejected before any client or thread exists
    out, err = capsys.readouterr()
    allowed = "allowed: video: mp4, m4v, mov, webm, gif, webp"
    assert err == f"magic-hour: error: invalid {a}: extension: 'png' (not a video extension); {allowed}\n"
    assert out == ""
    assert fake.requests == []


@pytest.mark.parametrize("as_json", [False, True], ids=["lines", "json"])
def test_partial_failure_prints_what_succeeded_and_exits_1(
    fake: FakeMagicHour, server: FakeServer, media: List[Path], as_json: bool
) -> None:
    # One at a time, so the refused PUT is the first file's; 403 is not retried.
    fake.fail_next("storage", 403)
    extra = ["--json"] if as_json else []
    proc = against(server, "files", "upload", *map(str, media), "--concurrency", "1", *extra)
    no_traceback(proc)
    assert proc.returncode == 1
    stored = set(fake.files)
    if as_json:
        doc = json.loads(proc.stdout)
        assert doc["ok"] is False
        first, *rest = doc["files"]
        assert first["file_path"] is None
        assert first["error"]["type"] == "StorageError"
        assert first["error"]["status_code"] == 403
        assert "403" in first["error"]["message"]
        assert [f["error"] for f in rest] == [None, None]
        assert {f["file_path"] for f in rest} == stored
    else:
        assert proc.stdout.splitlines() == [
            p for p in proc.stdout.splitlines() if p in stored
        ]  # only uploaded paths
        assert len(proc.stdout.splitlines()) == 2
        assert set(proc.stdout.splitlines()) == stored
    reasons = [line for line in proc.stderr.splitlines() if line.startswith("magic-hour: error: ")]
    assert len(reasons) == 1
    assert re.fullmatch(
        rf"magic-hour: error: {re.escape(str(media[0]))}: PUT http://\S+/video\.mp4 -> 403 .+",
        reasons[0],
    )
    assert "X-Signature" not in proc.stderr  # the signed query stays secret
    assert "magic-hour: 1 of 3 uploads failed" in proc.stderr


def test_bad_path_is_a_usage_error(fake: FakeMagicHour, server: FakeServer, media: List[Path]) -> None:
    proc = against(server, "files", "upload", str(media[0]), "missing.mp4")
    no_traceback(proc)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        "magic-hour: error: File not found: missing.mp4; allowed: a path to an existing file"
    )
    assert proc.stdout == ""
    assert fake.requests == []  # checked before any request


def test_unknown_extension_is_a_usage_error(
    fake: FakeMagicHour, server: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hi")
    # In-process: files are checked before any client or thread exists.
    assert main(["--base-url", server.url, "--token", TOKEN, "files", "upload", str(notes)]) == 2
    out, err = capsys.readouterr()
    assert "unknown file extension" in err
    assert "image: png, jpg" in err
    assert out == ""
    assert fake.requests == []


def test_missing_token_exits_2_and_says_how_to_set_it(fake: FakeMagicHour, server: FakeServer) -> None:
    proc = run("--base-url", server.url, "files", "upload", str(SAMPLE), env=_env())
    no_traceback(proc)
    assert proc.returncode == 2
    (line,) = proc.stderr.splitlines()
    assert "no API token" in line
    assert "export MAGIC_HOUR_API_TOKEN=" in line
    assert "--mock" in line
    assert fake.requests == []


def test_rejected_token_exits_1_with_a_hint(fake: FakeMagicHour, server: FakeServer) -> None:
    proc = run("--base-url", server.url, "files", "upload", str(SAMPLE), env=_env("wrong-token"))
    no_traceback(proc)
    assert proc.returncode == 1
    assert "401" in proc.stderr
    assert "check the token (--token or $MAGIC_HOUR_API_TOKEN)" in proc.stderr
    assert "wrong-token" not in proc.stderr
    assert proc.stdout == ""


def test_token_option_and_verbose_log_never_show_the_token(fake: FakeMagicHour, server: FakeServer) -> None:
    proc = run("-v", "--token", TOKEN, "--base-url", server.url, "files", "upload", str(SAMPLE), env=_env())
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    assert "magic_hour DEBUG: POST" in proc.stderr
    assert "magic_hour INFO:" in proc.stderr
    assert fake.requests_to("upload_urls")[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_unreachable_api_exits_1_without_traceback(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there
    proc = run(
        "--base-url",
        f"http://127.0.0.1:{port}",
        "--max-retries",
        "0",
        "files",
        "upload-urls",
        "--item",
        "png",
        env=_env(TOKEN),
    )
    no_traceback(proc)
    assert proc.returncode == 1
    (line,) = proc.stderr.splitlines()
    assert line.startswith("magic-hour: error: ")
    assert "check the network and --base-url, or try --mock" in line


def test_api_errors_exit_1_and_retry_options_apply(fake: FakeMagicHour, server: FakeServer) -> None:
    fake.fail_next("upload_urls", 500, times=2)
    proc = against(server, "--max-retries", "0", "files", "upload-urls", "--item", "png")
    no_traceback(proc)
    assert proc.returncode == 1
    (line,) = proc.stderr.splitlines()
    assert line.startswith("magic-hour: error: 500: ")
    assert len(fake.requests_to("upload_urls")) == 1  # --max-retries 0: no retry

    # Answered after 1 s: with the default timeout this would succeed.
    fake.set_latency(1, "upload_urls")
    proc = against(server, "--timeout", "0.2", "--max-retries", "0", "files", "upload-urls", "--item", "png")
    no_traceback(proc)
    assert proc.returncode == 1
    assert "timed out" in proc.stderr.lower()
    assert "check the network" in proc.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "the following arguments are required: COMMAND"),
        (["files"], "the following arguments are required: COMMAND"),
        (["files", "upload"], "the following arguments are required: PATH"),
        (["files", "upload", "a.png", "--concurrency", "0"], "invalid value '0': an integer >= 1"),
        (["files", "upload", "a.png", "--type", "pdf"], "invalid choice: 'pdf'"),
        (["--timeout", "-1", "files", "upload", "a.png"], "invalid value '-1': a number of seconds > 0"),
        (["--max-retries", "x", "files", "upload", "a.png"], "invalid value 'x': an integer >= 0"),
        (["files", "upload-urls"], "the following arguments are required: --item"),
        (["files", "upload-urls", "--item", "mp4:audio"], "'mp4' is not an audio extension"),
        (["files", "upload-urls", "--item", "doc"], "unknown extension 'doc'"),
        (["files", "upload-urls", "--item", "mp4:film"], "the type must be one of video, audio, image"),
        (
            ["--mock", "--base-url", "http://127.0.0.1:1", "files", "upload", "a.png"],
            "cannot be used together",
        ),
    ],
)
def test_usage_errors_exit_2(args: List[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    # In-process (argument parsing needs no server): main() returns the code the process exits with.
    assert main(args) == 2
    out, err = capsys.readouterr()
    assert message in err
    assert "Traceback" not in err
    assert out == ""


def test_global_options_after_the_command(fake: FakeMagicHour, server: FakeServer) -> None:
    proc = run("files", "upload", str(SAMPLE), "--base-url", server.url, "--token", TOKEN, env=_env())
    assert proc.returncode == 0, proc.stderr
    assert fake.file(proc.stdout.strip()).content == SAMPLE.read_bytes()


def test_closed_stdout_is_not_a_traceback(server: FakeServer) -> None:
    with subprocess.Popen(
        [PY, "-m", "magic_hour", "--base-url", server.url, "files", "upload", str(SAMPLE)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(TOKEN),
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()  # like `| head -0`: the reader is gone before anything is printed
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=30) == 1
    assert "Traceback" not in err
    assert "Exception ignored" not in err


# ------------------------------------------------------------------------------------------ upload-urls


def test_upload_urls_prints_one_tab_separated_line_per_item(fake: FakeMagicHour, server: FakeServer) -> None:
    proc = against(server, "files", "upload-urls", "--item", "mp4:video", "--item", ".MP3")
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    sent = json.loads(fake.requests_to("upload_urls")[0].body or b"")
    assert sent == {"items": [{"extension": "mp4", "type": "video"}, {"extension": "mp3", "type": "audio"}]}
    rows = [line.split("\t") for line in proc.stdout.splitlines()]
    assert [len(r) for r in rows] == [3, 3]
    assert [issued.upload_url for issued in fake.issued] == [r[1] for r in rows]
    assert rows[0][0].endswith(".mp4") and rows[1][0].endswith(".mp3")
    for _, upload_url, expires_at in rows:
        assert upload_url.startswith(server.storage_url + "/api-assets/")
        assert datetime.datetime.fromisoformat(expires_at) > datetime.datetime.now(datetime.timezone.utc)


def test_upload_urls_json(fake: FakeMagicHour, server: FakeServer) -> None:
    proc = against(server, "files", "upload-urls", "--item", "png:image", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    (item,) = doc["items"]
    assert set(item) == {"file_path", "upload_url", "expires_at"}
    assert item["upload_url"] == fake.issued[0].upload_url
    assert item["file_path"].endswith(".png")


# ------------------------------------------------------------------------------------------ --mock, --version


def test_readme_run_command_with_mock() -> None:
    """The README's command, from the repository root, with no token and no network."""
    proc = run("--mock", "files", "upload", "docs/assets/sample.png", env=_env(), cwd=REPO)
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    assert re.fullmatch(r"api-assets/\S+\.png\n", proc.stdout)
    first = proc.stderr.splitlines()[0]
    assert re.fullmatch(
        r"magic-hour: using a local mock server at http://127\.0\.0\.1:\d+; no request leaves this machine",
        first,
    )


def test_mock_upload_urls_and_json() -> None:
    proc = run("files", "upload-urls", "--item", "mp4", "--json", "--mock", env=_env())
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["items"][0]["upload_url"].startswith("http://127.0.0.1:")
    assert "using a local mock server" in proc.stderr


def test_version() -> None:
    proc = run("--version")
    assert proc.returncode == 0
    assert proc.stdout == f"magic-hour {magic_hour.__version__}\n"


def test_console_script_points_at_main() -> None:
    found = importlib.metadata.entry_points()
    # Python 3.9 returns a dict of groups; later versions an EntryPoints with .select().
    scripts = found.select(group="console_scripts") if hasattr(found, "select") else found["console_scripts"]
    (entry,) = [e for e in scripts if e.name == "magic-hour"]
    assert entry.load() is main


def test_rich_is_imported_by_the_cli_only() -> None:
    for path in (REPO / "magic_hour").rglob("*.py"):
        if path.name != "cli.py":
            assert not re.search(r"^\s*(import|from) rich", path.read_text(), re.M), path


def test_everything_works_without_rich(fake: FakeMagicHour, server: FakeServer) -> None:
    """Without the ``cli`` extra: the SDK imports, and the command uploads with plain progress lines."""
    code = (
        "import sys; sys.modules['rich'] = None\n"
        "import magic_hour, magic_hour.testing\n"
        "from magic_hour.cli import main\n"
        "sys.exit(main())"
    )
    proc = subprocess.run(
        [PY, "-c", code, "--base-url", server.url, "files", "upload", str(SAMPLE)],
        capture_output=True,
        text=True,
        env=_env(TOKEN),
        check=False,
    )
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    assert fake.file(proc.stdout.strip()).content == SAMPLE.read_bytes()
    assert f"{SAMPLE}: sent 313 B" in proc.stderr
    assert "rich" not in proc.stderr  # not a terminal: plain lines are what was asked for anyway


def test_sample_png_is_a_real_png() -> None:
    data = SAMPLE.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) < 1000
    pos, chunks = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        tag, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(tag + body) == crc
        chunks.append((tag, body))
        pos += 12 + length
    assert [t for t, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    width, height, depth, color = struct.unpack(">IIBB", chunks[0][1][:10])
    assert (depth, color) == (8, 2)  # 8-bit RGB
    assert len(zlib.decompress(chunks[1][1])) == height * (1 + 3 * width)


# ------------------------------------------------------------------------------------------ terminal


def run_in_pty(argv: Sequence[str], env: Dict[str, str], timeout: float = 30) -> Tuple[int, str]:
    """Run ``argv`` with stdin/stdout/stderr on a pseudo-terminal of 120 columns; return (code, output)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                out += chunk
        code = proc.wait(timeout=5)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return code, out.decode("utf-8", "replace")


TTY_ENV = {"TERM": "xterm-256color"}


def plain(out: str) -> str:
    """Terminal output without its escape codes (colours, cursor moves)."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out)


def test_progress_bars_on_a_terminal(fake: FakeMagicHour, server: FakeServer, media: List[Path]) -> None:
    fake.set_latency(0.3, "storage")  # long enough for a frame with the bars in flight
    fake.fail_next("storage", 503, headers={"Retry-After": "0"})  # the first file's first PUT: retried
    code, out = run_in_pty(
        [PY, "-m", "magic_hour", "--base-url", server.url, "files", "upload", "--concurrency", "1"]
        + [str(p) for p in media[:2]],
        _env(TOKEN, **TTY_ENV),
    )
    assert code == 0, out
    assert "Traceback" not in out
    assert "\x1b[" in out  # drawn with terminal escape codes...
    assert "━" in out  # ...as bars
    assert "  0%" in out and "100%" in out
    assert media[0].name in out and media[1].name in out  # long paths are shortened from the left
    assert "total (2 files)" in out
    assert "302.0/302.0 kB" in out  # bytes of the total
    assert "✓" in out
    assert "\x1b[?25h" in out  # the cursor is shown again
    assert "started (" not in out  # not the plain lines
    assert "clip.mp4 (retry 1)" in plain(out)
    paths = re.findall(r"api-assets/\S+", out)
    assert len(paths) == 2 and set(paths) == set(fake.files)


def test_failed_upload_on_a_terminal(fake: FakeMagicHour, server: FakeServer, media: List[Path]) -> None:
    fake.fail_next("storage", 403)  # the first PUT (one file at a time): clip.mp4
    code, out = run_in_pty(
        [PY, "-m", "magic_hour", "--base-url", server.url, "files", "upload", "--concurrency", "1"]
        + [str(p) for p in media[:2]],
        _env(TOKEN, **TTY_ENV),
    )
    assert code == 1, out
    out = plain(out)
    assert "Traceback" not in out
    assert "✗ " in out and "clip.mp4" in out
    assert "total (1 of 2 failed)" in out
    assert "2.0/302.0 kB" in out  # the total counts only what was stored
    assert f"magic-hour: error: {media[0]}: PUT " in out
    assert re.findall(r"^api-assets/\S+", out, re.M) == list(fake.files)  # stdout lines


def test_terminal_without_rich_falls_back_to_plain_lines(fake: FakeMagicHour, server: FakeServer) -> None:
    no_rich = "import sys; sys.modules['rich'] = None; from magic_hour.cli import main; sys.exit(main())"
    code, out = run_in_pty(
        [PY, "-c", no_rich, "--base-url", server.url, "files", "upload", str(SAMPLE)],
        _env(TOKEN, **TTY_ENV),
    )
    assert code == 0, out
    assert "progress bars need rich: pip install 'magic-hour[cli]' (showing plain progress)" in out
    assert f"{SAMPLE}: sent 313 B" in out
    assert re.search(r"api-assets/\S+\.png", out)


def test_ctrl_c_stops_at_once_with_exit_130(
    fake: FakeMagicHour, server: FakeServer, media: List[Path]
) -> None:
    # The uploads hang for 2 s in the pool's threads: Ctrl-C must not wait for them (nor for their
    # threads to be joined at exit).
    fake.set_latency(2, "storage")
    proc = subprocess.Popen(
        [PY, "-m", "magic_hour", "--base-url", server.url, "files", "upload", *map(str, media)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(TOKEN),
        text=True,
    )
    deadline = time.monotonic() + 15
    while len(fake.requests_to("storage")) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(fake.requests_to("storage")) == 3
    start = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    assert time.monotonic() - start < 1.5  # waiting for the hung uploads would take ~2 s
    assert proc.returncode == 130
    assert err.splitlines()[-1] == "magic-hour: interrupted"
    assert "Traceback" not in err
    assert out == ""
