"""A fast HTTP/1.1 storage server for the upload benchmark (run in its own process).

``POST /v1/files/upload-urls`` presigns URLs on this same server; ``PUT /storage/...`` reads exactly
Content-Length bytes (refusing chunked bodies like S3 does), counts and discards them, and answers 200.
``--latency`` adds that many seconds before every response. Prints ``http://127.0.0.1:PORT`` on its
first line; serves until stdin closes.

One blocking thread per connection, each receiving bodies with ``socket.recv_into`` into one reused
1 MiB buffer: no allocation and no event loop per chunk, and the GIL is released while the kernel copies.
It takes well over 2 GB/s on loopback on one core; the asyncio-streams server it replaces
(``StreamReader.read`` allocating a ``bytes`` per chunk) capped near 730 MB/s, below what raw async httpx
sends, so it hid client overhead.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import socket
import subprocess
import sys
import threading
import time
from typing import Iterator, Tuple

_counter = itertools.count()


def _response(status: bytes, body: bytes = b"") -> bytes:
    return b"HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
        status,
        len(body),
        body,
    )


def _read_head(sock: socket.socket, pending: bytearray) -> Tuple[bytes, bytearray]:
    """(the request head, bytes received after it); empty head when the peer closed."""
    while True:
        end = pending.find(b"\r\n\r\n")
        if end >= 0:
            return bytes(pending[:end]), pending[end + 4 :]
        data = sock.recv(65536)
        if not data:
            return b"", bytearray()
        pending += data


def _handle(sock: socket.socket, base: str, latency: float) -> None:
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    pending = bytearray()
    try:
        while True:
            head, pending = _read_head(sock, pending)
            if not head:
                return
            lines = head.split(b"\r\n")
            method = lines[0].split(b" ", 1)[0]
            headers = {}
            for line in lines[1:]:
                k, _, v = line.partition(b":")
                headers[k.strip().lower()] = v.strip()
            if b"transfer-encoding" in headers or b"content-length" not in headers:
                sock.sendall(
                    _response(b"501 Not Implemented", b'{"message":"chunked bodies are not accepted"}')
                )
                return
            remaining = int(headers[b"content-length"])
            data = bytes(pending[:remaining])
            remaining -= len(data)
            pending = pending[len(data) :]
            if method == b"POST":
                while remaining:
                    more = sock.recv(remaining)
                    if not more:
                        return
                    data += more
                    remaining -= len(more)
            else:
                while remaining:
                    n = sock.recv_into(view, min(remaining, len(buf)))
                    if not n:
                        return
                    remaining -= n
            if latency:
                time.sleep(latency)
            if method == b"POST":
                items = json.loads(data)["items"]
                first = next(_counter)  # unique across batches: the SDK refuses duplicate URLs
                for _ in items[1:]:
                    next(_counter)
                out = [
                    {
                        "expires_at": "2099-01-01T00:00:00Z",
                        "file_path": f"api-assets/bench/{i}.{it['extension']}",
                        "upload_url": f"{base}/storage/api-assets/bench/{i}.{it['extension']}?X-Signature=abc",
                    }
                    for i, it in enumerate(items, first)
                ]
                sock.sendall(_response(b"200 OK", json.dumps({"items": out}).encode()))
            else:
                sock.sendall(_response(b"200 OK"))
    except OSError:
        pass
    finally:
        sock.close()


def _main(latency: float) -> None:
    listener = socket.create_server(("127.0.0.1", 0), backlog=1024)
    base = f"http://127.0.0.1:{listener.getsockname()[1]}"
    print(base, flush=True)

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=_handle, args=(conn, base, latency), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    sys.stdin.read()  # until the parent closes stdin
    listener.close()


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
            proc.wait()
        proc.stdout.close() if proc.stdout else None


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.0)
    _main(parser.parse_args().latency)
