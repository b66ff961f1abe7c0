"""The example of an operation, shared by its docs page and its per-operation tests: the keyword arguments
of the call (built from the spec's example values, in Python names), the Python source of that call, and
the 200 response's example as the wire sends it.

The values must satisfy the operation's schema: every example runs against the fake (``tests/test_docs.py``)
and its exact wire request is asserted (``tests/test_operations.py``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from .load import Json, Operation
from .names import pascal, py_name, snake

__all__ = [
    "DocOp",
    "WireRequest",
    "call_arguments",
    "call_source",
    "example",
    "example_block",
    "flat",
    "literal",
    "py_name",
    "response_example",
    "shown",
    "to_wire",
    "wire_example",
    "wire_request",
]

WIDTH = 88  # examples are laid out as ruff/black would


@dataclass(frozen=True)
class DocOp:
    """An operation as its docs page and its tests see it."""

    op: Operation

    @property
    def raw(self) -> Json:
        return self.op.raw

    @property
    def call(self) -> str:
        return f"client.v1.{self.op.resource}.{self.op.method}"

    @property
    def body(self) -> Optional[Json]:
        schema: Optional[Json] = (
            self.raw.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
        )
        return schema

    @property
    def parameters(self) -> List[Json]:
        params: List[Json] = self.raw.get("parameters", [])
        return [p for p in params if p.get("in") in ("path", "query")]

    @property
    def ok(self) -> Optional[Json]:
        """The 200 response's JSON content, or None when the API answers without a body (204)."""
        content: Optional[Json] = self.raw.get("responses", {}).get("200", {}).get("content", {})
        return (content or {}).get("application/json")

    @property
    def response_type(self) -> str:
        return "V1" + pascal(self.op.resource) + pascal(self.op.method) + "Response"

    @property
    def response_module(self) -> str:
        return f"v1_{snake(self.op.resource)}_{self.op.method}_response"


# --- example values ------------------------------------------------------------------------------------------


def _fallback(schema: Json) -> Any:
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "string":
        formats = {"uri": "https://www.example.com", "date-time": "2024-07-25T16:56:21.932Z"}
        return formats.get(schema.get("format", ""), "string")
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return float(schema.get("minimum", 1))
    if kind == "boolean":
        return True
    return None


def _py_keys(value: Any, schema: Json) -> Any:
    """A wire-shaped example with the Python names of the TypedDicts (``type`` -> ``type_``)."""
    if isinstance(value, dict) and "properties" in schema:
        props: Json = schema["properties"]
        return {
            py_name(k): _py_keys(v, props.get(k, {}))
            for k, v in sorted(value.items(), key=lambda kv: py_name(kv[0]))
        }
    if isinstance(value, list):
        return [_py_keys(v, schema.get("items", {})) for v in value]
    if schema.get("type") == "number" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def shown(name: str, schema: Json, required: bool) -> bool:
    """Optional fields appear in examples when the spec gives them an example and does not deprecate them."""
    return required or ("example" in schema and not schema.get("deprecated"))


def example(schema: Json) -> Any:
    """An example value for a schema, in Python names: the spec's example, else one built from its parts."""
    if schema.get("type") == "object" or "properties" in schema:
        if "example" in schema:
            return _py_keys(schema["example"], schema)
        required = set(schema.get("required", []))
        out = {}
        for wire, sub in sorted(schema.get("properties", {}).items(), key=lambda kv: py_name(kv[0])):
            if shown(wire, sub, wire in required):
                out[py_name(wire)] = example(sub)
        return out
    if schema.get("type") == "array":
        if "example" in schema:
            return _py_keys(schema["example"], schema)
        return [example(schema.get("items", {}))]
    value = schema["example"] if "example" in schema else schema.get("default", _fallback(schema))
    return _py_keys(value, schema)


def wire_example(schema: Json) -> Any:
    """An example of a response as the wire sends it: the spec's example, else one built from the examples
    of its fields (fields without one are left out unless required)."""
    if "example" in schema:
        return schema["example"]
    if schema.get("type") == "object" or "properties" in schema:
        required = set(schema.get("required", []))
        out = {}
        for wire, sub in sorted(schema.get("properties", {}).items()):
            value = wire_example(sub)
            if value is None and wire in required:
                value = None if sub.get("nullable") else _fallback(sub)
            if value is not None or wire in required:
                out[wire] = value
        return out
    if schema.get("type") == "array":
        item = wire_example(schema.get("items", {}))
        return [] if item is None else [item]
    return None


