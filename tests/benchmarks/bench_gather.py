"""``asyncio.gather`` of many creates on one warm client, against raw httpx doing the same, interleaved.

    python tests/benchmarks/bench_gather.py [--rounds 40] [--calls 50] [--profile]

One ``AsyncClient`` and one raw ``httpx.AsyncClient`` (httpx's default limits), both warmed up with a
first gather (so their pools hold open connections), then rounds alternating SDK/raw and raw/SDK:
``asyncio.gather`` of ``--calls`` ``upload_urls.create`` (1 item) against raw
``client.post(...).json()``, to the local ``_server.py``. Prints min/median/max of the wall and client
CPU milliseconds per gather, the ratio of the medians and the paired ratio, and how many connections
each pool holds at the end. Target: paired wall <= 1.10. ``--profile`` adds a cProfile of SDK gathers.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import sys
import time
from typing import Any, Awaitable, Callable, List, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import httpx
from _server import serve

import magic_hour

Sample = Tuple[float, float]  # wall ms, CPU ms


async def _timed(fn: Callable[[], Awaitable[Any]], calls: int) -> Sample:
    gc.collect()
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(fn() for _ in range(calls)))
    return (time.perf_counter() - wall) * 1e3, (time.process_time() - cpu) * 1e3


def _connections(client: httpx.AsyncClient) -> int:
    transport: Any = getattr(client, "_transport", None)  # raw httpx's (private) or the SDK's own (.pool)
    pool: Any = getattr(transport, "pool", None) or getattr(transport, "_pool", None)
    return len(getattr(pool, "connections", []))


async def run(base: str, rounds: int, calls: int, profile: bool) -> Tuple[List[Sample], List[Sample]]:
    items = [{"extension": "mp4", "type_": "video"}]
    body = {"items": [{"extension": "mp4", "type": "video"}]}
    auth = {"Authorization": "Bearer bench"}
    async with magic_hour.AsyncClient(token="bench", base_url=base) as client, httpx.AsyncClient() as raw:
        create = client.v1.files.upload_urls.create
        url = base + "/v1/files/upload-urls"

        async def sdk() -> Any:
            return await create(items=items)  # type: ignore[arg-type]

        async def plain() -> Any:
            return (await raw.post(url, json=body, headers=auth)).json()

        for _ in range(3):
            await _timed(sdk, calls)
            await _timed(plain, calls)
        sdk_s: List[Sample] = []
        raw_s: List[Sample] = []
        for r in range(rounds):
            if r % 2 == 0:
                sdk_s.append(await _timed(sdk, calls))
                raw_s.append(await _timed(plain, calls))
            else:
                raw_s.append(await _timed(plain, calls))
                sdk_s.append(await _timed(sdk, calls))
        print(f"connections held: SDK pool {_connections(client._client)}, raw pool {_connections(raw)}")
        if profile:
            import cProfile
            import pstats

            prof = cProfile.Profile()
            prof.enable()
            for _ in range(20):
                await asyncio.gather(*(sdk() for _ in range(calls)))
            prof.disable()
            pstats.Stats(prof).sort_stats("tottime").print_stats(25)
    return sdk_s, raw_s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with serve() as base:
        sdk, raw = asyncio.run(run(base, args.rounds, args.calls, args.profile))
    print(f"{args.rounds} rounds of asyncio.gather of {args.calls} creates, ms per gather (min/median/max)")
    ok = True
    for k, what in ((0, "wall"), (1, "CPU")):
        s = [x[k] for x in sdk]
        r = [x[k] for x in raw]
        paired = statistics.median(a / b for a, b in zip(s, r))
        print(
            f"{what:<5} SDK {min(s):.1f}/{statistics.median(s):.1f}/{max(s):.1f}  raw "
            f"{min(r):.1f}/{statistics.median(r):.1f}/{max(r):.1f}  ratio {statistics.median(s) / statistics.median(r):.3f}"
            f"  paired {paired:.3f}"
        )
        if k == 0:
            ok = paired <= 1.10
    print("target (paired wall <= 1.10):", "ok" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
