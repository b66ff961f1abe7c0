"""Projects: what a create starts, how its status moves with the fake's clock, and what a GET shows.

A project is ``queued`` for ``queue_seconds``, ``rendering`` for ``render_seconds``, then ends as
its outcome (``complete`` unless a knob said ``error`` or ``canceled``). Its outputs are real files
(PNG, MP4, MP3) in the fake's storage, served at signed download URLs once it is complete.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, cast

from ._media import media
from ._schema import Schema

__all__ = ["ERROR_CODE", "ERROR_MESSAGE", "Project", "new_id", "project_body", "values_at"]

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
