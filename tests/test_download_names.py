"""Results never silently replace a file (issue 25 item 1): a job's outputs are named after its project,
an existing file of the same name is kept (the output takes ``<name>-1<ext>``) unless ``overwrite=True``,
and a name the caller chose (the command's ``-o FILE``) is refused before any request when it exists.
Through the fake's transport (the bug is on disk, not on the wire); Client, and AsyncClient on asyncio
and trio."""

from __future__ import annotations

import errno
import os
import pathlib
from typing import Any, AsyncIterator, List

import pytest

from magic_hour import (
    AsyncClient,
    Client,
    DownloadProgress,
    DownloadWriteError,
    InvalidParameterError,
    JobDone,
)
from magic_hour._jobs import async_jobs, sync_jobs
from magic_hour._jobs.names import output_names, output_paths
from magic_hour.resources.v1.image_projects.client import V1ImageProjectsGetResponseWithDownloads as Model
from magic_hour.testing import FakeMagicHour

pytestmark = pytest.mark.anyio

IMAGE = {"source_file_path": "api-assets/id/me.png", "target_file_path": "api-assets/id/poster.png"}


@pytest.fixture(params=["sync", "asyncio", "trio"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def anyio_backend(mode: str) -> str:
    return "asyncio" if mode == "sync" else mode


@pytest.fixture
def fake() -> FakeMagicHour:
    return FakeMagicHour()


@pytest.fixture
async def client(fake: FakeMagicHour, mode: str) -> AsyncIterator[Any]:
    made: Any = fake.client() if mode == "sync" else fake.async_client()
    try:
        yield made
    finally:
        if isinstance(made, Client):
            made.close()
        else:
            assert isinstance(made, AsyncClient)
            await made.aclose()


async def call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    result = fn(*args, **kwargs)
    return await result if hasattr(result, "__await__") else result


def files(directory: pathlib.Path) -> List[str]:
    return sorted(os.listdir(directory))


async def test_two_jobs_into_one_directory_keep_both_results(client: Any, tmp_path: pathlib.Path) -> None:
    # Every job's URL ends in output.png: the second generate() returned the same path as the first and
    # replaced its file (a paid render lost without a word).
    events: List[Any] = []
    first = await call(client.v1.face_swap_photo.generate, assets=IMAGE, download_directory=str(tmp_path))
    second = await call(
        client.v1.face_swap_photo.generate,
        assets=IMAGE,
        download_directory=str(tmp_path),
        on_progress=events.append,
    )
    assert first.downloaded_paths == [str(tmp_path / f"{first.id}.png")]
    assert second.downloaded_paths == [str(tmp_path / f"{second.id}.png")]
    assert files(tmp_path) == sorted([f"{first.id}.png", f"{second.id}.png"])
    done = events[-1]
    assert isinstance(done, JobDone) and list(done.downloaded_paths) == second.downloaded_paths
    # Several outputs: <id>-1, <id>-2, in the order of the project's downloads.
    many = await call(
        client.v1.ai_image_generator.generate,
        image_count=2,
        aspect_ratio="1:1",
        style={"prompt": "two lighthouses"},
        download_directory=str(tmp_path / "many"),
    )
    assert many.downloaded_paths == [str(tmp_path / "many" / f"{many.id}-{n}.png") for n in (1, 2)]


async def test_an_existing_file_is_kept_and_replaced_only_on_request(
    fake: FakeMagicHour, client: Any, tmp_path: pathlib.Path
) -> None:
    fake.seed_project("image", id="cm_done", outputs=[("output.png", b"new render")])
    (tmp_path / "cm_done.png").write_bytes(b"yesterday's render")
    res = await call(client.v1.image_projects.check_result, "cm_done", True, True, str(tmp_path))
    assert res.downloaded_paths == [str(tmp_path / "cm_done-1.png")]
    assert (tmp_path / "cm_done.png").read_bytes() == b"yesterday's render"
    assert (tmp_path / "cm_done-1.png").read_bytes() == b"new render"
    # URLs alone are named after the URL; again kept, and again a free name.
    (tmp_path / "output.png").write_bytes(b"mine")
    paths = await call(client.v1.files.download, res.downloads, directory=tmp_path)
    assert paths == [str(tmp_path / "output-1.png")] and (tmp_path / "output.png").read_bytes() == b"mine"
    # Replaced only when asked, by every method that saves outputs.
    res = await call(
        client.v1.image_projects.check_result, "cm_done", True, True, str(tmp_path), overwrite=True
    )
    assert res.downloaded_paths == [str(tmp_path / "cm_done.png")]
    assert (tmp_path / "cm_done.png").read_bytes() == b"new render"
    paths = await call(client.v1.image_projects.download, res, directory=str(tmp_path), overwrite=True)
    assert paths == [str(tmp_path / "cm_done.png")]
    paths = await call(client.v1.files.download, res.downloads, directory=tmp_path, overwrite=True)
    assert paths == [str(tmp_path / "output.png")] and (tmp_path / "output.png").read_bytes() == b"new render"
    assert files(tmp_path) == ["cm_done-1.png", "cm_done.png", "output-1.png", "output.png"]


async def test_a_name_taken_while_downloading_is_not_replaced(
    fake: FakeMagicHour, client: Any, tmp_path: pathlib.Path
) -> None:
    # The free name is chosen before the download, and the file moved there only if nothing is there
    # by then (a hard link, never a rename over it): another process that took the name meanwhile
    # keeps its file.
    fake.seed_project("image", id="cm_race", outputs=[("output.png", b"ours")])

    def meanwhile(event: Any) -> None:
        if isinstance(event, DownloadProgress) and not os.path.exists(event.path):
            pathlib.Path(event.path).write_bytes(b"theirs")

    got = await project(client, "cm_race")
    paths = await call(client.v1.files.download, got, directory=tmp_path, on_progress=meanwhile)
    assert paths == [str(tmp_path / "cm_race-1.png")]
    assert (tmp_path / "cm_race.png").read_bytes() == b"theirs"
    assert (tmp_path / "cm_race-1.png").read_bytes() == b"ours"
    assert files(tmp_path) == ["cm_race-1.png", "cm_race.png"], "no temporary file left"


async def project(client: Any, id: str) -> Any:
    return await call(client.v1.image_projects.get, id=id)


def runner(client: Any) -> Any:
    return sync_jobs(client._http) if isinstance(client, Client) else async_jobs(client._http)


async def test_a_chosen_name_that_exists_is_refused_before_any_request(
    fake: FakeMagicHour, client: Any, tmp_path: pathlib.Path
) -> None:
    # The command's -o FILE (the runner's output=): an existing FILE is refused before anything is
    # uploaded or started, unless overwrite.
    chosen = tmp_path / "result.png"
    chosen.write_bytes(b"keep me")
    jobs = runner(client)
    with pytest.raises(InvalidParameterError, match="--overwrite") as info:
        await call(jobs.generate, "image", Model, create=print, body={}, files={}, output=str(chosen))
    assert info.value.param == "output" and fake.requests == [] and chosen.read_bytes() == b"keep me"
    with pytest.raises(InvalidParameterError, match="overwrite"):
        await call(client.v1.files.download, "https://h/a.png", directory=tmp_path, overwrite="yes")
    assert fake.requests == []


async def test_a_chosen_name_is_used_exactly_and_never_over_a_file_that_appears(
    fake: FakeMagicHour, client: Any, tmp_path: pathlib.Path
) -> None:
    fake.seed_project("image", id="cm_one", outputs=[("output.png", b"one")])
    fake.seed_project("image", id="cm_two", outputs=[("a.png", b"1"), ("b.jpg", b"2")])
    jobs = runner(client)
    one = await project(client, "cm_one")
    assert await call(jobs.download, one, output=str(tmp_path / "mine.webp")) == [str(tmp_path / "mine.webp")]
    two = await project(client, "cm_two")
    paths = await call(jobs.download, two, output=str(tmp_path / "pair.png"))
    assert paths == [str(tmp_path / "pair-1.png"), str(tmp_path / "pair-2.jpg")]
    # A file that appears at the chosen name during the download: an error, and it is not replaced.
    target = tmp_path / "late.png"

    def meanwhile(event: Any) -> None:
        if isinstance(event, DownloadProgress) and not target.exists():
            target.write_bytes(b"theirs")

    with pytest.raises(DownloadWriteError, match="exists and was not replaced") as info:
        await call(jobs.download, one, output=str(target), on_progress=meanwhile)
    assert info.value.errno == errno.EEXIST and target.read_bytes() == b"theirs"
    assert files(tmp_path) == ["late.png", "mine.webp", "pair-1.png", "pair-2.jpg"]
    paths = await call(jobs.download, one, output=str(target), overwrite=True)
    assert paths == [str(target)] and target.read_bytes() == b"one"


@pytest.mark.parametrize(
    ("urls", "kwargs", "names"),
    [
        (["https://h/p/output.png"], {"project_id": "cm1"}, ["cm1.png"]),
        (["https://h/p/0.png", "https://h/p/1.jpg"], {"project_id": "cm1"}, ["cm1-1.png", "cm1-2.jpg"]),
        (["https://h/p/output.mp4"], {"stem": "holiday", "project_id": "cm1"}, ["holiday.mp4"]),
        (["https://h/p/output"], {"project_id": "cm1"}, ["cm1"]),
        (["https://h/p/output.png"], {"project_id": "../x"}, ["x.png"]),
        (["https://h/p/output.png"], {"stem": "con"}, ["_con.png"]),
        (["https://h/p/output.png", "https://h/q/output.png"], {}, ["output.png", "output-1.png"]),
        (["https://h/p/output.png"], {"project_id": "\u202e"}, ["output.png"]),
    ],
)
def test_output_names_are_a_pure_function_of_what_they_are_given(urls: Any, kwargs: Any, names: Any) -> None:
    assert output_names(urls, **kwargs) == names == output_names(urls, **kwargs)


def test_a_chosen_output_names_one_file_or_numbers_several() -> None:
    assert output_paths(["https://h/a.png"], "out/r.webp") == ("out", ["r.webp"])
    assert output_paths(["https://h/a.png", "https://h/b.png"], "r.webp") == (None, ["r-1.png", "r-2.png"])
