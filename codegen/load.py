"""Read ``spec/`` into one normalised model: the merged OpenAPI document and one :class:`Operation` each.

The published ``openapi.json`` is never edited; ``overlay.json`` adds the operations it lacks (same OpenAPI
shape under ``paths``); ``official.json`` (written by ``python -m codegen.official`` from the installed
official package) adds the fields, deprecated keys and enum values that package declares beyond these
two; ``metadata.json`` names each operation as the official package does and says which project kind a
POST creates and which of its fields take an uploaded file.
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
    checks: Dict[str, str] = field(
        default_factory=dict
    )  # field path -> check name (magic_hour._validation.CHECKS)

    @property
    def key(self) -> str:
        return f"{self.http_method} {self.path}"


@dataclass(frozen=True)
class Api:
    document: Json  # published spec + overlay operations, each with "x-magic-hour"
    operations: List[Operation]  # sorted by (resource, method)
    projects: Json  # metadata's "projects"
    params_types: Json = field(default_factory=dict)  # official.json: request types without an operation
    webhooks: Json = field(default_factory=dict)  # webhooks.json (the published webhook description)
    webhook_meta: Json = field(default_factory=dict)  # metadata's "webhooks"
    cli: Json = field(default_factory=dict)  # cli.json: the magic-hour command's own metadata


def _read(path: Path) -> Json:
    with path.open(encoding="utf-8") as f:
        data: Json = json.load(f)
    return data


def load(spec_dir: Path = SPEC_DIR, *, official: bool = True) -> Api:
    """The merged description; ``official=False`` leaves out ``official.json`` (what
    ``python -m codegen.official`` compares the official package with)."""
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
    official_path = spec_dir / "official.json"
    facts = _read(official_path) if official and official_path.exists() else {}
    _apply_official(document, facts.get("operations", {}), metadata["operations"])

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
        params_types=_params_types(facts.get("params_types", {}), metadata.get("params_types", {})),
        webhooks=_read(spec_dir / "webhooks.json") if (spec_dir / "webhooks.json").exists() else {},
        webhook_meta=metadata.get("webhooks", {}),
        cli=_read(spec_dir / "cli.json") if (spec_dir / "cli.json").exists() else {},
    )


def _schema_at(schema: Json, path: str, where: str) -> Json:
    """The schema a dotted path names (``assets.face_mappings[].new_face``; ``[]``: the array's items)."""
    for part in path.split("."):
        name, items = (part[:-2], True) if part.endswith("[]") else (part, False)
        if name:
            props = schema.get("properties", {})
            if name not in props:
                raise SystemExit(
                    f"official.json: {where}: no field {name!r} (rerun python -m codegen.official)"
                )
            schema = props[name]
        if items:
            schema = schema["items"]
    return schema


def _apply_official(document: Json, entries: Json, meta_ops: Json) -> None:
    """Merge official.json's facts into the published operations' body and 200 response.

    ``schema``: a field the published description lacks, added (optional: a deprecated response field
    is ``Optional``); ``enum``: values added to a field's enum. What the published file already has wins,
    so a newer openapi.json never conflicts (``python -m codegen.official --check`` says when to rerun).
    ``uploads``: the fields the official ``generate()`` uploads; each must be a ``files`` entry of
    metadata.json (its asset type is a fact no package states).
    """
    for key, extra in entries.items():
        verb, path = key.split(" ", 1)
        op = document["paths"].get(path, {}).get(verb.lower())
        if op is None:
            raise SystemExit(f"official.json: {key} is not an operation of openapi.json or overlay.json")
        files = meta_ops.get(key, {}).get("files", {})
        missing = [p for p in extra.get("uploads", []) if p not in files]
        if missing:
            raise SystemExit(
                f"metadata.json: {key}: the official generate() uploads {', '.join(missing)}; "
                "add each to its files with the asset type it takes"
            )
        for part, container in (("body", op.get("requestBody")), ("response", op["responses"].get("200"))):
            schema = (container or {}).get("content", {}).get("application/json", {}).get("schema")
            for dotted, fact in extra.get(part, {}).items():
                where = f"{key} {part} {dotted}"
                if schema is None:
                    raise SystemExit(f"official.json: {where}: the operation has no JSON {part}")
                mark = {"x-magic-hour-official": fact["source"]}
                if "schema" in fact:
                    parent, _, name = dotted.rpartition(".")
                    props = _schema_at(schema, parent, where).setdefault("properties", {})
                    props.setdefault(name, {**copy.deepcopy(fact["schema"]), **mark})
                else:
                    target = _schema_at(schema, dotted, where)
                    enum = target.get("enum")
                    if enum is None:
                        raise SystemExit(
                            f"official.json: {where}: not an enum (rerun python -m codegen.official)"
                        )
                    added = [v for v in fact["enum"] if v not in enum]
                    if added:
                        enum.extend(added)
                        target.update(mark)


def _params_types(official: Json, metadata: Json) -> Json:
    """official.json's request types without an operation, with metadata.json's file fields for them."""
    out = {}
    for name, entry in official.items():
        out[name] = {**entry, "files": dict(metadata.get(name, {}).get("files", {}))}
    return out
