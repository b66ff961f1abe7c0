"""``python -m codegen`` writes the generated files; ``python -m codegen --check`` verifies them.

``--root DIR`` runs on another checkout (the tests use a temporary copy). The check exits 1 and lists
every file that differs, is missing, or is a left-over generated file no output produces any more.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Dict, List, Optional

from .load import ROOT, load
from .outputs import MARKER, ROOTS, render_all


def _marked(root: Path) -> List[str]:
    found = []
    for top in ROOTS:
        base = root / top
        if not base.is_dir():
            continue
        for path in base.rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                try:
                    head = path.read_bytes()[:300].decode("utf-8", "replace")
                except OSError:
                    continue
                if MARKER in head:
                    found.append(path.relative_to(root).as_posix())
    return sorted(found)


def diff(root: Path, files: Dict[str, str]) -> List[str]:
    problems = []
    for rel, text in files.items():
        path = root / rel
        if not path.exists():
            problems.append(f"missing: {rel}")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"differs: {rel}")
    problems += [f"extra:   {rel}" for rel in _marked(root) if rel not in files]
    return problems


def write(root: Path, files: Dict[str, str]) -> List[str]:
    changed = []
    for rel, text in files.items():
        path = root / rel
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
        changed.append(f"wrote:   {rel}")
    for rel in _marked(root):
        if rel not in files:
            (root / rel).unlink()
            changed.append(f"removed: {rel}")
    return changed


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m codegen", description=__doc__)
    parser.add_argument("--check", action="store_true", help="verify instead of writing; exit 1 on drift")
    parser.add_argument(
        "--root", type=Path, default=ROOT, help="checkout to write or check (default: this one)"
    )
    args = parser.parse_args(argv)
    root: Path = args.root.resolve()
    files = render_all(load(root / "spec"))
    if args.check:
        problems = diff(root, files)
        for line in problems:
            print(line)
        if problems:
            print(f"codegen --check: {len(problems)} generated file(s) out of date; run `python -m codegen`")
            return 1
        print(f"codegen --check: {len(files)} generated files up to date")
        return 0
    for line in write(root, files):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
