"""One item's way through a batch, written once as a generator (no I/O), run by the sync and async drivers.

The flow yields what to do next and is sent back the outcome (or has the error thrown in):

    planned -> Upload -> Record(uploaded), then Acquire (or a slot free at once, and the body recorded
            with 'creating') -> Record(creating, synced) -> Create -> Record(created)
            -> Wait -> Release -> Finish (output names reserved, finished recorded)
            -> Download -> Record(downloaded)

Each step is recorded before the next one starts, so a rerun resumes an item where the journal says it
was: ``created`` items are waited for and downloaded, never created again. A create is sent once:
with the client's retries off, so that the flow decides. A 429 (nothing started) gives the slot back,
lowers the bound and tries again later; a connection that failed before anything was sent (nothing
started either) is tried again a few times; any answer that does not prove that nothing started
(:class:`ProjectMayExistError`) makes the item ``unknown``, never sent again by a rerun. A 400
or 422 (refused: nothing started) while other jobs of the run render may be the plan's limit of
concurrent jobs, which the API documents no answer for: the item waits for one of them to end and
tries again, five times at most (see :class:`Refused`).
"""

from __future__ import annotations

import itertools
import posixpath
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Generator, List, Mapping, Optional, Tuple, Union

from .._core.retry import CREATE_RETRY_STATUS, Sleep, parse_retry_after, retry_delay
from .._exceptions import (
    ApiConnectionError,
    ApiError,
    AuthenticationError,
    MagicHourError,
    PaymentRequiredError,
    PermissionDeniedError,
    ProjectMayExistError,
    RateLimitError,
)
from .._jobs.names import output_names
from .._jobs.polling import KINDS
from ._journal import KEEP, Row
from ._tools import Tool
from ._types import CREATED, CREATING, DOWNLOADED, FAILED, FINISHED, PLANNED, UNKNOWN, UPLOADED, ItemFailure

REFUSED = (400, 422)
"""The refusals a create's description documents that could be the plan's limit of concurrent jobs (it
documents no answer of its own for that; 429 is handled as a rate limit's, :class:`Throttle`)."""

MAX_NAME = 100
"""Characters of the project name a batch gives a job (the item's label) when its params set none."""

# ------------------------------------------------------------------------------------------------ actions


@dataclass(frozen=True)
class MayStart:
    """Whether the batch still starts new items (not stopped, budget left): ``bool``."""


@dataclass(frozen=True)
class Upload:
    """Upload the local files of ``params`` (one presign batch): the body with ``file_path`` values."""

    params: Mapping[str, Any]
    files: Mapping[str, Tuple[str, ...]]


@dataclass(frozen=True)
class Record:
    """Write the item's new ``state`` and ``fields`` to the journal (see ``Journal.update``)."""

    state: str
    fields: Dict[str, Any] = field(default_factory=lambda: {})


NOW: Any = object()
"""A ``Record`` field value: the current time, filled in by the driver."""


@dataclass(frozen=True)
class Acquire:
    """Wait for a slot to create a project of ``tool``: ``True``, or ``False`` when the batch stopped."""

    tool: str


@dataclass(frozen=True)
class TryAcquire:
    """Take a slot for ``tool`` if one is free now (``True``); never waits."""

    tool: str


@dataclass(frozen=True)
class Hold:
    """Take a slot for a project an earlier run created (it is rendering: it counts, whatever the bound)."""


@dataclass(frozen=True)
class Release:
    """Give the slot back: the project ended (``ended``), or the run stopped waiting for it."""

    ended: bool = True


@dataclass(frozen=True)
class Created:
    """Tell the scheduler a create of ``tool`` was accepted and charged ``credits``."""

    tool: str
    credits: int


@dataclass(frozen=True)
class NotCreated:
    """Tell the scheduler a create of ``tool`` ended without a project (its slot is given back)."""

    tool: str


@dataclass(frozen=True)
class Throttle:
    """A create of ``tool`` was answered 429: lower the bound, pause, give the slot back."""

    tool: str
    retry_after: Optional[float]


@dataclass(frozen=True)
class Refused:
    """A create of ``tool`` was refused (400, 422): its slot is given back. ``True`` when the plan's limit
    of concurrent generations may be why (other jobs of the run render): try again once one ends."""

    tool: str


@dataclass(frozen=True)
class Stop:
    """No job of the batch can start any more (``reason``: see ``BatchSummary.stopped``)."""

    reason: str


@dataclass(frozen=True)
class Create:
    """``client.v1.<tool>.create(**body)``, not retried by the client: the created response."""

    tool: str
    body: Mapping[str, Any]


@dataclass(frozen=True)
class Wait:
    """Poll project ``id`` of ``kind`` until it ends: the project (failed ones returned, not raised)."""

    kind: str
    id: str


