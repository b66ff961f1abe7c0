"""Serving a webhook handler for real on 127.0.0.1 in a background thread: an ASGI app under uvicorn, a
WSGI app under werkzeug's threaded server. Each is a generator yielding the base URL, stopped after."""

from __future__ import annotations

import socket
import threading
from typing import Any, Iterator

__all__ = ["serve_asgi", "serve_wsgi"]


def serve_asgi(app: Any) -> Iterator[str]:
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    # log_config=None: uvicorn leaves the process's logging alone
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="off", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            thread.join(0.01)
            assert thread.is_alive()
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def serve_wsgi(app: Any) -> Iterator[str]:
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    # A short poll: shutdown() waits for serve_forever's next look at its flag (0.5 s by default).
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()
