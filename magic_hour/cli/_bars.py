"""Progress as rich bars on a terminal: an upload's bar per file plus a total; a job's bar per upload,
its project's status with the time elapsed (ticking between polls), then a bar per download.

Imported only when stderr is a terminal (rich is the ``cli`` extra's one dependency). Every line is at
most the terminal's width minus :data:`RESERVE` columns, recomputed at each refresh, so nothing wraps
even after a resize, and the ``^C`` a terminal echoes after the last line fits on it (a wrapped echo
would make the final redraw draw the first bar twice).
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any, Dict, Iterable, Optional, Sequence, Tuple, Type

from rich.cells import cell_len
from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TaskID, TimeRemainingColumn
from rich.table import Column, Table
from rich.text import Text

from ._output import PROG, Reporter, clean, percent, plural

if TYPE_CHECKING:
    from .._upload.batch import UploadResult
    from .._upload.flow import UploadProgress
    from .._upload.inputs import Source


RESERVE = 2
"""Columns left free at the right of every line."""
MAX_BARS = 8
"""With more files than this, only the files being uploaded (and failures) get a bar."""
PCT, SIZE, RATE, ETA = 4, 14, 10, 7
"""Widths of the fixed columns: ``100%``, ``999.9/999.9 MB``, ``999.9 MB/s``, ``0:00:00``."""


class Layout:
    """Column widths for the console's current width (rate and time left only when there is room)."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def widths(self) -> Dict[str, int]:
        avail = max(30, self.console.width - RESERVE)
        rate, eta = avail >= 72, avail >= 96
        fixed = PCT + SIZE + (RATE if rate else 0) + (ETA if eta else 0)
        rest = avail - fixed - (3 + rate + eta)  # a space between columns
        label = min(32, max(6, rest - 7))
        return {"label": label, "bar": max(1, rest - label), "rate": int(rate), "eta": int(eta)}


def _units(total: int) -> tuple[int, str]:
    for factor, unit in ((10**12, "TB"), (10**9, "GB"), (10**6, "MB"), (10**3, "kB")):
        if total >= factor:
            return factor, unit
    return 1, "B"


def size_text(done: int, total: int) -> str:
    """``3.0/3.5 MB`` (both in the total's unit, so the pair never needs two units)."""
    factor, unit = _units(total)
    if factor == 1:
        return f"{done}/{total} B"
    return f"{done / factor:.1f}/{total / factor:.1f} {unit}"


def shorten(text: str, width: int) -> str:
    """``text`` in at most ``width`` cells, cut from the left (``…/long/path/clip.mp4``)."""
    if cell_len(text) <= width:
        return text
    out = ""
    for ch in reversed(text):
        if cell_len(out) + cell_len(ch) > width - 1:
            break
        out = ch + out
    return "…" + out


class _Fitted(ProgressColumn):
    def __init__(self, layout: Layout, key: str, fixed: int = 0) -> None:
        super().__init__()
        self.layout, self.key, self.fixed = layout, key, fixed

    def width(self) -> int:
        return self.fixed or self.layout.widths()[self.key]

    def get_table_column(self) -> Column:
        width = self.width()
        return Column(width=width or None, max_width=width, no_wrap=True, overflow="crop")


class LabelColumn(_Fitted):
    """The file's name (cut from the left to fit), its state, or the total's summary."""

    def render(self, task: Task) -> Text:
        width = self.width()
        fields: Dict[str, Any] = task.fields
        if fields.get("total_of") is not None:
            n, failed = int(fields["total_of"]), fields.get("failed")
            text = ""
            for text in (
                (f"total ({failed} of {n} failed)", f"total ({failed}/{n} failed)", f"{failed}/{n} failed")
                if failed
                else (f"total ({plural(n, 'file')})", f"total ({n})", f"{n} files")
            ):
                if cell_len(text) <= width:
                    break
            return Text(shorten(text, width), style="bold red" if failed else "bold")
        name: str = fields.get("name", "")
        state = fields.get("state")
        if state == "ok":
            return Text.assemble(("✓ ", "green"), shorten(name, width - 2))
        if state == "failed":
            return Text(
                shorten("✗ " + name, width) if width < 4 else "✗ " + shorten(name, width - 2), style="red"
            )
        retry = fields.get("retry", 0)
        suffix = f" (retry {retry})" if retry else ""
        if suffix and cell_len(suffix) + 4 <= width:
            return Text.assemble(shorten(name, width - cell_len(suffix)), (suffix, "yellow"))
        return Text(shorten(name, width))


class FittedBar(BarColumn):
    def __init__(self, layout: Layout) -> None:
        super().__init__(bar_width=10)
        self.layout = layout

    def render(self, task: Task) -> Any:
        self.bar_width = self.layout.widths()["bar"]
        return super().render(task)

    def get_table_column(self) -> Column:
        return Column(width=self.layout.widths()["bar"], no_wrap=True)


class PercentColumn(_Fitted):
    """Whole percent, rounded down: ``100%`` only when every byte was sent."""

    def render(self, task: Task) -> Text:
        total = int(task.total or 0)
        return Text(f"{percent(int(task.completed), total):>3}%", style="progress.percentage")


class SizeColumn(_Fitted):
    def render(self, task: Task) -> Text:
        return Text(size_text(int(task.completed), int(task.total or 0)), style="progress.download")


