"""Per-call cost of ``client.v1.files.upload_urls.create`` against raw httpx, on one local server.

    python tests/benchmarks/bench_create.py [--rounds 40] [--target 1.10] [--profile]

For 1 and 100 items of ``upload_urls.create``, a flat body (``ai_image_generator.create``) and a nested
one (``face_swap_photo.create`` with three face mappings), sync and async, it times the SDK call and the same request made with raw httpx
(``client.post(url, json=body, headers=auth)`` then ``.json()``), both through one keep-alive
connection to the same local server (``_server.py``, in its own process) in the same run. Runs
alternate (SDK then raw, raw then SDK, ...) in batches of calls, and the table shows medians over the
rounds, plus the median of the per-round SDK/raw ratios. It exits 1 if a ratio misses the target.

Not collected by pytest (it is not named ``test_*.py``): run it by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import sys
import time
from typing import Any, Awaitable, Callable, Dict, List, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# Measure this checkout's code, even if another magic_hour is installed.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import httpx
from _server import serve

import magic_hour

TOKEN = "bench-token"
_KINDS = (("mp4", "video"), ("mp3", "audio"), ("png", "image"))


def sdk_items(n: int) -> List[Dict[str, str]]:
    return [{"extension": ext, "type_": kind} for ext, kind in (_KINDS * n)[:n]]


def wire_body(n: int) -> Dict[str, Any]:
    """What the SDK sends for ``sdk_items(n)``: the same JSON, posted by raw httpx."""
    return {"items": [{"extension": ext, "type": kind} for ext, kind in (_KINDS * n)[:n]]}


Sample = Tuple[float, float]  # (wall µs per call, this process's CPU µs per call)


def _timed(fn: Callable[[], object], calls: int) -> Sample:
    gc.collect()
    cpu = time.process_time_ns()
    start = time.perf_counter_ns()
    for _ in range(calls):
        fn()
    wall = time.perf_counter_ns() - start
    return wall / calls / 1e3, (time.process_time_ns() - cpu) / calls / 1e3


async def _atimed(fn: Callable[[], Awaitable[object]], calls: int) -> Sample:
    gc.collect()
    cpu = time.process_time_ns()
    start = time.perf_counter_ns()
    for _ in range(calls):
        await fn()
    wall = time.perf_counter_ns() - start
    return wall / calls / 1e3, (time.process_time_ns() - cpu) / calls / 1e3


def _calls_for(n: int) -> int:
    return 100 if n == 1 else 30


# Generated operations (issue 9): a flat body and a nested one, each against raw httpx posting the same JSON.
FLAT_KWARGS: Dict[str, Any] = {
    "image_count": 1,
    "aspect_ratio": "1:1",
    "name": "bench",
    "style": {"prompt": "a cat"},
}
FLAT = ("/v1/ai-image-generator", FLAT_KWARGS, FLAT_KWARGS)
_MAPPINGS = [
    {"new_face": f"api-assets/bench/{i}.png", "original_face": f"api-assets/bench/0-{i}.png"}
    for i in range(3)
]
_PHOTO = {"source_file_path": "api-assets/bench/me.png", "target_file_path": "api-assets/bench/poster.jpg"}
NESTED_KWARGS: Dict[str, Any] = {
    "assets": {**_PHOTO, "face_swap_mode": "individual-faces", "face_mappings": _MAPPINGS},
    "name": "bench",
}
NESTED = ("/v1/face-swap-photo", NESTED_KWARGS, NESTED_KWARGS)
OPS = {"flat": ("ai_image_generator", FLAT), "nested": ("face_swap_photo", NESTED)}


def _case(client: Any, n: int) -> Tuple[Callable[[], Any], str, Any, int]:
    """(SDK call, path, wire body, calls per batch) for ``n`` items of upload_urls, or an OPS name."""
    if isinstance(n, int):
        items = sdk_items(n)
        create = client.v1.files.upload_urls.create
        return (lambda: create(items=items)), "/v1/files/upload-urls", wire_body(n), _calls_for(n)
    namespace, (path, kwargs, body) = OPS[n]
    method = getattr(client.v1, namespace).create
    return (lambda: method(**kwargs)), path, body, 100


Result = Tuple[List[Sample], List[Sample]]  # per round: SDK, raw


def bench_sync(base_url: str, n: Any, rounds: int) -> Result:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with magic_hour.Client(token=TOKEN, base_url=base_url) as client, httpx.Client() as raw:
        sdk, path, body, calls = _case(client, n)
        url = base_url + path

        def plain() -> object:
            return raw.post(url, json=body, headers=auth).json()

        sdk()
        plain()
        for _ in range(3):  # warm up: connections, caches, pydantic's lazy schema builds
            _timed(sdk, calls)
            _timed(plain, calls)
        sdk_us: List[Sample] = []
        raw_us: List[Sample] = []
        for r in range(rounds):
            if r % 2 == 0:
                sdk_us.append(_timed(sdk, calls))
                raw_us.append(_timed(plain, calls))
            else:
                raw_us.append(_timed(plain, calls))
                sdk_us.append(_timed(sdk, calls))
    return sdk_us, raw_us


async def _bench_async(base_url: str, n: Any, rounds: int) -> Result:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with magic_hour.AsyncClient(token=TOKEN, base_url=base_url) as client, httpx.AsyncClient() as raw:
        sdk, path, body, calls = _case(client, n)
        url = base_url + path

        async def plain() -> object:
            return (await raw.post(url, json=body, headers=auth)).json()

        await sdk()
        await plain()
        for _ in range(3):
            await _atimed(sdk, calls)
            await _atimed(plain, calls)
        sdk_us: List[Sample] = []
        raw_us: List[Sample] = []
        for r in range(rounds):
            if r % 2 == 0:
                sdk_us.append(await _atimed(sdk, calls))
                raw_us.append(await _atimed(plain, calls))
            else:
                raw_us.append(await _atimed(plain, calls))
                sdk_us.append(await _atimed(sdk, calls))
    return sdk_us, raw_us


def bench_async(base_url: str, n: Any, rounds: int) -> Result:
    return asyncio.run(_bench_async(base_url, n, rounds))


def profile(base_url: str, n: int, calls: int = 2000) -> None:
    """cProfile of the sync SDK call: where the time beyond raw httpx goes."""
    import cProfile
    import pstats

    items = sdk_items(n)
    with magic_hour.Client(token=TOKEN, base_url=base_url) as client:
        create = client.v1.files.upload_urls.create
        for _ in range(50):
            create(items=items)  # type: ignore[arg-type]
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(calls):
            create(items=items)  # type: ignore[arg-type]
        prof.disable()
    print(f"\ncProfile, sync create with {n} item(s), {calls} calls (cumulative time, top 30):")
    pstats.Stats(prof).sort_stats("cumulative").print_stats(30)


def main() -> int:
    parser = argparse.ArgumentParser(description="SDK vs raw httpx, per call of upload_urls.create")
    parser.add_argument("--rounds", type=int, default=40, help="alternating rounds per case (default 40)")
    parser.add_argument("--quick", action="store_true", help="a sanity run: 4 rounds (figures meaningless)")
    parser.add_argument("--target", type=float, default=1.10, help="maximum SDK/raw ratio (default 1.10)")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of the SDK call")
    args = parser.parse_args()
    if args.quick:
        args.rounds = 4

    print(
        f"magic_hour {magic_hour.__version__}, httpx {httpx.__version__}, "
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {args.rounds} rounds"
    )
    rows: List[Tuple[str, Any, List[float]]] = []
    with serve() as base_url:
        for mode, bench in (("sync", bench_sync), ("async", bench_async)):
            for n in (1, 100, "flat", "nested"):
                sdk, raw = bench(base_url, n, args.rounds)
                figures: List[float] = []
                for k in (0, 1):  # wall, then CPU
                    sdk_med = statistics.median(s[k] for s in sdk)
                    raw_med = statistics.median(r[k] for r in raw)
                    paired = statistics.median(s[k] / r[k] for s, r in zip(sdk, raw))
                    figures += [sdk_med, raw_med, sdk_med / raw_med, paired]
                rows.append((mode, n, figures))
        if args.profile:
            for n in (1, 100):
                profile(base_url, n)

    print()
    print(f"{'':14}{' wall time ':-^39}  {' client CPU ':-^27}")
    print(
        f"{'case':<8}{'body':>6}{'SDK µs':>10}{'raw µs':>10}{'SDK/raw':>10}{'paired':>9}"
        f"  {'SDK µs':>9}{'raw µs':>9}{'paired':>9}  target (paired wall)"
    )
    failed = False
    for mode, n, f in rows:
        ok = f[3] <= args.target
        failed |= not ok
        verdict = "ok" if ok else "MISSED"
        print(
            f"{mode:<8}{n:>6}{f[0]:>10.1f}{f[1]:>10.1f}{f[2]:>10.3f}{f[3]:>9.3f}"
            f"  {f[4]:>9.1f}{f[5]:>9.1f}{f[7]:>9.3f}  <= {args.target:.2f} {verdict}"
        )
    print(
        "\nµs are per call, medians over the rounds. SDK/raw = ratio of the medians; paired = median of"
        "\nthe per-round ratios (robust to drift: the verdict uses it). Client CPU time is this process's"
        "\nonly (the server runs in another), so it is steadier on a busy machine."
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
