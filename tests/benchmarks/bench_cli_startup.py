"""Start-up time of the ``magic-hour`` command: ``--version`` and ``--help``, in fresh processes.

    python tests/benchmarks/bench_cli_startup.py [--runs 30] [--target 150]

Runs the console script (``magic-hour`` next to this interpreter, else ``python -m magic_hour``) and a
bare ``python -c pass`` alternately, and prints the median, the 90th percentile and the minimum wall
time of each, as a user sees it (the interpreter's own start-up included), and the median CPU time
(user + system) of the process, which a busy machine disturbs less. Then the modules that
``--version`` and ``--help`` import, by cumulative ``-X importtime`` (``(+)``: not imported by a bare
interpreter), and
whether httpx, pydantic or rich is among them. Exits 1 if a median misses the target (ms).

Use a quiet machine: it refuses to run when the 1-minute load average is 2 or more (``--force`` runs
anyway, and says so). Not collected by pytest (it is not named ``test_*.py``): run it by hand.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from typing import Dict, List, Sequence, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HEAVY = ("httpx", "pydantic", "rich", "anyio", "magic_hour._client", "magic_hour.testing")


def _env() -> Dict[str, str]:
    env = dict(os.environ)
    # This checkout's magic_hour, whatever the editable install points at.
    env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def command() -> List[str]:
    script = shutil.which("magic-hour", path=os.path.dirname(sys.executable))
    return [script] if script else [sys.executable, "-m", "magic_hour"]


def wall_ms(argv: Sequence[str], env: Dict[str, str]) -> Tuple[float, float]:
    """(wall ms, CPU ms of the child: user + system, steadier than wall time on a busy machine)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter_ns()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = (time.perf_counter_ns() - start) / 1e6
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1e3
    return wall, cpu


def importtime(args: Sequence[str], env: Dict[str, str]) -> List[Tuple[str, int, int]]:
    """``-X importtime`` rows of ``python ARGS``: (module, self µs, cumulative µs)."""
    err = subprocess.run(
        [sys.executable, "-X", "importtime", *args],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stderr
    rows: List[Tuple[str, int, int]] = []
    for line in err.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative, name = (part.strip() for part in line[len("import time:") :].split("|"))
        rows.append((name, int(self_us), int(cumulative)))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description="start-up time of magic-hour --version / --help")
    parser.add_argument("--runs", type=int, default=30, help="fresh processes per command (default 30)")
    parser.add_argument("--target", type=float, default=150.0, help="maximum median, ms (default 150)")
    parser.add_argument("--top", type=int, default=12, help="rows of the import summary (default 12)")
    parser.add_argument("--force", action="store_true", help="run even on a busy machine")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    if load >= 2 and not args.force:
        print(f"load average {load:.2f} >= 2: the figures would be noise; wait, or pass --force")
        return 2
    env = _env()
    cli = command()
    cases = {
        "--version": [*cli, "--version"],
        "--help": [*cli, "--help"],
        "python -c pass": [sys.executable, "-c", "pass"],
    }
    for argv in cases.values():  # warm the bytecode and file caches
        wall_ms(argv, env)
    samples: Dict[str, List[Tuple[float, float]]] = {name: [] for name in cases}
    for i in range(args.runs):
        for name in list(cases) if i % 2 == 0 else list(reversed(cases)):
            samples[name].append(wall_ms(cases[name], env))
    print(f"{' '.join(cli)}; Python {sys.version.split()[0]}; load {load:.2f}; {args.runs} runs each")
    print(f"{'command':<18}{'median ms':>11}{'p90 ms':>9}{'min ms':>9}{'CPU ms':>9}")
    ok = True
    for name, pairs in samples.items():
        values = [wall for wall, _ in pairs]
        median = statistics.median(values)
        p90 = sorted(values)[int(0.9 * (len(values) - 1))]
        cpu = statistics.median(c for _, c in pairs)
        print(f"{name:<18}{median:>11.1f}{p90:>9.1f}{min(values):>9.1f}{cpu:>9.1f}")
        if name.startswith("--") and median > args.target:
            ok = False
    print(f"target: median <= {args.target:.0f} ms: {'ok' if ok else 'MISSED'}")
    base = {r[0].strip() for r in importtime(["-c", "pass"], env)}
    for flag in ("--version", "--help"):
        rows = importtime(["-m", "magic_hour", flag], env)
        names = {r[0].strip() for r in rows}
        heavy = sorted(n for n in names if n.split(".")[0] in HEAVY or n in HEAVY)
        print(
            f"\n{flag}: {len(rows)} modules imported; httpx/pydantic/rich/anyio among them: {heavy or 'none'}"
        )
        for name, self_us, cum in sorted(rows, key=lambda r: -r[2])[: args.top]:
            mark = "" if name.strip() in base else "  (+)"
            print(f"  {self_us / 1000:>7.2f} ms self {cum / 1000:>8.2f} ms cumulative  {name.strip()}{mark}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
