"""A minimal asyncio HTTP/1.1 server for the upload benchmark (run in its own process).

``POST /v1/files/upload-urls`` presigns URLs on this same server; ``PUT /storage/...`` reads exactly
Content-Length bytes (refusing chunked bodies like S3 does), counts and discards them, and answers 200.
``--latency`` adds that many seconds before every response. No HTTP library in between, so the server is
never the bottleneck. Prints ``http://127.0.0.1:PORT`` on its first line; serves until stdin closes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import sys
from typing import Iterator


def _response(status: bytes, body: bytes = b"") -> bytes:
    return b"HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
        status,
        len(body),
        body,
    )


async def _handle(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, base: str, latency: float
) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            method, _target, _ = lines[0].split(b" ", 2)
            headers = {}
            for line in lines[1:]:
                if b":" in line:
                    k, v = line.split(b":", 1)
                    headers[k.strip().lower()] = v.strip()
            if b"transfer-encoding" in headers or b"content-length" not in headers:
                body = _response(b"501 Not Implemented", b'{"message":"chunked bodies are not accepted"}')
                writer.write(body)
                await writer.drain()
                break
            remaining = int(headers[b"content-length"])
            data = b""
            if method == b"POST":
                data = await reader.readexactly(remaining)
            else:
                while remaining:
                    chunk = await reader.read(min(remaining, 1 << 20))
                    if not chunk:
                        return
                    remaining -= len(chunk)
            if latency:
                await asyncio.sleep(latency)
            if method == b"POST":
                items = json.loads(data)["items"]
                out = [
                    {
                        "expires_at": "2099-01-01T00:00:00Z",
                        "file_path": f"api-assets/bench/{i}.{it['extension']}",
                        "upload_url": f"{base}/storage/api-assets/bench/{i}.{it['extension']}?X-Signature=abc",
                    }
                    for i, it in enumerate(items)
                ]
                writer.write(_response(b"200 OK", json.dumps({"items": out}).encode()))
            else:
                writer.write(_response(b"200 OK"))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def _main(latency: float) -> None:
    holder: dict[str, str] = {}
    server = await asyncio.start_server(
        lambda r, w: _handle(r, w, holder["base"], latency), "127.0.0.1", 0, limit=1 << 20
    )
    port = server.sockets[0].getsockname()[1]
    holder["base"] = f"http://127.0.0.1:{port}"
    print(holder["base"], flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes stdin
    server.close()


@contextlib.contextmanager
def serve(latency: float = 0.0) -> Iterator[str]:
    """Start the server in a subprocess; yield its base URL."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--latency", str(latency)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.0)
    asyncio.run(_main(parser.parse_args().latency))
