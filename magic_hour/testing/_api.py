"""The API: where a request goes (storage, an API operation, or nowhere: 404/405), and the answer to
every operation of the description (auth, fault knobs, schema checks, bodies).

Generic, from the description: a POST that ``creates`` a project starts one; ``GET``/``DELETE`` on a
project path act on the projects the fake created; a list with a ``cursor`` query parameter pages
through seeded items (built from the documented example); anything else answers its documented example
with fresh ids. Only ``upload-urls`` has code of its own (it issues storage URLs).
"""

from __future__ import annotations

import copy
import hmac
import json
import secrets
import threading
import time
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union, cast
from urllib.parse import parse_qsl, unquote

import httpx

from .._exceptions import InvalidParameterError
from .._extensions import EXTENSIONS
from ._exchange import Exchange, Reply, header_items, json_reply, rfc3339
from ._faults import Faults, failure_reply
from ._media import MEDIA
from ._projects import (
    ERROR_CODE,
    ERROR_MESSAGE,
    PlanRules,
    Project,
    ProjectStore,
    new_id,
    project_body,
    values_at,
)
from ._records import RecordedRequest
from ._spec import ApiSpec, Operation, Schema, example, problem, query_value
from ._storage import ApiBodySink, Storage, UploadUrls


def item_schema(op: Operation) -> Optional[Schema]:
    """The schema of one item of a cursor-paginated list, or ``None`` when ``op`` is not one."""
    _, content = op.success
    props: Schema = (content or {}).get("schema", {}).get("properties", {})
    if "cursor" not in op.query_params or "next_cursor" not in props:
        return None
    for sub in props.values():
        if sub.get("type") == "array" and "items" in sub:
            return cast(Schema, sub["items"])
    return None


def _vary(item: Dict[str, Any], schema: Schema, index: int) -> Dict[str, Any]:
    """Item ``index``: a fresh id, the name numbered, each enum field at its ``index``-th value."""
    props: Mapping[str, Any] = schema.get("properties", {})
    for name, sub in props.items():
        enum = sub.get("enum")
        if enum and name in item:
            item[name] = enum[index % len(enum)]
    if isinstance(item.get("name"), str):
        item["name"] = f"{item['name']} {index + 1}"
    if "id" in item:
        item["id"] = new_id()
    return item


def seed_items(spec: ApiSpec, route: str, items: Optional[Sequence[Any]], count: Optional[int]) -> List[Any]:
    op = spec.by_route(route)
    schema = item_schema(op) if op is not None else None
    if op is None or schema is None:
        lists = [o.route for o in spec.operations.values() if item_schema(o) is not None]
        raise InvalidParameterError("route", route, "a paginated list: " + ", ".join(map(repr, lists)))
    if (items is None) == (count is None):
        raise InvalidParameterError("count", count, "either items=[...] or count=N, not both")
    if items is not None:
        if isinstance(items, (str, bytes)) or not all(isinstance(i, dict) for i in items):
            raise InvalidParameterError("items", items, "a list of JSON objects")
        return [copy.deepcopy(i) for i in items]
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise InvalidParameterError("count", count, "an integer >= 0")
    base = example(schema, spec.document)
    return [_vary(copy.deepcopy(cast(Dict[str, Any], base)), schema, i) for i in range(count)]


def fresh_ids(value: Any) -> Any:
    """``value`` with every ``"id"`` string replaced by a new id (recursively)."""
    if isinstance(value, dict):
        fields = cast(Dict[str, Any], value)
        return {k: new_id() if k == "id" and isinstance(v, str) else fresh_ids(v) for k, v in fields.items()}
    if isinstance(value, list):
        return [fresh_ids(v) for v in cast("List[object]", value)]
    return value


def _page_key(op: Operation) -> Optional[str]:
    """The array property of a cursor-paginated list (``"items"``), or ``None`` for other operations."""
    if item_schema(op) is None:
        return None
    _, content = op.success
    props: Schema = (content or {}).get("schema", {}).get("properties", {})
    return next((name for name, sub in props.items() if sub.get("type") == "array"), None)


