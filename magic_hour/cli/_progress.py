"""Progress on stderr: an upload's and a job's progress as plain lines, and the choice between lines and
bars (:mod:`._bars`); nothing with ``--quiet``. Both displays implement :class:`._output.Reporter`.

Plain lines are for logs and pipes (and terminals without rich): a start line, each quarter of a file
reached (with the percentage and bytes actually sent then, as the engine reports them per chunk), each
retry; for a job, its project's status with the time elapsed, then each download.
"""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING, Any, Dict, Optional, Sequence

from ._output import INSTALL_HINT, Reporter, human_size, percent, plural, say

if TYPE_CHECKING:
    from .._upload.flow import UploadProgress
    from .._upload.inputs import Source


def passed_note(passed: int) -> str:
    """``; 2 inputs passed through unchanged`` (URLs and api-assets paths need no upload)."""
    if not passed:
        return ""
    verb = "was" if passed == 1 else "were"
    return f"; {plural(passed, 'URL or api-assets path')} {verb} passed through unchanged".replace(
        "URL or api-assets paths", "URLs or api-assets paths"
    )


class PlainReporter(Reporter):
    """Plain lines: a start line, each quarter reached, and retries."""

    def __init__(self) -> None:
        self._quarter: Dict[int, int] = {}
        self._sent: Dict[int, int] = {}
        self._attempt: Dict[int, int] = {}
        self._count = 0
        self._lock = threading.Lock()
        self._interrupted = False

    def _say(self, event: UploadProgress, message: str) -> None:
        where = f"[{event.index + 1}/{self._count}] " if self._count > 1 else ""
        with self._lock:
            if not self._interrupted:
                say(f"{where}{event.name}: {message}")

    def interrupt(self) -> None:
        """Ctrl-C or SIGTERM: nothing is printed after this returns (a line being printed ends first), so
        ``interrupted`` is the last line whatever the upload threads report meanwhile."""
        self._interrupted = True
        if self._lock.acquire(timeout=1):  # not forever: a line stuck on a full pipe must not hang the exit
            self._lock.release()

    def start(self, sources: Sequence[Source], concurrency: int, passed: int) -> None:
        total = sum(s.size for s in sources)
        self._count = len(sources) + passed
        at_once = f", {min(concurrency, len(sources))} at a time" if len(sources) > 1 else ""
        say(f"uploading {plural(len(sources), 'file')} ({human_size(total)}){at_once}{passed_note(passed)}")

    def on_progress(self, event: UploadProgress) -> None:
        i = event.index
        previous = self._sent.get(i)
        self._sent[i] = event.bytes_sent
        if previous is None:
            self._quarter[i] = 0
            self._attempt[i] = 1
            self._say(event, f"started ({human_size(event.total)})")
        elif event.bytes_sent == 0 or event.bytes_sent < previous:
            # A new attempt starts from the first byte (the engine reports 0 once per attempt).
            self._quarter[i] = 0
            self._attempt[i] += 1
            self._say(event, f"retrying from the first byte (attempt {self._attempt[i]})")
        if event.total > 0 and event.bytes_sent > 0:
            quarter = 4 * event.bytes_sent // event.total
            if quarter > self._quarter[i]:
                self._quarter[i] = quarter
                done = percent(event.bytes_sent, event.total)
                self._say(event, f"{done}% ({human_size(event.bytes_sent)} of {human_size(event.total)})")


def _terminal_bars(jobs: bool) -> Optional[Reporter]:
    """Rich's bars (of jobs, or of files) when stderr is an interactive terminal; ``None`` elsewhere, and
    without rich, after saying why the progress is plain."""
    if not sys.stderr.isatty():
        return None
    try:
        from ._bars import RichJobReporter, RichReporter
    except ImportError:
        say(f"progress bars need rich: {INSTALL_HINT} (showing plain progress)")
        return None
    return RichJobReporter.create() if jobs else RichReporter.create()


def make_reporter(quiet: bool = False) -> Reporter:
    """Bars when stderr is a terminal and rich is installed; plain lines otherwise; nothing if ``quiet``."""
    if quiet:
        return Reporter()
    bars = _terminal_bars(jobs=False)
    return PlainReporter() if bars is None else bars


class JobReporter(Reporter):
    """The ``on_progress`` callback of a job (called from the runner's threads, one at a time)."""

    def __init__(self, quiet: bool = False) -> None:
        self._quiet = quiet
        self._uploads = PlainReporter()
        self._lock = threading.Lock()
        self._quarters: Dict[int, int] = {}

    def __call__(self, event: Any) -> None:
        if self._quiet:
            return
        from .._jobs.events import DownloadProgress, ProjectStatus
        from .._upload.flow import UploadProgress

        with self._lock:
            if self._quiet:  # interrupted while this event waited for the lock
                return
            if isinstance(event, UploadProgress):
                self._uploads.on_progress(event)
            elif isinstance(event, ProjectStatus):
                if event.changed:
                    say(f"project {event.id}: {event.status} ({event.elapsed:.1f} s)")
            elif isinstance(event, DownloadProgress):
                self._download(event)

    def project_started(self, noun: str, project_id: str) -> None:
        if not self._quiet:
            with self._lock:
                say(f"started {noun} {project_id}")

    def interrupt(self) -> None:
        """Ctrl-C or SIGTERM: nothing is printed after this returns (a line being printed ends first), so
        ``interrupted`` is the last line whatever the runner's threads report meanwhile."""
        self._quiet = True
        if self._lock.acquire(timeout=1):  # not forever: a line stuck on a full pipe must not hang the exit
            self._lock.release()

    def _download(self, event: Any) -> None:
        index, received, total = event.index, event.bytes_received, event.total
        if index not in self._quarters:
            self._quarters[index] = 0
            size = f" ({human_size(total)})" if total else ""
            say(f"downloading {event.path}{size}")
        if total and received:
            quarter = 4 * received // total
            if quarter > self._quarters[index]:
                self._quarters[index] = quarter
                say(
                    f"{event.path}: {percent(received, total)}% ({human_size(received)} of {human_size(total)})"
                )


def make_job_reporter(quiet: bool) -> Reporter:
    """Bars when stderr is a terminal and rich is installed; plain lines otherwise; nothing if ``quiet``."""
    bars = None if quiet else _terminal_bars(jobs=True)
    return JobReporter(quiet=quiet) if bars is None else bars
