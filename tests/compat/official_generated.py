"""Reads the official SDK repository's generated tests (its ``tests/test_v1_*_client.py``) and prints
the calls they make as JSON: one entry per test, the operation called, its keyword arguments and the
response model it checks. ``tests/compat/official_generated_calls.json`` is that output; the tests in
``tests/test_official_generated.py`` replay it on our package against the fake in hosted-mock mode.

Only the calls are kept (data: which operation, with which literal arguments), not the test code.

The official repository is MIT-licensed: its notice (``LICENSE_FILE``, the repository's ``LICENSE``) is
kept in the output.

Usage: python tests/compat/official_generated.py SOURCE_LABEL LICENSE_FILE TESTS_DIR [TESTS_DIR...]
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional


def _call_of(fn: ast.AST) -> Optional[ast.Call]:
    """The ``client.v1.<resource>.<method>(...)`` call of a test function."""
    for node in ast.walk(fn):
        if isinstance(node, ast.Call):
            parts: List[str] = []
            target: ast.AST = node.func
            while isinstance(target, ast.Attribute):
                parts.append(target.attr)
                target = target.value
            if isinstance(target, ast.Name) and target.id == "client" and parts[-1:] == ["v1"]:
                return node
    return None


def _dotted(node: ast.AST) -> str:
    parts: List[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return ".".join(reversed(parts))


def _model_of(fn: ast.AST) -> Optional[str]:
    """The model the test validates the response against (``models.X``), or None (``is None``)."""
    for node in ast.walk(fn):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "models":
            return node.attr
    return None


def extract(path: Path) -> List[Dict[str, Any]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: List[Dict[str, Any]] = []
    for fn in tree.body:
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) or not fn.name.startswith("test_"):
            continue
        call = _call_of(fn)
        if call is None:
            raise SystemExit(f"{path.name}::{fn.name}: no client.v1 call")
        kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords if kw.arg is not None}
        out.append(
            {
                "test": f"{path.name}::{fn.name}",
                "mode": "async" if isinstance(fn, ast.AsyncFunctionDef) else "sync",
                "call": _dotted(call.func),  # "v1.ai_image_editor.create"
                "kwargs": kwargs,
                "response": _model_of(fn),
            }
        )
    return out


def main(argv: List[str]) -> None:
    label, license_file, dirs = argv[0], argv[1], argv[2:]
    calls = [c for d in dirs for p in sorted(Path(d).glob("test_v1_*_client.py")) for c in extract(p)]
    notice = Path(license_file).read_text(encoding="utf-8").strip().splitlines()
    doc = {"source": label, "license": notice, "calls": sorted(calls, key=lambda c: c["test"])}
    json.dump(doc, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
