"""The test tiers' own rules (CONTRIBUTING.md, "Test tiers"): which command runs on xdist workers."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Dict

import conftest
import pytest


def config_of(has_xdist: bool = True, worker: bool = False, **options: Any) -> Any:
    values: Dict[str, Any] = {
        "numprocesses": None,
        "file_or_dir": [],
        "full": False,
        "usepdb": False,
        "collectonly": False,
        "tx": [],
        "dist": "no",
    }
    values.update(options)
    config = SimpleNamespace(
        option=SimpleNamespace(**values),
        pluginmanager=SimpleNamespace(hasplugin=lambda name: has_xdist and name == "xdist"),
    )
    if worker:
        config.workerinput = {}
    return config


def test_the_bare_command_runs_on_the_fast_tiers_workers() -> None:
    config = config_of()
    conftest.pytest_cmdline_main(config)
    assert config.option.numprocesses == conftest.FAST_TIER_WORKERS == 2
    assert config.option.tx == ["popen", "popen"] and config.option.dist == "load"


@pytest.mark.parametrize(
    "given",
    [
        {"numprocesses": 0},
        {"numprocesses": 4},
        {"file_or_dir": ["tests/test_client.py"]},
        {"full": True},
        {"usepdb": True},
        {"collectonly": True},
        {"has_xdist": False},
        {"worker": True},
    ],
    ids=["-n 0", "-n 4", "a named file", "--full", "--pdb", "--collect-only", "-p no:xdist", "a worker"],
)
def test_anything_else_runs_as_given(given: Dict[str, Any]) -> None:
    config = config_of(**given)
    before = dict(vars(config.option))
    conftest.pytest_cmdline_main(config)
    assert vars(config.option) == before
