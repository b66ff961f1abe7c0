"""Every operation of ``magic_hour/_data/api.json``, sync and async, table-driven (a new operation needs
no new test code):

- the docs example (``codegen/examples.py``, the call the generated page shows) sends exactly the
  documented request: method, path, query, JSON body in wire names, bearer token;
- the spec's response example parses into the response model: every field present, unknown fields kept,
  ``date-time`` fields kept as the wire's strings; ``DELETE`` answers 204 and returns ``None``;
- what can never succeed is refused before any request, naming the field's full path: a missing
  required field, an unknown key (a typo), a value of the wrong JSON type.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple
from urllib.parse import parse_qsl

import httpx
import pytest
import respx
from conftest import TOKEN, Flavor

import magic_hour
from codegen.examples import DocOp, call_arguments, py_name, response_example, wire_request
from codegen.load import HTTP_METHODS, Json, Operation, load
from magic_hour import InvalidParameterError

pytestmark = pytest.mark.anyio

API_JSON = Path(magic_hour.__file__).resolve().parent / "_data" / "api.json"
UNKNOWN = {"x_field_from_the_future": {"nested": [1, "two"]}}


def operations() -> List[DocOp]:
    """The operations as the runtime sees them (``_data/api.json``), with their official names."""
    document: Json = json.loads(API_JSON.read_text(encoding="utf-8"))
    out = []
    for path, methods in document["paths"].items():
        for verb, raw in methods.items():
            if verb not in HTTP_METHODS:
                continue
            ext = raw["x-magic-hour"]
            op = Operation(
                verb.upper(),
                path,
                ext["resource"],
                ext["method"],
                raw,
                ext.get("creates"),
                ext.get("files", {}),
            )
            out.append(DocOp(op))
    return sorted(out, key=lambda d: d.op.key)


OPS = operations()
IDS = [d.op.key for d in OPS]


def method_of(client: Any, d: DocOp) -> Callable[..., Any]:
    fn: Callable[..., Any] = functools.reduce(getattr, ["v1", *d.op.resource.split("."), d.op.method], client)
    return fn


def answer(d: DocOp, body: Optional[Json] = None) -> httpx.Response:
    if d.ok is None:
        return httpx.Response(204)
    return httpx.Response(200, json=body if body is not None else response_example(d))


def route(api: respx.MockRouter, d: DocOp, body: Optional[Json] = None) -> respx.Route:
    request = wire_request(d)
    return api.route(method=d.op.http_method, path=request.path).mock(return_value=answer(d, body))


# --- the wire request of the docs example --------------------------------------------------------------------


def test_every_operation_is_here() -> None:
    # The runtime description has every operation of spec/ (the 42 of the official 0.90.0 at least), each
    # under its own official name.
    assert sorted(d.op.key for d in OPS) == sorted(o.key for o in load().operations)
    assert len(OPS) >= 42
    assert len({(d.op.resource, d.op.method) for d in OPS}) == len(OPS)


@pytest.mark.parametrize("d", OPS, ids=IDS)
async def test_the_docs_example_sends_the_documented_request(
    sdk: Flavor, api: respx.MockRouter, d: DocOp
) -> None:
    expected = wire_request(d)
    called = route(api, d)
    await sdk.call(method_of(sdk.client(), d), **dict(call_arguments(d)))
    assert called.call_count == 1
    sent = called.calls.last.request
    assert sent.method == expected.method
    assert sent.url.path == expected.path
    assert dict(parse_qsl(sent.url.query.decode())) == {k: _query(v) for k, v in expected.query.items()}
    assert sent.headers["authorization"] == f"Bearer {TOKEN}"
    if expected.json is None:
        assert sent.content == b""
    else:
        assert sent.headers["content-type"] == "application/json"
        assert json.loads(sent.content) == expected.json


def _query(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


# --- the response ----------------------------------------------------------------------------------------------


def date_time_paths(schema: Json, path: Tuple[Any, ...] = ()) -> Iterator[Tuple[Any, ...]]:
    """Paths (keys and ``[]`` for array items) of the ``date-time`` fields of a schema."""
    if schema.get("format") == "date-time":
        yield path
    for name, sub in schema.get("properties", {}).items():
        yield from date_time_paths(sub, (*path, name))
    if "items" in schema:
        yield from date_time_paths(schema["items"], (*path, "[]"))


def values_at(value: Any, path: Tuple[Any, ...]) -> Iterator[Any]:
    if not path:
        yield value
    elif path[0] == "[]":
        for item in value if isinstance(value, list) else []:
            yield from values_at(item, path[1:])
    elif isinstance(value, dict) and path[0] in value:
        yield from values_at(value[path[0]], path[1:])


def attributes_at(obj: Any, path: Tuple[Any, ...], schema: Json) -> Iterator[Any]:
    """The model's attributes along a wire path (Python names: ``type`` -> ``type_``)."""
    if not path:
        yield obj
    elif path[0] == "[]":
        for item in obj or []:
            yield from attributes_at(item, path[1:], schema.get("items", {}))
    elif obj is not None:
        sub = schema.get("properties", {}).get(path[0], {})
        yield from attributes_at(getattr(obj, py_name(path[0])), path[1:], sub)


