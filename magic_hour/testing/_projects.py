"""Projects: what a create starts, how its status moves with the fake's clock, what a GET shows, who
hears of the changes, and the plan's limits on them.

A project is ``queued`` for ``queue_seconds``, ``rendering`` for ``render_seconds``, then ends as
its outcome (``complete`` unless a knob said ``error`` or ``canceled``). Its outputs are real files
(PNG, MP4, MP3) in the fake's storage, served at signed download URLs once it is complete.

A project gets to the :class:`ProjectStore` three ways: a create call started it, a test seeded it
(:meth:`FakeMagicHour.seed_project`), or, in mock-server mode, a ``GET`` asked for an id the fake never
saw. Every change (a new project included) is told to the listeners added with
:meth:`FakeMagicHour.on_project_change`, in order, outside the fake's lock. The fake has no timer
thread, so changes the clock makes are noticed at the next request, clock move or project call:
``flush()`` is the one place that finds them and tells the listeners.
"""

from __future__ import annotations

import mimetypes
import os
import random
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Set, Tuple, Union, cast

from .._exceptions import InvalidParameterError
from ._media import MEDIA, media
from ._spec import ApiSpec, Operation, Schema
from ._storage import Storage

ERROR_CODE = "fake_error"
ERROR_MESSAGE = "FakeMagicHour: this project was set to fail (end_next_projects)"
MAX_OUTPUTS = 16


def new_id() -> str:
    """A fresh id in the API's cuid-like shape."""
    return "cm" + secrets.token_hex(12)


def values_at(body: Any, path: str) -> List[str]:
    """The strings at a metadata field path of ``body``: ``assets.image_file_path``,
    ``assets.face_mappings[].new_face`` (``[]``: every item of the array)."""
    current: List[Any] = [body]
    for part in path.split("."):
        many, name = part.endswith("[]"), part[:-2] if part.endswith("[]") else part
        found: List[Any] = []
        for value in current:
            item = cast("Dict[str, Any]", value).get(name) if isinstance(value, dict) else None
            if many and isinstance(item, list):
                found.extend(cast("List[object]", item))
            elif not many and item is not None:
                found.append(item)
        current = found
    return [value for value in current if isinstance(value, str)]


def _field(body: Any, name: str) -> object:
    return cast("Dict[str, object]", body).get(name) if isinstance(body, dict) else None


