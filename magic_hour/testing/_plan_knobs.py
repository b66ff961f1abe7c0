"""Knobs for batch tests: a plan's limit of concurrent jobs, a share of jobs that fail, and how many
projects each item got (to prove that none was paid twice). The state they arm is ``_plan_rules``."""

from __future__ import annotations

import random
import threading
from collections import Counter
from typing import TYPE_CHECKING, Dict, List, Optional

from .._exceptions import InvalidParameterError
from ._plan_rules import PlanRules
from ._project_store import ProjectStore
from ._projects import Project, values_at
from ._records import RecordedRequest
from ._storage import Storage

if TYPE_CHECKING:
    from ._api import Api

__all__ = ["PlanKnobs"]


class PlanKnobs:
    """The plan's limits and a share of failing jobs (for batch runners), and create counts."""

    _lock: threading.Lock
    _projects: ProjectStore
    _storage: Storage
    _api: Api
    _requests: List[RecordedRequest]

    @property
    def _plan(self) -> PlanRules:
        return self._api.plan

    def limit_concurrent_jobs(
        self, limit: Optional[int], *, status: int = 429, retry_after: Optional[float] = None
    ) -> None:
        """Refuse a create while ``limit`` projects are ``queued`` or ``rendering`` (a plan's limit of
        concurrent generations: 3 on Creator, 5 on Pro), as the API does when it is exceeded: ``status``
        (429) with ``{"message": "Too many concurrent jobs: ..."}`` and no project started; with
        ``Retry-After: <retry_after>`` if given. ``None`` lifts the limit. Projects render for
        ``render_seconds`` on the fake's clock: set it (``fake.render_seconds = 0.2``), or every project
        ends at once and the limit is never reached. Refused creates are recorded with
        ``fault="concurrency"``."""
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise InvalidParameterError("limit", limit, "an integer >= 1, or None (no limit)")
        if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
            raise InvalidParameterError("status", status, "an HTTP error status, 400 to 599")
        if retry_after is not None and (
            isinstance(retry_after, bool) or not isinstance(retry_after, (int, float)) or not retry_after >= 0
        ):
            raise InvalidParameterError("retry_after", retry_after, "seconds >= 0, or None")
        with self._lock:
            self._plan.limit, self._plan.status = limit, status
            self._plan.retry_after = None if retry_after is None else f"{retry_after:g}"

    def fail_share_of_projects(self, share: float, *, outcome: str = "error", seed: int = 0) -> None:
        """Make a ``share`` (0 to 1) of the projects created from now on end as ``outcome`` (``"error"``
        or ``"canceled"``; refunded: ``credits_charged`` 0), picked at random with ``seed`` (the same
        seed picks the same ones in the same order). ``0`` stops it. Projects set by
        :meth:`end_next_projects` come first."""
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 1:
            raise InvalidParameterError("share", share, "a number from 0 to 1")
        if outcome not in ("error", "canceled"):
            raise InvalidParameterError("outcome", outcome, "'error', 'canceled'")
        with self._lock:
            self._plan.fail_share, self._plan.fail_outcome = float(share), outcome
            self._plan.rng = random.Random(seed) if share else None

    @property
    def refused_creates(self) -> int:
        """Creates refused by :meth:`limit_concurrent_jobs` so far (since the last :meth:`reset`)."""
        with self._lock:
            return sum(1 for r in self._requests if r.fault == "concurrency")

    def create_counts(self, by: str = "name") -> Dict[Optional[str], int]:
        """How many projects were created per item, to assert that a batch created each exactly once.

        ``by="name"``: per project ``name`` (a batch names each job's project after its item); ``by=
        "input"``: per SHA-256 of the first uploaded file in the create's body (the same input file
        uploaded twice counts as one item). Only created projects count: a refused create started
        nothing."""
        if by not in ("name", "input"):
            raise InvalidParameterError("by", by, "'name', 'input'")
        with self._lock:
            projects = list(self._projects.projects.values())
        counts: Counter[Optional[str]] = Counter()
        for project in projects:
            counts[project.name if by == "name" else self._first_input(project)] += 1
        return dict(counts)

    def _first_input(self, project: Project) -> Optional[str]:
        op = self._projects.spec.by_route(project.route)
        files: Dict[str, str] = op.spec.get("x-magic-hour", {}).get("files", {}) if op is not None else {}
        for path in files:
            for file_path in values_at(project.body, path):
                with self._lock:
                    stored = self._storage.files.get(file_path)
                if stored is not None:
                    return stored.sha256
        return None
