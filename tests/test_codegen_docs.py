"""The generated API reference pages (``codegen/docs.py``) and the examples they share with the
per-operation tests (``codegen/examples.py``): every operation has its section, every example is valid
Python, fits the operation's schema (so it can run against the fake), and reaches the wire as the page
says.
"""

from __future__ import annotations

import ast
import re
from typing import Any, Dict, List

import pytest

from codegen import docs
from codegen.examples import DocOp, call_arguments, literal, response_example, to_wire, wire_request
from codegen.load import Json, load

API = load()
OPS = [DocOp(o) for o in API.operations]
IDS = [o.key for o in API.operations]
PAGES = docs.render(API)


def schema_problems(value: Any, schema: Json, where: str = "body") -> List[str]:
    """A small JSON-schema check (the spec's subset): required keys, unknown keys, JSON types, enums."""
    kind = schema.get("type") or ("object" if "properties" in schema else None)
    if value is None:
        return [] if schema.get("nullable") else [f"{where}: null"]
    types = {
        "object": dict,
        "array": list,
        "string": str,
        "boolean": bool,
        "integer": int,
        "number": (int, float),
    }
    if kind in types and (not isinstance(value, types[kind]) or (kind != "boolean" and value is True)):
        return [f"{where}: {value!r} is not {kind}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{where}: {value!r} not in {schema['enum']}"]
    problems: List[str] = []
    if kind == "object":
        props = schema.get("properties", {})
        problems += [f"{where}.{k}: missing" for k in schema.get("required", []) if k not in value]
        for k, v in value.items():
            if k not in props:
                problems.append(f"{where}.{k}: unknown key")
            else:
                problems += schema_problems(v, props[k], f"{where}.{k}")
    if kind == "array":
        for i, v in enumerate(value):
            problems += schema_problems(v, schema.get("items", {}), f"{where}[{i}]")
    return problems


def test_every_operation_has_a_section_and_an_index_row() -> None:
    index = PAGES["docs/v1/index.md"]
    for d in OPS:
        page = PAGES[docs.page_path(d.op.resource)]
        assert f'<a name="{d.op.method}"></a>' in page, d.op.key
        assert f"**API Endpoint**: `{d.op.http_method} {d.op.path}`" in page
        assert f"`client.v1.{d.op.resource}.{d.op.method}`" in index
        assert f"{d.call}(" in page and f"await {d.call}(" in page
    assert len(API.operations) >= 42  # the official 0.90.0's, at least


def test_pages_say_they_are_generated_and_nothing_else_is_written() -> None:
    for path, text in PAGES.items():
        assert path.startswith("docs/v1/") and path.endswith(".md")
        assert text.splitlines()[0] == docs.GENERATED
        assert "âœ“" not in text  # the seed's mis-encoded check mark
    assert "docs/v1/files/upload_urls.md" in PAGES  # replaces the hand-written page
    assert "docs/v1/files.md" not in PAGES  # the hand-written upload guide stays


@pytest.mark.parametrize("d", OPS, ids=IDS)
def test_the_example_fits_the_schema(d: DocOp) -> None:
    request = wire_request(d)
    if d.body is not None:
        assert request.json is not None
        assert schema_problems(request.json, d.body) == []
    else:
        assert request.json is None
    for p in d.parameters:
        if p.get("required"):
            assert p["name"] in request.query or "{" + p["name"] + "}" in d.op.path
    assert "{" not in request.path


@pytest.mark.parametrize("d", OPS, ids=IDS)
def test_the_response_example_fits_the_schema(d: DocOp) -> None:
    example = response_example(d)
    if d.ok is None:
        assert example is None
        return
    assert isinstance(example, dict)
    assert schema_problems(example, d.ok["schema"], "response") == []


@pytest.mark.parametrize("d", OPS, ids=IDS)
def test_the_page_shows_the_example_call(d: DocOp) -> None:
    page = PAGES[docs.page_path(d.op.resource)]
    blocks = re.findall(r"```python\n(.*?)```", page, flags=re.S)
    calls = [b for b in blocks if f"{d.call}(" in b]
    assert len(calls) == 2  # sync and async
    for block in calls:
        tree = ast.parse(block.replace("await ", ""))
        call = next(
            n.value
            for n in tree.body
            if isinstance(n, (ast.Assign, ast.Expr))
            and isinstance(n.value, ast.Call)
            and ast.unparse(n.value.func) == d.call
        )
        assert isinstance(call, ast.Call)
        shown: Dict[str, Any] = {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg}
        assert shown == dict(call_arguments(d))


def test_required_marks_and_nested_rows() -> None:
    page = PAGES["docs/v1/face_swap.md"]
    assert "| `assets` | ✓ |" in page
    assert "| `assets.video_source` | ✓ |" in page
    assert "| `assets.face_mappings[].new_face` | ✓ |" in page
    assert "| `assets.face_swap_mode` |  |" in page
    assert "| `name` |  |" in page
    assert "A file (image)" in page.split("`assets.image_file_path`")[1].split("\n")[0]
    assert "| `type_` |  |" in PAGES["docs/v1/saved_items.md"]
    assert "Sent on the wire as `type`." in PAGES["docs/v1/saved_items.md"]
    assert "[V1FaceSwapCreateResponse](/magic_hour/types/models/v1_face_swap_create_response.py)" in page


def test_wire_names() -> None:
    d = next(d for d in OPS if d.op.resource == "files.upload_urls")
    assert wire_request(d).json == {
        "items": [{"extension": "mp4", "type": "video"}, {"extension": "mp3", "type": "audio"}]
    }
    assert to_wire({"type_": "video"}, {"properties": {"type": {}}}) == {"type": "video"}
    d = next(d for d in OPS if d.op.resource == "saved_items")
    assert wire_request(d).query == {"limit": 20, "type": "character"}


@pytest.mark.parametrize(
    "value",
    [
        {"a": 1, "b": [1.5, True, None, 'x"y'], "c": {"d": "é"}},
        {"face_mappings": [{"new_face": "api-assets/id/1234.png", "original_face": "a" * 40}] * 3},
        [],
        {},
    ],
)
def test_literal_is_python_for_the_value(value: Any) -> None:
    source = literal(value, 4, 12)
    assert ast.literal_eval(source) == value
    assert all(len(line) <= 88 for line in source.splitlines()[1:])