class Api:
    """Routes an API request to its answer; shares the fake's lock, knobs, clock and storage."""

    def __init__(
        self,
        spec: ApiSpec,
        tokens: Tuple[str, ...],
        storage: Storage,
        upload_urls: UploadUrls,
        lock: threading.Lock,
        faults: Callable[[], Faults],
        projects: ProjectStore,
    ) -> None:
        self.spec = spec
        self._tokens = tokens
        self._storage = storage
        self._upload_urls = upload_urls
        self._lock = lock
        self._faults = faults
        self.projects = projects
        self.seeded: Dict[str, List[Any]] = {}
        self.queue_seconds = 0.0
        self.render_seconds = 0.0
        self.echo_inputs = False
        self.plan = PlanRules()

    def begin(self, exchange: Exchange, op: Operation, params: Dict[str, str], storage_prefix: str) -> None:
        record = exchange.record
        with self._lock:
            failure = self._faults().take_failure((op.route, "api"))
        if failure is not None:
            record.fault = "fail"
            exchange.reply = failure_reply(failure, False, record.request_id)
            return
        exchange.sink = ApiBodySink(
            record, lambda body: self.answer(op, params, record, body, storage_prefix)
        )

    def authorized(self, record: RecordedRequest) -> bool:
        auth = record.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() == "bearer" and token.strip() and self.projects.mock_server:
            return True  # the hosted mock server takes any token
        return scheme.lower() == "bearer" and any(
            hmac.compare_digest(token.strip().encode(), t.encode()) for t in self._tokens
        )

    def answer(
        self, op: Operation, params: Dict[str, str], record: RecordedRequest, body: bytes, storage_prefix: str
    ) -> Reply:
        """The reply to a complete request."""
        rid = record.request_id
        if not self.authorized(record):
            return json_reply(401, {"message": "Unauthorized"}, rid)
        if op.route == "upload_urls":
            return self._upload_urls.answer(record, body, storage_prefix)
        refused = self._check_query(op, record) or self._check_body(op, record, body)
        if refused is not None:
            return json_reply(refused[0], {"message": refused[1]}, rid)
        kind = self.spec.project_kind(op)
        if op.creates is not None:
            return self._create(op, record)
        if kind is not None and "id" in params:
            return self._project(op, kind, params["id"], record, storage_prefix)
        page_key = _page_key(op)
        if page_key is not None:
            return self._page(op, page_key, record)
        status, content = op.success
        return self._json(status, fresh_ids(self._base(content)), rid)

    # ---- checks

    def _check_query(self, op: Operation, record: RecordedRequest) -> Optional[Tuple[int, str]]:
        for name, param in op.query_params.items():
            schema: Schema = param.get("schema", {})
            if name not in record.query:
                if param.get("required"):
                    return op.error_status(), f"Invalid query parameter: {name} is required"
                continue
            found = problem(schema, query_value(schema, record.query[name]), name, self.spec.document)
            if found:
                return op.error_status(), f"Invalid query parameter: {found}"
        return None

    def _check_body(self, op: Operation, record: RecordedRequest, body: bytes) -> Optional[Tuple[int, str]]:
        schema = op.body_schema
        if schema is None:
            return None
        if not body.strip():
            return (400, "Missing request body") if op.body_required else None
        try:
            value = json.loads(body)
        except (ValueError, RecursionError):
            return 400, "Invalid request body: not valid JSON"
        found = problem(schema, value, root=self.spec.document)
        return (op.error_status(), f"Invalid request body: {found}") if found else None

    # ---- answers

    def _json(self, status: int, payload: Any, rid: str) -> Reply:
        if status == 204:
            return Reply(204, [("x-request-id", rid)], b"")
        return json_reply(status, payload, rid)

    def _base(self, content: Optional[Mapping[str, Any]]) -> Any:
        if not content:
            return None
        if "example" in content:
            return json.loads(json.dumps(content["example"]))
        now = rfc3339(self._storage.now())
        return example(content.get("schema", {}), self.spec.document, now=lambda: now)

    def _create(self, op: Operation, record: RecordedRequest) -> Reply:
        status, content = op.success
        base = self._base(content)
        payload: Dict[str, Any] = dict(cast("Dict[str, Any]", base)) if isinstance(base, dict) else {}
        credits = payload.get("credits_charged", 0)
        with self._lock:
            refused = self.plan.refusal(self.projects)
            if refused is not None:  # a plan's limit of concurrent jobs: nothing starts
                record.fault = "concurrency"
                status, message, headers = refused
                answer = json_reply(status, message, record.request_id)
                return Reply(answer.status, answer.headers + list(headers.items()), answer.body)
            faults = self._faults()
            outcome, error = (
                faults.endings.pop(0) if faults.endings else (self.plan.outcome() or "complete", None)
            )
            project = Project(
                id=new_id(),
                kind=cast(str, op.creates),
                route=op.route,
                body=record.json,
                created_at=self._storage.now(),
                queue_seconds=self.queue_seconds,
                render_seconds=self.render_seconds,
                outcome=outcome,
                credits_charged=credits if isinstance(credits, int) else 0,
                error=(error or {"code": ERROR_CODE, "message": ERROR_MESSAGE})
                if outcome == "error"
                else None,
            )
            source = self._echoed(op, project) if self.echo_inputs else None
            self.projects.add(project, project.make_outputs(self.projects.output_size, source))
        self.projects.flush()
        payload = fresh_ids(payload)
        payload["id"] = project.id
        if isinstance(payload.get("credits_charged"), int):
            # Deprecated fields the published description dropped but the API still sends: the
            # official SDK 0.90 requires them (its models fail without them).
            for legacy in ("frame_cost", "estimated_frame_cost"):
                payload[legacy] = payload["credits_charged"]
        return self._json(status, payload, record.request_id)

    def _echoed(self, op: Operation, project: Project) -> Optional[Tuple[bytes, str, str]]:
        """The first uploaded input of the output's kind: ``(bytes, extension, content type)``."""
        kind = "image" if project.kind == "face_detection" else project.kind
        # a field's asset type, or a list of them (face detection's takes an image or a video)
        files: Mapping[str, Union[str, List[str]]] = op.spec.get("x-magic-hour", {}).get("files", {})
        for path, types in files.items():
            if kind not in ([types] if isinstance(types, str) else types):
                continue
            for file_path in values_at(project.body, path):
                stored = self._storage.files.get(file_path)
                ext = file_path.rsplit(".", 1)[-1]
                if isinstance(types, list) and ext.lower() not in EXTENSIONS[kind]:  # type: ignore[index]
                    continue  # a video given to a field that also takes images: not an output image
                if stored is not None and (stored.content is not None or stored.path is not None):
                    return stored.read_bytes(), ext, stored.content_type or MEDIA.get(kind, ("", ""))[1]
        return None

    def _project(
        self, op: Operation, kind: str, project_id: str, record: RecordedRequest, storage_prefix: str
    ) -> Reply:
        rid = record.request_id
        with self._lock:
            project, deleted_anyway = self.projects.lookup(kind, project_id, op)
            if project is not None and op.method == "DELETE":
                project.deleted = True
                self.projects.noticed(project, self._storage.now())
        self.projects.flush()
        status, content = op.success
        if deleted_anyway:
            return self._json(status, None, rid)
        if project is None:
            return json_reply(404, {"message": "Not Found"}, rid)
        if op.method == "DELETE" or not content:
            return self._json(status, None, rid)
        storage, now = self._storage, self._storage.now()

        def sign(path: str) -> Tuple[str, str]:
            expires = int(now + storage.url_ttl)
            return storage.sign("GET", storage_prefix, path, expires), rfc3339(expires)

        schema: Schema = content.get("schema", {})
        payload = project_body(project, schema, self._base(content), now, sign=sign, timestamp=rfc3339)
        return self._json(status, payload, rid)

    def _page(self, op: Operation, key: str, record: RecordedRequest) -> Reply:
        query, rid = record.query, record.request_id
        limit_schema: Schema = op.query_params.get("limit", {}).get("schema", {})
        limit = (
            query_value(limit_schema, query["limit"]) if "limit" in query else limit_schema.get("default", 20)
        )
        raw_cursor = query.get("cursor", "")
        offset = int(raw_cursor[len("cursor-") :]) if raw_cursor[len("cursor-") :].isdigit() else -1
        if raw_cursor and (not raw_cursor.startswith("cursor-") or offset < 0) and self.projects.mock_server:
            offset = 0  # the hosted mock server answers any cursor
        elif raw_cursor and (not raw_cursor.startswith("cursor-") or offset < 0):
            return json_reply(
                op.error_status(), {"message": "Invalid query parameter: cursor is not valid"}, rid
            )
        filters = {k: v for k, v in query.items() if k not in ("cursor", "limit")}
        with self._lock:
            items = [
                item
                for item in self.seeded.get(op.route, [])
                if all(str(item.get(k)) == v for k, v in filters.items() if k in item)
            ]
        start = max(offset, 0)
        size = limit if isinstance(limit, int) and limit > 0 else 20
        page = items[start : start + size]
        more = start + size < len(items)
        _, content = op.success
        base = self._base(content)
        payload: Dict[str, Any] = dict(cast("Dict[str, Any]", base)) if isinstance(base, dict) else {}
        payload.update({key: page, "next_cursor": f"cursor-{start + size}" if more else None})
        return json_reply(200, payload, rid)


