"""Webhook verification, per event: ``verify_signature`` and ``unwrap`` against a hand-written check.

    python tests/benchmarks/bench_webhooks.py [--rounds 30] [--target-us 100]

For a realistic ``video.completed`` body (the description's example, ~0.4 KB) and one of 64 KiB, times:
- ``hand-written``: ``hmac.new(secret, ts + b"." + body, sha256).hexdigest()``, ``hmac.compare_digest``
  and ``json.loads``: what a handler written from Magic Hour's guide costs (no checks of the headers,
  no typed event);
- ``verify_signature``: the module function (secret given per call, from a headers dict of 8);
- ``client verify``: ``client.webhooks.verify_signature`` (the client's secret keyed once);
- ``unwrap``: the module function, parsed into the typed event;
- ``client unwrap``; ``unwrap, 2 secrets``: rotation (both keys tried on every request).

Batches of 2,000 calls (200 for 64 KiB) alternate between the contenders for ``--rounds`` rounds; the
table gives the median microseconds per call. Exits 1 if ``unwrap`` of the small body is above
``--target-us`` (default 100 µs: verification must cost microseconds, not milliseconds).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import hmac
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List

import magic_hour.webhooks as webhooks
from magic_hour import Client

ROOT = Path(__file__).resolve().parents[2]
SECRET = "whsec_benchmark-secret-0123456789abcdef"


def request(body: bytes, now: int) -> Dict[str, str]:
    signature = hmac.new(SECRET.encode(), f"{now}.".encode() + body, hashlib.sha256).hexdigest()
    return {
        "host": "example.com",
        "user-agent": "Magic Hour Webhooks",
        "content-type": "application/json",
        "content-length": str(len(body)),
        "accept": "*/*",
        "accept-encoding": "gzip",
        "magic-hour-event-signature": signature,
        "magic-hour-event-timestamp": str(now),
    }


def hand_written(body: bytes, headers: Dict[str, str]) -> Any:
    ts = headers["magic-hour-event-timestamp"]
    expected = hmac.new(SECRET.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, headers["magic-hour-event-signature"]):
        raise ValueError("bad signature")
    return json.loads(body)


def bodies() -> Dict[str, bytes]:
    data = json.loads((ROOT / "magic_hour" / "_data" / "webhooks.json").read_text(encoding="utf-8"))
    small = data["events"]["video.completed"]["example"]
    large = json.loads(json.dumps(small))
    large["payload"]["name"] = "x" * (64 * 1024 - len(json.dumps(small)))
    return {"0.4 KB": json.dumps(small).encode(), "64 KiB": json.dumps(large).encode()}


def contenders_for(body: bytes, headers: Dict[str, str], client: Client) -> Dict[str, Callable[[], Any]]:
    return {
        "hand-written": lambda: hand_written(body, headers),
        "verify_signature": lambda: webhooks.verify_signature(body, headers, secret=SECRET),
        "client verify": lambda: client.webhooks.verify_signature(body, headers),
        "unwrap": lambda: webhooks.unwrap(body, headers, secret=SECRET),
        "client unwrap": lambda: client.webhooks.unwrap(body, headers),
        "unwrap, 2 secrets": lambda: webhooks.unwrap(body, headers, secret=["whsec_old-one", SECRET]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--target-us", type=float, default=100.0)
    args = parser.parse_args()
    client = Client(token="benchmark", webhook_secret=SECRET)
    now = int(time.time())
    verdict = 0
    print(f"{'body':>7}  {'contender':<20} {'median µs':>10} {'min µs':>8}")
    for label, body in bodies().items():
        headers = request(body, now)
        contenders = contenders_for(body, headers, client)
        batch = 2000 if len(body) < 4096 else 200
        for call in contenders.values():  # warm up (the validator is built on first use)
            for _ in range(batch):
                call()
        times: Dict[str, List[float]] = {name: [] for name in contenders}
        for r in range(args.rounds):
            order = list(contenders) if r % 2 == 0 else list(reversed(contenders))
            for name in order:
                call = contenders[name]
                gc.collect()
                start = time.perf_counter()
                for _ in range(batch):
                    call()
                times[name].append((time.perf_counter() - start) / batch * 1e6)
        for name, samples in times.items():
            median = statistics.median(samples)
            print(f"{label:>7}  {name:<20} {median:>10.2f} {min(samples):>8.2f}")
            if label == "0.4 KB" and name == "unwrap" and median > args.target_us:
                verdict = 1
    print("target met" if verdict == 0 else f"target missed: unwrap above {args.target_us} µs")
    return verdict


if __name__ == "__main__":
    sys.exit(main())
