"""Helpers of the ``magic-hour`` tests: subprocesses, a pseudo-terminal of a given width, a screen."""

from __future__ import annotations

import atexit
import fcntl
import os
import pty
import re
import select
import shlex
import shutil
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import pyte

from magic_hour.testing import FakeServer

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "docs" / "assets" / "sample.png"
TOKEN = "mh-cli-token-7c41d09e55"
"""Easy to search for: it must never appear in the command's output."""
PY = sys.executable
TTY_ENV = {"TERM": "xterm-256color"}


def reference_examples() -> List[List[str]]:
    """The argv (after ``magic-hour``) of every example of the generated command reference, one per
    command, in its order (continued lines joined)."""
    text = (REPO / "docs" / "cli" / "reference.md").read_text(encoding="utf-8")
    found = []
    for block in re.findall(r"^```sh\n(.*?)^```", text, flags=re.M | re.S):
        words = shlex.split(re.sub(r"\\\n\s*", " ", block))
        assert words[0] == "magic-hour", block
        found.append(words[1:])
    return found


def make_inputs(argv: Sequence[str], where: Path) -> None:
    """The local files a command line names (a real PNG for images, a few bytes for the rest)."""
    for word in argv:
        ext = word.rsplit(".", 1)[-1].lower() if "." in word else ""
        if "/" in word or ext not in ("png", "jpg", "jpeg", "mp4", "mov", "mp3", "wav"):
            continue
        (where / word).write_bytes(SAMPLE.read_bytes() if ext == "png" else b"magic hour sample " * 64)


def env(token: Optional[str] = None, **extra: str) -> Dict[str, str]:
    """The command's environment: none of the caller's MAGIC_HOUR_ variables, and a state directory of
    its own for --mock (never the user's ~/.local/state), unless given."""
    out = {k: v for k, v in os.environ.items() if not k.startswith("MAGIC_HOUR_")}
    if token is not None:
        out["MAGIC_HOUR_API_TOKEN"] = token
    out.pop("COLUMNS", None)
    out["MAGIC_HOUR_MOCK_DIR"] = _mock_dir()
    out.update(extra)
    return out


_MOCK_DIRS: List[str] = []


def _mock_dir() -> str:
    if not _MOCK_DIRS:
        atexit.register(lambda: [shutil.rmtree(d, ignore_errors=True) for d in _MOCK_DIRS])
    _MOCK_DIRS.append(tempfile.mkdtemp(prefix="mh-mock-state-"))
    return _MOCK_DIRS[-1]


def run(
    *args: str, env: Optional[Dict[str, str]] = None, cwd: Optional[Path] = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PY, "-m", "magic_hour", *args],
        capture_output=True,
        text=True,
        env=env if env is not None else globals()["env"](),
        cwd=cwd,
        input=stdin,
        timeout=60,
        check=False,
    )


def against(server: FakeServer, *args: str, **kw: str) -> subprocess.CompletedProcess[str]:
    """Run with the token in the environment (as users should) and --base-url at the fake."""
    return run("--base-url", server.url, *args, env=env(TOKEN, **kw))


def no_traceback(proc: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in proc.stderr, proc.stderr
    assert TOKEN not in proc.stderr + proc.stdout


def cli(server: FakeServer, *args: str, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """``magic-hour --base-url SERVER ARGS...`` in a subprocess in ``cwd``, with :data:`TOKEN`; never a
    traceback, never the token in what it printed."""
    proc = subprocess.run(
        [PY, "-m", "magic_hour", "--base-url", server.url, *args],
        capture_output=True,
        text=True,
        env=env(TOKEN),
        cwd=cwd,
        input=stdin,
        timeout=60,
        check=False,
    )
    no_traceback(proc)
    return proc


def make_media(directory: Path, sizes: Sequence[Tuple[str, int]]) -> List[Path]:
    files = []
    for name, size in sizes:
        path = directory / name
        path.write_bytes(os.urandom(size))
        files.append(path)
    return files


# The child becomes a session leader whose controlling terminal is the pty, so that a ^C typed on the
# terminal (written to the master) is echoed and sends SIGINT, as in a real terminal.
_CTTY = "import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); os.execv(sys.argv[1], sys.argv[1:])"


def run_in_pty(
    argv: Sequence[str],
    env: Dict[str, str],
    *,
    columns: int = 120,
    rows: int = 40,
    timeout: float = 30,
    cwd: Optional[Path] = None,
    signal_when: Optional[Callable[[str], bool]] = None,
    send: Callable[[int, subprocess.Popen[bytes]], None] = lambda master, proc: (
        os.write(master, b"\x03") and None
    ),
) -> Tuple[int, str]:
    """Run ``argv`` on a pseudo-terminal of ``columns`` x ``rows`` (stdin, stdout, stderr); return
    (exit code, everything written). When ``signal_when(output so far)`` becomes true, ``send`` is called
    once (by default it types Ctrl-C)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    proc = subprocess.Popen(
        [PY, "-c", _CTTY, *argv],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**env, "COLUMNS": str(columns), "LINES": str(rows)},
        close_fds=True,
        start_new_session=True,
        cwd=cwd,
    )
    os.close(slave)
    out = b""
    sent = False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if signal_when is not None and not sent and signal_when(out.decode("utf-8", "replace")):
                send(master, proc)
                sent = True
            ready, _, _ = select.select([master], [], [], 0.05)
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


def plain(out: str) -> str:
    """Terminal output without its escape codes (colours, cursor moves)."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out)


def drawn_lines(out: str) -> List[str]:
    """Every line drawn (between cursor moves and line ends), escape codes removed."""
    parts = re.split(r"\r\n|\r|\n|\x1b\[\d*[ABK]", out)
    return [re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", part) for part in parts]


def screen(out: str, columns: int, rows: int = 40) -> List[str]:
    """What a terminal of that size shows at the end (pyte emulates it), trailing blanks removed."""
    term = pyte.Screen(columns, rows)
    stream = pyte.Stream(term)
    stream.feed(out)
    return [line.rstrip() for line in term.display if line.strip()]
