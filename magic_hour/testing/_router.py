"""Where a request goes: storage (upload PUTs, download GETs), an API operation, or nowhere (404/405)."""

from __future__ import annotations

import secrets
import threading
import time
from typing import Callable, Dict, Iterable, List, Optional, Tuple, Union
from urllib.parse import parse_qsl, unquote

import httpx

from ._api import Api
from ._exchange import Exchange
from ._faults import Faults
from ._records import RecordedRequest
from ._spec import Operation
from ._storage import Storage
from ._wire import header_items, json_reply

__all__ = ["Router"]


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
