"""What httpcore's failed ``import sniffio`` costs each async request, with and without sniffio installed.

    python tests/benchmarks/bench_sniffio.py [--rounds 10] [--calls 300] [--sniffio-path DIR]

httpcore 1.0.9 asks ``import sniffio`` each time it sets up a lock, an event or a cancellation shield
(several times per request) and falls back to asyncio when the import fails. A failed import is not
cached: every attempt walks ``sys.meta_path`` and every ``sys.path`` entry again. anyio 4.x no longer
depends on sniffio, so a plain ``pip install httpx`` (or an SDK depending only on httpx and anyio) pays
it on every async call; trio, and therefore our dev extra, installs sniffio and hides it.

Run it with the runtime-only interpreter (``/work/venv-rt/bin/python``). Each round starts two fresh
children that differ only in whether ``sniffio`` is importable: both run with ``-S`` and one
``site-packages`` directory made of symlinks to this interpreter's site-packages, with or without
sniffio (taken from this interpreter if it has it, else from ``--sniffio-path``, a directory holding
the ``sniffio`` package). Each child times ``--calls`` async calls, after a warm-up, of raw
``httpx.AsyncClient.post(...).json()`` and of ``AsyncClient().v1.files.upload_urls.create`` (1 item)
against the local ``_server.py``. The table: median CPU and wall µs per call over the rounds, and the
paired ratio without/with. Also how many ``import sniffio`` attempts one request makes.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import sysconfig
import tempfile
from typing import Dict, List, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _server import serve

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CHILD = r"""
import asyncio, builtins, json, sys, time
import httpx
base, calls = sys.argv[1], int(sys.argv[2])
url = base + "/v1/files/upload-urls"
body = {"items": [{"extension": "mp4", "type": "video"}]}
auth = {"Authorization": "Bearer bench"}
attempts = [0]
_real_import = builtins.__import__
def counting_import(name, *a, **k):
    if name == "sniffio":
        attempts[0] += 1
    return _real_import(name, *a, **k)

async def timed(fn):
    for _ in range(30):
        await fn()
    cpu, wall = time.process_time_ns(), time.perf_counter_ns()
    for _ in range(calls):
        await fn()
    return (time.process_time_ns() - cpu) / calls / 1e3, (time.perf_counter_ns() - wall) / calls / 1e3

async def main():
    out = {}
    try:
        import sniffio  # noqa: F401
        out["sniffio"] = True
    except ImportError:
        out["sniffio"] = False
    async with httpx.AsyncClient() as raw:
        async def plain():
            return (await raw.post(url, json=body, headers=auth)).json()
        out["raw"] = await timed(plain)
        builtins.__import__ = counting_import
        await plain()
        builtins.__import__ = _real_import
        out["attempts_per_request"] = attempts[0]
    try:
        from magic_hour import AsyncClient
        async with AsyncClient(token="bench", base_url=base) as client:
            items = [{"extension": "mp4", "type_": "video"}]
            out["sdk"] = await timed(lambda: client.v1.files.upload_urls.create(items=items))
    except Exception as exc:  # the SDK may not run at all without sniffio: say so
        out["sdk_error"] = f"{type(exc).__name__}: {exc}"
    print(json.dumps(out))

asyncio.run(main())
"""


def _site_packages() -> str:
    return sysconfig.get_paths()["purelib"]


def _farm(target: str, site: str, sniffio_dir: Optional[str], with_sniffio: bool) -> None:
    """``target``: symlinks to every entry of ``site`` except sniffio's, plus sniffio if asked."""
    os.makedirs(target)
    for name in os.listdir(site):
        if name.startswith("sniffio"):
            continue
        os.symlink(os.path.join(site, name), os.path.join(target, name))
    if with_sniffio:
        assert sniffio_dir is not None
        os.symlink(sniffio_dir, os.path.join(target, "sniffio"))


def _run(python: str, farm: str, base: str, calls: int) -> Dict[str, object]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([farm, ROOT]))
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # users' installs have bytecode caches: measure with them
    out = subprocess.run(
        [python, "-S", "-c", CHILD, base, str(calls)], env=env, capture_output=True, text=True, check=True
    ).stdout
    result: Dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--sniffio-path", help="a directory holding the sniffio package (if not installed)")
    args = parser.parse_args()
    spec = importlib.util.find_spec("sniffio")
    if spec is not None and spec.submodule_search_locations:
        sniffio_dir: Optional[str] = next(iter(spec.submodule_search_locations))
    elif args.sniffio_path:
        sniffio_dir = os.path.join(os.path.abspath(args.sniffio_path), "sniffio")
    else:
        parser.error("sniffio is not installed here: give --sniffio-path DIR (a site-packages holding it)")
    assert sniffio_dir is not None and os.path.isdir(sniffio_dir), sniffio_dir

    results: Dict[str, List[Dict[str, object]]] = {"without": [], "with": []}
    with tempfile.TemporaryDirectory() as tmp, serve() as base:
        farms = {}
        for case in results:
            farms[case] = os.path.join(tmp, case)
            _farm(farms[case], _site_packages(), sniffio_dir, case == "with")
        for r in range(args.rounds):
            order = ("without", "with") if r % 2 == 0 else ("with", "without")
            for case in order:
                results[case].append(_run(sys.executable, farms[case], base, args.calls))

    print(f"Python {sys.version.split()[0]}, {args.rounds} rounds x {args.calls} async calls per case")
    for case, rows in results.items():
        print(f"{case} sniffio: `import sniffio` attempts per raw request: {rows[0]['attempts_per_request']}")
        if "sdk_error" in rows[0]:
            print(f"  AsyncClient fails without sniffio: {rows[0]['sdk_error']}")
    print(f"\n{'case':<10}{'':<9}{'CPU µs min/med/max':>26}{'wall µs min/med/max':>26}")
    for who in ("raw", "sdk"):
        for case, rows in results.items():
            samples = [r[who] for r in rows if who in r]
            if not samples:
                print(f"{who:<10}{case:<9}{'(failed)':>26}")
                continue
            cells = []
            for k in (0, 1):
                v = [s[k] for s in samples]  # type: ignore[index]
                cells.append(f"{min(v):.0f}/{statistics.median(v):.0f}/{max(v):.0f}")
            print(f"{who:<10}{case:<9}{cells[0]:>26}{cells[1]:>26}")
        pairs = [
            (a[who], b[who]) for a, b in zip(results["without"], results["with"]) if who in a and who in b
        ]
        if pairs:
            cpu = statistics.median(a[0] / b[0] for a, b in pairs)  # type: ignore[index]
            wall = statistics.median(a[1] / b[1] for a, b in pairs)  # type: ignore[index]
            saved = statistics.median(a[0] - b[0] for a, b in pairs)  # type: ignore[index]
            print(
                f"{who:<10}without/with, paired: CPU {cpu:.3f}, wall {wall:.3f}; CPU saved per call {saved:.0f} µs"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
