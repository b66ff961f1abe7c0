"""The normalised model the output kinds render: each operation's body, query, path parameters and
response as a tree of :class:`Node` (objects named as the official package names them).

OpenAPI features used by the spec: objects with properties, arrays, string / integer / number / boolean,
``nullable``, ``enum``, descriptions and examples. Anything else stops the generator with a message
(so a new construct is a conscious addition here, not silently wrong output).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional

from . import names
from .load import Api, Json, Operation

SCALARS = {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}


@dataclass
class Field:
    wire: str
    py: str
    required: bool
    node: Node
    file: Optional[str] = None  # asset type when metadata says the field takes an uploaded file


@dataclass
class Node:
    kind: str  # object, array, string, integer, number, boolean
    nullable: bool = False
    enum: Optional[List[Any]] = None
    description: str = ""
    example: Any = None
    fields: List[Field] = field(default_factory=list)  # object: sorted by Python name
    items: Optional[Node] = None  # array
    parts: List[str] = field(default_factory=list)  # object: name parts (type and module name)
    open: bool = False  # object: keys beyond its properties are allowed (additionalProperties)

    @property
    def type_name(self) -> str:
        return names.type_name(self.parts)

    @property
    def module(self) -> str:
        return names.module_name(self.parts)


@dataclass
class Op:
    op: Operation
    summary: str
    description: str
    body: Optional[Node]  # object "V1<R><M>Body"
    response: Optional[Node]  # object "V1<R><M>Response"; None when the API answers without a body
    response_example: Any
    path_params: List[Field]
    query: Optional[Node]  # object of query parameters (not a named type)
    generate_assets: Optional[Node]  # "V1<R>GenerateBodyAssets": file fields also take local files

    @property
    def prefix(self) -> List[str]:
        return ["v1", names.snake(self.op.resource), self.op.method]


def node(schema: Json, parts: List[str], where: str) -> Node:
    for key in ("oneOf", "anyOf", "allOf", "$ref"):
        if key in schema:
            raise SystemExit(f"codegen: {where}: {key} is not supported yet (see codegen/ir.py)")
    kind = schema.get("type") or ("object" if "properties" in schema else None)
    common: Dict[str, Any] = {
        "nullable": bool(schema.get("nullable")),
        "description": (schema.get("description") or "").strip(),
        "example": schema.get("example"),
    }
    if kind in SCALARS:
        return Node(kind, enum=schema.get("enum"), **common)
    if kind == "array":
        items = node(schema.get("items", {}), [*parts, "item"], where + "[]")
        return Node("array", items=items, **common)
    if kind == "object":
        required = set(schema.get("required", []))
        fields = [
            Field(
                wire=wire,
                py=names.py_name(wire),
                required=wire in required,
                node=node(sub, [*parts, names.snake(wire)], f"{where}.{wire}"),
            )
            for wire, sub in schema.get("properties", {}).items()
        ]
        fields.sort(key=lambda f: f.py)
        extra = schema.get("additionalProperties", False)
        return Node("object", fields=fields, parts=parts, open=extra is not False, **common)
    raise SystemExit(f"codegen: {where}: unsupported schema {schema!r:.200}")


def _json_schema(container: Json) -> Optional[Json]:
    schema: Optional[Json] = container.get("content", {}).get("application/json", {}).get("schema")
    return schema


def mark_files(obj: Node, files: Dict[str, str], prefix: str) -> None:
    for f in obj.fields:
        path = f"{prefix}{f.wire}"
        if path in files:
            f.file = files[path]
        sub = f.node.items if f.node.kind == "array" else f.node
        suffix = "[]." if f.node.kind == "array" else "."
        if sub is not None and sub.kind == "object":
            mark_files(sub, files, path + suffix)


def _generate(body: Node, prefix: List[str], files: Dict[str, str]) -> Optional[Node]:
    assets = next((f for f in body.fields if f.wire == "assets" and f.node.kind == "object"), None)
    if assets is None:
        return None
    raw = assets.node
    schema_parts = ["v1", prefix[1], "generate", "body", "assets"]
    copy = _rename(raw, schema_parts)
    mark_files(copy, {k[len("assets.") :]: v for k, v in files.items() if k.startswith("assets.")}, "")
    return copy


def _rename(n: Node, parts: List[str]) -> Node:
    fields = [
        Field(f.wire, f.py, f.required, _rename(f.node, [*parts, names.snake(f.wire)])) for f in n.fields
    ]
    items = _rename(n.items, [*parts, "item"]) if n.items is not None else None
    return Node(
        n.kind,
        n.nullable,
        n.enum,
        n.description,
        n.example,
        fields,
        items,
        parts if n.kind == "object" else [],
        n.open,
    )


def build(api: Api) -> List[Op]:
    ops = []
    for o in api.operations:
        raw = o.raw
        prefix = ["v1", names.snake(o.resource), o.method]
        where = o.key
        body_schema = _json_schema(raw.get("requestBody", {}))
        body = node(body_schema, [*prefix, "body"], where + " body") if body_schema else None
        ok = raw.get("responses", {}).get("200")
        resp_schema = _json_schema(ok) if ok else None
        response = node(resp_schema, [*prefix, "response"], where + " response") if resp_schema else None
        example = ok.get("content", {}).get("application/json", {}).get("example") if ok else None
        if example is None and resp_schema:
            example = resp_schema.get("example")
        path_params, query_fields = [], []
        for p in raw.get("parameters", []):
            f = Field(
                p["name"], names.py_name(p["name"]), bool(p.get("required")), node(p["schema"], [], where)
            )
            if not f.node.description:
                f.node.description = (p.get("description") or "").strip()
            (path_params if p["in"] == "path" else query_fields if p["in"] == "query" else []).append(f)
        query = Node("object", fields=sorted(query_fields, key=lambda f: f.py)) if query_fields else None
        if body is not None:
            mark_files(body, o.files, "")
        generate = _generate(body, prefix, o.files) if (body is not None and o.creates) else None
        ops.append(
            Op(
                op=o,
                summary=(raw.get("summary") or "").strip(),
                description=(raw.get("description") or "").strip(),
                body=body,
                response=response,
                response_example=example,
                path_params=path_params,
                query=query,
                generate_assets=generate,
            )
        )
    return ops


def objects(root: Optional[Node]) -> Iterator[Node]:
    """Every named object type in a tree, the root first."""
    if root is None:
        return
    if root.kind == "object" and root.parts:
        yield root
    for f in root.fields:
        yield from objects(f.node)
    if root.items is not None:
        yield from objects(root.items)


def referenced(n: Node) -> List[Node]:
    """The object types an annotation of ``n`` names directly (through arrays)."""
    if n.kind == "object":
        return [n]
    return referenced(n.items) if n.items is not None else []
