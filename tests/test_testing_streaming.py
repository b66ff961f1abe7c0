"""Big uploads stream through the fake in chunks (flat memory), and ``python -m magic_hour.testing`` serves."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

import httpx
import pytest
from conftest import Flavor

from magic_hour.testing import FakeMagicHour

pytestmark = [pytest.mark.anyio, pytest.mark.full]

SIZE = 64 * 1024 * 1024
CHUNK = b"\x5a" * (1024 * 1024)
DIGEST = hashlib.sha256(CHUNK * (SIZE // len(CHUNK))).hexdigest()
MEMORY_LIMIT = 8 * 1024 * 1024  # far below SIZE: the body is never held whole


def _chunks() -> Iterator[bytes]:
    for _ in range(SIZE // len(CHUNK)):
        yield CHUNK


async def _achunks() -> AsyncIterator[bytes]:
    for chunk in _chunks():
        yield chunk


@pytest.mark.parametrize("mode", ["transport", "server"])
@pytest.mark.parametrize("storage", ["spool", "hash-only"])
async def test_a_big_upload_never_sits_in_memory(
    sdk: Flavor, tmp_path: Path, mode: str, storage: str
) -> None:
    kwargs: Any = {"spool_dir": tmp_path} if storage == "spool" else {"keep_content": False}
    with FakeMagicHour(**kwargs) as fake, fake.serve() as server:
        if mode == "transport":
            client = sdk.client(
                token=fake.token,
                base_url=fake.base_url,
                httpx_client=sdk.httpx_client(transport=fake.transport()),
            )
            http = sdk.httpx_client(transport=fake.transport())
        else:
            client = sdk.client(token=fake.token, base_url=server.url)
            http = sdk.httpx_client()
        res = await sdk.create(client, items=[{"extension": "mov", "type_": "video"}])
        item = res.items[0]
        body = _achunks() if sdk.is_async else _chunks()
        tracemalloc.start()
        try:
            response = await sdk.call(
                http.put, item.upload_url, content=body, headers={"Content-Length": str(SIZE)}
            )
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert response.status_code == 200
        assert peak < MEMORY_LIMIT, f"peak {peak} bytes while streaming {SIZE}"
        stored = fake.file(item.file_path)
        assert (stored.size, stored.sha256, stored.content) == (SIZE, DIGEST, None)
        if storage == "spool":
            assert stored.path is not None and stored.path.stat().st_size == SIZE
        else:
            assert stored.path is None


def test_python_m_serves_until_interrupted(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "magic_hour.testing", "--token", "cli-token", "--spool-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("FakeMagicHour serving at http://127.0.0.1:"), first
        url = first.split()[3]
        assert (
            proc.stdout.readline().strip()
            == f"export MAGIC_HOUR_BASE_URL={url} MAGIC_HOUR_API_TOKEN=cli-token"
        )
        assert proc.stdout.readline().strip() == "Press Ctrl+C to stop."
        with httpx.Client() as http:
            body = {"items": [{"extension": "mp4", "type": "video"}]}
            auth = {"Authorization": "Bearer cli-token"}
            res = http.post(url + "/v1/files/upload-urls", json=body, headers=auth)
            assert res.status_code == 200
            item = res.json()["items"][0]
            assert http.put(item["upload_url"], content=b"from the cli").status_code == 200
        assert (tmp_path / item["file_path"]).read_bytes() == b"from the cli"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
        assert out.strip() == "stopped: 2 requests, 1 files stored"
        assert err == ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_python_m_stops_on_sigterm() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "magic_hour.testing", "--mock-server"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("FakeMagicHour serving at ")
        with httpx.Client() as http:  # --mock-server: any token, any project id
            res = http.get(
                first.split()[3] + "/v1/image-projects/cuid-example", headers={"Authorization": "Bearer x"}
            )
            assert (res.status_code, res.json()["id"]) == (200, "cuid-example")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