@dataclass(repr=False)
class Project:
    """A project (or face detection) the fake created.

    Attributes:
        id: its id, as the create call answered.
        kind: ``"video"``, ``"image"``, ``"audio"`` or ``"face_detection"``.
        route: the operation that created it, e.g. ``"face_swap_photo.create"``.
        body: the JSON body of the create request.
        created_at: when, on the fake's clock (:meth:`FakeMagicHour.now`).
        queue_seconds, render_seconds: how long it stays ``queued``, then ``rendering``.
        outcome: how it ends: ``"complete"``, ``"error"`` or ``"canceled"``.
        credits_charged: what the create call answered (a failed or canceled project refunds: 0).
        outputs: the storage paths of its output files (downloads, or faces for face detection).
        error: ``{"code": ..., "message": ...}`` when the outcome is ``"error"``.
        deleted: a ``DELETE`` removed it (it now answers 404).
        pinned: the status it shows whatever the clock says, once :meth:`FakeMagicHour.seed_project`
            or :meth:`FakeMagicHour.set_project_status` set one (``None``: the clock decides).
    """

    id: str
    kind: str
    route: str
    body: Any
    created_at: float
    queue_seconds: float
    render_seconds: float
    outcome: str
    credits_charged: int
    outputs: List[str] = field(default_factory=lambda: [])
    error: Optional[Dict[str, str]] = None
    deleted: bool = False
    pinned: Optional[str] = None

    def status(self, now: float) -> str:
        """``queued``, ``rendering``, then the outcome, by the fake's clock (or the pinned status)."""
        if self.pinned is not None:
            return self.pinned
        elapsed = now - self.created_at
        if elapsed < self.queue_seconds:
            return "queued"
        if elapsed < self.queue_seconds + self.render_seconds:
            return "rendering"
        return self.outcome

    @property
    def name(self) -> Optional[str]:
        name = _field(self.body, "name")
        return name if isinstance(name, str) else None

    def output_count(self) -> int:
        count = _field(self.body, "image_count")
        if isinstance(count, int) and not isinstance(count, bool) and 1 <= count <= MAX_OUTPUTS:
            return count
        return 1

    def make_outputs(
        self,
        size: Optional[int] = None,
        source: Optional[Tuple[bytes, str, str]] = None,
        count: Optional[int] = None,
    ) -> Dict[str, Tuple[bytes, str]]:
        """The output files of this project, ``{storage path: (bytes, content type)}`` (all of them
        the same bytes object: ``size`` costs memory once). ``source``: ``(bytes, extension, content
        type)`` to output instead (an uploaded input, with ``echo_inputs``). ``count``: how many
        (default: the create body's ``image_count``, else 1)."""
        kind = "image" if self.kind == "face_detection" else self.kind
        content, ext, content_type = source if source is not None else media(kind, size)
        count = self.output_count() if count is None else count
        if self.kind == "face_detection":
            names = [f"0-{i}.{ext}" for i in range(count)]
        else:
            names = ["output." + ext] if count == 1 else [f"output-{i}.{ext}" for i in range(count)]
        return self.place_outputs([(name, content, content_type) for name in names])

    def place_outputs(self, files: Sequence[Tuple[str, bytes, str]]) -> Dict[str, Tuple[bytes, str]]:
        """Make ``(name, bytes, content type)`` the output files: ``{storage path: (bytes, type)}``."""
        folder = "api-assets" if self.kind == "face_detection" else "api-outputs"
        self.outputs = [f"{folder}/{self.id}/{name}" for name, _, _ in files]
        return {path: (content, ctype) for path, (_, content, ctype) in zip(self.outputs, files)}

    def __repr__(self) -> str:
        return f"Project({self.id!r}, kind={self.kind!r}, route={self.route!r}, outcome={self.outcome!r})"


def project_body(
    project: Project,
    schema: Mapping[str, Any],
    base: Any,
    now: float,
    *,
    sign: Callable[[str], Tuple[str, str]],
    timestamp: Callable[[float], str],
) -> Any:
    """The GET answer for ``project``: ``base`` (the documented example) with the project's state.

    Only fields the response schema has are set; ``sign(path)`` gives ``(url, expires_at)``.
    """
    props: Schema = schema.get("properties", {})
    body: Dict[str, Any] = dict(cast("Dict[str, Any]", base)) if isinstance(base, dict) else {}
    status = project.status(now)
    statuses = props.get("status", {}).get("enum")
    if statuses and status not in statuses:
        status = "error"  # e.g. face detection has no "canceled"
    complete = status == "complete"
    updates: Dict[str, Any] = {
        "id": project.id,
        "status": status,
        "created_at": timestamp(project.created_at),
        "enabled": True,
        "credits_charged": project.credits_charged if status not in ("error", "canceled") else 0,
        "error": project.error if status == "error" else None,
    }
    if project.name is not None:
        updates["name"] = project.name
    if "downloads" in props:
        links = [sign(path) for path in project.outputs] if complete else []
        updates["downloads"] = [{"url": url, "expires_at": expires} for url, expires in links]
    if "faces" in props:
        links = [sign(path) for path in project.outputs] if complete else []
        updates["faces"] = [{"path": path, "url": url} for path, (url, _) in zip(project.outputs, links)]
    if "image_count" in props:
        updates["image_count"] = len(project.outputs)
    body.update({k: v for k, v in updates.items() if k in props})
    # Deprecated fields the published description dropped but the API still sends (the official
    # SDK 0.90 requires them): the total cost, and the first download on its own.
    # Set whether or not the description lists them: an example value would be a made-up URL.
    if "credits_charged" in body:
        body["total_frame_cost"] = body["credits_charged"]
    if "downloads" in body:
        body["download"] = body["downloads"][0] if body["downloads"] else None
    return body


