"""What the sync and async drivers share: a run's checked options, its journal and scheduler, and the
parts of each action that are not I/O (the journal bookkeeping is plain sync code, which the async
driver runs in a worker thread)."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import dataclass
from typing import (
    Any,
    Callable,
    Dict,
    Generator,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Tuple,
    Union,
    cast,
)

from .._exceptions import DownloadWriteError, InvalidParameterError
from .._jobs.events import check_callback
from .._jobs.polling import check_interval, check_timeout
from ._flow import NOW, Finish, FlowOptions, Record, choose_names
from ._journal import Journal, Row
from ._plan import BatchJob, plan_jobs
from ._scheduler import Scheduler
from ._tools import Tool, find_tool
from ._types import (
    CREATED,
    DOWNLOADED,
    FINISHED,
    PLANNED,
    STATES,
    UPLOADED,
    BatchItem,
    BatchSummary,
    BatchUpdate,
)

DEFAULT_MAX_JOBS = 3
"""Jobs rendering at once by default: the smallest paid plan's limit of concurrent generations."""
JOURNAL_NAME = "magic-hour-batch.sqlite"

Jobs = Iterable[Union[BatchJob, Mapping[str, Any]]]
BatchProgressCallback = Callable[[BatchUpdate], object]


class Stopped(Exception):
    """Raised inside a job's I/O when the batch is interrupted: the item stays as recorded."""


@dataclass(frozen=True)
class RunOptions:
    journal: str
    output_dir: str
    max_concurrent_jobs: int
    max_credits: Optional[int]
    retry_failed: bool
    flow: FlowOptions
    wait_timeout: Optional[float]
    poll_interval: Optional[float]
    on_progress: Optional[BatchProgressCallback]


def _positive_int(name: str, value: object, allowed: str, *, none: bool = False) -> Optional[int]:
    if value is None and none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < (0 if none else 1):
        raise InvalidParameterError(name, value, allowed)
    return value


def _path(name: str, value: object) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, os.PathLike):
        value = os.fspath(cast("os.PathLike[str]", value))
    if not isinstance(value, str) or not value or "\x00" in value:
        raise InvalidParameterError(name, value, "a path (str or os.PathLike)")
    return value


def check_options(
    *,
    journal: object,
    output_dir: object,
    max_concurrent_jobs: object,
    max_credits: object,
    retry_failed: object,
    download_outputs: object,
    wait_timeout: object,
    poll_interval: object,
    on_progress: object,
) -> RunOptions:
    """Every argument of a run, checked before the journal is opened or anything sent."""
    journal_path, folder = _path("journal", journal), _path("output_dir", output_dir)
    if journal_path is None and folder is None:
        raise InvalidParameterError(
            "journal", None, "a journal path, or an output_dir to keep it in", reason="missing"
        )
    if journal_path is None:
        assert folder is not None
        journal_path = os.path.join(folder, JOURNAL_NAME)
    jobs = _positive_int(
        "max_concurrent_jobs",
        max_concurrent_jobs,
        "an integer >= 1 (your plan's limit of concurrent generations)",
    )
    budget = _positive_int("max_credits", max_credits, "an integer >= 0, or None (no budget)", none=True)
    for name, flag in (("retry_failed", retry_failed), ("download_outputs", download_outputs)):
        if not isinstance(flag, bool):
            raise InvalidParameterError(name, flag, "True or False")
    check_callback(on_progress)
    assert jobs is not None
    return RunOptions(
        journal=journal_path,
        output_dir=folder or "",
        max_concurrent_jobs=jobs,
        max_credits=budget,
        retry_failed=bool(retry_failed),
        flow=FlowOptions(download=bool(download_outputs)),
        wait_timeout=check_timeout(wait_timeout, "wait_timeout"),
        poll_interval=check_interval(poll_interval),
        on_progress=on_progress,  # type: ignore[arg-type]
    )


