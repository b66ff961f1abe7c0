"""The fake answers every operation of ``magic_hour/_data/api.json``, table-driven from that file.

A new operation in the description needs no new test code: each table below is built from it. Every
test runs through the httpx transport with ``httpx.Client`` and through the real server with
``httpx.AsyncClient`` (raw httpx: our SDK refuses bad bodies before sending, the fake must too).
"""

from __future__ import annotations

import copy
import json
import re
from contextlib import ExitStack
from typing import Any, AsyncIterator, Dict, List, Optional, Tuple

import httpx
import pytest
from conftest import default_ssl_context

from magic_hour.testing import FakeMagicHour
from magic_hour.testing._spec import Operation, example, load_spec, problem

pytestmark = pytest.mark.anyio

SPEC = load_spec()
DOC = SPEC.document
OPS = sorted(SPEC.operations.values(), key=lambda op: op.key)
MAGIC = {"image": b"\x89PNG\r\n\x1a\n", "video": b"\x00\x00\x00\x1cftyp", "audio": b"\xff\xfb"}


class Api:
    """Raw httpx against one front-end of a fake: ``await api.request("GET", "/v1/...")``."""

    def __init__(self, fake: FakeMagicHour, http: Any, is_async: bool, base_url: str) -> None:
        self.fake, self.http, self.is_async, self.base_url = fake, http, is_async, base_url

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        kwargs.setdefault("headers", {"Authorization": f"Bearer {self.fake.token}"})
        if not url.startswith("http"):
            url = self.base_url + url
        if self.is_async:
            response: httpx.Response = await self.http.request(method, url, **kwargs)
        else:
            response = self.http.request(method, url, **kwargs)
        return response

    async def create(self, kind: str) -> str:
        """Start a project of ``kind`` with the first operation that creates one; its id."""
        op = next(o for o in OPS if o.creates == kind)
        response = await self.request(op.method, op.template, json=valid_body(op))
        assert response.status_code == 200, response.text
        project_id: str = response.json()["id"]
        return project_id


@pytest.fixture(params=["sync-transport", "async-server"])
async def api(request: pytest.FixtureRequest) -> AsyncIterator[Api]:
    with ExitStack() as stack, FakeMagicHour() as fake:
        if request.param == "sync-transport":
            http: Any = stack.enter_context(fake.httpx_client())
            yield Api(fake, http, False, fake.base_url)
        else:
            server = stack.enter_context(fake.serve())
            async with httpx.AsyncClient(verify=default_ssl_context()) as ahttp:
                yield Api(fake, ahttp, True, server.url)


def valid_body(op: Operation) -> Any:
    """The request body built from the description's examples."""
    return example(op.body_schema, DOC) if op.body_schema is not None else None


def success_schema(op: Operation) -> Optional[Dict[str, Any]]:
    content = op.success[1]
    return dict(content["schema"]) if content and "schema" in content else None


def _fields(schema: Any, body: Any, path: str = "") -> List[Tuple[str, Dict[str, Any], Any]]:
    """Every ``(dotted path, schema, value)`` of ``body`` that its schema describes."""
    found: List[Tuple[str, Dict[str, Any], Any]] = []
    if isinstance(body, dict) and isinstance(schema, dict):
        for name, sub in schema.get("properties", {}).items():
            if name in body:
                where = f"{path}.{name}" if path else name
                found.append((where, sub, body[name]))
                found += _fields(sub, body[name], where)
    elif isinstance(body, list) and body and isinstance(schema, dict) and "items" in schema:
        found += _fields(schema["items"], body[0], f"{path}[0]")
    return found


def _set(body: Any, path: str, value: Any, *, delete: bool = False) -> Any:
    body = copy.deepcopy(body)
    parts = [int(p) if p.isdigit() else p for p in re.findall(r"[^.\[\]]+", path)]
    target = body
    for part in parts[:-1]:
        target = target[part]
    if delete:
        del target[parts[-1]]
    else:
        target[parts[-1]] = value
    return body


def _wrong(schema: Dict[str, Any]) -> Any:
    return {"string": 12345, "integer": "twelve", "number": "twelve", "boolean": "yes", "array": {}}.get(
        str(schema.get("type")), []
    )


BODY_OPS = [op for op in OPS if op.body_schema is not None]
REQUIRED = [
    (op, where)
    for op in BODY_OPS
    for where, sub, _ in [("", op.body_schema, None), *_fields(op.body_schema, valid_body(op))]
    for name in (sub or {}).get("required", [])[:1]
    for where in [f"{where}.{name}" if where else name]
]
TYPED = [
    (op, fields[0])
    for op in BODY_OPS
    if (fields := [f for f in _fields(op.body_schema, valid_body(op)) if "type" in f[1]])
]
ENUMS = [
    (op, next(f for f in _fields(op.body_schema, valid_body(op)) if "enum" in f[1]))
    for op in BODY_OPS
    if any("enum" in f[1] for f in _fields(op.body_schema, valid_body(op)))
]


def _ids(cases: List[Any]) -> List[str]:
    return [f"{case[0].route}:{case[1] if isinstance(case[1], str) else case[1][0]}" for case in cases]