TERMINAL = ("complete", "error", "canceled")


@dataclass(frozen=True)
class ProjectChange:
    """A project's status changed (or a project appeared: ``previous is None``).

    Attributes:
        project: the :class:`Project` (live: read it, don't change it).
        previous: the status it showed before, ``None`` for a new project.
        status: the status it shows now.
    """

    project: Project
    previous: Optional[str]
    status: str


ProjectListener = Callable[[ProjectChange], object]


class ProjectStore:
    """Every project by id, their last told status, the listeners, and the mock-server switch.

    Methods whose names start with ``_`` or that say so are called with the fake's lock held;
    :meth:`flush` is called without it.
    """

    def __init__(self, spec: ApiSpec, storage: Storage, lock: threading.Lock) -> None:
        self.spec = spec
        self._storage = storage
        self._lock = lock
        self._tell_lock = threading.RLock()  # one flush tells at a time, so listeners hear changes in order
        self.projects: Dict[str, Project] = {}
        self.listeners: List[ProjectListener] = []
        self.mock_server = False
        self.output_size: Optional[int] = None
        self._told: Dict[str, str] = {}  # the last status found for each project
        self._moving: Set[str] = set()  # projects whose status the clock may still change
        self._pending: List[ProjectChange] = []

    # ------------------------------------------------------------------ with the lock held

    def add(self, project: Project, outputs: Mapping[str, Tuple[bytes, str]]) -> None:
        """Keep ``project`` and serve ``outputs`` (lock held)."""
        self.projects[project.id] = project
        self._storage.outputs.update(outputs)
        self.noticed(project, self._storage.now())

    def set_outputs(self, project: Project, outputs: Mapping[str, Tuple[bytes, str]]) -> None:
        """Serve ``outputs`` (the project's new output files) in place of the old ones (lock held)."""
        for path in list(self._storage.outputs):
            if path.split("/")[1:2] == [project.id] and path not in outputs:
                del self._storage.outputs[path]
        self._storage.outputs.update(outputs)

    def now(self) -> float:
        return self._storage.now()

    def noticed(self, project: Project, now: float) -> None:
        """Compare ``project``'s status with the last one found; queue a change for the listeners (lock
        held). Call it after changing a project by hand."""
        status = project.status(now)
        previous = self._told.get(project.id)
        if status != previous:
            self._told[project.id] = status
            if self.listeners:
                self._pending.append(ProjectChange(project, previous, status))
        if project.pinned is None and status != project.outcome and not project.deleted:
            self._moving.add(project.id)
        else:
            self._moving.discard(project.id)

    def active(self) -> int:
        """Projects ``queued`` or ``rendering`` now, as the clock moves them (lock held): a plan's limit
        of concurrent jobs counts them."""
        now = self._storage.now()
        return sum(1 for i in self._moving if self.projects[i].status(now) in ("queued", "rendering"))

    def lookup(self, kind: str, project_id: str, op: Operation) -> Tuple[Optional[Project], bool]:
        """The live project of ``kind`` a ``GET``/``DELETE`` acts on, and whether a ``DELETE`` without
        one succeeds anyway (lock held). In mock-server mode, which is stateless as the hosted mock
        is, an id without a live project of ``kind`` (never seen, deleted, or of another kind) is
        answered anyway: a ``DELETE`` succeeds, a ``GET`` makes an example project of ``kind`` under
        that id, complete at once, in place of the old one."""
        project = self.projects.get(project_id)
        if project is not None and not project.deleted and project.kind == kind:
            return project, False
        if not self.mock_server:
            return None, False
        if op.method == "DELETE":
            return None, True
        project = Project(
            id=project_id,
            kind=kind,
            route=op.route,
            body={},
            created_at=self._storage.now(),
            queue_seconds=0.0,
            render_seconds=0.0,
            outcome="complete",
            credits_charged=self.example_credits(kind),
        )
        self._told.pop(project_id, None)  # a new project under that id
        self.projects.pop(project_id, None)
        self.add(project, project.make_outputs(self.output_size))
        return project, False

    def example_credits(self, kind: str) -> int:
        """``credits_charged`` of the documented example of ``kind``'s ``GET`` (0 when it has none)."""
        props = self._get_schema(kind).get("properties", {})
        example = props.get("credits_charged", {}).get("example", 0)
        return example if isinstance(example, int) and not isinstance(example, bool) else 0

    def statuses(self, kind: str) -> Tuple[str, ...]:
        """The statuses a project of ``kind`` can show (the ``GET`` schema's enum)."""
        enum = self._get_schema(kind).get("properties", {}).get("status", {}).get("enum")
        return tuple(cast("List[str]", enum)) if enum else ("queued", "rendering", *TERMINAL)

    def _get_schema(self, kind: str) -> Schema:
        op = self.spec.operations.get(self.spec.projects.get(kind, ""))
        _, content = op.success if op is not None else (200, None)
        return cast(Schema, (content or {}).get("schema", {}))

    def clear(self) -> None:
        """Forget every project (lock held); listeners stay."""
        self.projects.clear()
        self._told.clear()
        self._moving.clear()
        self._pending.clear()

    # ------------------------------------------------------------------ without the lock

    def flush(self) -> None:
        """Find the changes the clock made and tell the listeners every change found so far."""
        with self._tell_lock:
            with self._lock:
                if self._moving:
                    now = self._storage.now()
                    for project_id in list(self._moving):
                        self.noticed(self.projects[project_id], now)
                changes, self._pending = self._pending, []
                listeners = list(self.listeners)
            for change in changes:
                for listener in listeners:
                    listener(change)


