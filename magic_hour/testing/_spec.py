"""The API the fake answers: every operation of ``magic_hour/_data/api.json``, routed by method and
path, and the subset of OpenAPI 3.0 schemas that description uses.

Nothing here is written per operation: a new operation in the description is answered as soon as
``python -m codegen`` puts it in ``api.json``. :func:`problem` checks a decoded JSON value against a
schema (types, ``nullable``, ``enum``, numeric bounds, ``multipleOf``, string lengths and ``pattern``,
array sizes and items, ``required``, ``additionalProperties``, ``allOf``/``anyOf``/``oneOf``, local
``$ref``) and names the first field that fails; :func:`example` builds a value shaped like the schema
from its ``example`` values.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Pattern, Tuple, Union, cast

Schema = Mapping[str, Any]

_JSON_TYPES: Dict[str, str] = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "object": "an object",
    "array": "an array",
}


def _resolve(schema: Schema, root: Schema) -> Schema:
    seen = 0
    while "$ref" in schema and seen < 32:
        ref = str(schema["$ref"])
        target: Any = root
        for part in ref.lstrip("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        schema, seen = cast(Schema, target), seen + 1
    return schema


def _is_type(value: Any, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    return True


def _show(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _at(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def problem(schema: Schema, value: Any, path: str = "", root: Optional[Schema] = None) -> Optional[str]:
    """Why ``value`` does not fit ``schema`` (``"assets.image_file_path is required"``), or ``None``."""
    root = root if root is not None else schema
    schema = _resolve(schema, root)
    where = path or "the body"
    if value is None:
        return None if schema.get("nullable") or "type" not in schema else f"{where} must not be null"
    for sub in schema.get("allOf", ()):
        found = problem(sub, value, path, root)
        if found:
            return found
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if options:
            failures = [problem(sub, value, path, root) for sub in options]
            if all(failures):
                return failures[0]
    kind = schema.get("type")
    if isinstance(kind, str) and not _is_type(value, kind):
        return f"{where} must be {_JSON_TYPES.get(kind, kind)}, got {_show(value)}"
    enum = schema.get("enum")
    if enum is not None and value not in enum:
        return f"{where} must be one of {', '.join(map(str, enum))}, got {_show(value)}"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _number_problem(schema, value, where)
    if isinstance(value, str):
        return _string_problem(schema, value, where)
    if isinstance(value, list):
        return _array_problem(schema, cast("List[object]", value), path, root)
    if isinstance(value, dict):
        return _object_problem(schema, cast(Dict[str, Any], value), path, root)
    return None


def _multiple(value: float, step: float) -> bool:
    """Whether ``value`` is a multiple of ``step`` (exactly for integers, of any size)."""
    if isinstance(value, int) and isinstance(step, int):
        return value % step == 0
    try:
        return abs(value / step - round(value / step)) <= 1e-9
    except OverflowError:  # an integer beyond a float's range: no fraction of a step is left
        return True


def _number_problem(schema: Schema, value: float, where: str) -> Optional[str]:
    # NaN and Infinity: Python's json reads them, JSON has no such numbers. An integer is always finite
    # (and may be too large for a float: 10**400 is valid JSON).
    if isinstance(value, float) and not math.isfinite(value):
        return f"{where} must be a finite number, got {value}"
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and (value < low or (schema.get("exclusiveMinimum") is True and value == low)):
        return f"{where} must be at least {low}{' (exclusive)' if schema.get('exclusiveMinimum') else ''}, got {value}"
    if high is not None and (value > high or (schema.get("exclusiveMaximum") is True and value == high)):
        return f"{where} must be at most {high}{' (exclusive)' if schema.get('exclusiveMaximum') else ''}, got {value}"
    step = schema.get("multipleOf")
    if step and not _multiple(value, step):
        return f"{where} must be a multiple of {step}, got {value}"
    return None


def _string_problem(schema: Schema, value: str, where: str) -> Optional[str]:
    shortest, longest = schema.get("minLength"), schema.get("maxLength")
    if shortest is not None and len(value) < shortest:
        return f"{where} must have at least {shortest} characters, got {len(value)}"
    if longest is not None and len(value) > longest:
        return f"{where} must have at most {longest} characters, got {len(value)}"
    pattern = schema.get("pattern")
    if pattern is not None and re.search(pattern, value) is None:
        return f"{where} must match {pattern}, got {_show(value)}"
    return None


def _array_problem(schema: Schema, value: List[object], path: str, root: Schema) -> Optional[str]:
    where = path or "the body"
    fewest, most = schema.get("minItems"), schema.get("maxItems")
    if fewest is not None and len(value) < fewest:
        return f"{where} must have at least {fewest} items, got {len(value)}"
    if most is not None and len(value) > most:
        return f"{where} must have at most {most} items, got {len(value)}"
    items = schema.get("items")
    if items is not None:
        for i, item in enumerate(value):
            found = problem(items, item, f"{path}[{i}]", root)
            if found:
                return found
    return None


def _object_problem(schema: Schema, value: Dict[str, Any], path: str, root: Schema) -> Optional[str]:
    props: Mapping[str, Any] = schema.get("properties", {})
    for name in schema.get("required", ()):
        if name not in value:
            return f"{_at(path, name)} is required"
    extra = schema.get("additionalProperties", True)
    for name, item in value.items():
        if name in props:
            found = problem(props[name], item, _at(path, name), root)
        elif extra is False:
            allowed = ", ".join(sorted(props)) or "none"
            found = f"{_at(path, name)} is not allowed (known fields: {allowed})"
        elif isinstance(extra, Mapping):
            found = problem(cast(Schema, extra), item, _at(path, name), root)
        else:
            found = None
        if found:
            return found
    return None


def query_value(schema: Schema, raw: str) -> Any:
    """A query string value as the JSON value its schema types it (left as text when it does not parse)."""
    kind = schema.get("type")
    try:
        if kind == "integer":
            return int(raw)
        if kind == "number":
            return float(raw)
    except ValueError:
        return raw
    if kind == "boolean" and raw in ("true", "false"):
        return raw == "true"
    return raw


def example(
    schema: Schema,
    root: Optional[Schema] = None,
    *,
    now: Callable[[], str] = lambda: "2024-01-01T00:00:00.000Z",
) -> Any:
    """A value shaped like ``schema``: its ``example`` where given, else built from its parts."""
    root = root if root is not None else schema
    schema = _resolve(schema, root)
    if "example" in schema:
        return copy.deepcopy(schema["example"])
    for key in ("allOf", "anyOf", "oneOf"):
        if schema.get(key):
            parts = [example(sub, root, now=now) for sub in schema[key]]
            if key == "allOf" and all(isinstance(p, dict) for p in parts):
                return {k: v for p in parts for k, v in cast(Dict[str, Any], p).items()}
            return parts[0]
    if "default" in schema:
        return copy.deepcopy(schema["default"])
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type", "object" if "properties" in schema else None)
    if kind == "object":
        props: Mapping[str, Any] = schema.get("properties", {})
        return {name: example(sub, root, now=now) for name, sub in props.items()}
    if kind == "array":
        items = schema.get("items")
        return [example(items, root, now=now)] if items is not None else []
    if kind == "string":
        return now() if schema.get("format") == "date-time" else "string"
    if kind in ("integer", "number"):
        return schema.get("minimum", 0)
    if kind == "boolean":
        return True
    return None


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


__all__ = ["ApiSpec", "Operation", "Schema", "example", "load_spec", "problem", "query_value"]