def test_the_tables_cover_the_description() -> None:
    assert len(OPS) == sum(len([m for m in ms if not m.startswith("x-")]) for ms in DOC["paths"].values())
    assert {op.creates for op in OPS} >= {"video", "image", "audio", "face_detection"}
    assert len(REQUIRED) >= len(BODY_OPS) and TYPED and ENUMS


@pytest.mark.parametrize("op", OPS, ids=[op.route for op in OPS])
async def test_a_valid_request_gets_the_documented_success(api: Api, op: Operation) -> None:
    path = op.template
    if "{id}" in path:
        path = path.replace("{id}", await api.create(SPEC.project_kind(op) or ""))
    query = {
        p: str(s["schema"]["example"]) for p, s in op.query_params.items() if "example" in s.get("schema", {})
    }
    response = await api.request(op.method, path, json=valid_body(op), params=query)
    status, _ = op.success
    assert response.status_code == status, response.text
    schema = success_schema(op)
    if schema is not None:
        assert problem(schema, response.json(), root=DOC) is None
        assert response.headers["x-request-id"].startswith("req_")
    record = api.fake.requests[-1]
    assert (record.route, record.operation, record.status) == (op.route, op.key, status)


@pytest.mark.parametrize(("op", "field"), REQUIRED, ids=_ids(REQUIRED))
async def test_a_missing_required_field_is_refused_naming_it(api: Api, op: Operation, field: str) -> None:
    body = _set(valid_body(op), field, None, delete=True)
    response = await api.request(op.method, op.template, json=body)
    assert response.status_code in (400, 422) and op.documents(response.status_code), response.text
    assert field.split(".")[-1] in response.json()["message"]
    assert api.fake.projects == []


@pytest.mark.parametrize(("op", "case"), TYPED, ids=_ids(TYPED))
async def test_a_wrong_type_is_refused_naming_the_field(api: Api, op: Operation, case: Any) -> None:
    field, schema, _ = case
    response = await api.request(op.method, op.template, json=_set(valid_body(op), field, _wrong(schema)))
    assert response.status_code in (400, 422) and op.documents(response.status_code), response.text
    assert field.split(".")[-1] in response.json()["message"]


@pytest.mark.parametrize(("op", "case"), ENUMS, ids=_ids(ENUMS))
async def test_a_bad_enum_value_is_refused_naming_the_field(api: Api, op: Operation, case: Any) -> None:
    field, _, _ = case
    response = await api.request(op.method, op.template, json=_set(valid_body(op), field, "no-such-value"))
    assert response.status_code in (400, 422) and op.documents(response.status_code), response.text
    message = response.json()["message"]
    assert field.split(".")[-1] in message and "no-such-value" in message


@pytest.mark.parametrize("op", OPS, ids=[op.route for op in OPS])
async def test_no_token_is_401(api: Api, op: Operation) -> None:
    response = await api.request(op.method, op.template.replace("{id}", "x"), json=valid_body(op), headers={})
    assert (response.status_code, response.json()) == (401, {"message": "Unauthorized"})


CREATES = [op for op in OPS if op.creates]


@pytest.mark.parametrize("op", CREATES, ids=[op.route for op in CREATES])
async def test_created_projects_can_be_fetched_downloaded_and_deleted(api: Api, op: Operation) -> None:
    first = await api.request(op.method, op.template, json=valid_body(op))
    second = await api.request(op.method, op.template, json=valid_body(op))
    project_id = first.json()["id"]
    assert project_id != second.json()["id"]  # fresh ids per call
    kind = op.creates or ""
    get = SPEC.operations[SPEC.projects[kind]]
    url = get.template.replace("{id}", project_id)
    body = (await api.request("GET", url)).json()
    assert (body["id"], body["status"], body["credits_charged"]) == (
        project_id,
        "complete",
        first.json()["credits_charged"],
    )
    links = body.get("downloads") or body.get("faces")
    assert links and len(links) == api.fake.project(project_id).output_count()
    for link in links:
        download = await api.request("GET", link["url"], headers={})
        assert download.status_code == 200
        assert download.content.startswith(MAGIC["image" if kind == "face_detection" else kind])
        assert download.headers["content-length"] == str(len(download.content))
        tampered = link["url"].replace("X-Signature=", "X-Signature=0")
        assert (await api.request("GET", tampered, headers={})).status_code == 403
    assert [r.route for r in api.fake.requests_to("downloads")] == ["downloads"] * len(links) * 2
    delete = next((o for o in OPS if o.method == "DELETE" and o.template == get.template), None)
    if delete is not None:
        assert (await api.request("DELETE", url)).status_code == 204
        assert (await api.request("GET", url)).status_code == 404
        assert api.fake.project(project_id).deleted


PROJECT_PATHS = [op for op in OPS if "{id}" in op.template]


