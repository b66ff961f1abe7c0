"""The first call of an async method imports pydantic and its response model in a worker thread, not on
the event loop (``magic_hour/_core/preload.py``), under asyncio and trio; sync calls import directly."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.full

SCRIPT = r"""
import sys, threading
import httpx

loaders = {}

class Spy:  # records which thread first looks for each module
    def find_spec(self, name, path=None, target=None):
        loaders.setdefault(name, threading.current_thread() is threading.main_thread())
        return None

sys.meta_path.insert(0, Spy())
from magic_hour import AsyncClient, Client

assert "pydantic" not in sys.modules, "import magic_hour must not import pydantic"
body = {"items": [{"upload_url": "https://s/x.mp4?sig=1", "expires_at": "2099-01-01T00:00:00Z",
                   "file_path": "api-assets/x.mp4"}]}
transport = httpx.MockTransport(lambda request: httpx.Response(200, json=body))
items = [{"extension": "mp4", "type_": "video"}]
mode = sys.argv[1]
if mode == "sync":
    with Client(token="t", httpx_client=httpx.Client(transport=transport)) as client:
        res = client.v1.files.upload_urls.create(items=items)
else:
    async def main():
        async with AsyncClient(token="t", httpx_client=httpx.AsyncClient(transport=transport)) as client:
            return await client.v1.files.upload_urls.create(items=items)
    if mode == "trio":
        import trio
        res = trio.run(main)
    else:
        import asyncio
        res = asyncio.run(main())
assert res.items[0].file_path == "api-assets/x.mp4"
model = "magic_hour.types.models.v1_files_upload_urls_create_response"
print(loaders["pydantic"], loaders[model])
"""


@pytest.mark.parametrize(("mode", "on_main_thread"), [("sync", True), ("asyncio", False), ("trio", False)])
def test_first_call_imports_the_model_off_the_event_loop(mode: str, on_main_thread: bool) -> None:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, check=True, timeout=120
    ).stdout.split()
    assert out == [str(on_main_thread)] * 2, out


POOL_SCRIPT = r"""
import ssl, sys, threading

loads = []
_load = ssl.SSLContext.load_verify_locations

def spy(self, *args, **kwargs):  # which thread loads the TLS trust store (tens of ms)
    loads.append(threading.current_thread() is threading.main_thread())
    return _load(self, *args, **kwargs)

ssl.SSLContext.load_verify_locations = spy
from magic_hour import AsyncClient, ApiConnectionError

async def main():
    import anyio

    client = AsyncClient(token="t", base_url="http://127.0.0.1:9", max_retries=0)
    made = len(loads)

    async def call():
        try:
            await client.v1.files.upload_urls.create(items=[{"extension": "mp4", "type_": "video"}])
        except ApiConnectionError:
            pass

    async with anyio.create_task_group() as tg:  # first calls at once (sys.argv[2] of them)
        for _ in range(int(sys.argv[2])):
            tg.start_soon(call)
    await client.aclose()
    return made

if sys.argv[1] == "trio":
    import trio
    made = trio.run(main)
else:
    import asyncio
    made = asyncio.run(main())
print(made, *loads)
"""


@pytest.mark.parametrize("calls", [1, 8], ids=["one-call", "8-first-calls-at-once"])
@pytest.mark.parametrize("mode", ["asyncio", "trio"])
def test_async_client_makes_its_pool_off_the_event_loop(mode: str, calls: int) -> None:
    # AsyncClient() does not make the pool (which loads the TLS trust store); its first call makes it in a
    # worker thread, once: first calls at once wait for that pool (each made its own before, 8 loads).
    out = subprocess.run(
        [sys.executable, "-c", POOL_SCRIPT, mode, str(calls)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.split()
    assert out == ["0", "False"], out


JOB_SCRIPT = r"""
import pathlib, sys, tempfile, threading

on_loop = []
watching = False

class Spy:  # records what the calling thread imports during the call
    def find_spec(self, name, path=None, target=None):
        if watching and threading.current_thread() is threading.main_thread():
            on_loop.append(name)
        return None

sys.meta_path.insert(0, Spy())
from magic_hour.testing import FakeMagicHour

fake = FakeMagicHour()
folder = pathlib.Path(tempfile.mkdtemp())
photo = folder / "a.png"
photo.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
mode, call = sys.argv[1], sys.argv[2]

def start(client):
    if call == "upload_file":
        return client.v1.files.upload_file(str(photo))
    if call == "upload_files":
        return client.v1.files.upload_files([str(photo)])
    if call == "batch":
        job = {"tool": "image_background_remover", "params": {"assets": {"image_file_path": str(photo)}}}
        return client.batches.run([job], output_dir=str(folder / "out"), poll_interval=0.01)
    assets = {"source_file_path": str(photo), "target_file_path": str(photo)}
    return client.v1.face_swap_photo.generate(assets=assets, download_directory=str(folder / "out"))

if mode == "sync":
    with fake.client() as client:
        client.v1.files, client.v1.face_swap_photo  # the namespaces' own modules are not what is checked
        call == "batch" and client.batches
        watching = True
        start(client)
else:
    async def main():
        global watching
        async with fake.async_client() as client:
            client.v1.files, client.v1.face_swap_photo
            call == "batch" and client.batches
            watching = True
            await start(client)
    if mode == "trio":
        import trio
        trio.run(main)
    else:
        import asyncio
        asyncio.run(main())
watched = ("magic_hour._jobs", "magic_hour._upload", "magic_hour.types", "magic_hour.batches.", "pydantic")
watched += ("anyio", "sqlite3")  # anyio: its backend module, loaded on first use
print(" ".join(sorted({n for n in on_loop if n.startswith(watched)})) or "-")
"""


@pytest.mark.parametrize("call", ["generate", "upload_file", "upload_files", "batch"])
@pytest.mark.parametrize("mode", ["sync", "asyncio", "trio"])
def test_a_first_job_imports_the_runner_off_the_event_loop(mode: str, call: str) -> None:
    # An async generate() (and files.upload_file(s)) imports the job runner, the upload engine, pydantic
    # and the response models (the result's; the upload-urls answer of generate's own presign) in a
    # worker thread the first time: on the loop they stalled every other task (a first generate
    # imported pydantic on the loop); a first batches.run the batch engine and sqlite3 too. Sync calls
    # import them directly: the control.
    out = subprocess.run(
        [sys.executable, "-c", JOB_SCRIPT, mode, call],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.split()
    if mode == "sync" and call == "batch":
        assert {"magic_hour.batches._run", "magic_hour.batches._journal", "sqlite3"} <= set(out), out
    elif mode == "sync":
        assert "magic_hour._jobs.runner" in out and "magic_hour._upload.engine" in out, out
    else:
        assert out == ["-"], out
