"""Ctrl-C and SIGTERM: the command stops at once, with the same cleanup for both.

The command runs in a worker thread; the main thread only waits for it, so a signal is handled at once
even while the worker waits for a server (up to the timeout). On SIGINT or SIGTERM the progress display
is stopped (rich shows the cursor again), the files this process is writing are removed (no partial
file is left, under its final name or a temporary one; another process's download into the same folder
is left alone), and the process ends with ``os._exit``: the worker and the upload pool's threads would
otherwise be waited for at exit.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from types import FrameType
from typing import TYPE_CHECKING, Any, Callable, Dict, List, NoReturn, Optional, Set, Tuple

from ._output import EXIT_INTERRUPTED, EXIT_TERMINATED, print_json, say

if TYPE_CHECKING:
    from ._output import Reporter
    from ._resume import JobState


class Run:
    """What the signal handling needs to clean up: the progress display, and the files being written
    (removed if the command is interrupted)."""

    def __init__(
        self,
        reporter: Optional[Reporter] = None,
        partial_files: Optional[Set[str]] = None,
        json: bool = False,
    ) -> None:
        self.reporter = reporter
        self.partial_files: Set[str] = set() if partial_files is None else partial_files
        self.json = json
        self.job: Optional[JobState] = None
        """The job being run, if any: an interrupt says what became of it and how to resume it."""
        self.graceful: Optional[Callable[[], None]] = None
        """Set by a command that stops cleanly (a batch): the first Ctrl-C or SIGTERM calls it and the
        command ends by itself; a second one exits at once."""
        self._watched: Dict[str, Set[str]] = {}

    def watch_dir(self, directory: str) -> None:
        """Downloads go to ``directory``: temporary files (``.NAME.*.part``) that appear there and that
        this process holds open are its partial downloads."""
        self._watched.setdefault(directory, _parts(directory))

    def new_parts(self) -> Set[str]:
        """The temporary files of this process's downloads in progress: new in a watched folder and open
        here (a download keeps its temporary file open from its creation to its rename). Another
        process's download into the same folder is new too, but not open here."""
        new = [os.path.join(d, name) for d, before in self._watched.items() for name in _parts(d) - before]
        if not new:
            return set()
        opened = _open_files()
        return {path for path in new if _identity(path) in opened}


def _parts(directory: str) -> Set[str]:
    try:
        return {n for n in os.listdir(directory) if n.startswith(".") and n.endswith(".part")}
    except OSError:
        return set()


def _identity(path: str) -> Optional[Tuple[int, int]]:
    try:
        st = os.stat(path, follow_symlinks=False)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _open_files() -> Set[Tuple[int, int]]:
    """(device, inode) of every file this process has open, from its descriptors (``/dev/fd``, on Linux
    ``/proc/self/fd``); empty where the system lists none (Windows, where an open file cannot be deleted
    anyway), so that nothing is deleted that may be another process's."""
    found: Set[Tuple[int, int]] = set()
    for folder in ("/proc/self/fd", "/dev/fd"):
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            with contextlib.suppress(OSError, ValueError):
                st = os.fstat(int(name))
                found.add((st.st_dev, st.st_ino))
        break
    return found


class Terminated(BaseException):
    """Raised in the main thread by the SIGTERM handler."""


def _on_sigterm(signum: int, frame: Optional[FrameType]) -> None:
    raise Terminated()


def cleanup(run: Run) -> None:
    """Stop drawing and remove the files being written (each step best effort)."""
    if run.reporter is not None:
        with contextlib.suppress(Exception):
            run.reporter.interrupt()
    for path in list(run.partial_files | run.new_parts()):
        with contextlib.suppress(OSError):
            os.unlink(path)
    with contextlib.suppress(Exception):
        sys.stdout.flush()


def _stop(run: Run, code: int, what: str) -> NoReturn:
    cleanup(run)
    with contextlib.suppress(Exception):  # best effort: the exit must happen whatever this prints
        say(what)
        job = run.job
        for line in job.lines() if job is not None else []:
            say(line)
        if run.json:
            document: Dict[str, Any] = {"ok": False}
            if job is not None:
                document.update(job.document())
            document["error"] = {"type": what.capitalize(), "message": what, "status_code": None}
            print_json(document)
    os._exit(code)


def run_guarded(fn: Callable[[], int], run: Run) -> int:
    """Run ``fn`` in a worker thread; on Ctrl-C exit 130, on SIGTERM exit 143, after :func:`cleanup`."""
    outcome: List[Tuple[Optional[int], Optional[BaseException]]] = []

    ended = threading.Event()

    def target() -> None:
        try:
            outcome.append((fn(), None))
        except BaseException as exc:
            outcome.append((None, exc))
        finally:
            ended.set()

    previous: Any = None
    in_main = threading.current_thread() is threading.main_thread()
    if in_main:
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        worker = threading.Thread(target=target, name="magic-hour-cli", daemon=True)
        worker.start()
        try:
            # An event, not worker.is_alive(): a join cut by KeyboardInterrupt can leave is_alive() false
            # while the worker still runs (CPython before 3.13), and a graceful stop waits on after it.
            while True:
                try:
                    if ended.wait(0.1):
                        break
                except (KeyboardInterrupt, Terminated):
                    graceful, run.graceful = run.graceful, None
                    if graceful is None:
                        raise
                    say(
                        "stopping: no new job starts; creates in flight are recorded (Ctrl-C again to quit now)"
                    )
                    graceful()
        except KeyboardInterrupt:
            _stop(run, EXIT_INTERRUPTED, "interrupted")
        except Terminated:
            _stop(run, EXIT_TERMINATED, "terminated")
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)
    code, error = outcome[0]
    if error is not None:
        raise error
    assert code is not None
    return code