class RateColumn(_Fitted):
    """Bytes per second; a file too small for rich's estimate shows its average rate, never ``?``."""

    def render(self, task: Task) -> Text:
        if not self.layout.widths()["rate"]:
            return Text("")
        if task.finished_time:  # done: its average over its own time, which stops with it
            speed: Optional[float] = task.completed / task.finished_time
        else:  # rich's estimate; a file too quick for one gets its average so far
            speed = task.speed
            elapsed = task.elapsed
            if speed is None and elapsed and task.completed:
                speed = task.completed / elapsed
        if not speed:
            return Text("")
        factor, unit = _units(int(speed))
        value = f"{int(speed)} B/s" if factor == 1 else f"{speed / factor:.1f} {unit}/s"
        return Text(value, style="progress.data.speed")

    def width(self) -> int:
        return RATE if self.layout.widths()["rate"] else 0


class FittedTimeRemaining(TimeRemainingColumn):
    def __init__(self, layout: Layout) -> None:
        super().__init__()
        self.layout = layout

    def render(self, task: Task) -> Text:
        return super().render(task) if self.layout.widths()["eta"] else Text("")

    def get_table_column(self) -> Column:
        width = ETA if self.layout.widths()["eta"] else 0
        return Column(width=width or None, max_width=width, no_wrap=True, overflow="crop")


class FittedProgress(Progress):
    """A progress display whose optional columns are left out when the terminal is too narrow (rich draws
    an empty column one cell wide, plus its separator)."""

    def __init__(self, layout: Layout, *columns: ProgressColumn, **kwargs: Any) -> None:
        self.layout = layout  # before Progress.__init__, which draws a first (empty) table
        super().__init__(*columns, **kwargs)

    def make_tasks_table(self, tasks: Iterable[Task]) -> Table:
        widths = self.layout.widths()
        columns = [
            c
            for c in self.columns
            if isinstance(c, ProgressColumn)
            and not (isinstance(c, RateColumn) and not widths["rate"])
            and not (isinstance(c, FittedTimeRemaining) and not widths["eta"])
        ]
        table = Table.grid(*(c.get_table_column().copy() for c in columns), padding=(0, 1), expand=False)
        for task in tasks:
            if task.visible:
                table.add_row(*(column(task) for column in columns))
        return table


def _terminal_progress(percent: Type[PercentColumn], size: Type[SizeColumn]) -> Optional[FittedProgress]:
    """The bars of files and of jobs (they differ in how a percent and a size read) on stderr, if it is an
    interactive terminal."""
    console = Console(stderr=True)
    if not console.is_terminal or console.is_dumb_terminal:
        return None
    layout = Layout(console)
    return FittedProgress(
        layout,
        LabelColumn(layout, "label"),
        FittedBar(layout),
        percent(layout, "pct", PCT),
        size(layout, "size", SIZE),
        RateColumn(layout, "rate"),
        FittedTimeRemaining(layout),
        console=console,
        redirect_stdout=False,
        redirect_stderr=False,
        expand=False,
    )


class RichReporter(Reporter):
    """One bar per file (bytes, rate, time left) plus a total, drawn by rich on stderr."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._lock = threading.Lock()
        self._stopped = False
        self._tasks: Dict[int, TaskID] = {}
        self._sizes: Dict[int, int] = {}
        self._sent: Dict[int, int] = {}
        self._retries: Dict[int, int] = {}
        self._total: Optional[TaskID] = None
        self._few = True

    @staticmethod
    def create() -> Optional[RichReporter]:
        """A reporter for stderr if it is an interactive terminal, else ``None``."""
        progress = _terminal_progress(PercentColumn, SizeColumn)
        return None if progress is None else RichReporter(progress)

    def start(self, sources: Sequence[Source], concurrency: int, passed: int) -> None:
        self._few = len(sources) <= MAX_BARS
        with self._lock:
            for s in sources:
                self._sizes[s.index] = s.size
                self._tasks[s.index] = self._progress.add_task(
                    "", total=s.size, visible=self._few, start=False, name=clean(s.name)
                )
            if len(sources) > 1:
                self._total = self._progress.add_task(
                    "", total=sum(s.size for s in sources), total_of=len(sources), failed=0
                )
            self._progress.start()

    def on_progress(self, event: UploadProgress) -> None:
        task = self._tasks.get(event.index)
        if task is None:
            return
        previous = self._sent.get(event.index)
        self._sent[event.index] = event.bytes_sent
        if previous is None:
            self._progress.start_task(task)  # its time (rate, time left) counts from its first byte
        elif event.bytes_sent == 0 or event.bytes_sent < previous:
            retry = self._retries[event.index] = self._retries.get(event.index, 0) + 1
            self._progress.reset(task, visible=True)  # (reset() replaces the fields it is given)
            self._progress.update(task, retry=retry)
        in_flight = event.bytes_sent < event.total
        self._progress.update(task, completed=event.bytes_sent, visible=self._few or in_flight)
        if self._total is not None:
            self._progress.update(self._total, completed=sum(self._sent.values()))

    def finish(self, results: Sequence[UploadResult]) -> None:
        # Final state: only what was stored counts; a failed file's bar goes back to 0, in red.
        with self._lock:
            if self._stopped:
                return
            stored = failed = 0
            for r in results:
                task = self._tasks.get(r.index)
                if task is None:
                    continue
                if r.ok:
                    stored += self._sizes[r.index]
                    self._progress.update(task, state="ok", completed=self._sizes[r.index])
                else:
                    failed += 1
                    self._progress.update(task, state="failed", completed=0, visible=True)
            if self._total is not None:
                self._progress.update(self._total, failed=failed, completed=stored)
        self.stop()

    def stop(self) -> None:
        with self._lock:
            if not self._stopped:
                self._stopped = True
                self._progress.stop()


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
        progress = _terminal_progress(JobPercent, JobSize)
        return None if progress is None else RichJobReporter(progress)

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
