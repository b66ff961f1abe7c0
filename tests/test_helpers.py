"""``magic_hour.helpers`` (the official SDK's ``download_files_sync``, ``download_files_async``,
``get_sdk_logger``) on our download engine, and the submodules reachable after ``import magic_hour``.

Downloads run against the fake's real server on 127.0.0.1 (the helpers make their own client, as the
official ones do), sync and async; where the official SDK's venv exists, its helpers download the same
URLs and return the same paths and bytes.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import types
from pathlib import Path
from typing import Any, Iterator, List

import pytest
from conftest import Flavor

import magic_hour
from magic_hour import DownloadError, InvalidParameterError
from magic_hour.helpers import download_files_async, download_files_sync, get_sdk_logger
from magic_hour.testing import FakeMagicHour, FakeServer

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("MAGIC_HOUR_OFFICIAL_VENV", ROOT / ".ci" / ".venv-official"))
PYTHON = VENV / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
OUTPUTS = [("first.png", b"\x89PNG first"), ("second.png", b"\x89PNG second")]


@pytest.fixture
def fake() -> Iterator[FakeMagicHour]:
    with FakeMagicHour() as fake:
        yield fake


@pytest.fixture
def server(fake: FakeMagicHour) -> Iterator[FakeServer]:
    with fake.serve() as server:
        yield server


async def downloads_of(sdk: Flavor, fake: FakeMagicHour, server: FakeServer) -> List[Any]:
    """A complete image project's ``downloads``, fetched through a client of the sdk's flavour."""
    fake.seed_project("image", id="img_1", outputs=OUTPUTS)
    client = sdk.client(token=fake.token, base_url=server.url)
    project = await sdk.call(client.v1.image_projects.get, id="img_1")
    return list(project.downloads)


async def helper(sdk: Flavor, *args: Any) -> List[str]:
    paths: List[str] = await sdk.call(download_files_async if sdk.is_async else download_files_sync, *args)
    return paths


async def test_the_helpers_download_into_a_directory(
    sdk: Flavor, fake: FakeMagicHour, server: FakeServer, tmp_path: Path
) -> None:
    downloads = await downloads_of(sdk, fake, server)
    folder = tmp_path / "new" / "folder"  # created (the official one needs it to exist)
    paths = await helper(sdk, downloads, str(folder))
    assert paths == [os.path.join(str(folder), name) for name, _ in OUTPUTS]
    assert [Path(p).read_bytes() for p in paths] == [content for _, content in OUTPUTS]
    gets = fake.requests_to("downloads")
    assert len(gets) == 2 and all("authorization" not in g.headers for g in gets)
    assert sorted(p.name for p in folder.iterdir()) == ["first.png", "second.png"]  # no temporary left


@pytest.mark.parametrize("directory", [None, ""])
async def test_no_directory_is_the_current_one(
    sdk: Flavor,
    fake: FakeMagicHour,
    server: FakeServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    directory: Any,
) -> None:
    downloads = await downloads_of(sdk, fake, server)
    monkeypatch.chdir(tmp_path)
    args = (downloads,) if directory is None else (downloads, directory)
    assert await helper(sdk, *args) == ["first.png", "second.png"]
    assert (tmp_path / "second.png").read_bytes() == b"\x89PNG second"


async def test_a_file_that_cannot_be_downloaded_is_a_download_error(
    sdk: Flavor, fake: FakeMagicHour, server: FakeServer, tmp_path: Path
) -> None:
    downloads = await downloads_of(sdk, fake, server)
    fake.fail_next("downloads", 403, times=5)
    with pytest.raises(DownloadError) as info:
        await helper(sdk, downloads[:1], str(tmp_path))
    assert info.value.status_code == 403 and "?" not in str(info.value)  # no signed query shown
    assert list(tmp_path.iterdir()) == []


async def test_the_helpers_read_no_token_or_base_url_from_the_environment(
    sdk: Flavor, fake: FakeMagicHour, server: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    downloads = await downloads_of(sdk, fake, server)
    monkeypatch.setenv("MAGIC_HOUR_API_TOKEN", "bad\ntoken")  # would be refused by Client()
    monkeypatch.setenv("MAGIC_HOUR_BASE_URL", "not a url")
    assert len(await helper(sdk, downloads, str(tmp_path))) == 2


async def test_bad_arguments_are_refused_before_any_request(sdk: Flavor, tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError):
        await helper(sdk, [object()], str(tmp_path))
    with pytest.raises(InvalidParameterError):
        await helper(sdk, ["https://example.test/a.png"], 3)


def test_get_sdk_logger_is_silent_and_propagates() -> None:
    name = "magic_hour.tests.helpers_logger"
    logger = get_sdk_logger(name)
    assert logger is logging.getLogger(name) and logger.propagate
    assert get_sdk_logger(name).handlers == logger.handlers  # one NullHandler, not one per call
    assert [type(h) for h in logger.handlers] == [logging.NullHandler]


def test_the_official_submodules_are_attributes_of_the_package() -> None:
    code = (
        "import json, sys, types, magic_hour\n"
        "loaded_before = sorted(m for m in sys.modules if m.startswith('magic_hour.'))\n"
        "names = ['client', 'environment', 'helpers', 'resources', 'types']\n"
        "kinds = [isinstance(getattr(magic_hour, n), types.ModuleType) for n in names]\n"
        "print(json.dumps([loaded_before, kinds, magic_hour.types.models.__name__, sorted(dir(magic_hour))]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    loaded_before, kinds, models_name, listed = json.loads(result.stdout)
    assert kinds == [True] * 5 and models_name == "magic_hour.types.models"
    assert not {"magic_hour.helpers", "magic_hour.types", "magic_hour.resources"} & set(loaded_before)  # lazy
    assert {"client", "environment", "helpers", "resources", "types"} <= set(listed)
    assert isinstance(magic_hour.helpers, types.ModuleType)


@pytest.mark.full  # the official SDK in a subprocess
@pytest.mark.parametrize("directory", ["outputs", ".", "./outputs/"])
async def test_the_official_helpers_download_the_same(
    sdk: Flavor,
    fake: FakeMagicHour,
    server: FakeServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    directory: str,
) -> None:
    if not PYTHON.exists():
        pytest.skip(f"no official SDK venv at {VENV} (run: bash .ci/official_sdk.sh)")
    downloads = await downloads_of(sdk, fake, server)
    urls = [d.url for d in downloads]
    script = (
        "import json, sys, types\n"
        "from magic_hour.helpers import download_files_sync\n"
        "items = [types.SimpleNamespace(url=u) for u in json.loads(sys.argv[1])]\n"
        "print(json.dumps(download_files_sync(items, sys.argv[2])))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    official, mine = tmp_path / "official", tmp_path / "ours"
    (official / directory).mkdir(parents=True, exist_ok=True)  # the official one needs it to exist
    mine.mkdir()
    proc = subprocess.run(
        [str(PYTHON), "-I", "-c", script, json.dumps(urls), directory],
        cwd=official,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    theirs = json.loads(proc.stdout)
    monkeypatch.chdir(mine)
    ours = await helper(sdk, downloads, directory)
    assert ours == theirs  # "." gives "./first.png" there (os.path.join), and here
    assert [(mine / p).read_bytes() for p in ours] == [(official / p).read_bytes() for p in theirs]