CONCURRENCY_MESSAGE = "Too many concurrent jobs: your plan allows {limit} at a time. Wait for one to finish."
"""The message of the refusal (the API's description documents no answer for this: a rate limiter's 429,
or the 400 and 422 its creates document for a refusal, with the API's ``{"message": ...}`` shape)."""


@dataclass
class PlanRules:
    """What :class:`PlanKnobs` armed (plain state: the fake's lock is held around every use)."""

    limit: Optional[int] = None
    status: int = 429
    retry_after: Optional[str] = None
    fail_share: float = 0.0
    fail_outcome: str = "error"
    rng: Optional[random.Random] = None

    def refusal(self, projects: ProjectStore) -> Optional[Tuple[int, Dict[str, Any], Dict[str, str]]]:
        """``(status, body, headers)`` when a new project would exceed the limit, else ``None``."""
        if self.limit is None or projects.active() < self.limit:
            return None
        headers = {"Retry-After": self.retry_after} if self.retry_after is not None else {}
        return self.status, {"message": CONCURRENCY_MESSAGE.format(limit=self.limit)}, headers

    def outcome(self) -> Optional[str]:
        """How a new project ends when the share says it fails, else ``None``."""
        if self.rng is not None and self.fail_share > 0 and self.rng.random() < self.fail_share:
            return self.fail_outcome
        return None


OutputsArg = Union[int, Sequence[Union[bytes, Tuple[str, bytes]]], None]
"""Output files: a count of made-up ones, or each file's bytes (named like the fake's own outputs) or
``(name, bytes)``."""

SEEDED_ERROR = "FakeMagicHour: this project was seeded with status 'error'"


def _check_error(error: object, status: str) -> Optional[Dict[str, str]]:
    given = error  # as given, for the message (isinstance narrows ``error`` below)
    if error is None:
        return {"code": ERROR_CODE, "message": SEEDED_ERROR} if status == "error" else None
    if status != "error":
        raise InvalidParameterError("error", error, "None unless status='error'")
    if isinstance(error, str):
        return {"code": ERROR_CODE, "message": error}
    if isinstance(error, Mapping):
        fields = cast("Mapping[object, object]", error)
        code, message = fields.get("code"), fields.get("message")
        if isinstance(code, str) and isinstance(message, str):
            return {"code": code, "message": message}
    raise InvalidParameterError("error", given, 'a message (str) or {"code": str, "message": str}')


