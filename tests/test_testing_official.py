"""The official ``magic-hour`` SDK pointed at our fake (``base_url=``) calls every operation of the
description with its example values, sync and async, and parses every answer.

Runs ``tests/compat/official_every_operation.py`` with the official SDK's venv python (both packages
are named ``magic_hour``); skipped only when that venv does not exist (``$MAGIC_HOUR_OFFICIAL_VENV``,
default ``.ci/.venv-official``; CI makes it with ``.ci/official_sdk.sh``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest

from magic_hour.testing import FakeMagicHour
from magic_hour.testing._spec import load_spec

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(__file__).resolve().parent / "compat" / "official_every_operation.py"
API_JSON = ROOT / "magic_hour" / "_data" / "api.json"
VENV = Path(os.environ.get("MAGIC_HOUR_OFFICIAL_VENV", ROOT / ".ci" / ".venv-official"))
PYTHON = VENV / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
OPS = sorted(load_spec().operations.values(), key=lambda op: op.key)

pytestmark = pytest.mark.skipif(
    not PYTHON.exists(), reason=f"no official SDK venv at {VENV} (run: bash .ci/official_sdk.sh)"
)


@pytest.fixture(scope="module")
def run() -> Iterator[Dict[str, Any]]:
    with FakeMagicHour(tokens="official-sdk-token") as fake, fake.serve() as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        env.update(MAGIC_HOUR_FAKE_URL=server.url, MAGIC_HOUR_FAKE_TOKEN=fake.token)
        proc = subprocess.run(
            [str(PYTHON), "-I", str(SCRIPT), str(API_JSON)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        yield {"out": json.loads(proc.stdout), "fake": fake}


@pytest.mark.parametrize("flavor", ["sync", "async"])
@pytest.mark.parametrize("op", OPS, ids=[op.route for op in OPS])
def test_the_official_sdk_calls_every_operation(run: Dict[str, Any], op: Any, flavor: str) -> None:
    result = run["out"][flavor][op.key]
    assert "error" not in result, result
    _, content = op.success
    if content is None:
        assert result["type"] is None  # e.g. DELETE: 204, the official SDK returns None
    else:
        assert result["type"].startswith("V1") and result["type"].endswith("Response")
        if op.creates:
            assert result["body"]["id"] in {p.id for p in run["fake"].projects}


def test_every_operation_reached_the_fake_twice_and_succeeded(run: Dict[str, Any]) -> None:
    fake: FakeMagicHour = run["fake"]
    api = fake.requests_to("api")
    assert Counter(r.operation for r in api) == Counter({op.key: 2 for op in OPS})
    assert all(r.status is not None and 200 <= r.status < 300 for r in api), [
        (r.operation, r.status) for r in api if not (r.status and r.status < 300)
    ]
