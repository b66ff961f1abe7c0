"""``python -m magic_hour.testing``: serve a fake Magic Hour API and storage on 127.0.0.1 until Ctrl+C.

Point any client at it (ours, the official SDK, curl) with the two environment variables it prints.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType
from typing import List, Optional

from ._exchange import DEFAULT_TOKEN
from ._fake import FakeMagicHour
from ._state import DEFAULT_URL_TTL


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m magic_hour.testing",
        description="Serve a fake Magic Hour API (every operation) and its storage, for tests.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default 0: any free port)")
    parser.add_argument(
        "--token",
        action="append",
        dest="tokens",
        metavar="TOKEN",
        help=f"accepted API token; repeat for several (default {DEFAULT_TOKEN!r})",
    )
    parser.add_argument("--spool-dir", help="store uploaded files in this directory instead of memory")
    parser.add_argument("--max-upload-size", type=int, help="answer 413 above this many bytes")
    parser.add_argument(
        "--url-ttl", type=float, default=DEFAULT_URL_TTL, help="seconds an upload URL stays valid"
    )
    parser.add_argument(
        "--render-seconds", type=float, default=0.0, help="seconds a project renders (default 0: at once)"
    )
    parser.add_argument(
        "--mock-server",
        action="store_true",
        help="behave as the official SDK's hosted mock server: any token, any project id answered",
    )
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = _parser().parse_args(argv)
    kwargs = {} if args.max_upload_size is None else {"max_upload_size": args.max_upload_size}
    fake = FakeMagicHour(
        tokens=args.tokens or DEFAULT_TOKEN,
        spool_dir=args.spool_dir,
        url_ttl=args.url_ttl,
        render_seconds=args.render_seconds,
        mock_server=args.mock_server,
        **kwargs,
    )
    stop = threading.Event()

    def on_sigterm(signum: int, frame: Optional[FrameType]) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_sigterm)
    with fake, fake.serve(host=args.host, port=args.port) as server:
        print(f"FakeMagicHour serving at {server.url} (storage at {server.storage_url})")
        print(f"export MAGIC_HOUR_BASE_URL={server.url} MAGIC_HOUR_API_TOKEN={fake.token}")
        print("Press Ctrl+C to stop.", flush=True)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        print(f"stopped: {len(fake.requests)} requests, {len(fake.files)} files stored", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
