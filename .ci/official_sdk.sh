#!/usr/bin/env bash
# Install the official `magic-hour` SDK from PyPI into its own virtual environment, for
# tests/test_official_sdk_compat.py. Both packages are named `magic_hour`, so they must never meet in
# one interpreter: the compat test runs a script with this venv's python in a subprocess.
# The venv path is $MAGIC_HOUR_OFFICIAL_VENV (default .ci/.venv-official); the official SDK needs
# Python >= 3.10 ($OFFICIAL_SDK_PYTHON, else $PYTHON, else python3).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${MAGIC_HOUR_OFFICIAL_VENV:-.ci/.venv-official}
SPEC=${MAGIC_HOUR_OFFICIAL_SPEC:-magic-hour>=0.90,<0.91}

new_enough() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' 2>/dev/null; }
PY=""
for candidate in "${OFFICIAL_SDK_PYTHON:-}" "${PYTHON:-}" python3 python3.13 python3.12 python3.11 python3.10; do
  if [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1 && new_enough "$candidate"; then
    PY=$candidate
    break
  fi
done
if [ -z "$PY" ]; then
  # Not an error: the compat test is skipped when the venv does not exist, and says why.
  echo "official_sdk.sh: no Python >= 3.10 found (the official magic-hour SDK needs it); not installing" >&2
  exit 0
fi

echo "== official magic-hour SDK into $VENV"
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
# Keep the venv out of git whatever the repository's .gitignore says.
echo '*' > "$VENV/.gitignore"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check "$SPEC"
"$VENV/bin/python" -c 'import importlib.metadata as m; print("official magic-hour", m.version("magic-hour"))'