@dataclass(frozen=True)
class Fetch:
    """Get project ``id`` of ``kind`` once (fresh download URLs)."""

    kind: str
    id: str


@dataclass(frozen=True)
class Finish:
    """Reserve output names for ``urls`` (see :func:`choose_names`) and record ``finished`` with them and
    ``fields``, in one transaction: the names."""

    urls: List[str]
    project_id: str
    fields: Dict[str, Any]


@dataclass(frozen=True)
class Download:
    """Download ``project``'s outputs to ``names`` (relative to the output folder): nothing. ``resumed``:
    a run before this one was downloading them (it may have left temporary files)."""

    project: Any
    names: List[str]
    resumed: bool = False


Action = Union[
    MayStart,
    Upload,
    Record,
    Acquire,
    TryAcquire,
    Hold,
    Release,
    Created,
    NotCreated,
    Throttle,
    Refused,
    Stop,
    Create,
    Wait,
    Fetch,
    Finish,
    Download,
    Sleep,
]
ItemFlow = Generator[Action, Any, None]
NETWORK = (Upload, Create, Wait, Fetch, Download)
"""The actions whose errors (``MagicHourError``) are thrown into the flow; any other error stops the batch."""

# ------------------------------------------------------------------------------------------------ pure parts


def failure_of(exc: BaseException, step: str) -> ItemFailure:
    """What the journal keeps of an error (our messages hold no token or signed query)."""
    status = getattr(exc, "status_code", None)
    return ItemFailure(step, type(exc).__name__, str(exc), status if isinstance(status, int) else None)


def project_failure(project: Any, status: str) -> ItemFailure:
    error = getattr(project, "error", None)
    message = getattr(error, "message", None) if error is not None else None
    code = getattr(error, "code", None) if error is not None else None
    return ItemFailure(
        "render",
        "ProjectFailed",
        str(message) if message else f"the project ended {status}",
        None,
        str(code) if code else None,
    )


def choose_names(stem: str, urls: List[str], project_id: str, taken: Callable[[str], bool]) -> List[str]:
    """Output names for ``urls``, relative to the output folder: the downloads' own naming
    (:func:`~magic_hour._jobs.names.output_names`) with the item's ``stem`` as base (``photos/a`` +
    ``output.png`` -> ``photos/a.png``; several outputs: ``a-1.png``, ``a-2.png``). When a name is
    ``taken`` (by another item, or a file that is not this item's), the base gets the project's id
    (``a-<id>.png``), then a number: nothing is ever overwritten."""
    folder, base = posixpath.split(stem)
    numbered = (f"{base}-{project_id}-{n}" for n in itertools.count(2))
    for candidate in itertools.chain([base, f"{base}-{project_id}"], numbered):
        names = [posixpath.join(folder, name) for name in output_names(urls, stem=candidate)]
        if len(set(names)) == len(names) and not any(taken(name) for name in names):
            return names
    raise AssertionError("unreachable")  # pragma: no cover


MAX_CREDITS = 2**53
"""Credits beyond this in an answer are not a count of credits (and would not fit the journal's column)."""


def credits_of(project: Any) -> Optional[int]:
    """A project's ``credits_charged`` when it is a count (an int from 0 to :data:`MAX_CREDITS`), else
    ``None``: an answer the SDK cannot make sense of never stops the batch at its journal write."""
    credits = getattr(project, "credits_charged", None)
    if isinstance(credits, int) and not isinstance(credits, bool) and 0 <= credits <= MAX_CREDITS:
        return credits
    return None


def _nothing_started(exc: BaseException) -> bool:
    """An error that proves the create started nothing and may pass: no connection made (the core's
    decision, ``retry.worth_retrying``, which raises a ``ProjectMayExistError`` for any other failure)."""
    if isinstance(exc, ProjectMayExistError):
        return False
    if isinstance(exc, ApiConnectionError):
        return True
    return isinstance(exc, ApiError) and exc.status_code in CREATE_RETRY_STATUS


@dataclass(frozen=True)
class FlowOptions:
    download: bool = True
    create_retries: int = 2
    """Tries again after a failure that proves nothing started (no connection made); 429s wait without
    limit."""
    refusal_retries: int = 5
    """Tries again after a 400 or 422 while other jobs of the run render (:class:`Refused`): the bound
    climbing back after one may meet the plan's limit again, and the same item may be the one refused;
    a job the API refuses for itself costs this many refused requests, nothing more."""


# ------------------------------------------------------------------------------------------------ the flow


