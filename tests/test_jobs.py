"""The job runner end to end on real sockets (tests/_jobs_server.py on 127.0.0.1), Client and AsyncClient:
inputs uploaded in one batch and not twice, projects that complete, fail, are canceled or time out,
progress events in order, check_result's official behaviour, face detection."""

from __future__ import annotations

import copy
import os
import pathlib
import time
from typing import Any, Iterator, List

import pytest
from _jobs_helpers import (
    FaceDetectionWithDownloads,
    ImageProject,
    ImageProjectWithDownloads,
    creator,
    generate,
    leftovers,
    runner,
)
from _jobs_server import JobsServer

from magic_hour import (
    ApiError,
    AuthenticationError,
    InvalidFileError,
    InvalidParameterError,
    ProjectFailedError,
    ProjectTimeoutError,
    UploadError,
    UploadProgress,
)
from magic_hour._jobs.events import DownloadProgress, JobDone, ProjectStatus

pytestmark = pytest.mark.anyio

PNG = b"\x89PNG\r\n\x1a\n" + b"p" * 2000


@pytest.fixture
def server() -> Iterator[JobsServer]:
    with JobsServer() as srv:
        yield srv


@pytest.fixture
def photos(tmp_path: pathlib.Path) -> List[pathlib.Path]:
    out = []
    for name in ("me.png", "poster.jpg"):
        p = tmp_path / name
        p.write_bytes(PNG + name.encode())
        out.append(p)
    return out


def _client(sdk: Any, server: JobsServer) -> Any:
    return sdk.client(base_url=server.url)


async def test_generate_uploads_once_creates_waits_and_downloads(
    sdk: Any, server: JobsServer, photos: List[pathlib.Path], tmp_path: pathlib.Path
) -> None:
    client = _client(sdk, server)
    me, poster = photos
    body = {
        "assets": {
            "source_file_path": str(me),
            "target_file_path": poster,  # os.PathLike
            "face_mappings": [
                {"original_face": "api-assets/x/0-0.png", "new_face": str(me)},  # the same file again
                {"original_face": "api-assets/x/0-1.png", "new_face": "https://example.com/face.png"},
            ],
        },
        "name": "swap",
    }
    before = copy.deepcopy(body)
    events: List[Any] = []
    out = tmp_path / "out"
    res = await generate(sdk, client, body, download_directory=str(out), on_progress=events.append)

    assert body == before, "the caller's body was modified"
    assert len(server.state.presigns) == 1 and len(server.state.presigns[0]["items"]) == 2
    assert len(server.requests("PUT")) == 2
    sent = next(iter(server.state.projects.values())).body
    src = sent["assets"]["source_file_path"]
    assert src.startswith("api-assets/") and sent["assets"]["target_file_path"].startswith("api-assets/")
    assert sent["assets"]["face_mappings"][0]["new_face"] == src
    assert sent["assets"]["face_mappings"][1]["new_face"] == "https://example.com/face.png"
    assert server.state.stored[src] == me.read_bytes()

    assert isinstance(res, ImageProjectWithDownloads) and res.status == "complete"
    assert res.downloaded_paths == [str(out / f"{res.id}.png")]  # named after the project: never shared
    assert (out / f"{res.id}.png").read_bytes() == server.state.outputs[0][1]
    assert leftovers(tmp_path) == []

    kinds = [type(e).__name__ for e in events]
    first = {k: kinds.index(k) for k in set(kinds)}
    assert first["UploadProgress"] < first["ProjectStatus"] < first["DownloadProgress"] < first["JobDone"]
    assert kinds[-1] == "JobDone" and kinds.count("JobDone") == 1
    statuses = [e.status for e in events if isinstance(e, ProjectStatus) and e.changed]
    assert statuses[-1] == "complete" and "rendering" in statuses
    assert all(isinstance(e, UploadProgress) for e in events[: first["ProjectStatus"]])
    done = events[-1]
    assert isinstance(done, JobDone) and done.downloaded_paths == (str(out / f"{res.id}.png"),)
    last = [e for e in events if isinstance(e, DownloadProgress)][-1]
    assert last.bytes_received == last.total == len(server.state.outputs[0][1])


