"""Real ``magic-hour`` processes at a fraction of their start-up cost: a zygote forks them.

Running every command in every mode through ``python -m magic_hour`` would cost a fresh interpreter and
its imports each time (~0.6 s of CPU, 250 times). The zygote is one interpreter that imports the command
and the SDK once (no thread, no client, no socket), then forks a child per command line. Each child is a
real process: its own stdin (a file), stdout and stderr (files), working directory and environment; it
runs ``magic_hour.cli.main`` (what the ``magic-hour`` script and ``python -m magic_hour`` run), then
does what interpreter shutdown does that a command can notice (joins its threads, runs atexit, flushes
stdout and stderr) before it exits with main's code; it receives signals (Ctrl-C is a SIGINT sent to its pid) and its exit status is reported by the zygote,
which reaps it. What the children do not repeat, the interpreter start and the imports, is the same for
every command and covered by the tests that run ``python -m magic_hour`` itself.

Run as a script, this file is the zygote: ``python _cli_procs.py REQUEST_FD REPLY_FD``; requests and
replies are JSON lines.
"""

from __future__ import annotations

import atexit
import gc
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

HERE = Path(__file__).resolve()


# ------------------------------------------------------------------------------------------ the zygote


def _preload() -> None:
    """What every command would import (and pydantic's first model would load: its plugins' entry points)."""
    from pydantic import BaseModel, RootModel

    import magic_hour._core.body
    import magic_hour._jobs
    import magic_hour._upload.engine
    import magic_hour.cli._catalog
    import magic_hour.cli._files
    import magic_hour.cli._jobs
    import magic_hour.cli._main
    import magic_hour.cli._progress
    import magic_hour.client
    import magic_hour.resources.v1.files  # noqa: F401

    class Warm(BaseModel):
        value: int = 0

    RootModel[int].model_validate(Warm().value)


