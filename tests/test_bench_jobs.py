"""``tests/benchmarks/bench_jobs.py`` runs end to end with tiny sizes, so it cannot rot unnoticed.

Its figures are the lead's business on a quiet machine; this only checks that every tool runs its jobs
against the fake's real server (the script checks each output's size), and that the table and the JSON
are well formed. No timing is asserted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.full

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "tests" / "benchmarks" / "bench_jobs.py"
VENV = Path(os.environ.get("MAGIC_HOUR_OFFICIAL_VENV", ROOT / ".ci" / ".venv-official"))


def test_bench_jobs_runs_every_tool_and_prints_well_formed_figures(tmp_path: Path) -> None:
    tools = ["ours-sync", "ours-async", "optimal"]
    if (VENV / "bin" / "python").exists():
        tools.append("official-async")
    figures = tmp_path / "figures.json"
    command = [sys.executable, str(BENCH), "--rounds", "1", "--only", "concurrent", "--jobs", "2"]
    command += ["--conc-mb", "0.05", "--calibrate-mb", "0.05", "--render", "0.05", "--latency", "0"]
    command += ["--tools", ",".join(tools), "--json", str(figures)]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=tmp_path)

    assert proc.returncode in (0, 1), proc.stderr  # 1: a target missed, which tiny sizes may well do
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "concurrent: 2 x face_swap_photo" in proc.stdout
    [scenario] = json.loads(figures.read_text())["scenarios"]
    assert sorted(scenario["tools"]) == sorted(tools)
    for tool, figures_of in scenario["tools"].items():
        assert len(figures_of["wall"]) == 1, tool
        assert figures_of["wall"][0] > 0 and figures_of["cpu"][0] > 0, tool
        assert figures_of["rss_growth_mb"] >= 0, tool
        assert tool.split("-")[0] in proc.stdout
    labels = [check["check"] for check in scenario["checks"]]
    for ours in ("ours-sync", "ours-async"):
        assert f"{ours} net overhead / optimal's" in labels
        assert f"{ours} RSS growth MB (max)" in labels
        assert f"{ours} notice s (median)" in labels
        if "official-async" in tools and ours == "ours-async":
            assert f"{ours} overhead / official-async's" in labels
    assert all(isinstance(check["ok"], bool) for check in scenario["checks"])
