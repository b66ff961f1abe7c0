"""A small scripted Magic Hour on 127.0.0.1 for the job runner's tests: presign + storage, project creation,
project lifecycles on a clock, and a download host with knobs (no Range support, drops mid-body, error
statuses, large generated bodies). Every request is recorded.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Tuple, Union

PATTERN = bytes(range(256)) * 4096  # 1 MiB


@dataclass(frozen=True)
class Large:
    """A generated body of ``size`` bytes (PATTERN repeated), never held in memory whole."""

    size: int

    def chunks(self, start: int, end: int, chunk: int = 256 * 1024) -> Any:
        pos = start
        while pos < end:
            n = min(chunk, end - pos)
            offset = pos % 256
            yield PATTERN[offset : offset + n]
            pos += n


Content = Union[bytes, Large]


def size_of(content: Content) -> int:
    return content.size if isinstance(content, Large) else len(content)


@dataclass
class Project:
    id: str
    kind: str
    created: float
    outcome: str
    outputs: List[Tuple[str, Content]]
    body: Any


@dataclass
class Seen:
    method: str
    path: str
    headers: Dict[str, str]


@dataclass
class State:
    render_time: float = 0.3
    outcomes: List[str] = field(default_factory=list)
    outputs: List[Tuple[str, Content]] = field(
        default_factory=lambda: [("out.png", b"\x89PNG" + b"x" * 1000)]
    )
    ranges: bool = True
    drops: Dict[str, List[int]] = field(default_factory=dict)
    statuses: Dict[str, List[int]] = field(default_factory=dict)
    chunk_delay: float = 0.0
    active: int = 0
    max_active: int = 0
    projects: Dict[str, Project] = field(default_factory=dict)
    stored: Dict[str, bytes] = field(default_factory=dict)
    seen: List[Seen] = field(default_factory=list)
    presigns: List[Any] = field(default_factory=list)
    files: Dict[str, Content] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


_PROJECT = re.compile(r"^/v1/(video|image|audio)-projects/([^/?]+)$")
_FACES = re.compile(r"^/v1/face-detection/([^/?]+)$")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # ------------------------------------------------------------------ helpers
    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _record(self) -> State:
        state = self.server.state
        with state.lock:
            state.seen.append(Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
        return state

    # ------------------------------------------------------------------ routes
    def do_PUT(self) -> None:
        state = self._record()
        data = self._body()
        state.stored[self.path.split("?", 1)[0].removeprefix("/storage/")] = data
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        state = self._record()
        body = json.loads(self._body() or b"{}")
        path = self.path.split("?", 1)[0]
        if path == "/v1/files/upload-urls":
            state.presigns.append(body)
            items = []
            for item in body["items"]:
                name = f"api-assets/{uuid.uuid4().hex}.{item['extension']}"
                items.append(
                    {
                        "file_path": name,
                        "upload_url": f"{self.server.url}/storage/{name}?X-Amz-Signature=s3cr3t",
                        "expires_at": "2099-01-01T00:00:00Z",
                    }
                )
            return self._json(200, {"items": items})
        kind = "face_detection" if path == "/v1/face-detection" else "image"
        pid = uuid.uuid4().hex[:12]
        outcome = state.outcomes.pop(0) if state.outcomes else "complete"
        with state.lock:
            state.projects[pid] = Project(pid, kind, time.monotonic(), outcome, list(state.outputs), body)
            for name, content in state.outputs:
                state.files[f"{pid}/{name}"] = content
        return self._json(200, {"id": pid, "credits_charged": 5, "frame_cost": 5})

    def do_GET(self) -> None:
        state = self._record()
        path = self.path.split("?", 1)[0]
        match = _PROJECT.match(path) or _FACES.match(path)
        if match:
            project = state.projects.get(match.groups()[-1])
            if project is None:
                return self._json(404, {"message": "not found"})
            return self._json(200, self._project(project))
        if path.startswith("/files/"):
            return self._download(state, path[len("/files/") :])
        return self._json(404, {"message": "no route"})

    def _project(self, p: Project) -> Dict[str, Any]:
        age = time.monotonic() - p.created
        render = self.server.state.render_time
        status = "queued" if age < render / 3 else "rendering" if age < render else p.outcome
        urls = [
            {
                "url": f"{self.server.url}/files/{p.id}/{name}?X-Amz-Signature=s3cr3t",
                "expires_at": "2099-01-01T00:00:00Z",
            }
            for name, _ in p.outputs
        ]
        error = {"code": "render_failed", "message": "the render failed"} if status == "error" else None
        if p.kind == "face_detection":
            faces = [{"path": f"api-assets/{p.id}/{i}.png", "url": u["url"]} for i, u in enumerate(urls)]
            return {
                "id": p.id,
                "status": status,
                "credits_charged": 0,
                "faces": faces if status == "complete" else [],
            }
        return {
            "id": p.id,
            "name": None,
            "status": status,
            "type": "FACE_SWAP",
            "created_at": "2026-01-01T00:00:00Z",
            "enabled": True,
            "credits_charged": 5,
            "total_frame_cost": 5,
            "image_count": len(urls),
            "error": error,
            "downloads": urls if status == "complete" else [],
        }

    def _download(self, state: State, key: str) -> None:
        content = state.files.get(key)
        if content is None:
            return self._json(404, {"message": "no such file"})
        name = key.rsplit("/", 1)[-1]
        with state.lock:
            statuses = state.statuses.get(name) or []
            status = statuses.pop(0) if statuses else None
            drops = state.drops.get(name) or []
            drop = drops.pop(0) if drops else None
        if status is not None:
            return self._json(status, {"message": f"status {status}"})
        size = size_of(content)
        start = 0
        rng = self.headers.get("Range")
        if rng and state.ranges:
            start = int(rng.split("=", 1)[1].split("-", 1)[0])
        end = size
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
        self.send_header("Content-Length", str(end - start))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        with state.lock:
            state.active += 1
            state.max_active = max(state.max_active, state.active)
        try:
            self._send_body(state, content, start, end, drop)
        finally:
            with state.lock:
                state.active -= 1

    def _send_body(self, state: State, content: Content, start: int, end: int, drop: Optional[int]) -> None:
        chunks = content.chunks(start, end) if isinstance(content, Large) else [content[start:end]]
        sent = 0
        for chunk in chunks:
            if drop is not None and sent + len(chunk) > drop:
                self.wfile.write(chunk[: drop - sent])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.wfile.write(chunk)
            sent += len(chunk)
            if state.chunk_delay:
                time.sleep(state.chunk_delay)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: State
    url: str


class JobsServer:
    """``with JobsServer() as server:`` -> ``server.url``, ``server.state`` (knobs and records)."""

    def __init__(self) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self.state = State()
        self._server.state = self.state
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._server.url = self.url
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()

    def requests(self, method: Optional[str] = None, prefix: str = "") -> List[Seen]:
        with self.state.lock:
            return [
                s
                for s in self.state.seen
                if (method is None or s.method == method) and s.path.startswith(prefix)
            ]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> JobsServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