@pytest.mark.full
async def test_inputs_already_uploaded_by_the_client_are_not_uploaded_again(
    sdk: Any, server: JobsServer, photos: List[pathlib.Path], tmp_path: pathlib.Path
) -> None:
    client = _client(sdk, server)
    me, poster = photos
    time.sleep(0.05)  # written moments ago, they would be uploaded and not remembered (_jobs/inputs.py)
    body = {"assets": {"source_file_path": str(me), "target_file_path": str(poster)}}
    await generate(sdk, client, body, download_outputs=False)
    await generate(sdk, client, body, download_outputs=False)
    assert len(server.state.presigns) == 1 and len(server.requests("PUT")) == 2
    paths = [p.body["assets"]["source_file_path"] for p in server.state.projects.values()]
    assert paths[0] == paths[1]

    os.utime(me, ns=(time.time_ns(), time.time_ns() + 10**9))  # changed: uploaded again, alone
    await generate(sdk, client, body, download_outputs=False)
    assert len(server.state.presigns) == 2 and len(server.state.presigns[1]["items"]) == 1

    other = _client(sdk, server)  # another client has its own memory
    await generate(sdk, other, body, download_outputs=False)
    assert len(server.state.presigns) == 3


async def test_a_missing_input_is_refused_naming_the_field_before_any_request(
    sdk: Any, server: JobsServer, tmp_path: pathlib.Path
) -> None:
    client = _client(sdk, server)
    body = {
        "assets": {
            "source_file_path": "https://example.com/a.png",
            "face_mappings": [{"new_face": str(tmp_path / "nope.png")}],
        }
    }
    with pytest.raises(InvalidFileError) as info:
        await generate(sdk, client, body)
    assert info.value.param == "assets.face_mappings[0].new_face"
    assert isinstance(info.value, FileNotFoundError), "an official user's except FileNotFoundError catches it"
    assert server.requests() == []


@pytest.mark.full
@pytest.mark.parametrize("outcome", ["error", "canceled"])
async def test_a_failed_project_is_returned_by_default_and_raised_when_asked(
    sdk: Any, server: JobsServer, tmp_path: pathlib.Path, outcome: str
) -> None:
    client = _client(sdk, server)
    server.state.outcomes = [outcome, outcome, outcome]
    body = {"assets": {"source_file_path": "api-assets/a.png"}}
    res = await generate(sdk, client, body, download_directory=str(tmp_path))
    assert res.status == outcome and res.downloaded_paths is None
    assert server.requests("GET", "/files/") == []

    with pytest.raises(ProjectFailedError) as info:
        await generate(sdk, client, body, raise_on_failure=True)
    assert info.value.status == outcome and isinstance(info.value.project, ImageProject)
    if outcome == "error":
        assert (info.value.code, info.value.error_message) == ("render_failed", "the render failed")
        assert "render_failed" in str(info.value)

    created = await sdk.call(creator(client), body)
    with pytest.raises(ProjectFailedError):
        await sdk.call(runner(client).wait, "image", created.id, ImageProject, timeout=10, poll_interval=0.05)


@pytest.mark.full
async def test_wait_stops_at_its_timeout_with_the_last_status(sdk: Any, server: JobsServer) -> None:
    client = _client(sdk, server)
    server.state.render_time = 30
    created = await sdk.call(creator(client), {"assets": {}})
    start = time.monotonic()
    with pytest.raises(ProjectTimeoutError) as info:
        await sdk.call(runner(client).wait, "image", created.id, ImageProject, timeout=0.6)
    took = time.monotonic() - start
    assert 0.6 <= took < 3.0
    assert info.value.status in ("queued", "rendering") and info.value.id == created.id
    assert isinstance(info.value, TimeoutError) and info.value.project.id == created.id
    polls = server.requests("GET", "/v1/image-projects/")
    assert 2 <= len(polls) <= 6, "adaptive polling starts fast (every 0.25 s), then stops at the deadline"


@pytest.mark.full
async def test_adaptive_polling_notices_completion_quickly(sdk: Any, server: JobsServer) -> None:
    client = _client(sdk, server)
    server.state.render_time = 1.0
    created = await sdk.call(creator(client), {"assets": {}})
    start = time.monotonic()
    events: List[ProjectStatus] = []
    res = await sdk.call(
        runner(client).wait, "image", created.id, ImageProject, timeout=None, on_progress=events.append
    )
    assert res.status == "complete"
    assert time.monotonic() - start < 1.0 + 0.5 + 0.5  # noticed within max(0.5 s, 10%) + a poll
    changed = [e.status for e in events if e.changed]
    assert (
        changed[-1] == "complete"
        and "rendering" in changed
        and set(changed) <= {"queued", "rendering", "complete"}
    )
    assert events[-1].elapsed >= 0.9 and all(e.id == created.id for e in events)


