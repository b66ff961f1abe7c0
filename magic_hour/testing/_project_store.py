"""The projects the fake knows, and who hears of their status changes.

A project gets here three ways: a create call started it, a test seeded it
(:meth:`FakeMagicHour.seed_project`), or, in mock-server mode, a ``GET`` asked for an id the fake never
saw. Its status moves with the fake's clock (see :class:`Project`) or is pinned by the test; every
change (a new project included) is told to the listeners added with
:meth:`FakeMagicHour.on_project_change`, in order, outside the fake's lock.

Changes that the clock makes are noticed at the next request, clock move or project call (the fake has
no timer thread): ``flush()`` is the one place that finds them and tells the listeners.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, Dict, List, Mapping, Optional, Set, Tuple, cast

from ._projects import Project
from ._schema import Schema
from ._spec import ApiSpec, Operation
from ._storage import Storage

__all__ = ["ProjectChange", "ProjectListener", "ProjectStore"]

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