@pytest.mark.parametrize("d", OPS, ids=IDS)
async def test_the_spec_example_response_parses_into_the_model(
    sdk: Flavor, api: respx.MockRouter, d: DocOp
) -> None:
    example = response_example(d)
    body = None if example is None else {**copy.deepcopy(example), **UNKNOWN}
    route(api, d, body)
    res = await sdk.call(method_of(sdk.client(), d), **dict(call_arguments(d)))
    if d.ok is None:
        assert res is None
        return
    assert type(res).__name__ == d.response_type
    assert type(res).__module__.endswith("types.models." + d.response_module)
    assert res.model_dump(mode="json", by_alias=True, exclude_unset=True) == body  # nothing lost or changed
    assert res.x_field_from_the_future == UNKNOWN["x_field_from_the_future"]  # unknown fields kept
    schema = d.ok["schema"]
    for path in date_time_paths(schema):
        wire_values = list(values_at(example, path))
        model_values = list(attributes_at(res, path, schema))
        assert model_values == wire_values, path  # date-times stay the wire's strings
        assert all(v is None or isinstance(v, str) for v in model_values), path


# --- early refusals -----------------------------------------------------------------------------------------


def body_args(d: DocOp) -> Dict[str, Any]:
    return copy.deepcopy(dict(call_arguments(d)))


