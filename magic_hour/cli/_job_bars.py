"""A job's progress as rich bars on a terminal: a bar per upload, the project's status with the time
elapsed (ticking between polls), then a bar per download; fitted to the width like ``files upload``."""

from __future__ import annotations

import os
import threading
from typing import Any, Dict, Optional, Tuple

from rich.console import Console
from rich.progress import Task, TaskID
from rich.text import Text

from ._bars import (
    PCT,
    SIZE,
    FittedBar,
    FittedProgress,
    FittedTimeRemaining,
    LabelColumn,
    Layout,
    PercentColumn,
    RateColumn,
    SizeColumn,
)
from ._output import PROG, clean
from ._progress import Reporter


class JobPercent(PercentColumn):
    def render(self, task: Task) -> Text:
        return Text("") if task.fields.get("status") else super().render(task)


class JobSize(SizeColumn):
    """Bytes for a transfer; the time elapsed for the project's status."""

    def render(self, task: Task) -> Text:
        if task.fields.get("status"):
            return Text(f"{task.elapsed or 0:.0f} s", style="progress.elapsed")
        return super().render(task)


class RichJobReporter(Reporter):
    """The ``on_progress`` callback of a job, drawn by rich on stderr."""

    def __init__(self, progress: FittedProgress) -> None:
        self._progress = progress
        self._lock = threading.Lock()
        self._started = self._stopped = False
        self._tasks: Dict[Tuple[str, int], TaskID] = {}
        self._sent: Dict[int, int] = {}
        self._status: Optional[TaskID] = None

    @staticmethod
    def create() -> Optional[RichJobReporter]:
        console = Console(stderr=True)
        if not console.is_terminal or console.is_dumb_terminal:
            return None
        layout = Layout(console)
        progress = FittedProgress(
            layout,
            LabelColumn(layout, "label"),
            FittedBar(layout),
            JobPercent(layout, "pct", PCT),
            JobSize(layout, "size", SIZE),
            RateColumn(layout, "rate"),
            FittedTimeRemaining(layout),
            console=console,
            redirect_stdout=False,
            redirect_stderr=False,
            expand=False,
        )
        return RichJobReporter(progress)

    def __call__(self, event: Any) -> None:
        from .._jobs.events import DownloadProgress, JobDone, ProjectStatus
        from .._upload.flow import UploadProgress

        with self._lock:
            if self._stopped:
                return
            if not self._started:
                self._started = True
                self._progress.start()
            if isinstance(event, UploadProgress):
                self._transfer("up", event.index, clean(event.name), event.bytes_sent, event.total)
            elif isinstance(event, ProjectStatus):
                self._show_status(clean(event.status))
            elif isinstance(event, DownloadProgress):
                self._transfer(
                    "down",
                    event.index,
                    clean(os.path.basename(event.path)),
                    event.bytes_received,
                    event.total,
                )
            elif isinstance(event, JobDone):
                self._show_status(("✓ " if event.status == "complete" else "✗ ") + clean(event.status))
                for key, task in self._tasks.items():
                    if key[0] == "down" and event.status == "complete":
                        self._progress.update(task, state="ok")

    def project_started(self, noun: str, project_id: str) -> None:
        with self._lock:
            if self._stopped:
                return
            if not self._started:
                self._started = True
                self._progress.start()
            # Above the bars, where it stays: the id is what an interrupted job is resumed with.
            self._progress.console.print(Text(f"{PROG}: started {noun} {clean(project_id)}"))

    def _transfer(self, direction: str, index: int, name: str, done: int, total: Optional[int]) -> None:
        key = (direction, index)
        task = self._tasks.get(key)
        if task is None:
            task = self._tasks[key] = self._progress.add_task("", total=total, name=name)
        elif direction == "up" and done == 0 and self._sent.get(index, 0) > 0:
            retry = int(self._progress.tasks[task].fields.get("retry", 0)) + 1
            self._progress.reset(task, visible=True)
            self._progress.update(task, retry=retry)
        if direction == "up":
            self._sent[index] = done
        self._progress.update(task, completed=done, total=total)

    def _show_status(self, text: str) -> None:
        for key, task in self._tasks.items():
            if key[0] == "up":
                self._progress.update(task, state="ok")
        if self._status is None:
            self._status = self._progress.add_task("", total=None, name=f"project {text}", status=True)
        else:
            self._progress.update(self._status, name=f"project {text}")

    def stop(self) -> None:
        with self._lock:
            if self._status is not None and self._started:
                self._progress.stop_task(self._status)  # its elapsed time stops with the job
            if self._started and not self._stopped:
                self._progress.stop()
            self._stopped = True