def _output_files(
    project: Project, outputs: OutputsArg
) -> Tuple[Optional[int], Optional[List[Tuple[str, bytes, str]]]]:
    """``(count, None)`` for made-up files (``count`` None: not given), or ``(None, files)``: ``(name,
    bytes, content type)`` per given file."""
    if outputs is None:
        return None, None
    if isinstance(outputs, int) and not isinstance(outputs, bool):
        if outputs < 0:
            raise InvalidParameterError("outputs", outputs, "a count >= 0, or a list of files")
        return outputs, None
    if isinstance(outputs, (str, bytes)) or not isinstance(outputs, Sequence):
        raise InvalidParameterError("outputs", outputs, "a count, or a list of bytes or (name, bytes)")
    face = project.kind == "face_detection"
    ext, default_type = MEDIA.get("image" if face else project.kind, MEDIA["image"])
    files: List[Tuple[str, bytes, str]] = []
    for i, item in enumerate(outputs):
        if isinstance(item, bytes):
            stem = f"0-{i}" if face else ("output" if len(outputs) == 1 else f"output-{i}")
            files.append((f"{stem}.{ext}", item, default_type))
            continue
        name, content = item if isinstance(item, tuple) and len(item) == 2 else (None, None)
        if (
            not isinstance(name, str)
            or not isinstance(content, bytes)
            or not name
            or name != os.path.basename(name)
        ):
            raise InvalidParameterError(
                f"outputs[{i}]", item, "bytes, or (file name without a directory, bytes)"
            )
        files.append((name, content, mimetypes.guess_type(name)[0] or "application/octet-stream"))
    return None, files


