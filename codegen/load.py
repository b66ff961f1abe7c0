"""Read ``spec/`` into one normalised model: the merged OpenAPI document and one :class:`Operation` each.

The published ``openapi.json`` is never edited; ``overlay.json`` adds the operations it lacks (same OpenAPI
shape under ``paths``); ``metadata.json`` names each operation as the official package does and says
which project kind a POST creates and which of its fields take an uploaded file.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent
SPEC_DIR = ROOT / "spec"
HTTP_METHODS = ("get", "post", "put", "patch", "delete")

Json = Dict[str, Any]


@dataclass(frozen=True)
class Operation:
    """One API operation, with the names the official package gives it."""

    http_method: str  # upper case: "POST"
    path: str  # "/v1/face-swap"
    resource: str  # "face_swap", dotted when nested: "files.upload_urls"
    method: str  # "create"
    raw: Json = field(repr=False)  # the OpenAPI operation object (merged document)
    creates: Optional[str] = None  # project kind a POST starts: video, image, audio, face_detection
    files: Dict[str, str] = field(default_factory=dict)  # "assets.image_file_path" -> "image"
    checks: Dict[str, str] = field(default_factory=dict)  # field path -> hook name (magic_hour/_core/body.py)

    @property
    def key(self) -> str:
        return f"{self.http_method} {self.path}"


@dataclass(frozen=True)
class Api:
    document: Json  # published spec + overlay operations, each with "x-magic-hour"
    operations: List[Operation]  # sorted by (resource, method)
    projects: Json  # metadata's "projects"
    params_types: Json = field(default_factory=dict)  # compat.json: request types without an operation
    webhooks: Json = field(default_factory=dict)  # webhooks.json (the published webhook description)
    webhook_meta: Json = field(default_factory=dict)  # metadata's "webhooks"


def _read(path: Path) -> Json:
    with path.open(encoding="utf-8") as f:
        data: Json = json.load(f)
    return data


def load(spec_dir: Path = SPEC_DIR) -> Api:
    published = _read(spec_dir / "openapi.json")
    overlay_path = spec_dir / "overlay.json"
    overlay = _read(overlay_path) if overlay_path.exists() else {}
    metadata = _read(spec_dir / "metadata.json")

    document = copy.deepcopy(published)
    paths: Json = document.setdefault("paths", {})
    for path, methods in overlay.get("paths", {}).items():
        target = paths.setdefault(path, {})
        for verb, op in methods.items():
            if verb in target:
                raise SystemExit(f"overlay.json: {verb.upper()} {path} is already in openapi.json")
            target[verb] = copy.deepcopy(op)
    document["paths"] = {p: paths[p] for p in sorted(paths)}
    compat_path = spec_dir / "compat.json"
    compat = _read(compat_path) if compat_path.exists() else {}
    _apply_compat(document, compat.get("operations", {}))

    meta_ops: Json = metadata["operations"]
    operations: List[Operation] = []
    seen = set()
    for path, methods in document["paths"].items():
        for verb, op in methods.items():
            if verb not in HTTP_METHODS:
                continue
            key = f"{verb.upper()} {path}"
            seen.add(key)
            meta = meta_ops.get(key)
            if meta is None:
                raise SystemExit(f"metadata.json: no entry for {key}")
            ext: Json = {"resource": meta["resource"], "method": meta["method"]}
            if "creates" in meta:
                ext["creates"] = meta["creates"]
                ext["files"] = dict(meta.get("files", {}))
            op["x-magic-hour"] = ext
            operations.append(
                Operation(
                    http_method=verb.upper(),
                    path=path,
                    resource=meta["resource"],
                    method=meta["method"],
                    raw=op,
                    creates=meta.get("creates"),
                    files=dict(meta.get("files", {})),
                    checks=dict(meta.get("checks", {})),
                )
            )
    # Operations named in metadata but absent from spec + overlay wait for the overlay: skipped, not fatal.
    operations.sort(key=lambda o: (o.resource, o.method))
    return Api(
        document=document,
        operations=operations,
        projects=metadata.get("projects", {}),
        params_types=compat.get("params_types", {}),
        webhooks=_read(spec_dir / "webhooks.json") if (spec_dir / "webhooks.json").exists() else {},
        webhook_meta=metadata.get("webhooks", {}),
    )


def _apply_compat(document: Json, entries: Json) -> None:
    """Add compat.json's optional properties to the published operations' body and 200 response."""
    for key, extra in entries.items():
        verb, path = key.split(" ", 1)
        op = document["paths"].get(path, {}).get(verb.lower())
        if op is None:
            raise SystemExit(f"compat.json: {key} is not an operation of openapi.json or overlay.json")
        for part, container in (("body", op.get("requestBody")), ("response", op["responses"].get("200"))):
            if part not in extra:
                continue
            schema = (container or {}).get("content", {}).get("application/json", {}).get("schema")
            if schema is None:
                raise SystemExit(f"compat.json: {key} has no JSON {part} to extend")
            props = schema.setdefault("properties", {})
            for name, sub in extra[part].items():
                if name in props:
                    raise SystemExit(
                        f"compat.json: {key} {part} already has {name!r}; remove it from compat.json"
                    )
                props[name] = {**copy.deepcopy(sub), "x-magic-hour-compat": "official magic-hour 0.90.0"}