def item_flow(row: Row, tool: Tool, options: FlowOptions) -> ItemFlow:
    item = row.item
    state, body, project_id = item.state, row.body, item.project_id
    project: Any = None
    if state == PLANNED:
        if not (yield MayStart()):
            return
        try:
            body = yield Upload(item.params, tool.files)
        except MagicHourError as exc:
            yield Record(FAILED, {"failure": failure_of(exc, "upload")})
            return
        if tool.has_name and body.get("name") in (None, ""):
            body = {**body, "name": item.label[:MAX_NAME]}  # how a user finds the project in the dashboard
        held = yield TryAcquire(tool.name)
        if not held:  # it waits for a slot: its file paths are kept meanwhile
            yield Record(UPLOADED, {"body": body, "failure": None})
        state = UPLOADED
    else:
        held = False
    if state == UPLOADED:
        assert body is not None
        # With a slot at once, the upload is recorded with the create's own record, before it is sent.
        project_id = yield from _create(tool, body, options, held)
        if project_id is None:
            return
        state = CREATED
    else:
        if state == CREATED:
            yield Hold()
    assert project_id is not None
    if state == CREATED:
        try:
            project = yield Wait(tool.kind, project_id)
        except MagicHourError as exc:
            yield Release(ended=False)
            yield Record(CREATED, {"failure": failure_of(exc, "wait")})
            return
        yield Release()
        status = str(getattr(project, "status", ""))
        credits = credits_of(project)
        charged = KEEP if credits is None else credits
        if status in KINDS[tool.kind].failed:
            failure = project_failure(project, status)
            yield Record(FAILED, {"status": status, "credits": charged, "failure": failure})
            return
        fields = {"status": status, "credits": charged, "failure": None}
        if not options.download:
            yield Record(FINISHED, fields)
            return
        names: List[str] = yield Finish(KINDS[tool.kind].outputs(project), project_id, fields)
        state = FINISHED
    else:
        names = list(item.outputs)
    if state in (FINISHED, DOWNLOADED) and options.download:
        if project is None:
            try:
                project = yield Fetch(tool.kind, project_id)  # fresh download URLs
            except MagicHourError as exc:
                yield Record(state, {"failure": failure_of(exc, "download")})
                return
            urls = KINDS[tool.kind].outputs(project)
            if len(urls) != len(names):
                names = yield Finish(urls, project_id, {})
        try:
            yield Download(project, names, item.state in (FINISHED, DOWNLOADED))
        except MagicHourError as exc:
            yield Record(FINISHED, {"failure": failure_of(exc, "download")})
            return
        yield Record(DOWNLOADED, {"outputs": names, "failure": None})


def _create(
    tool: Tool, body: Mapping[str, Any], options: FlowOptions, held: bool
) -> Generator[Action, Any, Optional[str]]:
    """Send the create once (see the module's docstring): the project's id, or ``None``. ``held``: the
    item holds a slot already, and its body is not recorded yet."""
    transient = refusals = 0
    while True:
        if not held and not (yield Acquire(tool.name)):
            return None
        fields: Dict[str, Any] = {"creating_since": NOW, "durable": True}
        if held:
            fields.update(body=body, failure=None)
        held = False
        yield Record(CREATING, fields)
        if not (yield MayStart()):  # stopped meanwhile: not sent after all
            yield NotCreated(tool.name)
            yield Record(UPLOADED, {})
            return None
        try:
            created = yield Create(tool.name, body)
        except RateLimitError as exc:
            yield Record(UPLOADED, {"failure": failure_of(exc, "create")})
            yield Throttle(tool.name, parse_retry_after(exc.response.headers))
            continue
        except ProjectMayExistError as exc:
            yield NotCreated(tool.name)
            yield Record(UNKNOWN, {"failure": failure_of(exc, "create"), "add_create": True})
            return None
        except (PaymentRequiredError, AuthenticationError, PermissionDeniedError) as exc:
            yield Stop("payment_required" if isinstance(exc, PaymentRequiredError) else "unauthorized")
            yield NotCreated(tool.name)  # after the stop: its slot must not start another create
            yield Record(UPLOADED, {"failure": failure_of(exc, "create")})
            return None
        except MagicHourError as exc:
            if (
                isinstance(exc, ApiError)
                and exc.status_code in REFUSED
                and refusals < options.refusal_retries
            ):
                if (yield Refused(tool.name)):  # its slot given back either way
                    refusals += 1
                    yield Record(UPLOADED, {"failure": failure_of(exc, "create")})
                    continue
            else:
                yield NotCreated(tool.name)
            if _nothing_started(exc) and transient < options.create_retries:
                yield Record(UPLOADED, {"failure": failure_of(exc, "create")})
                yield Sleep(retry_delay(transient))
                transient += 1
                continue
            yield Record(FAILED, {"failure": failure_of(exc, "create")})
            return None
        project_id = str(created.id)
        credits = credits_of(created) or 0
        fields = {"project_id": project_id, "credits": credits, "failure": None, "add_create": True}
        yield Record(CREATED, fields)
        yield Created(tool.name, credits)
        return project_id