def first_nested(value: Any, schema: Json, path: str) -> Iterator[Tuple[str, Dict[str, Any], Json]]:
    """Every dict inside an example argument, with its display path and its object schema."""
    if isinstance(value, dict):
        yield path, value, schema
        props = {py_name(w): s for w, s in schema.get("properties", {}).items()}
        for k, v in value.items():
            yield from first_nested(v, props.get(k, {}), f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from first_nested(v, schema.get("items", {}), f"{path}[{i}]")


def nested_objects(d: DocOp) -> List[Tuple[str, Dict[str, Any], Json]]:
    body = d.body or {}
    props = {py_name(w): s for w, s in body.get("properties", {}).items()}
    args = body_args(d)
    found: List[Tuple[str, Dict[str, Any], Json]] = []
    for name, value in args.items():
        found += list(first_nested(value, props.get(name, {}), name))
    return found


BODY_OPS = [d for d in OPS if d.body is not None]
BODY_IDS = [d.op.key for d in BODY_OPS]


async def refused(sdk: Flavor, api: respx.MockRouter, d: DocOp, args: Dict[str, Any]) -> BaseException:
    route(api, d)
    with pytest.raises((InvalidParameterError, TypeError)) as info:
        await sdk.call(method_of(sdk.client(), d), **args)
    assert not api.calls, "a request was sent"
    return info.value


def arg_schemas(d: DocOp) -> Dict[str, Tuple[bool, Json]]:
    """Python argument name -> (required, schema), for path/query parameters and body fields."""
    out = {py_name(p["name"]): (bool(p.get("required")), p.get("schema", {})) for p in d.parameters}
    body = d.body or {}
    required = set(body.get("required", []))
    for wire, schema in body.get("properties", {}).items():
        out[py_name(wire)] = (wire in required, schema)
    return out


@pytest.mark.parametrize("d", OPS, ids=IDS)
async def test_a_missing_required_field_is_refused_naming_its_path(
    sdk: Flavor, api: respx.MockRouter, d: DocOp
) -> None:
    cases = 0
    for name, (required, _) in arg_schemas(d).items():
        if not required:
            continue
        args = body_args(d)
        del args[name]
        error = await refused(sdk, api, d, args)
        assert name in str(error)  # Python's own TypeError for a keyword-only argument, or ours
        cases += 1
    # Nested: every required key of every object the example passes.
    for path, _, schema in nested_objects(d):
        for wire in schema.get("required", []):
            args = body_args(d)
            target = _locate(args, path)
            del target[py_name(wire)]
            error = await refused(sdk, api, d, args)
            assert isinstance(error, InvalidParameterError)
            assert error.param == f"{path}.{py_name(wire)}", str(error)
            assert "missing" in str(error)
            cases += 1
    assert cases or not any(required for required, _ in arg_schemas(d).values())


@pytest.mark.parametrize("d", BODY_OPS, ids=BODY_IDS)
async def test_an_unknown_key_is_refused_naming_its_path(
    sdk: Flavor, api: respx.MockRouter, d: DocOp
) -> None:
    objects = nested_objects(d)
    if not objects:
        args = body_args(d)
        args["nmae"] = "typo"
        error = await refused(sdk, api, d, args)
        assert isinstance(error, TypeError) and "nmae" in str(error)
        return
    for path, _, schema in objects:
        args = body_args(d)
        _locate(args, path)["nmae"] = "typo"
        if schema.get("additionalProperties"):
            # The schema allows more keys (the official types keep extras): never refuse what the API
            # accepts; the key reaches the wire under its own name.
            called = route(api, d)
            await sdk.call(method_of(sdk.client(), d), **args)
            sent = json.loads(called.calls.last.request.content)
            assert _locate(sent, wire_path(d, path))["nmae"] == "typo"
            api.calls.reset()
            continue
        error = await refused(sdk, api, d, args)
        assert isinstance(error, InvalidParameterError)
        assert error.value == "nmae" and error.param.startswith(path), str(error)


def wire_path(d: DocOp, path: str) -> str:
    """A display path in Python names (``items[0].type_``) in wire names (``items[0].type``)."""
    schema = d.body or {}
    out = []
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        if part.startswith("["):
            schema = schema.get("items", {})
            out.append(part)
            continue
        wire = next((w for w in schema.get("properties", {}) if py_name(w) == part), part)
        schema = schema.get("properties", {}).get(wire, {})
        out.append(("." if out else "") + wire)
    return "".join(out)


def _wrong_value(schema: Json) -> Any:
    # Values the official SDK's serializer refuses too ("12" would be converted to 12 by both)
    return {
        "string": 12345,
        "integer": "twelve",
        "number": [1.5],
        "boolean": "maybe",
        "array": "x",
        "object": "x",
    }[schema.get("type", "object")]


@pytest.mark.parametrize("d", OPS, ids=IDS)
async def test_a_value_of_the_wrong_json_type_is_refused_naming_its_path(
    sdk: Flavor, api: respx.MockRouter, d: DocOp
) -> None:
    schemas = arg_schemas(d)
    cases = 0
    for name in body_args(d):
        args = body_args(d)
        args[name] = _wrong_value(schemas[name][1])
        error = await refused(sdk, api, d, args)
        assert isinstance(error, InvalidParameterError)
        assert error.param == name, str(error)
        cases += 1
    for path, obj, schema in nested_objects(d):
        props = {py_name(w): s for w, s in schema.get("properties", {}).items()}
        for key in obj:
            args = body_args(d)
            _locate(args, path)[key] = _wrong_value(props[key])
            error = await refused(sdk, api, d, args)
            assert isinstance(error, InvalidParameterError)
            assert error.param == f"{path}.{key}", str(error)
            cases += 1
    assert cases or not schemas


def _locate(args: Dict[str, Any], path: str) -> Dict[str, Any]:
    """The dict at a display path (``assets.face_mappings[0]``) inside the arguments."""
    target: Any = args
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        target = target[int(part[1:-1])] if part.startswith("[") else target[part]
    assert isinstance(target, dict)
    return target