@pytest.mark.parametrize("op", PROJECT_PATHS, ids=[op.route for op in PROJECT_PATHS])
async def test_unknown_ids_and_ids_of_another_kind_are_404(api: Api, op: Operation) -> None:
    other = next(kind for kind in SPEC.projects if kind != SPEC.project_kind(op))
    for project_id in ("cuid-example", await api.create(other)):
        response = await api.request(op.method, op.template.replace("{id}", project_id))
        assert (response.status_code, response.json()) == (404, {"message": "Not Found"})


async def test_bodies_that_are_not_json_or_missing_are_400(api: Api) -> None:
    op = next(o for o in BODY_OPS if o.route != "upload_urls")
    response = await api.request(
        op.method,
        op.template,
        content=b"{nope",
        headers={"Authorization": f"Bearer {api.fake.token}", "Content-Type": "application/json"},
    )
    assert (response.status_code, response.json()) == (
        400,
        {"message": "Invalid request body: not valid JSON"},
    )
    response = await api.request(op.method, op.template)
    assert (response.status_code, response.json()) == (400, {"message": "Missing request body"})


async def test_unknown_keys_follow_additional_properties(api: Api) -> None:
    strict = {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False}
    assert problem(strict, {"a": "x", "b": 1}) == "b is not allowed (known fields: a)"
    assert problem({**strict, "additionalProperties": {"type": "integer"}}, {"b": "x"}) == (
        'b must be an integer, got "x"'
    )
    op = next(
        o for o in BODY_OPS if o.creates
    )  # the description allows unknown keys (no additionalProperties)
    response = await api.request(op.method, op.template, json={**valid_body(op), "future_field": 1})
    assert response.status_code == 200


def test_schema_bounds_and_lengths() -> None:
    assert problem({"type": "integer", "minimum": 1}, 0) == "the body must be at least 1, got 0"
    assert problem({"type": "number", "maximum": 2}, 2.5) == "the body must be at most 2, got 2.5"
    assert (
        problem({"type": "number", "multipleOf": 0.5}, 0.7) == "the body must be a multiple of 0.5, got 0.7"
    )
    assert (
        problem({"type": "string", "minLength": 1}, "") == "the body must have at least 1 characters, got 0"
    )
    assert (
        problem({"type": "array", "maxItems": 1, "items": {}}, [1, 2])
        == "the body must have at most 1 items, got 2"
    )
    assert problem({"type": "string", "pattern": "^[a-z]+$"}, "A") == 'the body must match ^[a-z]+$, got "A"'
    assert problem({"type": "string", "nullable": True}, None) is None
    assert problem({"type": "string"}, None) == "the body must not be null"
    assert problem({"type": "integer"}, True) == "the body must be an integer, got true"
    assert (
        problem({"type": "number", "multipleOf": 2}, float("inf"))
        == "the body must be a finite number, got inf"
    )
    assert problem({"type": "number"}, float("nan")) == "the body must be a finite number, got nan"
    op = SPEC.operations["POST /v1/face-swap-photo"]
    body = _set(valid_body(op), "assets.face_mappings", [{"original_face": "x", "new_face": "y"}] * 6)
    assert problem(op.body_schema or {}, body) == "assets.face_mappings must have at most 5 items, got 6"
    body = _set(valid_body(op), "assets.face_mappings", [{"original_face": "x"}])
    assert problem(op.body_schema or {}, body) == "assets.face_mappings[0].new_face is required"


async def test_face_detection_returns_faces(api: Api) -> None:
    project_id = await api.create("face_detection")
    body = (await api.request("GET", f"/v1/face-detection/{project_id}")).json()
    assert body["status"] == "complete"
    assert [f["path"] for f in body["faces"]] == [f"api-assets/{project_id}/0-0.png"]


async def test_image_count_gives_that_many_outputs(api: Api) -> None:
    op = next(o for o in CREATES if "image_count" in (o.body_schema or {}).get("properties", {}))
    body = {**valid_body(op), "image_count": 4}
    project_id = (await api.request(op.method, op.template, json=body)).json()["id"]
    got = (await api.request("GET", f"/v1/image-projects/{project_id}")).json()
    assert (got["image_count"], len(got["downloads"])) == (4, 4)
    names = [httpx.URL(d["url"]).path.rsplit("/", 1)[1] for d in got["downloads"]]
    assert names == ["output-0.png", "output-1.png", "output-2.png", "output-3.png"]


def test_responses_are_json_with_a_request_id() -> None:
    fake = FakeMagicHour()
    with fake.httpx_client() as http:
        response = http.get(fake.base_url + "/v1/account", headers={"Authorization": f"Bearer {fake.token}"})
    assert response.headers["content-type"] == "application/json"
    assert json.loads(response.content)["id"] != "cuid-example"  # ids are fresh


async def test_a_deeply_nested_body_is_400_not_a_crash(api: Api) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    for op in (SPEC.operations["POST /v1/face-swap-photo"], SPEC.operations["POST /v1/files/upload-urls"]):
        headers = {"Authorization": f"Bearer {api.fake.token}", "Content-Type": "application/json"}
        response = await api.request(op.method, op.template, content=deep, headers=headers)
        assert (response.status_code, response.json()) == (
            400,
            {"message": "Invalid request body: not valid JSON"},
        )
    assert api.fake.requests[-1].json is None
