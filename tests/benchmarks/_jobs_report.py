"""The figures of ``bench_jobs.py``: the floor, the table per scenario, and the targets (see its docstring)."""

from __future__ import annotations

import argparse
import statistics
from typing import Any, Dict, List, Protocol, Tuple

MB = 1_000_000
TOOLS = ("ours-sync", "ours-async", "official-sync", "official-async", "optimal")
OURS = ("ours-sync", "ours-async")
MAX_RSS_GROWTH_MB = 50.0
VS_OFFICIAL, VS_OPTIMAL = 0.5, 1.15


class Scenario(Protocol):
    name: str
    outputs: int
    output_size: int

    def describe(self) -> str: ...

    def bytes_up(self) -> int: ...


def floor_seconds(sc: Scenario, rates: List[Dict[str, float]], render: float) -> Tuple[float, str]:
    """Render time, all the uploads at the calibrated PUT rate, the largest job's outputs at the GET rate."""
    up, down = (statistics.median(r[k] for r in rates) for k in ("up", "down"))
    seconds = render + sc.bytes_up() / up + sc.outputs * sc.output_size / down
    return seconds, f"PUT {up / MB:.0f} MB/s, GET {down / MB:.0f} MB/s"


def mmm(values: List[float], fmt: str = "{:.3f}") -> str:
    return "/".join(fmt.format(v) for v in (min(values), statistics.median(values), max(values)))


def report(
    sc: Scenario,
    results: Dict[str, List[Dict[str, Any]]],
    rates: List[Dict[str, float]],
    args: argparse.Namespace,
) -> Dict[str, Any]:
    floor, shown = floor_seconds(sc, rates, args.render)
    notice_limit = max(0.5, 0.1 * args.render)
    print(f"\n{sc.describe()}; render {args.render:g} s, latency {args.latency * 1000:g} ms")
    print(f"floor {floor:.3f} s (render + transfers at plain httpx's best rates: {shown})")
    print(
        f"{'tool':15} {'wall s min/med/max':>20} {'cpu s min/med/max':>20} {'overhead s min/med/max':>23}"
        f" {'net s med':>9} {'rss +MB':>7} {'notice s med/max':>16}"
    )
    summary: Dict[str, Any] = {"scenario": sc.name, "floor": floor, "tools": {}, "checks": []}
    for tool in TOOLS:
        rows = results.get(tool)
        if not rows:
            print(f"{tool:15} (not run)")
            continue
        walls, cpus = [r["wall"] for r in rows], [r["cpu"] for r in rows]
        over, notices = [w - floor for w in walls], [r["notice"] for r in rows]
        net = [o - r["notice_last"] for o, r in zip(over, rows)]
        rss = max(r["rss_growth_mb"] for r in rows)
        print(
            f"{tool:15} {mmm(walls):>20} {mmm(cpus):>20} {mmm(over):>23} {statistics.median(net):9.3f}"
            f" {rss:7.1f} {statistics.median(notices):8.3f}/{max(notices):.3f}"
        )
        split = [statistics.median(r["phases"][i] for r in rows) for i in range(3)]
        print(
            f"{'':15} phases s (median): to the create {split[0]:.3f}, create to the first download"
            f" {split[1]:.3f}, first download to the return {split[2]:.3f}"
        )
        summary["tools"][tool] = {
            "wall": walls,
            "cpu": cpus,
            "overhead": over,
            "net_overhead": net,
            "rss_growth_mb": rss,
            "rss_growth_mb_rounds": [r["rss_growth_mb"] for r in rows],
            "notice": notices,
            "complete_to_return": [r["complete_to_return"] for r in rows],
        }
    tools = summary["tools"]

    def check(label: str, value: float, limit: float) -> None:
        ok = value <= limit
        summary["checks"].append({"check": label, "value": value, "limit": limit, "ok": ok})
        print(f"  {label:44} {value:8.3f}  (target <= {limit:g})  {'ok' if ok else 'MISSED'}")

    def med(tool: str, key: str) -> float:
        return float(statistics.median(tools[tool][key]))

    def ratio(tool: str, other: str, key: str) -> float:
        below = med(other, key)
        return med(tool, key) / below if below > 0 else float("inf")

    def info(label: str, value: float) -> None:
        print(f"  {label:44} {value:8.3f}")

    for tool in (t for t in OURS if t in tools):
        official = "official-" + tool.split("-")[1]
        if official in tools:
            check(f"{tool} overhead / {official}'s", ratio(tool, official, "overhead"), VS_OFFICIAL)
            info(f"{tool} cpu / {official}'s", ratio(tool, official, "cpu"))
        if "optimal" in tools:
            check(f"{tool} net overhead / optimal's", ratio(tool, "optimal", "net_overhead"), VS_OPTIMAL)
            info(f"{tool} overhead / optimal's", ratio(tool, "optimal", "overhead"))
            info(f"{tool} cpu / optimal's", ratio(tool, "optimal", "cpu"))
        check(f"{tool} RSS growth MB (max)", tools[tool]["rss_growth_mb"], MAX_RSS_GROWTH_MB)
        check(f"{tool} notice s (median)", med(tool, "notice"), notice_limit)
    return summary
