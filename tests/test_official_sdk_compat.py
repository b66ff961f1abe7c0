"""The official ``magic-hour`` SDK from PyPI works unchanged against our fake's real server.

Both packages are named ``magic_hour``, so they never meet in one interpreter: ``.ci/official_sdk.sh``
installs the official one into its own venv, and this test runs ``tests/compat/official_sdk_script.py``
with that venv's python while our fake serves in this process. Skipped only when that venv does not
exist (``$MAGIC_HOUR_OFFICIAL_VENV``, default ``.ci/.venv-official``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest

from magic_hour.testing import FakeMagicHour, FakeServer

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(__file__).resolve().parent / "compat" / "official_sdk_script.py"
VENV = Path(os.environ.get("MAGIC_HOUR_OFFICIAL_VENV", ROOT / ".ci" / ".venv-official"))
PYTHON = VENV / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")

pytestmark = pytest.mark.skipif(
    not PYTHON.exists(), reason=f"no official SDK venv at {VENV} (run: bash .ci/official_sdk.sh)"
)

SAMPLES = {
    "clip.mp4": b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40,
    "photo.png": b"\x89PNG\r\n\x1a\n" + b"\x01\x02" * 3000,
    "voice.wav": b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 5000,
}


@pytest.fixture(scope="module")
def run() -> Iterator[Dict[str, Any]]:
    """Run the official SDK once against a fake server; yield its output, the fake and the server."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp, FakeMagicHour(tokens="official-sdk-token") as fake:
        for name, data in SAMPLES.items():
            Path(tmp, name).write_bytes(data)
        with fake.serve() as server:
            env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
            env.update(MAGIC_HOUR_FAKE_URL=server.url, MAGIC_HOUR_FAKE_TOKEN=fake.token)
            proc = subprocess.run(
                [str(PYTHON), "-I", str(SCRIPT), tmp],
                env=env,
                cwd=tmp,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert proc.returncode == 0, proc.stderr
            yield {"out": json.loads(proc.stdout), "fake": fake, "server": server}


def test_it_is_really_the_official_sdk(run: Dict[str, Any]) -> None:
    out = run["out"]
    assert out["sdk_version"].startswith("0.90.")
    assert Path(out["sdk_file"]).resolve().is_relative_to(VENV.resolve())  # not our package


def test_official_create_gets_the_fakes_urls_in_order(run: Dict[str, Any]) -> None:
    fake: FakeMagicHour = run["fake"]
    server: FakeServer = run["server"]
    created = run["out"]["sync"]["create"]
    assert [c["file_path"].rsplit("/", 1)[1] for c in created] == ["video.mp4", "audio.mp3"]
    issued = {i.file_path: i for i in fake.issued}
    for c in created:
        assert c["upload_url"] == issued[c["file_path"]].upload_url
        assert c["upload_url"].startswith(server.storage_url + "/" + c["file_path"] + "?")
        assert c["expires_at"].endswith("Z")  # the official SDK hands back the raw string
    api_calls = fake.requests_to("upload_urls")
    assert api_calls[0].json == {
        "items": [{"extension": "mp4", "type": "video"}, {"extension": "mp3", "type": "audio"}]
    }
    assert all(r.headers["authorization"].startswith("Bearer ") for r in api_calls)


def test_official_upload_file_stores_the_exact_bytes(run: Dict[str, Any]) -> None:
    fake: FakeMagicHour = run["fake"]
    uploaded = {**run["out"]["sync"]["uploaded"], **run["out"]["async"]["uploaded"]}
    expected = {
        "clip.mp4 (str path)": ("clip.mp4", "video.mp4"),
        "photo.png (pathlib.Path)": ("photo.png", "image.png"),
        "voice.wav (file object)": ("voice.wav", "audio.wav"),
        "photo.png (async)": ("photo.png", "image.png"),
    }
    assert set(uploaded) == set(expected)
    for label, file_path in uploaded.items():
        sample, stored_name = expected[label]
        assert file_path.startswith("api-assets/") and file_path.endswith("/" + stored_name), label
        assert fake.file(file_path).content == SAMPLES[sample], label
    storage = fake.requests_to("storage")
    assert [r.status for r in storage] == [200] * 4
    assert all("authorization" not in r.headers for r in storage)
    assert all(r.headers.get("content-length") == str(r.body_size) for r in storage)


def test_official_sdk_sees_the_fakes_401(run: Dict[str, Any]) -> None:
    assert run["out"]["sync"]["unauthorized"] == {"status_code": 401, "body": {"message": "Unauthorized"}}
