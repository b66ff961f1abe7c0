"""A minimal, fast HTTP/1.1 keep-alive server for the benchmarks (run in its own process).

It answers ``POST /v1/files/upload-urls`` with a valid response holding as many items as the request
has (counted, not parsed, so the server stays cheap), ``POST /v1/ai-image-generator`` and
``POST /v1/face-swap-photo`` with a created project, and anything else with a JSON 404. It is an
``asyncio.Protocol`` with no HTTP library in between, so the server is never the bottleneck and the
numbers measure the client side.

Run it directly to serve by hand: ``python tests/benchmarks/_server.py [--port N]`` prints
``http://127.0.0.1:PORT`` on its first line and serves until stdin closes or it is killed. The
benchmarks use :func:`serve`, which starts it as a subprocess and stops it afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
from typing import Dict, Iterator, Optional

_PATH = b"/v1/files/upload-urls"
_NOT_FOUND_BODY = b'{"message":"not found"}'


def response_body(n: int) -> bytes:
    """The JSON body for ``n`` items, in the API's documented shape."""
    items = [
        {
            "expires_at": "2030-07-25T16:56:21.932Z",
            "file_path": f"api-assets/bench/{i}.mp4",
            "upload_url": f"https://videos.magichour.ai/api-assets/bench/{i}.mp4?auth-value=1234567890",
        }
        for i in range(n)
    ]
    return json.dumps({"items": items}, separators=(",", ":")).encode()


def _http_response(status: bytes, body: bytes) -> bytes:
    head = b"HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (
        status,
        len(body),
    )
    return head + body


_cache: Dict[int, bytes] = {}


# Project-creating POSTs the benchmark calls: answered with the documented shape.
_CREATED = {
    path: _http_response(b"200 OK", b'{"id":"cuid-example","credits_charged":5}')
    for path in (b"/v1/ai-image-generator", b"/v1/face-swap-photo")
}


def _answer(request_line: bytes, body: bytes) -> bytes:
    parts = request_line.split(b" ")
    path = parts[1].split(b"?", 1)[0] if len(parts) >= 2 else b""
    if parts[0] == b"POST" and path in _CREATED:
        return _CREATED[path]
    if len(parts) < 2 or parts[0] != b"POST" or path != _PATH:
        return _http_response(b"404 Not Found", _NOT_FOUND_BODY)
    n = body.count(b'"extension"')
    cached = _cache.get(n)
    if cached is None:
        cached = _cache[n] = _http_response(b"200 OK", response_body(n))
    return cached


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.buf = bytearray()
        self.transport: Optional[asyncio.Transport] = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buf[:end])
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            total = end + 4 + length
            if len(self.buf) < total:
                return
            body = bytes(self.buf[end + 4 : total])
            del self.buf[:total]
            assert self.transport is not None
            self.transport.write(_answer(head.split(b"\r\n", 1)[0], body))


async def _main(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Protocol, "127.0.0.1", port, backlog=1024)
    bound = server.sockets[0].getsockname()[1]
    print(f"http://127.0.0.1:{bound}", flush=True)
    stop = loop.create_future()
    # Stop when the parent closes our stdin (or dies), so no server outlives its benchmark.
    loop.add_reader(sys.stdin.fileno(), lambda: stop.done() or stop.set_result(None))
    async with server:
        await stop


@contextlib.contextmanager
def serve() -> Iterator[str]:
    """Start the server in a subprocess; yield its base URL; stop it."""
    proc = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url.startswith("http://"):
            raise RuntimeError("the benchmark server did not start")
        yield url
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    asyncio.run(_main(parser.parse_args().port))
