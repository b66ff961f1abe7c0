"""``magic_hour.testing`` is laid out like what it fakes: modules of one job each, no import cycle.

The front-ends (``_server``, ``_transport``) depend on the fake's state, never the other way round;
every module imports on its own in a fresh interpreter.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Set

import pytest

import magic_hour.testing

pytestmark = pytest.mark.full

PACKAGE = "magic_hour.testing"
ROOT = Path(magic_hour.testing.__file__).parent
MODULES = sorted(p.stem for p in ROOT.glob("*.py"))


def _imports(module: str) -> Set[str]:
    """The sibling modules ``module`` imports anywhere (top level, functions, TYPE_CHECKING blocks)."""
    tree = ast.parse((ROOT / f"{module}.py").read_text())
    found: Set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:
                if node.module:
                    found.add(node.module.split(".")[0])
                else:
                    found.update(alias.name for alias in node.names)
            elif node.level == 0 and node.module and node.module.startswith(PACKAGE + "."):
                found.add(node.module[len(PACKAGE) + 1 :].split(".")[0])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(PACKAGE + "."):
                    found.add(alias.name[len(PACKAGE) + 1 :].split(".")[0])
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("._"):
            found.add(node.value[1:])  # __init__'s lazy table: {"FakeMagicHour": "._fake", ...}
    return found & set(MODULES)


GRAPH: Dict[str, Set[str]] = {m: _imports(m) for m in MODULES}


def _cycle() -> List[str]:
    state: Dict[str, int] = {}  # 1: on the stack, 2: done
    stack: List[str] = []

    def visit(node: str) -> List[str]:
        state[node] = 1
        stack.append(node)
        for dep in sorted(GRAPH[node]):
            if state.get(dep) == 1:
                return [*stack[stack.index(dep) :], dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return []

    for module in MODULES:
        if module not in state:
            found = visit(module)
            if found:
                return found
    return []


def test_the_cycle_check_sees_imports() -> None:
    assert {"_state", "_exchange"} <= GRAPH["_transport"] | GRAPH["_server"]
    assert "_fake" in GRAPH["__init__"]  # the lazy table counts


def test_no_import_cycle() -> None:
    assert _cycle() == []


@pytest.mark.parametrize("front", ["_server", "_transport"])
def test_front_ends_depend_on_the_fake_not_the_other_way(front: str) -> None:
    assert "_fake" not in GRAPH[front]
    reaches: Set[str] = set()
    todo = [m for m in MODULES if m not in ("_fake", "__init__", "__main__", front)]
    for module in todo:
        seen, queue = set(), [module]
        while queue:
            current = queue.pop()
            for dep in GRAPH[current]:
                if dep not in seen:
                    seen.add(dep)
                    queue.append(dep)
        if front in seen:
            reaches.add(module)
    # Only the facade (and the package's lazy table / CLI) may reach a front-end.
    assert reaches == set()


@pytest.mark.parametrize("module", [m for m in MODULES if m != "__main__"])
def test_module_imports_alone(module: str) -> None:
    name = PACKAGE if module == "__init__" else f"{PACKAGE}.{module}"
    code = f"import importlib; importlib.import_module({name!r})"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
