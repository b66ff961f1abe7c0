"""Upload benchmark (run by hand): ``python tests/benchmarks/bench_upload.py [--size-mb 1024]``.

1. One large file: wall time and peak RSS growth of ``upload_file`` (sync and async) against a raw httpx
   streaming PUT of the same file to the same server, in the same run. Targets: time ratio <= 1.05,
   RSS growth <= 50 MB. Each case runs in a fresh subprocess so peak RSS is its own.
2. 20 files of 5 MB against a server that adds 50 ms per request: ``upload_files(max_concurrency=4)``
   against uploading them one by one with ``upload_file``. Target: >= 3x faster.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _storage_server import serve

CASE = r"""
import json, os, resource, sys, time, asyncio
import httpx
from magic_hour import AsyncClient, Client

kind, base, path = sys.argv[1], sys.argv[2], sys.argv[3]
size = os.path.getsize(path)

def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

if kind == "raw":
    client = httpx.Client(timeout=60)
    url = base + "/storage/api-assets/raw/x.mp4?X-Signature=abc"
    client.put(url, content=b"warm-up").raise_for_status()  # both sides start warm: pooled connection
    before = rss_mb()
    t = time.perf_counter()
    with open(path, "rb") as f:
        r = client.put(url, content=f, headers={"Content-Length": str(size)})
    r.raise_for_status()
    elapsed = time.perf_counter() - t
elif kind == "raw_async":
    async def main():
        async with httpx.AsyncClient(timeout=60) as client:
            url = base + "/storage/api-assets/raw/x.mp4?X-Signature=abc"
            async def body():
                with open(path, "rb") as f:
                    while chunk := f.read(1 << 20):
                        yield chunk
            (await client.put(url, content=b"warm-up")).raise_for_status()
            b = rss_mb()
            t = time.perf_counter()
            r = await client.put(url, content=body(), headers={"Content-Length": str(size)})
            r.raise_for_status()
            return b, time.perf_counter() - t
    before, elapsed = asyncio.run(main())
elif kind == "sdk":
    client = Client(token="bench", base_url=base)
    warm = os.path.join(os.path.dirname(path), "warm.mp4")
    client.v1.files.upload_file(warm)  # warm: pooled connection, lazily imported engine and models
    before = rss_mb()
    t = time.perf_counter()
    client.v1.files.upload_file(path)
    elapsed = time.perf_counter() - t
else:
    async def main():
        async with AsyncClient(token="bench", base_url=base) as client:
            await client.v1.files.upload_file(os.path.join(os.path.dirname(path), "warm.mp4"))
            b = rss_mb()
            t = time.perf_counter()
            await client.v1.files.upload_file(path)
            return b, time.perf_counter() - t
    before, elapsed = asyncio.run(main())
print(json.dumps({"elapsed": elapsed, "growth_mb": rss_mb() - before}))
"""


def run_case(kind: str, base: str, path: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CASE, kind, base, path], capture_output=True, text=True, check=True
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def big_file(size_mb: int, rounds: int) -> None:
    print(f"\n== one file of {size_mb} MB ({rounds} rounds, median; each case in a fresh process)")
    with tempfile.TemporaryDirectory() as tmp, serve() as base:
        path = os.path.join(tmp, "big.mp4")
        with open(os.path.join(tmp, "warm.mp4"), "wb") as f:
            f.write(b"warm-up")
        with open(path, "wb") as f:
            block = os.urandom(1 << 20)
            for _ in range(size_mb):
                f.write(block)
        results: dict[str, list[dict[str, float]]] = {k: [] for k in ("raw", "sdk", "raw_async", "sdk_async")}
        for _ in range(rounds):
            for kind in results:  # interleaved, so drift hits every case alike
                results[kind].append(run_case(kind, base, path))
        med = {k: statistics.median(r["elapsed"] for r in v) for k, v in results.items()}
        rss = {k: max(r["growth_mb"] for r in v) for k, v in results.items()}
        print(f"{'case':<12}{'seconds':>10}{'MB/s':>10}{'peak RSS growth MB':>22}")
        for k in results:
            print(f"{k:<12}{med[k]:>10.3f}{size_mb / med[k]:>10.0f}{rss[k]:>22.1f}")
        print(f"sync  upload_file / raw httpx time ratio: {med['sdk'] / med['raw']:.3f}  (target <= 1.05)")
        print(
            f"async upload_file / raw httpx time ratio: {med['sdk_async'] / med['raw_async']:.3f}  (target <= 1.05)"
        )
        print(f"RSS growth sync {rss['sdk']:.1f} MB, async {rss['sdk_async']:.1f} MB  (target <= 50 MB)")


def many_files(count: int, size_mb: int, latency: float) -> None:
    import asyncio

    from magic_hour import AsyncClient, Client

    print(f"\n== {count} files of {size_mb} MB, server latency {latency * 1000:.0f} ms per request")
    with tempfile.TemporaryDirectory() as tmp, serve(latency=latency) as base:
        paths = []
        for i in range(count):
            p = os.path.join(tmp, f"f{i}.mp4")
            with open(p, "wb") as f:
                f.write(os.urandom(size_mb << 20))
            paths.append(p)
        with Client(token="bench", base_url=base) as client:
            t = time.perf_counter()
            for p in paths:
                client.v1.files.upload_file(p)
            one_by_one = time.perf_counter() - t
            t = time.perf_counter()
            client.v1.files.upload_files(paths, max_concurrency=4)
            batch = time.perf_counter() - t

        async def run_async() -> float:
            async with AsyncClient(token="bench", base_url=base) as aclient:
                t = time.perf_counter()
                await aclient.v1.files.upload_files(paths, max_concurrency=4)
                return time.perf_counter() - t

        batch_async = asyncio.run(run_async())
    print(f"one by one (sync upload_file):            {one_by_one:.3f} s")
    print(
        f"upload_files, max_concurrency=4 (sync):   {batch:.3f} s  speed-up {one_by_one / batch:.2f}x (target >= 3)"
    )
    print(
        f"upload_files, max_concurrency=4 (async):  {batch_async:.3f} s  speed-up {one_by_one / batch_async:.2f}x"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    big_file(args.size_mb, args.rounds)
    many_files(20, 5, 0.05)