@pytest.mark.full
async def test_check_result_official_behaviour(
    sdk: Any, server: JobsServer, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, sleeps: List[float]
) -> None:
    client = _client(sdk, server)
    jobs = runner(client)
    server.state.render_time = 0.6  # sleeps are faked: the polls follow each other until it completes
    created = await sdk.call(creator(client), {"assets": {}})
    now = await sdk.call(
        jobs.check_result,
        "image",
        created.id,
        ImageProjectWithDownloads,
        wait_for_completion=False,
        download_outputs=True,
    )
    assert (
        now.status in ("queued", "rendering")
        and now.downloaded_paths is None
        and server.requests("GET", "/files/") == []
    )

    monkeypatch.setenv("MAGIC_HOUR_POLL_INTERVAL", "0.02")
    monkeypatch.chdir(tmp_path)
    res = await sdk.call(
        jobs.check_result,
        "image",
        created.id,
        ImageProjectWithDownloads,
        wait_for_completion=True,
        download_outputs=True,
    )
    # Relative, as the official's; named after the project (the official: the URL's name, out.png).
    assert res.status == "complete" and res.downloaded_paths == [f"{created.id}.png"]
    assert (tmp_path / f"{created.id}.png").is_file()
    assert sleeps and set(sleeps) == {0.02}, "MAGIC_HOUR_POLL_INTERVAL is honoured"

    monkeypatch.setenv("MAGIC_HOUR_POLL_INTERVAL", "soon")
    with pytest.raises(InvalidParameterError, match="MAGIC_HOUR_POLL_INTERVAL"):
        await sdk.call(
            jobs.check_result,
            "image",
            created.id,
            ImageProject,
            wait_for_completion=True,
            download_outputs=False,
        )


async def test_face_detection_downloads_its_faces(
    sdk: Any, server: JobsServer, tmp_path: pathlib.Path
) -> None:
    client = _client(sdk, server)
    server.state.outputs = [("0.png", PNG), ("1.png", PNG + b"1")]
    jobs = runner(client)
    res = await sdk.call(
        jobs.generate,
        "face_detection",
        FaceDetectionWithDownloads,
        create=creator(client, "/v1/face-detection"),
        body={"assets": {"target_file_path": "api-assets/x.png"}},
        files={"assets.target_file_path": "image"},
        download_directory=str(tmp_path),
        poll_interval=0.05,
    )
    assert res.status == "complete" and len(res.faces) == 2
    assert res.downloaded_paths == [str(tmp_path / f"{res.id}-1.png"), str(tmp_path / f"{res.id}-2.png")]
    assert (tmp_path / f"{res.id}-2.png").read_bytes() == PNG + b"1"


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"id": ""}, "id"),
        ({"id": 5}, "id"),
        ({"timeout": -1}, "wait_timeout"),  # the runner's timeout is the public methods' wait_timeout
        ({"timeout": "1"}, "wait_timeout"),
        ({"poll_interval": 0}, "poll_interval"),
        ({"kind": "movie"}, "kind"),
    ],
)
async def test_bad_wait_arguments_are_refused_before_any_request(
    sdk: Any, server: JobsServer, kwargs: Any, param: str
) -> None:
    client = _client(sdk, server)
    args = {"kind": "image", "id": "abc", "timeout": 1.0, **kwargs}
    with pytest.raises(InvalidParameterError) as info:
        await sdk.call(runner(client).wait, args.pop("kind"), args.pop("id"), ImageProject, **args)
    assert info.value.param == param
    assert server.requests() == []


async def test_bad_generate_arguments_are_refused_before_any_request(sdk: Any, server: JobsServer) -> None:
    client = _client(sdk, server)
    body = {"assets": {"source_file_path": "api-assets/a.png"}}
    with pytest.raises(InvalidParameterError, match="on_progress"):
        await generate(sdk, client, body, on_progress="print")
    with pytest.raises(InvalidParameterError, match="download_directory"):
        await generate(sdk, client, body, download_directory=3)
    assert server.requests() == []