class ProjectControls:
    """Seeding, status changes, listeners and the mock-server mode of the fake's projects."""

    _lock: threading.Lock
    _projects: ProjectStore

    # ------------------------------------------------------------------ mock-server mode

    @property
    def mock_server(self) -> bool:
        """Behave as the official SDK's hosted mock server (``Environment.MOCK_SERVER``): any bearer
        token is accepted; a ``GET`` of a project id the fake never saw answers an example project of
        that kind under that id (complete, with downloadable outputs, kept afterwards); a ``DELETE``
        of one succeeds; a list answers any ``cursor`` (one it did not issue: the first page). The
        transport also answers at ``Environment.MOCK_SERVER``'s URL."""
        return self._projects.mock_server

    @mock_server.setter
    def mock_server(self, value: bool) -> None:
        self._projects.mock_server = bool(value)

    # ------------------------------------------------------------------ inspection

    @property
    def projects(self) -> List[Project]:
        """Every project (and face detection) the fake knows, oldest first (deleted ones too)."""
        with self._lock:
            return list(self._projects.projects.values())

    def project(self, project_id: str) -> Project:
        """The project with this id; raises :class:`KeyError`."""
        with self._lock:
            try:
                return self._projects.projects[project_id]
            except KeyError:
                raise KeyError(f"no project {project_id!r}") from None

    # ------------------------------------------------------------------ seeding and status

    def seed_project(
        self,
        kind: str,
        *,
        id: Optional[str] = None,
        status: str = "complete",
        outputs: OutputsArg = None,
        error: Union[str, Mapping[str, str], None] = None,
        name: Optional[str] = None,
        credits_charged: Optional[int] = None,
    ) -> Project:
        """Add a project the API already has (made before the test, by another process...), so that
        ``get``, ``check_result``, ``wait``, downloads and ``delete`` can be tested on it.

        Args:
            kind: ``"video"``, ``"image"``, ``"audio"`` or ``"face_detection"`` (whose ``GET`` answers).
            id: its id (default: a fresh one); refused if the fake already has it.
            status: the status it shows until :meth:`set_project_status` (default ``"complete"``):
                any of its ``GET``'s statuses (``queued``, ``rendering``, ``error``, ``canceled``...).
            outputs: its output files, served at signed download URLs while it is ``complete``: a count
                of made-up files (default 1; a PNG, MP4 or MP3, ``output_size`` bytes), or a list of
                each file's bytes or ``(name, bytes)``.
            error: with ``status="error"``: the message, or ``{"code": ..., "message": ...}``.
            name, credits_charged: what its ``GET`` shows (default: the documented example's).

        Returns the :class:`Project` (``fake.project(id)`` finds it too).
        """
        store = self._projects
        if kind not in store.spec.projects:
            raise InvalidParameterError("kind", kind, ", ".join(map(repr, store.spec.projects)))
        statuses = store.statuses(kind)
        if status not in statuses:
            raise InvalidParameterError("status", status, ", ".join(map(repr, statuses)))
        if id is not None and (not isinstance(id, str) or not id or "/" in id or id != id.strip()):
            raise InvalidParameterError("id", id, "a non-empty string without '/' or surrounding spaces")
        if credits_charged is not None and (
            isinstance(credits_charged, bool) or not isinstance(credits_charged, int)
        ):
            raise InvalidParameterError("credits_charged", credits_charged, "an integer, or None")
        if name is not None and not isinstance(name, str):
            raise InvalidParameterError("name", name, "a string, or None")
        project = Project(
            id=id if id is not None else new_id(),
            kind=kind,
            route="seed_project",
            body={"name": name} if name is not None else {},
            created_at=store.now(),
            queue_seconds=0.0,
            render_seconds=0.0,
            outcome=status,
            credits_charged=credits_charged if credits_charged is not None else store.example_credits(kind),
            error=_check_error(error, status),
            pinned=status,
        )
        count, files = _output_files(project, outputs)
        with self._lock:
            if project.id in store.projects:
                raise InvalidParameterError("id", project.id, "an id the fake does not have yet")
            made = project.make_outputs(store.output_size, count=1 if count is None else count)
            store.add(project, made if files is None else project.place_outputs(files))
        store.flush()
        return project

    def set_project_status(
        self,
        project_id: str,
        status: str,
        *,
        error: Union[str, Mapping[str, str], None] = None,
        outputs: OutputsArg = None,
    ) -> Project:
        """Move a project (seeded or created) to ``status``, which it then shows whatever the clock says.

        ``error`` (with ``"error"``) and ``outputs`` as for :meth:`seed_project`; a project that
        reaches ``complete`` without outputs gets one made-up file. Listeners hear the change.
        """
        store = self._projects
        with self._lock:
            project = store.projects.get(project_id)
            if project is None:
                known = ", ".join(map(repr, list(store.projects)[:10]))
                raise InvalidParameterError("project_id", project_id, f"an id the fake has ({known})")
        statuses = store.statuses(project.kind)
        if status not in statuses:
            raise InvalidParameterError("status", status, ", ".join(map(repr, statuses)))
        checked_error = _check_error(error, status)
        count, files = _output_files(project, outputs)
        with self._lock:
            project.pinned, project.outcome, project.error = status, status, checked_error
            if files is not None:
                store.set_outputs(project, project.place_outputs(files))
            elif count is not None or (status == "complete" and not project.outputs):
                store.set_outputs(
                    project, project.make_outputs(store.output_size, count=1 if count is None else count)
                )
            store.noticed(project, store.now())
        store.flush()
        return project

    def on_project_change(self, callback: Callable[[ProjectChange], object]) -> Callable[[], None]:
        """Call ``callback(change)`` with a :class:`ProjectChange` whenever a project appears or its
        status changes (created, seeded, conjured in mock-server mode, moved by the clock or by
        :meth:`set_project_status`), in order, outside the fake's lock. A change made by the clock is
        noticed at the next request, :meth:`advance_clock` or project call. Returns a function that
        removes the callback."""
        if not callable(callback):
            raise InvalidParameterError("callback", callback, "a callable taking a ProjectChange")
        with self._lock:
            self._projects.listeners.append(callback)

        def remove() -> None:
            with self._lock:
                if callback in self._projects.listeners:
                    self._projects.listeners.remove(callback)

        return remove


__all__ = [
    "CONCURRENCY_MESSAGE",
    "ERROR_CODE",
    "ERROR_MESSAGE",
    "OutputsArg",
    "PlanRules",
    "Project",
    "ProjectChange",
    "ProjectControls",
    "ProjectListener",
    "ProjectStore",
    "new_id",
    "project_body",
    "values_at",
]
