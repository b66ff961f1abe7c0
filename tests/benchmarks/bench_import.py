"""Import time of ``from magic_hour import Client`` against ``import httpx, pydantic``, in fresh interpreters.

    python tests/benchmarks/bench_import.py [--runs 40] [--target 1.15] [--top 15]

Each run starts a new ``python -c``; the two statements alternate, and the table shows the median
wall time of each (the interpreter's own start-up included, as a user sees it) and of the import
alone (measured inside the child, start-up excluded), with the ratios. Then it prints the biggest
modules of ``python -X importtime -c "from magic_hour import Client"``: self time of each module, and cumulative
time of magic_hour's own. It exits 1 if the import-alone ratio misses the target.

Not collected by pytest (it is not named ``test_*.py``): run it by hand.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from typing import Dict, List, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# `import magic_hour` alone loads no dependency (its names load on first use): time what users write.
SDK = "from magic_hour import Client"
BASE = "import httpx, pydantic"
# The child reports how long the import statement alone took, in ns.
_CHILD = "import time; _t = time.perf_counter_ns(); {stmt}; print(time.perf_counter_ns() - _t)"


def _env() -> Dict[str, str]:
    env = dict(os.environ)
    # Import this checkout's magic_hour; both statements run with the same sys.path.
    env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def run_once(stmt: str, env: Dict[str, str]) -> Tuple[float, float]:
    """(wall ms of the whole interpreter, ms of the import statement alone)."""
    start = time.perf_counter_ns()
    out = subprocess.run(
        [sys.executable, "-c", _CHILD.format(stmt=stmt)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    wall = (time.perf_counter_ns() - start) / 1e6
    return wall, int(out.strip()) / 1e6


def importtime(stmt: str, env: Dict[str, str]) -> List[Tuple[str, int, int]]:
    """``-X importtime`` rows: (module, self µs, cumulative µs)."""
    err = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", stmt], env=env, check=True, capture_output=True, text=True
    ).stderr
    rows: List[Tuple[str, int, int]] = []
    for line in err.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative, name = (part.strip() for part in line[len("import time:") :].split("|"))
        rows.append((name, int(self_us), int(cumulative)))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description="import magic_hour vs import httpx, pydantic")
    parser.add_argument("--runs", type=int, default=40, help="fresh interpreters per statement (default 40)")
    parser.add_argument("--target", type=float, default=1.15, help="maximum ratio (default 1.15)")
    parser.add_argument("--top", type=int, default=15, help="rows of the -X importtime summary (default 15)")
    args = parser.parse_args()
    env = _env()

    # Warm the bytecode caches and the OS file cache, so that run 1 is not special.
    for stmt in (SDK, BASE, "pass"):
        run_once(stmt, env)
    samples: Dict[str, List[Tuple[float, float]]] = {SDK: [], BASE: [], "pass": []}
    for i in range(args.runs):
        order = (SDK, BASE, "pass") if i % 2 == 0 else ("pass", BASE, SDK)
        for stmt in order:
            samples[stmt].append(run_once(stmt, env))

    def med(stmt: str, k: int) -> float:
        return statistics.median(s[k] for s in samples[stmt])

    print(f"Python {sys.version.split()[0]}, {args.runs} fresh interpreters per statement, medians")
    print(f"{'statement':<26}{'wall ms':>10}{'import ms':>12}")
    for stmt in (BASE, SDK, "pass"):
        print(f"{stmt:<26}{med(stmt, 0):>10.1f}{med(stmt, 1):>12.1f}")
    wall_ratio = med(SDK, 0) / med(BASE, 0)
    import_ratio = med(SDK, 1) / med(BASE, 1)
    ok = import_ratio <= args.target
    print(
        f"\nratio, import alone: {import_ratio:.3f}  (target <= {args.target:.2f}: {'ok' if ok else 'MISSED'})"
    )
    print(f"ratio, whole process (interpreter start-up included): {wall_ratio:.3f}")

    rows = importtime(SDK, env)
    total = max((cum for _, _, cum in rows), default=0)
    ours = [r for r in rows if r[0].strip().startswith("magic_hour")]
    print(f"\n-X importtime of `{SDK}` (one run; total {total / 1000:.1f} ms)")
    print(f"top {args.top} modules by self time:")
    for name, self_us, cum in sorted(rows, key=lambda r: -r[1])[: args.top]:
        print(f"  {self_us / 1000:>7.2f} ms self {cum / 1000:>8.2f} ms cumulative  {name.strip()}")
    print("magic_hour's own modules (cumulative includes what they import):")
    for name, self_us, cum in sorted(ours, key=lambda r: -r[2])[: args.top]:
        print(f"  {self_us / 1000:>7.2f} ms self {cum / 1000:>8.2f} ms cumulative  {name.strip()}")
    base_mods = {r[0].strip() for r in importtime(BASE, env)}
    extra = [r for r in rows if r[0].strip() not in base_mods and not r[0].strip().startswith("magic_hour")]
    print("modules magic_hour imports that `import httpx, pydantic` does not (by self time):")
    for name, self_us, cum in sorted(extra, key=lambda r: -r[1])[: args.top]:
        print(f"  {self_us / 1000:>7.2f} ms self {cum / 1000:>8.2f} ms cumulative  {name.strip()}")
    if not extra:
        print("  (none)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