@pytest.mark.full
@pytest.mark.parametrize("front", ["transport", "server"])
async def test_the_runner_against_magic_hour_testing(sdk: Any, tmp_path: pathlib.Path, front: str) -> None:
    """The same job on ``magic_hour.testing``'s fake: its schema checks, project lifecycle and storage."""
    from magic_hour.testing import FakeMagicHour

    fake = FakeMagicHour(render_seconds=0.2)
    me = tmp_path / "me.png"
    me.write_bytes(PNG)
    body = {
        "assets": {"source_file_path": str(me), "target_file_path": str(me), "face_swap_mode": "all-faces"}
    }
    with fake.serve() as server:
        if front == "server":
            client = sdk.client(base_url=server.url, token=fake.token)
        else:
            client = (fake.async_client if sdk.is_async else fake.client)()
        try:
            res = await generate(sdk, client, body, download_directory=str(tmp_path / "out"))
            assert res.status == "complete" and len(res.downloaded_paths or []) == 1
            downloaded = pathlib.Path((res.downloaded_paths or [""])[0])
            assert downloaded.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"  # the fake renders real PNGs
            (project,) = fake.projects
            assert project.body["assets"]["source_file_path"] == project.body["assets"]["target_file_path"]
            assert fake.file(project.body["assets"]["source_file_path"]).content == PNG
            gets = fake.requests_to("downloads")
            assert gets and all("authorization" not in {k.lower() for k in g.headers} for g in gets)

            fake.end_next_projects("error", code="bad_face", message="no face found")
            with pytest.raises(ProjectFailedError) as info:
                await generate(sdk, client, body, raise_on_failure=True)
            assert (info.value.code, info.value.error_message) == ("bad_face", "no face found")
        finally:
            await sdk.close(client)
    assert leftovers(tmp_path) == []


async def test_an_api_that_cannot_be_reached_fails_the_wait(sdk: Any, sleeps: List[float]) -> None:
    from _servers import closed_port

    from magic_hour import ApiConnectionError

    client = sdk.client(base_url=f"http://127.0.0.1:{closed_port()}", max_retries=1)
    with pytest.raises(ApiConnectionError):
        await sdk.call(runner(client).wait, "image", "abc", ImageProject, timeout=30)
    assert len(sleeps) == 1, "one retry by the core, then the error"


class CallbackFailed(Exception):
    pass


@pytest.mark.full
@pytest.mark.parametrize("phase", ["UploadProgress", "ProjectStatus", "DownloadProgress", "JobDone"])
async def test_a_raising_progress_callback_stops_the_job_and_surfaces_as_is(
    sdk: Any, server: JobsServer, photos: List[pathlib.Path], tmp_path: pathlib.Path, phase: str
) -> None:
    client = _client(sdk, server)
    server.state.outputs = [("a.png", PNG), ("b.png", PNG)]
    out = tmp_path / "out"

    def on_progress(event: Any) -> None:
        if type(event).__name__ == phase:
            raise CallbackFailed(phase)

    body = {"assets": {"source_file_path": str(photos[0])}}
    with pytest.raises(CallbackFailed):
        await generate(sdk, client, body, download_directory=str(out), on_progress=on_progress)
    assert leftovers(tmp_path) == []
    written = sorted(p.name for p in out.glob("*")) if out.exists() else []
    if phase in ("UploadProgress", "ProjectStatus"):
        assert server.requests("GET", "/files/") == [], "the job went on after the callback raised"
    # Every download reports its first event before writing a byte; JobDone comes after all of them.
    assert len(written) == (2 if phase == "JobDone" else 0)


async def test_a_refused_presign_raises_the_api_error_and_storage_failures_an_upload_error(
    sdk: Any, photos: List[pathlib.Path]
) -> None:
    # The one presign call failing (bad token) used to come out as UploadError, which an official
    # user's `except ApiError` around generate() does not catch; create() raises the ApiError itself.
    from magic_hour.testing import FakeMagicHour

    me, poster = photos
    assets = {"source_file_path": str(me), "target_file_path": str(poster)}
    with FakeMagicHour().serve() as server:
        client = sdk.client(base_url=server.url, token="not-the-token", max_retries=0)
        with pytest.raises(AuthenticationError) as info:
            await sdk.call(client.v1.face_swap_photo.generate, assets=assets, download_outputs=False)
        assert isinstance(info.value, ApiError) and info.value.status_code == 401

        client = sdk.client(base_url=server.url, token=server.fake.token, max_retries=0)
        server.fake.fail_next("storage", 403, times=2)
        with pytest.raises(UploadError) as failed:
            await sdk.call(client.v1.face_swap_photo.generate, assets=assets, download_outputs=False)
        assert len(failed.value.failed) == 2
