"""The public knobs of :class:`FakeMagicHour` (base classes: the state lives in ``_state``): faults
to arm, and for batch tests a plan's limit of concurrent jobs, a share of jobs that fail, and how many
projects each item got (to prove that none was paid twice)."""

from __future__ import annotations

import random
import threading
from collections import Counter
from typing import TYPE_CHECKING, Dict, List, Mapping, Optional, Tuple

from .._exceptions import InvalidParameterError
from ._faults import BodyType, Countdown, Failure, Faults, FileDrops
from ._projects import PlanRules, Project, ProjectStore, values_at
from ._records import RecordedRequest
from ._storage import Storage

if TYPE_CHECKING:
    from ._api import Api


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
        concurrent generations: 3 on Creator, 5 on Pro): ``status`` (429; the API's description documents
        no answer for this, and its creates document 400 and 422 for what they refuse, which a batch
        handles too) with ``{"message": "Too many concurrent jobs: ..."}`` and no project started; with
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


Route = str
"""A route name: ``"upload_urls"``, ``"storage"``, ``"downloads"``, ``"api"`` (every API operation),
or an operation's ``"<resource>.<method>"`` (``"image_projects.get"``, ``"face_swap_photo.create"``)."""

FIXED_ROUTES: Tuple[str, ...] = ("api", "downloads", "storage", "upload_urls")
OUTCOMES = ("error", "canceled", "complete")


def check_times(times: object) -> int:
    if isinstance(times, bool) or not isinstance(times, int) or times < 1:
        raise InvalidParameterError("times", times, "an integer >= 1")
    return times


