"""A job's progress on stderr, from the runner's events: uploads (as ``files upload`` prints them), the
project's status with the time elapsed, then each download; nothing with ``--quiet``."""

from __future__ import annotations

import threading
from typing import Any, Dict

from ._output import human_size, percent, say
from ._progress import PlainReporter, Reporter


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
    import sys

    if not quiet and sys.stderr.isatty():
        try:
            from ._job_bars import RichJobReporter
        except ImportError:
            return JobReporter()
        bars = RichJobReporter.create()
        if bars is not None:
            return bars
    return JobReporter(quiet=quiet)
