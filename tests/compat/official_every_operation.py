"""Runs INSIDE the official `magic-hour` SDK's virtual environment (see .ci/official_sdk.sh), never in
ours: tests/test_testing_official.py serves our fake and runs this with that venv's python.

Calls every operation of our API description (magic_hour/_data/api.json, path in argv[1]) through the
official SDK, sync and async, with the description's example values: `client.v1.<resource>.<method>`
from each operation's x-magic-hour metadata; GET/DELETE on project paths use ids the creates returned.
Prints one JSON document: for each operation and flavour, the response type name and its dump, or the
error. Nothing here is written per operation.

Environment: MAGIC_HOUR_FAKE_URL, MAGIC_HOUR_FAKE_TOKEN.
"""

import asyncio
import copy
import json
import os
import sys

from magic_hour import AsyncClient, Client

URL = os.environ["MAGIC_HOUR_FAKE_URL"]
TOKEN = os.environ["MAGIC_HOUR_FAKE_TOKEN"]
with open(sys.argv[1], encoding="utf-8") as f:
    DOC = json.load(f)
PROJECT_PATHS = {info["get"].split(" ", 1)[1]: kind for kind, info in DOC["x-magic-hour-projects"].items()}


def example(schema):
    if "example" in schema:
        return copy.deepcopy(schema["example"])
    if "default" in schema:
        return copy.deepcopy(schema["default"])
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type", "object" if "properties" in schema else None)
    if kind == "object":
        return {name: example(sub) for name, sub in schema.get("properties", {}).items()}
    if kind == "array":
        return [example(schema["items"])] if "items" in schema else []
    return {"string": "string", "integer": 0, "number": 0, "boolean": True}.get(kind)


def python_names(value):
    """The official SDK's parameter names: `type` is `type_` (a builtin), at every level."""
    if isinstance(value, dict):
        return {("type_" if k == "type" else k): python_names(v) for k, v in value.items()}
    if isinstance(value, list):
        return [python_names(v) for v in value]
    return value


def calls():
    """(key, template, method name, resource path, kwargs) for every operation; creates first."""
    out = []
    for template, methods in DOC["paths"].items():
        for method, op in methods.items():
            meta = op["x-magic-hour"]
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            kwargs = python_names(example(body)) if body else {}
            for param in op.get("parameters", []):
                if param["in"] == "query" and "example" in param.get("schema", {}):
                    kwargs[python_names({param["name"]: 0}).popitem()[0]] = param["schema"]["example"]
            order = {"POST": 0, "GET": 1, "DELETE": 2}.get(method.upper(), 1)
            out.append(
                (order, f"{method.upper()} {template}", template, meta["method"], meta["resource"], kwargs)
            )
    return [c[1:] for c in sorted(out, key=lambda c: (c[0], c[1]))]


def dump(res):
    if res is None:
        return {"type": None, "body": None}
    return {"type": type(res).__name__, "body": json.loads(json.dumps(res.model_dump(), default=str))}


def target(client, resource, method):
    ns = client.v1
    for part in resource.split("."):
        ns = getattr(ns, part)
    return getattr(ns, method)


def prepare(key, template, kwargs, ids):
    kwargs = dict(kwargs)
    if "{id}" in template:
        kwargs["id"] = ids[PROJECT_PATHS[template]]
    return kwargs


def sync_part():
    client, ids, results = Client(token=TOKEN, base_url=URL), {}, {}
    for key, template, method, resource, kwargs in calls():
        try:
            res = target(client, resource, method)(**prepare(key, template, kwargs, ids))
            results[key] = dump(res)
            creates = DOC["paths"][template][key.split(" ")[0].lower()]["x-magic-hour"].get("creates")
            if creates:
                ids[creates] = res.id
        except Exception as exc:  # reported to the test, which names the operation
            results[key] = {"error": f"{type(exc).__name__}: {exc}"}
    return results


async def async_part():
    client, ids, results = AsyncClient(token=TOKEN, base_url=URL), {}, {}
    for key, template, method, resource, kwargs in calls():
        try:
            res = await target(client, resource, method)(**prepare(key, template, kwargs, ids))
            results[key] = dump(res)
            creates = DOC["paths"][template][key.split(" ")[0].lower()]["x-magic-hour"].get("creates")
            if creates:
                ids[creates] = res.id
        except Exception as exc:
            results[key] = {"error": f"{type(exc).__name__}: {exc}"}
    return results


print(json.dumps({"sync": sync_part(), "async": asyncio.run(async_part())}))