class FaultKnobs(PlanKnobs):
    """Knobs that arm the next matching requests, then disarm by themselves (and the plan's, which stay)."""

    _lock: threading.Lock
    _faults: Faults
    _clock_offset: float
    _routes: Tuple[str, ...]  # FIXED_ROUTES and every operation's route

    def _check_route(self, route: object) -> str:
        if not isinstance(route, str) or route not in self._routes:
            raise InvalidParameterError("route", route, ", ".join(repr(r) for r in self._routes))
        return route

    def fail_next(
        self,
        route: Route,
        status: int = 503,
        *,
        times: int = 1,
        headers: Optional[Mapping[str, str]] = None,
        body: BodyType = None,
        per_file: bool = False,
    ) -> None:
        """Answer the next ``times`` requests of ``route`` with ``status`` (queued after earlier calls).

        ``route``: ``"upload_urls"``, ``"storage"`` (upload PUTs), ``"downloads"``, an operation's
        ``"<resource>.<method>"`` (``"image_projects.get"``), or ``"api"`` (any API operation; a
        failure armed for the operation's own route is used first).
        ``headers`` are added (e.g. ``{"Retry-After": "0"}``). ``body`` is bytes, text or a JSON
        mapping; by default the API answers ``{"message": <reason>}`` and storage an S3 XML error.
        The request body is still read (and discarded) first.

        ``per_file=True`` (storage only) fails the first ``times`` PUTs of *each* ``file_path``
        instead, whatever order concurrent uploads arrive in; it stays armed for new files until
        :meth:`reset_faults`.
        """
        checked = self._check_route(route)
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise InvalidParameterError("status", status, "an HTTP status code, 100 to 599")
        n = check_times(times)
        if body is not None and not isinstance(body, (bytes, str, Mapping)):
            raise InvalidParameterError("body", body, "bytes, str, a JSON mapping, or None")
        if per_file and checked != "storage":
            raise InvalidParameterError("per_file", per_file, f"False for route {checked!r}")
        with self._lock:
            if per_file:
                self._faults.file_failures.append(Failure(status, dict(headers or {}), body, n, {}))
            else:
                queue = self._faults.failures.setdefault(checked, [])
                queue.append(Failure(status, dict(headers or {}), body, n))

    def set_latency(self, seconds: float, route: Optional[Route] = None) -> None:
        """Wait ``seconds`` before answering each request (of ``route``, or of every route).

        Through the transport, a latency above the request's read timeout raises
        :class:`httpx.ReadTimeout` after the timeout, like a real slow server would.
        """
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds >= 0:
            raise InvalidParameterError("seconds", seconds, "a number of seconds >= 0")
        if route is not None:
            self._check_route(route)
        with self._lock:
            self._faults.latency[route] = float(seconds)

    def expire_next_urls(self, times: int = 1, *, advertise_valid: bool = False) -> None:
        """Issue the next ``times`` upload URLs already expired (storage answers 403 "Request has expired").

        Their ``expires_at`` is in the past too, unless ``advertise_valid=True``, which shows a normal
        ``expires_at`` (as when the client's clock is wrong) so the client only learns it from the 403.
        """
        n = check_times(times)
        with self._lock:
            self._faults.expire = Countdown(n)
            self._faults.advertise_valid = bool(advertise_valid)

    def advance_clock(self, seconds: float) -> None:
        """Move the fake's clock forward: URLs issued earlier expire as if that time had passed."""
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            raise InvalidParameterError("seconds", seconds, "a number of seconds")
        with self._lock:
            self._clock_offset += float(seconds)

    def drop_next_uploads(
        self, times: int = 1, *, after_bytes: Optional[int] = None, per_file: bool = False
    ) -> None:
        """Drop the connection in the middle of the body of the next ``times`` storage PUTs.

        The fake reads ``after_bytes`` bytes (default: half the ``Content-Length``) and then closes
        the socket (real server) or raises :class:`httpx.RemoteProtocolError` (transport). Nothing
        is stored; the request is recorded with ``status=None, fault="drop"``.

        ``per_file=True`` drops the first ``times`` PUTs of *each* ``file_path`` instead, whatever
        order concurrent uploads arrive in; it stays armed for new files until :meth:`reset_faults`.
        """
        n = check_times(times)
        if after_bytes is not None and (
            isinstance(after_bytes, bool) or not isinstance(after_bytes, int) or after_bytes < 0
        ):
            raise InvalidParameterError("after_bytes", after_bytes, "an integer >= 0, or None (half)")
        with self._lock:
            if per_file:
                self._faults.file_drops = FileDrops(n, after_bytes, {})
            else:
                self._faults.drop = Countdown(n)
                self._faults.drop_after = after_bytes

    def drop_next_downloads(
        self, times: int = 1, *, after_bytes: Optional[int] = None, per_file: bool = False
    ) -> None:
        """Drop the connection in the middle of the body of the next ``times`` downloads.

        The fake sends the status, the headers (``Content-Length`` of the whole) and ``after_bytes``
        bytes of the body (default: half), then resets the connection (real server) or raises
        :class:`httpx.RemoteProtocolError` while the body is read (transport). Recorded with
        ``fault="drop"``. A ``Range`` request resumes, unless ``fake.ranges = False``.

        ``per_file=True`` cuts the first ``times`` downloads of *each* file instead, whatever order
        concurrent downloads arrive in; it stays armed for new files until :meth:`reset_faults`.
        """
        n = check_times(times)
        if after_bytes is not None and (
            isinstance(after_bytes, bool) or not isinstance(after_bytes, int) or after_bytes < 0
        ):
            raise InvalidParameterError("after_bytes", after_bytes, "an integer >= 0, or None (half)")
        with self._lock:
            if per_file:
                self._faults.download_file_drops = FileDrops(n, after_bytes, {})
            else:
                self._faults.download_drop = Countdown(n)
                self._faults.download_drop_after = after_bytes

    def malformed_next_responses(self, times: int = 1) -> None:
        """Answer the next ``times`` valid ``upload-urls`` requests with 200 and a body that is not JSON."""
        n = check_times(times)
        with self._lock:
            self._faults.malformed = Countdown(n)

    def wrong_item_count_next(self, times: int = 1, *, delta: int = -1) -> None:
        """Answer the next ``times`` valid ``upload-urls`` requests with ``delta`` items too many (or few)."""
        n = check_times(times)
        if isinstance(delta, bool) or not isinstance(delta, int) or delta == 0:
            raise InvalidParameterError("delta", delta, "a non-zero integer")
        with self._lock:
            self._faults.wrong_count = Countdown(n, delta)

    def end_next_projects(
        self,
        outcome: str = "error",
        *,
        times: int = 1,
        code: Optional[str] = None,
        message: Optional[str] = None,
    ) -> None:
        """Make the next ``times`` projects (or face detections) end as ``outcome`` after their render.

        ``outcome`` is ``"error"`` (the GET shows ``error: {"code", "message"}``, default code
        ``"fake_error"``), ``"canceled"`` (a face detection, which has no such status, shows
        ``"error"``) or ``"complete"``. A failed or canceled project shows ``credits_charged: 0``
        (refunded) and no downloads. Queued after earlier calls.
        """
        if outcome not in OUTCOMES:
            raise InvalidParameterError("outcome", outcome, ", ".join(map(repr, OUTCOMES)))
        n = check_times(times)
        error = None
        if outcome == "error" and (code is not None or message is not None):
            error = {"code": code or "fake_error", "message": message or "FakeMagicHour: failed on purpose"}
        with self._lock:
            self._faults.endings.extend([(outcome, error)] * n)

    def reset_faults(self) -> None:
        """Disarm every fault knob and remove latency (the clock stays where it is)."""
        with self._lock:
            self._faults = Faults()


__all__ = ["FIXED_ROUTES", "OUTCOMES", "FaultKnobs", "PlanKnobs", "Route", "check_times"]
