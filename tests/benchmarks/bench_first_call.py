"""The first call: time to first request, and how long the event loop is blocked, in fresh interpreters.

    python tests/benchmarks/bench_first_call.py [--runs 20]

Run it with a runtime-only interpreter (``/work/venv-rt/bin/python``: the dev extra's trio adds ~110 ms
to httpx's import). Every run is a new ``python -c`` against the local ``_server.py``; the cases
alternate, so drift hits them alike.

1. Time to first request: from the first line of the script (before any import) to the parsed answer
   of one ``upload_urls.create`` (1 item), wall and the child's CPU. ``sdk``: ``import magic_hour``,
   ``Client()``, ``create``. ``limit``: the practical limit for a pydantic-based client, raw httpx that
   also validates the answer with one pydantic model (``import httpx, pydantic``, the model class,
   ``httpx.Client().post(...)``, ``model_validate``). Likewise ``sdk_async`` / ``limit_async`` with
   ``asyncio.run``. Target: sdk / limit <= 1.10.
2. Event-loop blocks during ``AsyncClient()`` and its first ``create`` (and the raw equivalent): a probe
   task wakes on every loop iteration and records the longest gap, in wall time and in the loop
   thread's own CPU time (``time.thread_time``: steadier on a busy machine, where wall gaps include
   waiting for a core). Target: no block over 20 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from typing import Dict, List

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _server import serve

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_HEAD = "import time, sys, json; _w, _c = time.perf_counter(), time.process_time(); base = sys.argv[1]\n"
_ITEMS = '[{"extension": "mp4", "type_": "video"}]'
_MODEL = """
import httpx, pydantic
from typing import List
class Item(pydantic.BaseModel):
    upload_url: str
    expires_at: str
    file_path: str
class Resp(pydantic.BaseModel):
    items: List[Item]
body = {"items": [{"extension": "mp4", "type": "video"}]}
auth = {"Authorization": "Bearer bench"}
"""
_DONE = "print(json.dumps([time.perf_counter() - _w, time.process_time() - _c]))\n"

TTFR = {
    "sdk": _HEAD
    + f"""from magic_hour import Client
res = Client(token="bench", base_url=base).v1.files.upload_urls.create(items={_ITEMS})
"""
    + _DONE,
    "limit": _HEAD
    + _MODEL
    + """res = Resp.model_validate(httpx.Client().post(base + "/v1/files/upload-urls", json=body, headers=auth).json())
"""
    + _DONE,
    "sdk_async": _HEAD
    + f"""import asyncio
from magic_hour import AsyncClient
async def main():
    return await AsyncClient(token="bench", base_url=base).v1.files.upload_urls.create(items={_ITEMS})
res = asyncio.run(main())
"""
    + _DONE,
    "limit_async": _HEAD
    + _MODEL
    + """import asyncio
async def main():
    r = await httpx.AsyncClient().post(base + "/v1/files/upload-urls", json=body, headers=auth)
    return Resp.model_validate(r.json())
res = asyncio.run(main())
"""
    + _DONE,
}

# The probe: the longest gap between two wake-ups of a task that yields at every loop iteration.
LAG = (
    _HEAD
    + _MODEL
    + f"""import asyncio
kind = sys.argv[2]
if kind == "sdk":
    from magic_hour import AsyncClient  # at import, as users write it (magic_hour loads it lazily)
async def main():
    worst = {{}}
    phase = ["idle"]
    stop = []
    async def probe():
        w, c = time.perf_counter(), time.thread_time()
        while not stop:
            await asyncio.sleep(0)
            w2, c2 = time.perf_counter(), time.thread_time()
            old = worst.get(phase[0], (0.0, 0.0))
            worst[phase[0]] = (max(old[0], w2 - w), max(old[1], c2 - c))
            w, c = w2, c2
    task = asyncio.ensure_future(probe())
    await asyncio.sleep(0.01)
    phase[0] = "construct"
    client = AsyncClient(token="bench", base_url=base) if kind == "sdk" else httpx.AsyncClient()
    await asyncio.sleep(0)
    phase[0] = "first call"
    if kind == "sdk":
        await client.v1.files.upload_urls.create(items={_ITEMS})
    else:
        Resp.model_validate((await client.post(base + "/v1/files/upload-urls", json=body, headers=auth)).json())
    await asyncio.sleep(0)
    stop.append(1)
    await task
    return worst
print(json.dumps(asyncio.run(main())))
"""
)


def _child(code: str, *args: str) -> object:
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # users' installs have bytecode caches: measure with them
    out = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def _mmm(values: List[float]) -> str:
    return f"{min(values):.1f}/{statistics.median(values):.1f}/{max(values):.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    ok = True
    with serve() as base:
        for code in TTFR.values():  # warm the bytecode and OS caches
            _child(code, base)
        ttfr: Dict[str, List[List[float]]] = {k: [] for k in TTFR}
        lag: Dict[str, List[Dict[str, List[float]]]] = {"sdk": [], "raw": []}
        for r in range(args.runs):
            names = list(TTFR) if r % 2 == 0 else list(TTFR)[::-1]
            for name in names:
                ttfr[name].append(_child(TTFR[name], base))  # type: ignore[arg-type]
            for kind in ("sdk", "raw") if r % 2 == 0 else ("raw", "sdk"):
                lag[kind].append(_child(LAG, base, kind))  # type: ignore[arg-type]

    print(f"Python {sys.version.split()[0]}, {args.runs} fresh interpreters per case")
    print("\n== time to first request (ms, min/median/max)")
    print(f"{'case':<13}{'wall':>22}{'CPU':>22}")
    for name, rows in ttfr.items():
        print(f"{name:<13}{_mmm([x[0] * 1e3 for x in rows]):>22}{_mmm([x[1] * 1e3 for x in rows]):>22}")
    for sdk, limit in (("sdk", "limit"), ("sdk_async", "limit_async")):
        cells = []
        for k, what in ((0, "wall"), (1, "CPU")):
            med = statistics.median(x[k] for x in ttfr[sdk]) / statistics.median(x[k] for x in ttfr[limit])
            paired = statistics.median(a[k] / b[k] for a, b in zip(ttfr[sdk], ttfr[limit]))
            cells.append(f"{what} {med:.3f} (paired {paired:.3f})")
            if k == 0:
                ok &= paired <= 1.10
        print(f"{sdk} / {limit}: " + ", ".join(cells) + "  (target <= 1.10, paired wall)")

    print("\n== longest event-loop block (ms, min/median/max over runs)")
    print(f"{'client':<8}{'phase':<12}{'wall':>22}{'loop-thread CPU':>22}")
    for kind, runs in lag.items():
        for phase in ("construct", "first call"):
            wall = [run[phase][0] * 1e3 for run in runs]
            cpu = [run[phase][1] * 1e3 for run in runs]
            print(f"{kind:<8}{phase:<12}{_mmm(wall):>22}{_mmm(cpu):>22}")
            if kind == "sdk":
                ok &= statistics.median(wall) <= 20
    print("\ntargets:", "ok" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