class Run:
    """One run of a batch: its journal (held), scheduler and progress, shared by the workers.

    Every method may be called from any worker thread; the scheduler's state is behind ``cond``."""

    def __init__(self, options: RunOptions, journal: Journal, scheduler: Scheduler, resumed: int) -> None:
        self.options = options
        self.journal = journal
        self.scheduler = scheduler
        self.resumed_creating = resumed
        self.cond = threading.Condition()
        self.started = time.monotonic()
        self.interrupted = threading.Event()
        self._stoppers: Dict[int, Callable[[], None]] = {}
        self._stoppers_lock = threading.Lock()
        self._emit_lock = threading.Lock()
        self.output_dir = options.output_dir

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(cls, options: RunOptions, jobs: Optional[Jobs]) -> Run:
        """Check the jobs (before anything is sent), take the journal, record the new items."""
        planned = plan_jobs(jobs) if jobs is not None else None
        journal = Journal.for_run(options.journal)
        try:
            folder = (
                options.output_dir
                or journal.meta("output_dir")
                or os.path.dirname(os.path.abspath(options.journal))
            )
            if journal.meta("output_dir") != folder:
                journal.set_meta("output_dir", folder)
            options = _with_folder(options, folder)
            resumed = journal.recover()
            if planned is not None:  # checked as recorded: a bad job leaves the journal as it was
                journal.plan((p.key, p.tool.name, p.tool.kind, p.label, p.stem, p.params) for p in planned)
            if options.retry_failed:
                journal.reset_failed()
        except BaseException:
            journal.close()
            raise
        scheduler = Scheduler(options.max_concurrent_jobs, options.max_credits, journal.credits)
        return cls(options, journal, scheduler, resumed)

    def close(self) -> None:
        self.journal.close()

    # ------------------------------------------------------------------ items

    def rows(self) -> Iterator[Row]:
        """The items to work on: first those whose project exists (they cost nothing more and free the
        API's places), then those to start while the batch still starts items."""
        for row in self.journal.rows([CREATED, FINISHED, DOWNLOADED]):
            if row.item.state != DOWNLOADED or self._missing_output(row):
                if row.item.state != CREATED and not self.options.flow.download:
                    continue
                yield row
        for row in self.journal.rows([PLANNED, UPLOADED]):
            if not self.scheduler.may_start() or self.interrupted.is_set():
                return
            yield row

    def _missing_output(self, row: Row) -> bool:
        if not self.options.flow.download:
            return False
        return any(not os.path.isfile(os.path.join(self.output_dir, name)) for name in row.item.outputs)

    @staticmethod
    def tool(row: Row) -> Tool:
        return find_tool(row.item.tool)

    # ------------------------------------------------------------------ actions without I/O of the network

    def record(self, row: Row, action: Record) -> Optional[BatchUpdate]:
        """Write ``action`` to the journal (in the calling thread) and count its credits; the progress
        event to :meth:`emit`, when there is a callback."""
        fields: Dict[str, Any] = {k: time.time() if v is NOW else v for k, v in action.fields.items()}
        durable = bool(fields.pop("durable", False))
        previous, old_credits = row.state, row.credits
        self.journal.update(row.item.seq, action.state, previous, old_credits, durable=durable, **fields)
        return self._after(row, action.state, fields, previous, old_credits)

    def _after(
        self, row: Row, state: str, fields: Mapping[str, Any], previous: str, old_credits: int
    ) -> Optional[BatchUpdate]:
        row.state = state
        credits = fields.get("credits")
        if isinstance(credits, int):
            row.credits = credits
            with self.cond:
                self.scheduler.charge(credits - old_credits)
        if self.options.on_progress is None:
            return None
        return BatchUpdate(
            item=_updated(row, state, fields),
            previous=previous,
            counts=dict(self.journal.counts),
            credits_charged=self.journal.credits,
            elapsed=time.monotonic() - self.started,
            concurrency=self.scheduler.concurrency,
        )

    def emit(self, update: Optional[BatchUpdate]) -> None:
        callback = self.options.on_progress
        if update is not None and callback is not None:
            with self._emit_lock:
                callback(update)

    def finish(self, row: Row, action: Finish) -> Tuple[List[str], Optional[BatchUpdate]]:
        """Reserve the item's output names and record it ``finished``: the names, and the progress event."""
        folder = self.output_dir

        def choose(taken: Callable[[str], bool]) -> List[str]:
            def unavailable(name: str) -> bool:
                mine = name in row.item.outputs
                return taken(name) or (not mine and os.path.lexists(os.path.join(folder, name)))

            return choose_names(row.stem, action.urls, action.project_id, unavailable)

        previous, old_credits = row.state, row.credits
        names = self.journal.finish(row.item.seq, previous, old_credits, choose, action.fields)
        return names, self._after(row, FINISHED, {**action.fields, "outputs": names}, previous, old_credits)

    def download_targets(self, project: Any, names: List[str], resumed: bool) -> List[Tuple[Any, str]]:
        """``(output item, path)`` per output of ``project``, each folder made. For an item a killed run
        was downloading (``resumed``), the temporary files it left under its reserved names
        (``.<name>.<random>.part``) are removed first; only then is the folder listed, so that a batch
        never lists its output folder once per item."""
        items: Any = getattr(project, "downloads", None) or getattr(project, "faces", None) or []
        targets: List[Tuple[Any, str]] = []
        for item, name in zip(cast("List[Any]", items), names):
            path = os.path.join(self.output_dir, name)
            folder = os.path.dirname(path) or "."
            try:
                os.makedirs(folder, exist_ok=True)
                if resumed:
                    prefix = f".{os.path.basename(path)[:100]}."
                    with os.scandir(folder) as entries:
                        stale = [
                            e.path for e in entries if e.name.startswith(prefix) and e.name.endswith(".part")
                        ]
                    for leftover in stale:
                        os.unlink(leftover)
            except OSError as exc:
                raise DownloadWriteError(
                    f"cannot prepare {path}: {exc.strerror or exc}", url="", path=path, errno=exc.errno
                ) from None
            targets.append((item, path))
        return targets

    def interrupt(self) -> None:
        """Stop the run from any thread, as Ctrl-C does: no create starts, the others end at their next
        step (the command's graceful stop; the drivers call it on ``KeyboardInterrupt``)."""
        self.interrupted.set()
        with self.cond:
            self.scheduler.stop("interrupted")
            self.cond.notify_all()
        with self._stoppers_lock:
            stoppers = list(self._stoppers.values())
        for stop in stoppers:
            stop()

    @contextlib.contextmanager
    def stopping(self, stop: Callable[[], None]) -> Generator[None, None, None]:
        """While in it, an interrupt also calls ``stop`` (which cuts a transfer blocked in a read: the
        sync driver's workers see no Ctrl-C of their own)."""
        with self._stoppers_lock:
            self._stoppers[id(stop)] = stop
        try:
            if self.interrupted.is_set():
                stop()
            yield
        finally:
            with self._stoppers_lock:
                self._stoppers.pop(id(stop), None)

    def check_interrupted(self) -> None:
        if self.interrupted.is_set():
            raise Stopped()

    def progress_stopper(self) -> Callable[[object], None]:
        """A progress callback for uploads and downloads that stops them when the batch is interrupted."""

        def on_progress(event: object) -> None:
            self.check_interrupted()

        return on_progress

    def summary(self) -> BatchSummary:
        counts = {state: self.journal.counts.get(state, 0) for state in STATES}
        return BatchSummary(
            journal=self.journal.path,
            output_dir=self.output_dir,
            total=sum(counts.values()),
            counts=counts,
            credits_charged=self.journal.credits,
            stopped=self.scheduler.stopped,
            elapsed=time.monotonic() - self.started,
            resumed_creating=self.resumed_creating,
        )

    @property
    def workers(self) -> int:
        """Workers: the jobs that may render at once, and as many preparing (uploading) the next ones."""
        return 2 * self.options.max_concurrent_jobs


_FIELDS = {
    "project_id": "project_id",
    "credits": "credits_charged",
    "status": "status",
    "failure": "failure",
    "creating_since": "creating_since",
}


def _updated(row: Row, state: str, fields: Mapping[str, Any]) -> BatchItem:
    """The item as just recorded (what the journal now holds), without reading it back."""
    from dataclasses import replace

    changes = {_FIELDS[k]: v for k, v in fields.items() if k in _FIELDS}
    if "outputs" in fields:
        changes["outputs"] = tuple(fields["outputs"] or ())
    if fields.get("add_create"):
        changes["creates"] = row.item.creates + 1
    row.item = replace(row.item, state=state, **changes)
    return row.item


def _with_folder(options: RunOptions, folder: str) -> RunOptions:
    from dataclasses import replace

    return replace(options, output_dir=folder)


def summary_of(journal: Journal, output_dir: Optional[str] = None) -> BatchSummary:
    counts = {state: journal.counts.get(state, 0) for state in STATES}
    folder = output_dir or journal.meta("output_dir") or os.path.dirname(os.path.abspath(journal.path))
    return BatchSummary(
        journal=journal.path,
        output_dir=folder,
        total=sum(counts.values()),
        counts=counts,
        credits_charged=journal.credits,
    )
