"""The public project calls of :class:`FakeMagicHour` (a base class: the state lives in ``_state``):
seed projects, move their status, hear of their changes, and the mock-server mode."""

from __future__ import annotations

import mimetypes
import os
import threading
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union, cast

from .._exceptions import InvalidParameterError
from ._media import MEDIA
from ._project_store import ProjectChange, ProjectStore
from ._projects import ERROR_CODE, Project, new_id

__all__ = ["OutputsArg", "ProjectControls"]

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
