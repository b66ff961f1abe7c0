"""Every argument of a job call is checked before its first request (issue 21, item 2): a ``generate``
that cannot complete uploads nothing and spends no credit; ``check_result`` sends nothing. Against the
fake's real server on 127.0.0.1, with ``Client`` and ``AsyncClient`` on asyncio and trio."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Iterator

import _modes
import pytest
from conftest import TOKEN, Flavor

from magic_hour import InvalidParameterError
from magic_hour.testing import FakeMagicHour, FakeServer

pytestmark = pytest.mark.anyio
mode, anyio_backend, sdk = _modes.mode, _modes.anyio_backend, _modes.sdk

SAMPLE = str(Path(__file__).resolve().parent.parent / "docs" / "assets" / "sample.png")
ASSETS = {"source_file_path": SAMPLE, "target_file_path": SAMPLE}


@pytest.fixture
def fake() -> FakeMagicHour:
    return FakeMagicHour(tokens=TOKEN)


@pytest.fixture
def server(fake: FakeMagicHour) -> Iterator[FakeServer]:
    with fake.serve() as running:
        yield running


BAD_GENERATE: Dict[str, Dict[str, Any]] = {
    "poll_interval=-1": {"poll_interval": -1},
    "poll_interval='5'": {"poll_interval": "5"},
    "poll_interval=nan": {"poll_interval": float("nan")},
    "name=123": {"name": 123},
    "unknown asset key": {"assets": {**ASSETS, "bogus": 1}},
    "request_options typo": {"request_options": {"timeot": 5}},
    "request_options.max_retries=-1": {"request_options": {"max_retries": -1}},
    "on_progress=1": {"on_progress": 1},
    "wait_timeout=-1": {"wait_timeout": -1},
}


@pytest.mark.parametrize("kwargs", BAD_GENERATE.values(), ids=BAD_GENERATE.keys())
async def test_generate_checks_every_argument_before_uploading(
    sdk: Flavor, fake: FakeMagicHour, server: FakeServer, tmp_path: Path, kwargs: Dict[str, Any]
) -> None:
    client = sdk.client(base_url=server.url)
    kwargs = {"assets": ASSETS, "download_directory": str(tmp_path), **kwargs}
    with pytest.raises(InvalidParameterError):
        await sdk.call(client.v1.face_swap_photo.generate, **kwargs)
    assert fake.requests == []  # nothing presigned, uploaded nor created


async def test_a_bad_poll_interval_in_the_environment_is_refused_first(
    sdk: Flavor, fake: FakeMagicHour, server: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAGIC_HOUR_POLL_INTERVAL", "abc")
    client = sdk.client(base_url=server.url)
    with pytest.raises(InvalidParameterError, match="MAGIC_HOUR_POLL_INTERVAL"):
        await sdk.call(client.v1.face_swap_photo.generate, assets=ASSETS, download_directory=str(tmp_path))
    assert fake.requests == []
    # Not read by a call that does not wait (as the official package, which reads it while waiting).
    job = await sdk.call(client.v1.face_swap_photo.generate, assets=ASSETS, wait_for_completion=False)
    assert job.id and len(fake.requests_to("face_swap_photo.create")) == 1


async def test_a_download_directory_that_is_a_file_is_refused_first(
    sdk: Flavor, fake: FakeMagicHour, server: FakeServer, tmp_path: Path
) -> None:
    a_file = tmp_path / "out"
    a_file.write_text("not a directory")
    client = sdk.client(base_url=server.url)
    with pytest.raises(InvalidParameterError, match="download_directory"):
        await sdk.call(client.v1.face_swap_photo.generate, assets=ASSETS, download_directory=str(a_file))
    assert fake.requests == []
    # A directory that does not exist yet is made when the outputs come.
    result = await sdk.call(
        client.v1.face_swap_photo.generate, assets=ASSETS, download_directory=str(tmp_path / "new" / "dir")
    )
    assert result.downloaded_paths and all(
        Path(p).parent == tmp_path / "new" / "dir" for p in result.downloaded_paths
    )


async def test_generate_sends_additional_properties_and_checks_them_first(
    sdk: Flavor, fake: FakeMagicHour, server: FakeServer, tmp_path: Path
) -> None:
    """generate() took additional_properties= and dropped it; the official generate sends it."""
    client = sdk.client(base_url=server.url)
    music = client.v1.ai_music_generator
    with pytest.raises(InvalidParameterError, match="additional_properties"):
        await sdk.call(music.generate, duration=10, style={"prompt": "jazz"}, additional_properties=[1])
    assert fake.requests == []
    await sdk.call(
        music.generate,
        duration=10,
        style={"prompt": "jazz"},
        additional_properties={"seed": 7},
        wait_for_completion=False,
    )
    (created,) = fake.requests_to("ai_music_generator.create")
    assert json.loads(created.body or b"")["seed"] == 7


BAD_CHECK_RESULT: Dict[str, Dict[str, Any]] = {
    "download_directory=5": {
        "wait_for_completion": False,
        "download_outputs": False,
        "download_directory": 5,
    },
    "download_directory: a file": {
        "wait_for_completion": True,
        "download_outputs": True,
        "download_directory": "f",
    },
    "$MAGIC_HOUR_POLL_INTERVAL=abc": {"wait_for_completion": True, "download_outputs": False},
}


@pytest.mark.parametrize("kwargs", BAD_CHECK_RESULT.values(), ids=BAD_CHECK_RESULT.keys())
async def test_check_result_checks_every_argument_before_its_first_request(
    sdk: Flavor,
    fake: FakeMagicHour,
    server: FakeServer,
    kwargs: Dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "MAGIC_HOUR_POLL_INTERVAL", "abc" if kwargs.get("download_directory") is None else "0.1"
    )
    monkeypatch.chdir(tmp_path)
    (tmp_path / "f").write_text("a file")
    client = sdk.client(base_url=server.url)
    with pytest.raises(InvalidParameterError):
        await sdk.call(client.v1.image_projects.check_result, id="cm_1", **kwargs)
    assert fake.requests == []


@pytest.mark.parametrize("poll_interval", [-1, "5", 0])
async def test_wait_checks_its_arguments_before_polling(
    sdk: Flavor, fake: FakeMagicHour, server: FakeServer, poll_interval: object
) -> None:
    client = sdk.client(base_url=server.url)
    with pytest.raises(InvalidParameterError, match="poll_interval"):
        await sdk.call(client.v1.image_projects.wait, "cm_1", poll_interval=poll_interval)
    assert fake.requests == []


def test_the_cli_refuses_a_bad_poll_interval_before_sending_anything(
    fake: FakeMagicHour,
    server: FakeServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from magic_hour.cli import main

    monkeypatch.setenv("MAGIC_HOUR_API_TOKEN", TOKEN)
    monkeypatch.setenv("MAGIC_HOUR_POLL_INTERVAL", "abc")
    monkeypatch.chdir(tmp_path)
    argv = ["--base-url", server.url, "image", "face-swap", "--source", SAMPLE, "--target", SAMPLE]
    assert main(argv) == 2
    assert "MAGIC_HOUR_POLL_INTERVAL" in capsys.readouterr().err
    assert fake.requests == []


# ------------------------------------------------------------------ poll_interval and timeout bounds


@pytest.mark.parametrize("poll_interval", [1e10, 86400.5, float("inf"), 1e-300, 0.001, -0.0, float("nan")])
async def test_a_poll_interval_out_of_bounds_is_refused_naming_them(
    sdk: Flavor, fake: FakeMagicHour, server: FakeServer, tmp_path: Path, poll_interval: float
) -> None:
    """1e10 raised a bare OverflowError; 1e-300 polled ~1,100 times a second."""
    client = sdk.client(base_url=server.url)
    for call in (
        lambda: sdk.call(client.v1.image_projects.wait, "cm_1", poll_interval=poll_interval),
        lambda: sdk.call(
            client.v1.face_swap_photo.generate,
            assets=ASSETS,
            download_directory=str(tmp_path),
            poll_interval=poll_interval,
        ),
    ):
        with pytest.raises(InvalidParameterError) as info:
            await call()
        assert info.value.param == "poll_interval"
        assert "from 0.01 to 86400 (a day)" in str(info.value)
    assert fake.requests == []


@pytest.mark.parametrize("raw", ["1e10", "86400.5", "inf", "-1", "nan"])
async def test_the_environment_poll_interval_has_the_same_upper_bound(
    sdk: Flavor, fake: FakeMagicHour, server: FakeServer, monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    # Below 0.01 s the official SDK's knob keeps its meaning (test_official_arguments.py).
    monkeypatch.setenv("MAGIC_HOUR_POLL_INTERVAL", raw)
    client = sdk.client(base_url=server.url)
    with pytest.raises(InvalidParameterError, match=r"a number of seconds from 0 to 86400"):
        await sdk.call(client.v1.image_projects.wait, "cm_1")
    assert fake.requests == []


@pytest.mark.parametrize("poll_interval", [0.01, 86400])
async def test_the_bounds_themselves_are_accepted(
    sdk: Flavor, fake: FakeMagicHour, server: FakeServer, poll_interval: float
) -> None:
    client = sdk.client(base_url=server.url)
    job = await sdk.call(client.v1.face_swap_photo.create, assets={"target_file_path": "api-assets/a.png"})
    fake.set_project_status(job.id, "complete")
    done = await sdk.call(client.v1.image_projects.wait, job.id, poll_interval=poll_interval)
    assert done.status == "complete"


@pytest.mark.parametrize("timeout", [1e10, 1e300, float("inf")])
async def test_a_huge_wait_timeout_means_no_limit(
    sdk: Flavor, fake: FakeMagicHour, server: FakeServer, timeout: float
) -> None:
    """The wait's deadline reaches the polls' sockets: one past what the OS can represent would overflow
    (with the client's own timeout off); from 31 years up it means no limit, as for request timeouts."""
    client = sdk.client(base_url=server.url, timeout=None)
    job = await sdk.call(client.v1.face_swap_photo.create, assets={"target_file_path": "api-assets/a.png"})
    done = await sdk.call(client.v1.image_projects.wait, job.id, wait_timeout=timeout, poll_interval=0.01)
    assert done.status == "complete"


def test_the_wait_budget_has_one_name_and_one_default() -> None:
    """Issue 22 item 8: ``timeout`` is one attempt's (the client's, ``request_options``), so the budget of
    a job's wait is ``wait_timeout`` in ``generate``, ``wait`` and ``check_result`` of every resource
    (as in ``client.batches`` and the command's ``--wait-timeout``), keyword-only, ``None`` (no limit,
    as the official SDK waits) by default."""
    import inspect

    from magic_hour import AsyncClient, Client

    seen = 0
    for client in (Client(token="t"), AsyncClient(token="t")):
        for name in dir(client.v1):
            if name.startswith("_"):
                continue
            resource = getattr(client.v1, name)
            for method in ("generate", "wait", "check_result"):
                if not hasattr(resource, method):
                    continue
                params = inspect.signature(getattr(resource, method)).parameters
                assert "timeout" not in params, f"{name}.{method}"
                budget = params["wait_timeout"]
                assert budget.kind is inspect.Parameter.KEYWORD_ONLY, f"{name}.{method}"
                assert budget.default is None, f"{name}.{method}"
                seen += 1
    assert seen >= 2 * (20 + 2 * 4)  # every generate, and the wait and check_result of the 4 project kinds


async def test_check_result_gives_up_after_its_wait_timeout(
    sdk: Flavor, fake: FakeMagicHour, server: FakeServer
) -> None:
    from magic_hour import ProjectTimeoutError

    client = sdk.client(base_url=server.url)
    job = await sdk.call(client.v1.face_swap_photo.create, assets={"target_file_path": "api-assets/a.png"})
    fake.set_project_status(job.id, "rendering")
    with pytest.raises(ProjectTimeoutError) as caught:
        await sdk.call(
            client.v1.image_projects.check_result,
            job.id,
            wait_for_completion=True,
            download_outputs=False,
            wait_timeout=0.3,
        )
    assert caught.value.status == "rendering"
