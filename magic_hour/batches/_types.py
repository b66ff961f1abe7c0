"""What a batch reports: each item as its journal holds it, the run's summary, and progress events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Tuple

PLANNED = "planned"
UPLOADED = "uploaded"
CREATING = "creating"
CREATED = "created"
FINISHED = "finished"
DOWNLOADED = "downloaded"
FAILED = "failed"
UNKNOWN = "unknown"

STATES: Tuple[str, ...] = (PLANNED, UPLOADED, CREATING, CREATED, FINISHED, DOWNLOADED, FAILED, UNKNOWN)
"""An item's states, in the order a job goes through them (``failed`` and ``unknown`` end it early)."""

STOP_REASONS = ("budget", "interrupted", "payment_required", "unauthorized")


@dataclass(frozen=True)
class ItemFailure:
    """What went wrong with an item (a record, not an exception).

    Attributes:
        step: where: ``"upload"``, ``"create"``, ``"render"`` (the project ended ``error`` or
            ``canceled``), ``"wait"``, ``"download"`` or ``"interrupted"``.
        type: the class of the error raised (``"UnprocessableEntityError"``,
            ``"ProjectMayExistServerError"``...), or ``"ProjectFailed"`` for a project that failed.
        message: its message (never a token or a signed URL).
        status_code: the HTTP status, when the API answered one.
        code: the project's ``error.code``, when it failed.
    """

    step: str
    type: str
    message: str
    status_code: Optional[int] = None
    code: Optional[str] = None


@dataclass(frozen=True)
class BatchItem:
    """One item of a batch, as its journal holds it.

    Attributes:
        key: its identity in the journal (a rerun with the same key is the same item).
        tool: the operation (``"image_background_remover"``: ``client.v1.<tool>.create``).
        kind: the kind of project it starts (``"image"``, ``"video"``, ``"audio"``, ``"face_detection"``).
        label: what it is called in messages and reports (its input file, or its key).
        state: one of :data:`STATES`: ``planned``, ``uploaded`` (its files are in Magic Hour's storage),
            ``creating`` (the create was sent, no answer yet), ``created`` (``project_id`` known, credits
            charged), ``finished`` (the project is complete, outputs not all downloaded), ``downloaded``
            (done), ``failed`` (see ``failure``), ``unknown`` (the create may have started a project whose
            id never came back: never created again automatically, see ``docs/batches.md``).
        project_id: the project's id, once created.
        credits_charged: credits the project cost (0 once refunded for a failed render).
        status: the project's last status seen (``complete``, ``error``...).
        outputs: the files written, relative to the batch's output folder (planned names while
            ``finished``).
        failure: the last problem, for ``failed`` and ``unknown`` items (and ``created``/``finished`` ones a
            run could not finish: the next run resumes them).
        creates: create requests sent for it that started, or may have started, a project.
        previous_projects: ids of earlier projects of this item that failed before a retry.
        params: the ``create`` arguments as given (local file paths before the upload).
        creating_since: when (Unix time) the last create was sent: to find an ``unknown`` item's project.
        seq: its position in the batch.
    """

    key: str
    tool: str
    kind: str
    label: str
    state: str
    project_id: Optional[str] = None
    credits_charged: int = 0
    status: Optional[str] = None
    outputs: Tuple[str, ...] = ()
    failure: Optional[ItemFailure] = None
    creates: int = 0
    previous_projects: Tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=lambda: {})
    creating_since: Optional[float] = None
    seq: int = 0


@dataclass(frozen=True)
class BatchSummary:
    """Where a batch stands (after a run, or read from its journal at any time).

    Attributes:
        journal: the journal's path.
        output_dir: where outputs are written.
        total: items in the batch.
        counts: items per state (every state of :data:`STATES`, zeros included).
        credits_charged: credits charged so far, over every run of this journal (refunds deducted).
        stopped: why the run stopped before the end: ``"budget"`` (``max_credits`` reached),
            ``"interrupted"``, ``"payment_required"`` (the account has no credits left: 402) or
            ``"unauthorized"`` (401/403); ``None`` when it ran to the end (or was not run).
        elapsed: seconds the run took (0 when read from a journal).
        resumed_creating: items found in ``creating`` when the run started (a run died waiting for a
            create's answer): now ``unknown``.
    """

    journal: str
    output_dir: str
    total: int
    counts: Mapping[str, int]
    credits_charged: int
    stopped: Optional[str] = None
    elapsed: float = 0.0
    resumed_creating: int = 0

    @property
    def done(self) -> int:
        """Items whose outputs are downloaded."""
        return self.counts.get(DOWNLOADED, 0)

    @property
    def failed(self) -> int:
        return self.counts.get(FAILED, 0)

    @property
    def unknown(self) -> int:
        """Items whose project may exist (see :attr:`BatchItem.state`): look for them before retrying."""
        return self.counts.get(UNKNOWN, 0)

    @property
    def not_started(self) -> int:
        """Items no create was sent for (``planned`` or ``uploaded``): nothing charged."""
        return self.counts.get(PLANNED, 0) + self.counts.get(UPLOADED, 0)

    @property
    def in_progress(self) -> int:
        """Items whose project exists but that are not done (``created``, ``finished``): a rerun picks
        them up without creating them again."""
        return self.counts.get(CREATED, 0) + self.counts.get(FINISHED, 0) + self.counts.get(CREATING, 0)

    @property
    def complete(self) -> bool:
        """Every item is downloaded."""
        return self.done == self.total


@dataclass(frozen=True)
class BatchUpdate:
    """A progress event of a batch: an item reached a new state.

    Attributes:
        item: the item as just recorded.
        previous: its state before.
        counts: items per state now.
        credits_charged: credits charged so far (every run of the journal).
        elapsed: seconds since the run started.
        concurrency: how many jobs may run at once now (lowered after a 429, raised again slowly).
    """

    item: BatchItem
    previous: str
    counts: Mapping[str, int]
    credits_charged: int
    elapsed: float
    concurrency: int
