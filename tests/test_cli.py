"""The ``magic-hour`` command, run as a real subprocess against the fake's real server on 127.0.0.1.

Every test starts ``python -m magic_hour`` (the same code as the ``magic-hour`` console script) and
checks what a user sees: stdout, stderr, the exit code, and what reached the fake.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import os
import re
import signal
import socket
import struct
import subprocess
import time
import zlib
from pathlib import Path
from typing import List, Optional

import pytest
import respx
from _cli import PY, REPO, SAMPLE, TOKEN, against, make_media, no_traceback, run
from _cli import env as _env

import magic_hour
from magic_hour.cli import main
from magic_hour.testing import FakeMagicHour, FakeServer

pytestmark = pytest.mark.full


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
    assert f"[1/3] {media[0]}: 100% (300.0 kB of 300.0 kB)" in proc.stderr
    assert "uploaded 3 files (352.0 kB)" in proc.stderr
    # One presign call for the batch.
    assert len(fake.requests_to("upload_urls")) == 1


def test_plain_progress_reports_retries(fake: FakeMagicHour, server: FakeServer) -> None:
    fake.fail_next("storage", 503, headers={"Retry-After": "0"})
    proc = against(server, "files", "upload", str(SAMPLE))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines()[1:] == [
        f"magic-hour: {SAMPLE}: started (313 B)",
        f"magic-hour: {SAMPLE}: 100% (313 B of 313 B)",
        f"magic-hour: {SAMPLE}: retrying from the first byte (attempt 2)",
        f"magic-hour: {SAMPLE}: 100% (313 B of 313 B)",
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
        ([], "magic-hour: which command? (listed above)"),
        (["files"], "magic-hour files: which command? (listed above)"),
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


def test_rich_is_imported_by_the_cli_bars_only() -> None:
    """By the module of bars, which is imported only when stderr is a terminal."""
    bars = REPO / "magic_hour" / "cli" / "_bars.py"
    assert re.search(r"^from rich", bars.read_text(), re.M)
    for path in (REPO / "magic_hour").rglob("*.py"):
        if path != bars:
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
    assert f"{SAMPLE}: 100% (313 B of 313 B)" in proc.stderr
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


# ------------------------------------------------------------------------------------------ signals


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signals_stop_at_once(
    fake: FakeMagicHour, server: FakeServer, media: List[Path], sig: signal.Signals
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
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=10)
    assert time.monotonic() - start < 1.5  # waiting for the hung uploads would take ~2 s
    if sig == signal.SIGINT:
        assert proc.returncode == 130
        assert err.splitlines()[-1] == "magic-hour: interrupted"
    else:
        assert proc.returncode == 143
        assert err.splitlines()[-1] == "magic-hour: terminated"
    assert "Traceback" not in err
    assert out == ""


# ------------------------------------------------------------------------------------------ fixes of issue 11


def test_a_file_without_extension_names_the_option_not_a_python_keyword(
    fake: FakeMagicHour, server: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bare = (
        tmp_path / ("a-folder-name-long-enough-that-the-whole-path-passes-80-characters-" * 2) / "recording"
    )
    bare.parent.mkdir()
    bare.write_bytes(b"ID3" + os.urandom(100))
    assert len(str(bare)) > 150  # shown whole: the user's own path says which file it is
    assert main(["--base-url", server.url, "--token", TOKEN, "files", "upload", str(bare)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert f"invalid file: '{bare}' (its name has no extension)" in err
    assert err.rstrip().endswith("or give one with --extension EXT (e.g. --extension mp4)")
    assert "extension=" not in err
    assert fake.requests == []
    # ...and the option works: the file is uploaded as that extension.
    proc = against(server, "files", "upload", str(bare), "--extension", "mp3")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith(".mp3")
    assert fake.file(proc.stdout.strip()).content == bare.read_bytes()


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_upload_urls_print_expires_at_as_the_api_sent_it(
    as_json: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    wire = "2031-07-25T16:56:21.9321Z"  # not what a datetime would print back (+00:00, 6 digits)
    items = [
        {"file_path": "api-assets/a/b.png", "upload_url": "https://s.test/b.png?sig=1", "expires_at": wire}
    ]
    with respx.mock(base_url="https://api.test", assert_all_called=True) as api:
        api.post("/v1/files/upload-urls").respond(json={"items": items})
        args = ["--base-url", "https://api.test", "--token", TOKEN, "files", "upload-urls", "--item", "png"]
        assert main(args + (["--json"] if as_json else [])) == 0
    out, _ = capsys.readouterr()
    if as_json:
        assert json.loads(out) == {"items": items}
    else:
        assert out == f"api-assets/a/b.png\thttps://s.test/b.png?sig=1\t{wire}\n"


def test_urls_and_uploaded_paths_are_passed_through_and_counted_right(
    fake: FakeMagicHour, server: FakeServer
) -> None:
    url, uploaded = "https://example.com/in.mp4", "api-assets/abc/video.mp4"
    proc = against(server, "files", "upload", url, uploaded, str(SAMPLE))
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[:2] == [url, uploaded]
    assert len(proc.stdout.splitlines()) == 3
    lines = proc.stderr.splitlines()
    note = "; 2 URLs or api-assets paths were passed through unchanged"
    assert lines[0] == f"magic-hour: uploading 1 file (313 B){note}"
    assert re.fullmatch(rf"magic-hour: uploaded 1 file \(313 B\) in \d+\.\d\d s{re.escape(note)}", lines[-1])
    assert f"[3/3] {SAMPLE}: started (313 B)" in proc.stderr


def test_plain_percentages_agree_with_the_bytes(
    fake: FakeMagicHour, server: FakeServer, tmp_path: Path
) -> None:
    (big,) = make_media(tmp_path, [("big.mp4", 3_000_000)])
    proc = against(server, "files", "upload", str(big))
    assert proc.returncode == 0, proc.stderr
    found = re.findall(r": (\d+)% \(([\d.]+) MB of 3\.0 MB\)$", proc.stderr, re.M)
    # The engine reports every MiB: each quarter passed gets a line with what was really sent then.
    assert [p for p, _ in found] == ["34", "69", "100"]
    for shown, mb in found:
        sent = {"34": 1_048_576, "69": 2_097_152, "100": 3_000_000}[shown]
        assert int(shown) == 100 * sent // 3_000_000
        assert float(mb) == round(sent / 1e6, 1)


def test_a_dropped_upload_is_reported_as_a_retry_and_a_failure_reads_right(
    fake: FakeMagicHour, server: FakeServer
) -> None:
    fake.fail_next("storage", 503, times=3, headers={"Retry-After": "0"})  # every attempt of one file
    proc = against(server, "--max-retries", "2", "files", "upload", str(SAMPLE))
    no_traceback(proc)
    assert proc.returncode == 1
    lines = [line.replace(f"{SAMPLE}: ", "") for line in proc.stderr.splitlines()]
    assert lines[1:6] == [
        "magic-hour: started (313 B)",
        "magic-hour: 100% (313 B of 313 B)",
        "magic-hour: retrying from the first byte (attempt 2)",
        "magic-hour: 100% (313 B of 313 B)",
        "magic-hour: retrying from the first byte (attempt 3)",
    ]
    assert not [line for line in lines if "sent " in line]
    assert lines[-1] == "magic-hour: 1 of 1 upload failed"


def test_upload_urls_count_mismatch_reads_right(fake: FakeMagicHour, server: FakeServer) -> None:
    fake.wrong_item_count_next()
    proc = against(server, "files", "upload", str(SAMPLE))
    assert proc.returncode == 1
    assert "No upload URL was returned from the server (for 1 file); nothing was uploaded" in proc.stderr
    assert proc.stderr.splitlines()[-1] == "magic-hour: 1 of 1 upload failed"
    fake.wrong_item_count_next(delta=-1)
    proc = against(server, "files", "upload", str(SAMPLE), str(SAMPLE))
    assert "the API returned 1 upload URL for 2 files; nothing was uploaded" in proc.stderr


@pytest.mark.parametrize(
    ("args", "env_token", "kind", "message"),
    [
        (["files", "upload", "missing.mp4"], TOKEN, "MissingFileError", "File not found: missing.mp4"),
        (["files", "upload", str(SAMPLE)], None, "MissingTokenError", "no API token"),
        (["files", "upload"], TOKEN, "UsageError", "the following arguments are required: PATH"),
        (["files", "upload-urls", "--item", "doc"], TOKEN, "UsageError", "unknown extension 'doc'"),
    ],
)
def test_json_usage_errors_print_the_json_error(
    args: List[str],
    env_token: Optional[str],
    kind: str,
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("MAGIC_HOUR_API_TOKEN", raising=False)
    if env_token:
        monkeypatch.setenv("MAGIC_HOUR_API_TOKEN", env_token)
    assert main(["--json", "--base-url", "http://127.0.0.1:9", *args]) == 2
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert doc["ok"] is False
    assert doc["error"]["type"] == kind
    assert message in doc["error"]["message"]
    assert message in err  # and the usual line on stderr


def test_json_api_errors_print_the_json_error(fake: FakeMagicHour, server: FakeServer) -> None:
    fake.fail_next("upload_urls", 500, times=3)
    proc = against(server, "--max-retries", "0", "files", "upload-urls", "--item", "png", "--json")
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert doc["ok"] is False
    assert doc["error"]["status_code"] == 500
    assert doc["error"]["type"] == "InternalServerError"


def test_interrupt_cleanup_removes_partial_files_and_stops_drawing(tmp_path: Path) -> None:
    from magic_hour.cli._output import Reporter
    from magic_hour.cli._signals import Run, cleanup

    stopped: List[str] = []

    class Recording(Reporter):
        def interrupt(self) -> None:
            stopped.append("interrupt")

    partial = tmp_path / "out.mp4.part"
    partial.write_bytes(b"half")
    kept = tmp_path / "done.mp4"
    kept.write_bytes(b"whole")
    run_state = Run(reporter=Recording(), partial_files={str(partial), str(tmp_path / "never-created")})
    cleanup(run_state)
    assert stopped == ["interrupt"]
    assert not partial.exists() and kept.exists()


@pytest.mark.parametrize("flag", ["--version", "--help", "files upload --help"])
def test_help_and_version_import_neither_httpx_pydantic_nor_rich(flag: str) -> None:
    """What keeps ``magic-hour --help`` fast (timed by tests/benchmarks/bench_cli_startup.py)."""
    code = (
        "import json, sys\n"
        "from magic_hour.cli import main\n"
        f"code = main({flag.split()!r})\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('httpx', 'pydantic', 'rich', 'anyio'))\n"
        "sys.stderr.write(json.dumps([code, heavy]))\n"
    )
    proc = subprocess.run(
        [PY, "-c", code], capture_output=True, text=True, env=_env(), check=False, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stderr.splitlines()[-1]) == [0, []]
    assert "magic-hour" in proc.stdout


def test_the_cli_reads_no_private_attribute_of_the_sdk() -> None:
    # The CLI is a user of the SDK: it reaches the HTTP driver through magic_hour._client.http_of (an
    # internal accessor), never through client._http or files._uploader() silenced for pyright.
    import ast

    found = []
    for path in sorted((REPO / "magic_hour" / "cli").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Attribute) and node.attr.startswith("_")):
                continue
            if node.attr.startswith("__") or ast.unparse(node) == "os._exit":
                continue
            if not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
                found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
        assert "reportPrivateUsage" not in path.read_text(encoding="utf-8"), path.name
    assert found == []