def response_example(d: DocOp) -> Any:
    """The 200 response's example (None when the API answers without a body)."""
    ok = d.ok
    if ok is None:
        return None
    if "example" in ok:
        return ok["example"]
    return wire_example(ok.get("schema", {}))


def call_arguments(d: DocOp) -> List[Tuple[str, Any]]:
    """The keyword arguments of the docs example: path parameters, shown query parameters, shown body
    fields (required ones first, as the official examples order them)."""
    args: List[Tuple[str, Any]] = []
    for p in d.parameters:
        schema = dict(p.get("schema", {}))
        if "example" in p:
            schema["example"] = p["example"]
        if p["in"] == "path" and "example" not in schema:
            schema["example"] = "cuid-example"
        if shown(p["name"], schema, bool(p.get("required"))):
            args.append((py_name(p["name"]), example(schema)))
    body = d.body
    if body:
        required = set(body.get("required", []))
        fields = sorted(
            body.get("properties", {}).items(), key=lambda kv: (kv[0] not in required, py_name(kv[0]))
        )
        for wire, sub in fields:
            if shown(wire, sub, wire in required):
                args.append((py_name(wire), example(sub)))
    return args


def to_wire(value: Any, schema: Json) -> Any:
    """A Python-named example value as the wire sends it (``type_`` -> ``type``)."""
    if isinstance(value, dict) and "properties" in schema:
        by_py = {py_name(w): w for w in schema["properties"]}
        return {
            by_py.get(k, k): to_wire(v, schema["properties"].get(by_py.get(k, k), {}))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [to_wire(v, schema.get("items", {})) for v in value]
    return value


@dataclass(frozen=True)
class WireRequest:
    method: str
    path: str  # path parameters filled in
    query: Dict[str, Any]
    json: Optional[Json]  # None: no body


def wire_request(d: DocOp) -> WireRequest:
    """What the docs example sends: method, path, query and JSON body in wire names."""
    args = dict(call_arguments(d))
    path, query = d.op.path, {}
    for p in d.parameters:
        name = py_name(p["name"])
        if name not in args:
            continue
        if p["in"] == "path":
            path = path.replace("{" + p["name"] + "}", str(args[name]))
        else:
            query[p["name"]] = args[name]
    body = d.body
    payload = None
    if body is not None:
        props = {py_name(w): w for w in body.get("properties", {})}
        payload = {props[k]: to_wire(v, body["properties"][props[k]]) for k, v in args.items() if k in props}
    return WireRequest(d.op.http_method, path, query, payload)


# --- Python source of an example -----------------------------------------------------------------------------


def literal(value: Any, indent: int = 0, column: int = 0) -> str:
    """``value`` as Python source starting at ``column`` of a line indented by ``indent``: on one line when
    it fits in :data:`WIDTH`, else one element per line with trailing commas (as ruff formats it)."""
    one_line = flat(value)
    if column + len(one_line) <= WIDTH or not isinstance(value, (dict, list)) or not value:
        return one_line
    inner = indent + 4
    pad = " " * inner
    if isinstance(value, dict):
        lines = []
        for k, v in value.items():
            head = f"{pad}{flat(k)}: "
            lines.append(f"{head}{literal(v, inner, len(head))},")
        return "{\n" + "\n".join(lines) + "\n" + " " * indent + "}"
    lines = [f"{pad}{literal(v, inner, inner)}," for v in value]
    return "[\n" + "\n".join(lines) + "\n" + " " * indent + "]"


def flat(value: Any) -> str:
    if value is None or isinstance(value, (bool, int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{flat(k)}: {flat(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(flat(v) for v in value) + "]"
    raise TypeError(f"no Python literal for {value!r}")


def call_source(d: DocOp, awaited: bool) -> str:
    target = ("res = " if d.ok else "") + ("await " if awaited else "") + d.call
    args = call_arguments(d)
    one_line = f"{target}(" + ", ".join(f"{k}={flat(v)}" for k, v in args) + ")"
    if len(one_line) <= WIDTH:
        return one_line
    lines = [f"    {k}={literal(v, 4, 4 + len(k) + 1)}," for k, v in args]
    return f"{target}(\n" + "\n".join(lines) + "\n)"


def example_block(d: DocOp, awaited: bool) -> List[str]:
    cls = "AsyncClient" if awaited else "Client"
    return [
        "```python",
        f"from magic_hour import {cls}",
        "from os import getenv",
        "",
        f'client = {cls}(token=getenv("API_TOKEN"))',
        call_source(d, awaited),
        "```",
    ]
