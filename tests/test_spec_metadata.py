"""spec/: the published description, our overlay, the official package's facts and our metadata agree.

Every operation of ``spec/openapi.json`` + ``spec/overlay.json`` has exactly one ``spec/metadata.json`` entry
(and no entry names an operation that does not exist); every ``files`` path names a string field of that
operation's request body as merged (``spec/official.json`` adds deprecated file fields); every ``creates``
is a project kind; the overlay and official.json say where their facts came from.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

from codegen.load import load

SPEC = Path(__file__).resolve().parent.parent / "spec"
KINDS = {"video", "audio", "image"}
METHODS = {"get", "post", "put", "patch", "delete"}
UPLOAD_SENTENCE = "`file_path` field from the response of the [upload urls API]"


def _load(name: str) -> Dict[str, Any]:
    with open(SPEC / name, encoding="utf-8") as f:
        data: Dict[str, Any] = json.load(f)
    return data


PUBLISHED = _load("openapi.json")
OVERLAY = _load("overlay.json")
METADATA = _load("metadata.json")


def _operations(doc: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    return {
        f"{method.upper()} {path}": op
        for path, methods in doc["paths"].items()
        for method, op in methods.items()
        if method in METHODS
    }


PUBLISHED_OPS = _operations(PUBLISHED)
OVERLAY_OPS = _operations(OVERLAY)
ALL_OPS = {**PUBLISHED_OPS, **OVERLAY_OPS}
META_OPS: Dict[str, Dict[str, Any]] = METADATA["operations"]
CREATING = sorted(key for key, meta in META_OPS.items() if "creates" in meta)
MERGED_OPS = {op.key: op.raw for op in load().operations}  # + official.json's fields


def _body_schema(op: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    body = op.get("requestBody")
    if body is None:
        return None
    schema: Dict[str, Any] = body["content"]["application/json"]["schema"]
    return schema


def _resolve(schema: Dict[str, Any], dotted: str) -> Optional[Dict[str, Any]]:
    """The schema at ``assets.face_mappings[].new_face``, or None when a step does not exist."""
    node: Optional[Dict[str, Any]] = schema
    for part in dotted.split("."):
        match = re.fullmatch(r"([^\[\]]+)((?:\[\])*)", part)
        assert match is not None, dotted
        name, arrays = match.groups()
        if node is None or node.get("type") != "object":
            return None
        node = node.get("properties", {}).get(name)
        for _ in range(len(arrays) // 2):
            if node is None or node.get("type") != "array":
                return None
            node = node.get("items")
    return node


def _string_fields(schema: Dict[str, Any], prefix: str = "") -> Iterator[Tuple[str, Dict[str, Any]]]:
    if schema.get("type") == "object":
        for name, sub in schema.get("properties", {}).items():
            yield from _string_fields(sub, f"{prefix}.{name}" if prefix else name)
    elif schema.get("type") == "array":
        # a list of files is described on the array (ai-image-editor's image_file_paths)
        items = {"description": schema.get("description", ""), **schema["items"]}
        yield from _string_fields(items, prefix + "[]")
    elif schema.get("type") == "string":
        yield prefix, schema


def test_every_operation_has_exactly_one_metadata_entry() -> None:
    assert not set(PUBLISHED_OPS) & set(OVERLAY_OPS), "the overlay redefines a published operation"
    assert len(PUBLISHED_OPS) == 36
    assert len(OVERLAY_OPS) == 6
    assert sorted(META_OPS) == sorted(ALL_OPS)
    assert len(META_OPS) == 42


@pytest.mark.parametrize("key", sorted(META_OPS))
def test_metadata_entry_shape(key: str) -> None:
    meta = META_OPS[key]
    assert re.fullmatch(r"[a-z_]+(\.[a-z_]+)*", meta["resource"]), meta
    assert meta["method"] in {"create", "get", "delete", "list"}, meta
    allowed = {"resource", "method", "creates", "files", "checks", "x-notes"}
    assert set(meta) <= allowed, set(meta) - allowed
    # checks: field -> a named check of magic_hour._validation (the one deliberate exception to the body
    # path's rules), which the generated code hands to the core
    from magic_hour._validation import CHECKS

    assert set(meta.get("checks", {}).values()) <= set(CHECKS), meta
    # creates and files go together, on POSTs only
    assert ("creates" in meta) == ("files" in meta), meta
    if "creates" in meta:
        assert key.startswith("POST "), key
        assert meta["creates"] in METADATA["projects"], meta["creates"]


def test_projects_point_at_existing_get_operations() -> None:
    assert set(METADATA["projects"]) == {"video", "image", "audio", "face_detection"}
    for kind, project in METADATA["projects"].items():
        assert project["get"] in ALL_OPS, kind
        assert META_OPS[project["get"]] == {"resource": project["resource"], "method": "get"}, kind


@pytest.mark.parametrize("key", CREATING)
def test_files_paths_are_string_fields_of_the_request(key: str) -> None:
    schema = _body_schema(MERGED_OPS[key])
    assert schema is not None, key
    for dotted, kind in META_OPS[key]["files"].items():
        field = _resolve(schema, dotted)
        assert field is not None, f"{key}: {dotted} is not in the request schema"
        assert field.get("type") == "string", f"{key}: {dotted} is not a string field"
        kinds: List[str] = kind if isinstance(kind, list) else [kind]
        assert kinds and set(kinds) <= KINDS and len(set(kinds)) == len(kinds), f"{key}: {dotted} -> {kind}"


@pytest.mark.parametrize("key", CREATING)
def test_files_lists_every_field_the_spec_says_takes_an_upload(key: str) -> None:
    """A field described as "the file_path ... of the upload urls API" is listed; a listed field either says
    so or the entry's x-notes explain why it is listed anyway."""
    schema = _body_schema(MERGED_OPS[key])
    assert schema is not None
    meta = META_OPS[key]
    described = {
        path for path, field in _string_fields(schema) if UPLOAD_SENTENCE in field.get("description", "")
    }
    assert described <= set(meta["files"]), f"{key}: not listed: {sorted(described - set(meta['files']))}"
    for dotted in set(meta["files"]) - described:
        assert dotted in meta.get("x-notes", ""), f"{key}: {dotted} listed without a note saying why"


def test_overlay_says_where_its_facts_came_from() -> None:
    assert "magic-hour 0.90.0" in OVERLAY["x-source"]
    for key, op in OVERLAY_OPS.items():
        source = op.get("x-source", "")
        assert "magic-hour 0.90.0" in source and "magic_hour/types/" in source, key
        assert "magic_hour/resources/v1/" in source, key


@pytest.mark.parametrize("key", sorted(OVERLAY_OPS))
def test_overlay_operations_have_the_published_shape(key: str) -> None:
    op = OVERLAY_OPS[key]
    ref = PUBLISHED_OPS[
        "POST /v1/face-swap-photo" if key.startswith("POST ") else "GET /v1/video-projects/{id}"
    ]
    assert set(op) - {"x-source"} == set(ref) - {"x-codeSamples"}
    assert op["security"] == ref["security"]
    ok = op["responses"]["200"]["content"]["application/json"]
    assert ok["schema"]["type"] == "object" and "example" in ok
    assert set(op["responses"]) == set(ref["responses"])
