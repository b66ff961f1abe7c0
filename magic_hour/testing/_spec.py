"""The API the fake answers: every operation of ``magic_hour/_data/api.json``, routed by method and path.

Nothing here is written per operation: a new operation in the description is answered as soon as
``python -m codegen`` puts it in ``api.json``.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Pattern, Tuple, Union, cast

from ._schema import Schema

__all__ = ["ApiSpec", "Operation", "load_spec"]

_JSON = "application/json"


@dataclass(frozen=True)
class Operation:
    """One operation of the description.

    Attributes:
        key: ``"GET /v1/image-projects/{id}"``.
        route: the name knobs and records use: ``"<resource>.<method>"`` from the ``x-magic-hour``
            metadata (``"image_projects.get"``, ``"face_swap_photo.create"``); ``"upload_urls"`` for
            ``POST /v1/files/upload-urls``.
        creates: the kind of project a POST starts (``"video"``, ``"image"``, ``"audio"``,
            ``"face_detection"``), or ``None``.
    """

    key: str
    method: str
    template: str
    route: str
    pattern: Pattern[str] = field(repr=False, compare=False)
    spec: Mapping[str, Any] = field(repr=False, compare=False)
    creates: Optional[str] = None

    @property
    def body_schema(self) -> Optional[Schema]:
        content = self.spec.get("requestBody", {}).get("content", {}).get(_JSON)
        return cast(Schema, content["schema"]) if content and "schema" in content else None

    @property
    def body_required(self) -> bool:
        return bool(self.spec.get("requestBody", {}).get("required"))

    @property
    def query_params(self) -> Dict[str, Mapping[str, Any]]:
        params: List[Mapping[str, Any]] = self.spec.get("parameters", [])
        return {p["name"]: p for p in params if p.get("in") == "query"}

    @property
    def success(self) -> Tuple[int, Optional[Mapping[str, Any]]]:
        """The documented success status and its JSON content (``schema``, maybe ``example``)."""
        responses: Mapping[str, Any] = self.spec.get("responses", {})
        for status in sorted(s for s in responses if s.startswith("2")):
            content = responses[status].get("content", {}).get(_JSON)
            return int(status), content
        return 200, None

    def documents(self, status: int) -> bool:
        return str(status) in self.spec.get("responses", {})

    def error_status(self) -> int:
        """The status for a body that fails the schema: 422 where documented, else 400."""
        return 422 if self.documents(422) else 400


class ApiSpec:
    """The operations, and the router from ``(method, path)`` to an operation and its path parameters."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        self.operations: Dict[str, Operation] = {}
        self.projects: Dict[str, str] = {}  # kind -> the key of its GET ("GET /v1/image-projects/{id}")
        for kind, info in document.get("x-magic-hour-projects", {}).items():
            self.projects[kind] = info["get"]
        for template, methods in document.get("paths", {}).items():
            for method, spec in methods.items():
                if not isinstance(spec, Mapping) or method.startswith("x-"):
                    continue
                self._add(template, method.upper(), cast(Mapping[str, Any], spec))
        self.routes: Tuple[str, ...] = tuple(sorted({op.route for op in self.operations.values()}))

    def _add(self, template: str, method: str, spec: Mapping[str, Any]) -> None:
        key = f"{method} {template}"
        meta: Mapping[str, Any] = spec.get("x-magic-hour", {})
        named = "resource" in meta and "method" in meta
        route = f"{meta['resource']}.{meta['method']}" if named else key
        if route == "files.upload_urls.create":
            route = "upload_urls"  # the name the fake always had
        regex = "".join(
            "([^/]+)" if part.startswith("{") else re.escape(part)
            for part in re.split(r"(\{[^}]+\})", template)
        )
        self.operations[key] = Operation(
            key, method, template, route, re.compile(f"^{regex}$"), spec, meta.get("creates")
        )

    def match(self, method: str, path: str) -> Union[Tuple[Operation, Dict[str, str]], List[Operation], None]:
        """The operation and its path parameters; the operations of that path when only the method is
        wrong (405); ``None`` when no path matches (404)."""
        allowed: List[Operation] = []
        for op in self.operations.values():
            found = op.pattern.match(path)
            if found is None:
                continue
            if op.method != method:
                allowed.append(op)
                continue
            names = re.findall(r"\{([^}]+)\}", op.template)
            return op, dict(zip(names, found.groups()))
        return allowed or None

    def by_route(self, route: str) -> Optional[Operation]:
        return next((op for op in self.operations.values() if op.route == route), None)

    def project_kind(self, op: Operation) -> Optional[str]:
        """The project kind whose ``{id}`` path ``op`` acts on (its GET or DELETE), if any."""
        for kind, key in self.projects.items():
            if key.split(" ", 1)[1] == op.template:
                return kind
        return None


@functools.cache
def load_spec() -> ApiSpec:
    """The description shipped with the package (``magic_hour/_data/api.json``), parsed once."""
    path = Path(__file__).resolve().parent.parent / "_data" / "api.json"
    return ApiSpec(json.loads(path.read_text(encoding="utf-8")))