class Router:
    """Records each request, applies its latency, and hands it to storage or the API."""

    def __init__(
        self,
        api: Api,
        storage: Storage,
        lock: threading.Lock,
        faults: Callable[[], Faults],
        requests: List[RecordedRequest],
    ) -> None:
        self._api = api
        self._storage = storage
        self._lock = lock
        self._faults = faults
        self._requests = requests

    def begin(
        self,
        method: str,
        url: str,
        headers: Union[httpx.Headers, Iterable[Tuple[str, str]]],
        storage_base: str,
        api_base: str = "",
    ) -> Exchange:
        method = method.upper()
        parsed = httpx.URL(url)
        path = parsed.path
        prefix = httpx.URL(api_base).path.rstrip("/") if api_base else ""
        if prefix and url.startswith(api_base.rstrip("/") + "/"):
            path = path[len(prefix) :]  # the API under a base URL with a path: the hosted mock server's
        query = dict(parse_qsl(parsed.query.decode("ascii", "replace"), keep_blank_values=True))
        storage_prefix = storage_base.rstrip("/") + "/"
        bare_url = url.split("?", 1)[0]
        op: Optional[Operation] = None
        params: Dict[str, str] = {}
        allowed: List[str] = []
        route: Optional[str]
        if bare_url.startswith(storage_prefix):
            route = "downloads" if method in ("GET", "HEAD") else "storage"
        else:
            found = self._api.spec.match(method, path)
            if isinstance(found, tuple):
                op, params = found
            elif found:
                op, allowed = found[0], sorted({o.method for o in found})
            route = op.route if op is not None else None
        request_id = ("req_" if route not in ("storage", "downloads") else "") + secrets.token_hex(8)
        record = RecordedRequest(
            method=method,
            url=url,
            path=path,
            query=query,
            headers=header_items(headers),
            route=route,
            request_id=request_id,
            time=time.time(),
            operation=op.key if op is not None and not allowed else None,
        )
        with self._lock:
            self._requests.append(record)
            delay = self._faults().delay((op.route, "api") if op is not None else (route or "",))
        exchange = Exchange(record, delay=delay)
        file_path = unquote(bare_url[len(storage_prefix) :])
        if route is None:
            exchange.reply = json_reply(404, {"message": "Not Found"}, request_id)
        elif allowed:
            allow = {"Allow": ", ".join(allowed)}
            exchange.reply = json_reply(405, {"message": "Method Not Allowed"}, request_id, allow)
        elif op is not None:
            self._api.begin(exchange, op, params, storage_prefix)
        elif route == "downloads":
            self._storage.begin_get(exchange, file_path)
        elif method != "PUT":
            exchange.reply = self._storage.method_not_allowed(record)
        else:
            self._storage.begin_put(exchange, file_path)
        return exchange


__all__ = ["Api", "Router", "fresh_ids", "item_schema", "seed_items"]