def _child(request: Dict[str, Any], request_fd: int, reply_fd: int) -> None:
    """In the forked child: become the command, and exit with its code (never returns)."""
    os.close(request_fd)
    os.close(reply_fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    for fd, path, flags in (
        (0, request["stdin"] or os.devnull, os.O_RDONLY),
        (1, request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
        (2, request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
    ):
        opened = os.open(path, flags, 0o644)
        os.dup2(opened, fd)
        os.close(opened)
    from magic_hour.cli import main

    code = main(request["argv"])
    # What interpreter shutdown does that a command can notice: wait for its non-daemon threads (one left
    # running would hang the command: the test's timeout says so), run atexit, flush stdout and stderr.
    # The rest (tearing down every module, ~0.2 s of CPU in a process this size) is skipped.
    threading._shutdown()  # type: ignore[attr-defined]  # what Py_FinalizeEx calls first
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:
            code = 120  # what the interpreter exits with when it cannot flush stdout
    os._exit(code)


def serve(request_fd: int, reply_fd: int) -> None:
    """Fork a child per request line; report ``{"id", "pid"}`` when started, ``{"pid", "code"}`` when
    reaped (``{"ended": id, "code"}``, the code as ``subprocess`` reports it: negative for a signal). Ends at EOF, children reaped."""
    _preload()
    gc.freeze()  # the children's collections skip what the zygote made: fewer pages copied on write
    pending = b""
    running: Dict[int, int] = {}  # pid -> request id
    open_requests = True

    def reply(message: Dict[str, Any]) -> None:
        os.write(reply_fd, (json.dumps(message) + "\n").encode())

    while open_requests or running:
        if open_requests:
            ready, _, _ = select.select([request_fd], [], [], 0.005)
            if ready:
                data = os.read(request_fd, 65536)
                open_requests = bool(data)
                pending += data
        else:
            time.sleep(0.005)
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            request = json.loads(line)
            pid = os.fork()
            if pid == 0:
                _child(request, request_fd, reply_fd)
            running[pid] = request["id"]
            reply({"id": request["id"], "pid": pid})
        while running:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            reply({"ended": running.pop(pid), "code": os.waitstatus_to_exitcode(status)})


# ------------------------------------------------------------------------------------------ the test side


@dataclass
class Result:
    argv: List[str]
    cwd: Path
    code: int
    out: str
    err: str

    def __str__(self) -> str:
        return f"magic-hour {' '.join(self.argv)} (in {self.cwd}) -> {self.code}\nstdout: {self.out}\nstderr: {self.err}"


class Child:
    def __init__(
        self, zygote: Zygote, number: int, argv: List[str], cwd: Path, files: Dict[str, str]
    ) -> None:
        self.zygote, self.number, self.argv, self.cwd, self.files = zygote, number, argv, cwd, files

    @property
    def pid(self) -> int:
        return self.zygote._pid(self.number)

    def stderr_so_far(self) -> str:
        try:
            return Path(self.files["stderr"]).read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def signal(self, sig: int) -> None:
        os.kill(self.pid, sig)

    def done(self) -> bool:
        return self.zygote._code(self.number, 0) is not None

    def wait(self, timeout: float = 60) -> Result:
        code = self.zygote._code(self.number, timeout)
        if code is None:
            os.kill(self.pid, signal.SIGKILL)
            raise AssertionError(f"magic-hour {' '.join(self.argv)} did not end in {timeout} s")
        read = {
            k: Path(v).read_text(encoding="utf-8", errors="replace")
            for k, v in self.files.items()
            if k != "stdin"
        }
        return Result(self.argv, self.cwd, code, read["stdout"], read["stderr"])


class Zygote:
    """The forking process (a context manager); :meth:`spawn` starts a command, :meth:`run_all` many."""

    def __init__(self, env: Dict[str, str]) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="mh-zygote-")
        request_r, self._request_w = os.pipe()
        reply_r, reply_w = os.pipe()
        self._log = open(Path(self._tmp.name) / "zygote.log", "wb")  # noqa: SIM115 (closed in close())
        self._proc = subprocess.Popen(
            [sys.executable, str(HERE), str(request_r), str(reply_w)],
            pass_fds=(request_r, reply_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            env=env,
        )
        os.close(request_r)
        os.close(reply_w)
        self._replies = os.fdopen(reply_r, "rb")
        self._lock = threading.Condition()
        self._pids: Dict[int, int] = {}
        self._codes: Dict[int, int] = {}
        self._count = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self._replies:
            message = json.loads(line)
            with self._lock:
                if "id" in message:
                    self._pids[message["id"]] = message["pid"]
                else:
                    self._codes[message["ended"]] = message["code"]
                self._lock.notify_all()

    def _pid(self, number: int) -> int:
        with self._lock:
            if not self._lock.wait_for(lambda: number in self._pids, timeout=30):
                raise AssertionError(f"the zygote started no child: {self.log()}")
            return self._pids[number]

    def _code(self, number: int, timeout: float) -> Optional[int]:
        with self._lock:
            self._lock.wait_for(lambda: number in self._codes, timeout=timeout)
            return self._codes.get(number)

    def log(self) -> str:
        return (Path(self._tmp.name) / "zygote.log").read_text(errors="replace")

    def spawn(self, argv: Sequence[str], cwd: Path, env: Dict[str, str], stdin: str = "") -> Child:
        self._count += 1
        number = self._count
        base = Path(self._tmp.name) / str(number)
        files = {"stdout": f"{base}.out", "stderr": f"{base}.err", "stdin": ""}
        if stdin:
            Path(f"{base}.in").write_text(stdin, encoding="utf-8")
            files["stdin"] = f"{base}.in"
        request = {"id": number, "argv": list(argv), "cwd": str(cwd), "env": env, **files}
        os.write(self._request_w, (json.dumps(request) + "\n").encode())
        return Child(self, number, list(argv), cwd, files)

    def run_all(
        self,
        jobs: Sequence[Any],
        start: Callable[[Any], Child],
        *,
        at_once: int = 6,
        when: Optional[Callable[[Child], bool]] = None,
        then: Optional[Callable[[Child], None]] = None,
        timeout: float = 60,
    ) -> List[Result]:
        """``start(job)`` for each job, ``at_once`` running at a time; the results in job order. With
        ``when``/``then``: ``then(child)`` once, as soon as ``when(child)`` is true (e.g. a status line on
        its stderr, then Ctrl-C)."""
        results: Dict[int, Result] = {}
        running: Dict[int, Child] = {}
        acted: set[int] = set()
        queue = list(enumerate(jobs))
        deadline = time.monotonic() + timeout * max(1, len(jobs) / at_once)
        while queue or running:
            while queue and len(running) < at_once:
                index, job = queue.pop(0)
                running[index] = start(job)
            for index, child in list(running.items()):
                if when is not None and then is not None and index not in acted and when(child):
                    acted.add(index)
                    then(child)
                if child.done():
                    results[index] = child.wait()
                    del running[index]
            if time.monotonic() > deadline:
                for child in running.values():
                    os.kill(child.pid, signal.SIGKILL)
                raise AssertionError(f"still running: {[c.argv for c in running.values()]}")
            time.sleep(0.01)
        return [results[i] for i in range(len(jobs))]

    def close(self) -> None:
        os.close(self._request_w)
        try:
            self._proc.wait(timeout=30)
        finally:
            if self._proc.poll() is None:
                self._proc.kill()
                self._proc.wait()
            self._replies.close()
            self._log.close()
            self._tmp.cleanup()

    def __enter__(self) -> Zygote:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


if __name__ == "__main__":
    serve(int(sys.argv[1]), int(sys.argv[2]))
