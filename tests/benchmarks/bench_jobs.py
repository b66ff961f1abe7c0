"""End-to-end jobs benchmark (run by hand): ``generate()`` against the official SDK and an optimal script.

    python tests/benchmarks/bench_jobs.py [--rounds 5] [--only faceswap,imagegen,concurrent]
        [--render 2.0] [--latency 0.05] [--size-mb 50] [--gen-mb 10] [--jobs 20] [--conc-mb 2]
        [--tools ours-sync,...] [--sdk-root CHECKOUT] [--json FILE] [--profile TOOL] [--calibrate-mb 10]
        [--transfers N|none]

The fake (``magic_hour.testing``) serves on 127.0.0.1 from this process, with ``--latency`` before every
answer (API, storage PUTs, downloads) and projects that render for ``--render`` seconds. Scenarios:

- ``faceswap``: ``face_swap_photo.generate`` with two ``--size-mb`` MB inputs and one output of that size;
- ``imagegen``: ``ai_image_generator.generate(image_count=4)``, four ``--gen-mb`` MB outputs;
- ``concurrent``: ``--jobs`` face swaps at once (two ``--conc-mb`` MB inputs, one output each), one client.

Tools, each case in a fresh child (``_jobs_child.py``), the order rotating every round: ours sync and
async (``PYTHONPATH=--sdk-root``), the official ``magic-hour`` 0.90 sync and async in its own venv
(``bash .ci/official_sdk.sh``; ``$MAGIC_HOUR_OFFICIAL_VENV``; skipped with a note when missing), and
``_jobs_optimal.py`` (plain async httpx, streamed, concurrent). Concurrent sync jobs run in threads.

Per tool: wall and CPU seconds of the child (min/median/max), RSS growth (peak minus the RSS before the
jobs, max), the overhead (wall minus the floor no client can beat: render time plus the transfers at
plain httpx's best rates, calibrated each round), the notice (from the fake's project completing to its
first download request: completion -> return minus the download time; the worst job of the case) and
the net overhead (overhead minus the notice of the job that returned last: the implementation's own
cost, without where the polls happened to fall against the completion), and where the time went
(phases: uploads up to the create, the render and polls up to the first download, the downloads).

Targets (ours, sync and async, each scenario; exit 1 when one is missed): overhead <= 0.5x the
official's (same mode), net overhead <= 1.15x the optimal script's (which polls on our schedule; medians);
RSS growth <= 50 MB; notice <= max(0.5 s, 10% of the render time) (median). tests/benchmarks/README.md
has the commands and the last figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from typing import Any, Dict, List, Optional, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _jobs_report import MB, TOOLS, report

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CHILD = os.path.join(HERE, "_jobs_child.py")
POLL = 0.25  # the optimal script's interval: our wait()'s for renders under ~3 s


def make_file(path: str, size: int) -> str:
    block = (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4096)[: 1 << 20]
    with open(path, "wb") as f:
        while size > 0:
            f.write(block[:size])
            size -= min(size, len(block))
    return path


class Scenario:
    def __init__(self, name: str, op: str, jobs: int, inputs_mb: float, outputs: int, out_mb: float) -> None:
        self.name, self.op, self.count = name, op, jobs
        self.inputs_mb, self.outputs, self.out_mb = inputs_mb, outputs, out_mb
        self.output_size = max(1, int(out_mb * MB))

    def describe(self) -> str:
        ins = f"2 x {self.inputs_mb:g} MB in, " if self.op == "face_swap_photo" else ""
        return f"{self.name}: {self.count} x {self.op}, {ins}{self.outputs} x {self.out_mb:g} MB out"

    def make_inputs(self, folder: str) -> List[List[str]]:
        size = max(1, int(self.inputs_mb * MB))
        if self.op != "face_swap_photo":
            return [[] for _ in range(self.count)]
        return [
            [make_file(os.path.join(folder, f"{self.name}-{i}-{s}.png"), size) for s in "st"]
            for i in range(self.count)
        ]

    def bytes_up(self) -> int:
        return self.count * 2 * max(1, int(self.inputs_mb * MB)) if self.op == "face_swap_photo" else 0


def official_python() -> str:
    venv = os.environ.get("MAGIC_HOUR_OFFICIAL_VENV", os.path.join(ROOT, ".ci", ".venv-official"))
    return os.path.join(venv, "bin", "python")


def child_command(tool: str, args: argparse.Namespace) -> Optional[Tuple[List[str], Dict[str, str]]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAGIC_HOUR_") and k != "PYTHONPATH"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # users' installs have bytecode caches
    if tool.startswith("official"):
        python = official_python()
        return ([python, CHILD], env) if os.path.exists(python) else None
    env["PYTHONPATH"] = args.sdk_root
    return [args.python, CHILD], env


def run_case(
    fake: Any,
    url: str,
    tool: str,
    sc: Scenario,
    inputs: List[List[str]],
    warm: List[str],
    args: argparse.Namespace,
    work: str,
) -> Optional[Dict[str, Any]]:
    command = child_command(tool, args)
    if command is None:
        return None
    fake.reset()
    fake.set_latency(args.latency)
    fake.render_seconds, fake.output_size = args.render, sc.output_size
    jobs = []
    for i in range(sc.count):
        out = tempfile.mkdtemp(prefix=f"{tool}-{i}-", dir=work)
        jobs.append({"op": sc.op, "inputs": inputs[i], "image_count": sc.outputs, "out": out, "warm": warm})
    spec = {
        "tool": "optimal" if tool == "optimal" else "sdk",
        "mode": tool.rsplit("-", 1)[-1],
        "base_url": url,
        "token": fake.token,
        "jobs": jobs,
        "poll_interval": POLL,
        "profile": args.profile == tool,
        "fsync": not args.optimal_no_fsync,
    }
    if args.transfers is not None and tool.startswith("ours"):
        bound = None if args.transfers.lower() == "none" else int(args.transfers)
        spec["client_kwargs"] = {"max_concurrent_transfers": bound}
    proc = subprocess.run(
        [*command[0], json.dumps(spec)], env=command[1], capture_output=True, text=True, cwd=work, timeout=600
    )
    if proc.returncode != 0 or not proc.stdout.strip():
        raise SystemExit(f"{tool} {sc.name} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    if args.profile == tool:
        print(f"--- cProfile of {tool}, {sc.name} (cProfile slows it: figures of this case are off)")
        print(proc.stderr)
    res: Dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    for job in jobs:  # every output is there, whole
        sizes = sorted(os.path.getsize(os.path.join(job["out"], n)) for n in os.listdir(job["out"]))
        if sizes != [sc.output_size] * sc.outputs:
            raise SystemExit(f"{tool} {sc.name}: wrong outputs in {job['out']}: {sizes}")
        shutil.rmtree(job["out"])
    downloads = fake.requests_to("downloads")
    creates = [r.time for r in fake.requests if r.route and r.route.endswith(".create")]
    res["phases"] = phases(res, creates, downloads)
    notices, returns = [], []
    for pid, returned in res["returns"]:
        project = fake.project(pid)
        done = project.created_at + project.queue_seconds + project.render_seconds
        first = min(r.time for r in downloads if f"/{pid}/" in r.path)
        notices.append(first - done)
        returns.append(returned - done)
    last = max(range(len(returns)), key=lambda i: res["returns"][i][1])
    res.update(
        tool=tool,
        notice=max(notices),
        notice_last=notices[last],
        complete_to_return=statistics.median(returns),
    )
    res["rss_growth_mb"] = max(0, res["rss_peak_kib"] - res["rss_base_kib"]) * 1024 / MB
    return res


def phases(res: Dict[str, Any], creates: List[float], downloads: List[Any]) -> List[float]:
    """Seconds from the start to the last create reaching the fake (inputs uploaded), from there to the
    first download request (render and notice), and from the first download request to the last return."""
    start, end = res["started"], max(t for _, t in res["returns"])
    created = max(t for t in creates if t >= start)
    first = min(r.time for r in downloads if r.time >= start)
    return [created - start, first - created, end - first]


def calibrate(fake: Any, url: str, args: argparse.Namespace, work: str, size: int) -> Dict[str, float]:
    """Plain httpx's best PUT and GET rates here (no latency), in a child like the others."""
    fake.reset()
    fake.render_seconds, fake.output_size = 0.0, size
    path = make_file(os.path.join(work, "calibration.png"), size)
    spec = {
        "tool": "calibrate",
        "base_url": url,
        "token": fake.token,
        "file": path,
        "out": os.path.join(work, "calibration-out.png"),
    }
    command = child_command("optimal", args)
    assert command is not None
    proc = subprocess.run(
        [*command[0], json.dumps(spec)], env=command[1], capture_output=True, text=True, cwd=work, timeout=600
    )
    if proc.returncode != 0:
        raise SystemExit(f"calibration failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    os.remove(path)
    rates: Dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return rates


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", default="faceswap,imagegen,concurrent")
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--render", type=float, default=2.0, help="seconds each project renders")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds before every answer")
    parser.add_argument("--size-mb", type=float, default=50, help="faceswap: each input and the output")
    parser.add_argument("--gen-mb", type=float, default=10, help="imagegen: each of the 4 outputs")
    parser.add_argument("--jobs", type=int, default=20, help="concurrent: how many jobs")
    parser.add_argument("--conc-mb", type=float, default=2, help="concurrent: each input and output")
    parser.add_argument("--sdk-root", default=ROOT, help="the checkout whose magic_hour is measured")
    parser.add_argument("--python", default=sys.executable, help="interpreter for ours and the optimal")
    parser.add_argument("--calibrate-mb", type=float, default=10, help="size of the calibration transfers")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument(
        "--optimal-no-fsync",
        action="store_true",
        help="the optimal script does not sync its outputs (by default it does, as ours do: the same guarantee)",
    )
    parser.add_argument("--profile", choices=TOOLS, help="print a cProfile of this tool's cases")
    parser.add_argument(
        "--transfers",
        help="ours only: the clients' max_concurrent_transfers (an integer, or 'none'); default: the SDK's",
    )
    args = parser.parse_args()
    scenarios = {
        "faceswap": Scenario("faceswap", "face_swap_photo", 1, args.size_mb, 1, args.size_mb),
        "imagegen": Scenario("imagegen", "ai_image_generator", 1, 0, 4, args.gen_mb),
        "concurrent": Scenario("concurrent", "face_swap_photo", args.jobs, args.conc_mb, 1, args.conc_mb),
    }
    chosen = [scenarios[name] for name in args.only.split(",")]
    tools = [t for t in TOOLS if t in args.tools.split(",")]
    sys.path.insert(0, args.sdk_root)
    from magic_hour.testing import FakeMagicHour

    transfers = f", max_concurrent_transfers={args.transfers}" if args.transfers is not None else ""
    print(
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} cpus, "
        f"{args.rounds} rounds; ours from {args.sdk_root}{transfers}"
    )
    if any(t.startswith("official") for t in tools) and not os.path.exists(official_python()):
        print(f"no official SDK at {official_python()}: its cases are skipped (bash .ci/official_sdk.sh)")
    summaries = []
    with tempfile.TemporaryDirectory(prefix="bench-jobs-") as work, FakeMagicHour(keep_content=False) as fake:
        server = fake.serve()
        warm = [make_file(os.path.join(work, f"warm-{s}.png"), 1024) for s in "st"]
        for sc in chosen:
            inputs = sc.make_inputs(work)
            results: Dict[str, List[Dict[str, Any]]] = {t: [] for t in tools}
            rates = []
            for rnd in range(args.rounds):
                rates.append(calibrate(fake, server.url, args, work, max(1, int(args.calibrate_mb * MB))))
                order = tools[rnd % len(tools) :] + tools[: rnd % len(tools)]
                for tool in order:
                    res = run_case(fake, server.url, tool, sc, inputs, warm, args, work)
                    if res is not None:
                        results[tool].append(res)
            summaries.append(report(sc, {t: r for t, r in results.items() if r}, rates, args))
            for paths in inputs:
                for path in paths:
                    os.remove(path)
    print(f"\nload average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"load": os.getloadavg(), "scenarios": summaries}, f, indent=1)
    missed = [c for s in summaries for c in s["checks"] if not c["ok"]]
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
