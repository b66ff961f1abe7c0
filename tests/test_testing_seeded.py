"""The fake's existing projects: ``seed_project`` (any id, kind, status, outputs, error),
``set_project_status``, ``on_project_change``, and the mock-server mode (the official SDK's hosted mock,
``Environment.MOCK_SERVER``, offline). Sync and async clients, through the transport and a real server."""

from __future__ import annotations

import threading
from typing import Any, Iterator, List, Tuple

import httpx
import pytest

from magic_hour import (
    AuthenticationError,
    Environment,
    InvalidParameterError,
    NotFoundError,
    ProjectFailedError,
)
from magic_hour.testing import FakeMagicHour, ProjectChange

pytestmark = pytest.mark.anyio

RESOURCES = {"video": "video_projects", "image": "image_projects", "audio": "audio_projects"}


@pytest.fixture
def fake() -> Iterator[FakeMagicHour]:
    with FakeMagicHour() as fake:
        yield fake


@pytest.fixture(params=["transport", "server"])
def front(request: pytest.FixtureRequest, fake: FakeMagicHour) -> Iterator[Tuple[str, Any]]:
    """The fake's API base URL and an httpx transport for it (None: a real server on 127.0.0.1)."""
    if request.param == "transport":
        yield fake.base_url, fake.transport()
    else:
        with fake.serve() as server:
            yield server.url, None


@pytest.fixture
def http(sdk: Any, front: Tuple[str, Any]) -> Any:
    """An httpx client of the sdk's flavour that reaches the fake (for download URLs)."""
    _, transport = front
    return sdk.httpx_client(transport=transport) if transport is not None else sdk.httpx_client()


@pytest.fixture
def client(sdk: Any, fake: FakeMagicHour, front: Tuple[str, Any], http: Any) -> Any:
    """A client of the sdk's flavour on the fake, through the transport or a real server."""
    base_url, _ = front
    return sdk.client(token=fake.token, base_url=base_url, httpx_client=http)


@pytest.mark.parametrize("kind", sorted(RESOURCES))
async def test_a_seeded_project_answers_as_given(
    sdk: Any, fake: FakeMagicHour, client: Any, http: Any, kind: str
) -> None:
    fake.seed_project(
        kind, id="proj_before_the_test", outputs=[b"first", ("clip.bin", b"second")], name="Mine"
    )
    resource = getattr(client.v1, RESOURCES[kind])
    project = await sdk.call(resource.get, id="proj_before_the_test")
    assert (project.id, project.status, project.name, project.error) == (
        "proj_before_the_test",
        "complete",
        "Mine",
        None,
    )
    assert [d.url.split("?")[0].rsplit("/", 2)[1:] for d in project.downloads] == [
        ["proj_before_the_test", "output-0." + {"video": "mp4", "image": "png", "audio": "mp3"}[kind]],
        ["proj_before_the_test", "clip.bin"],
    ]
    bodies = [(await sdk.call(http.get, d.url)).content for d in project.downloads]
    assert bodies == [b"first", b"second"]
    assert (
        fake.requests_to(f"{RESOURCES[kind]}.get")[0].path
        == "/v1/" + RESOURCES[kind].replace("_", "-") + "/proj_before_the_test"
    )


async def test_check_result_downloads_the_outputs_of_a_seeded_project(
    sdk: Any, fake: FakeMagicHour, client: Any, tmp_path: Any
) -> None:
    fake.seed_project("image", id="img_1", outputs=[("a.png", b"A"), ("b.png", b"B")])
    result = await sdk.call(
        client.v1.image_projects.check_result,
        id="img_1",
        wait_for_completion=True,
        download_outputs=True,
        download_directory=str(tmp_path),
    )
    # Outputs are named after their project (docs/jobs.md, Names), in the order the project lists them.
    assert result.downloaded_paths == [str(tmp_path / "img_1-1.png"), str(tmp_path / "img_1-2.png")]
    assert [(tmp_path / n).read_bytes() for n in ("img_1-1.png", "img_1-2.png")] == [b"A", b"B"]
    assert len(fake.requests_to("downloads")) == 2


async def test_wait_sees_a_status_the_test_sets(sdk: Any, fake: FakeMagicHour, client: Any) -> None:
    fake.seed_project("video", id="vid_1", status="rendering")
    polls = threading.Event()

    def finish_after_two_polls() -> None:
        while len(fake.requests_to("video_projects.get")) < 2:
            polls.wait(0.005)
        fake.set_project_status("vid_1", "complete", outputs=[b"the video"])

    worker = threading.Thread(target=finish_after_two_polls)
    worker.start()
    try:
        done = await sdk.call(client.v1.video_projects.wait, "vid_1", wait_timeout=30, poll_interval=0.01)
    finally:
        polls.set()
        worker.join()
    assert done.status == "complete" and len(done.downloads) == 1
    assert len(fake.requests_to("video_projects.get")) >= 3
    assert fake.project("vid_1").status(fake.now()) == "complete"


@pytest.mark.parametrize("error", ["no face found", {"code": "no_face", "message": "no face found"}])
async def test_a_seeded_failed_project(sdk: Any, fake: FakeMagicHour, client: Any, error: Any) -> None:
    fake.seed_project("video", id="vid_err", status="error", error=error)
    project = await sdk.call(client.v1.video_projects.get, id="vid_err")
    assert (project.status, project.error.message, project.downloads, project.credits_charged) == (
        "error",
        "no face found",
        [],
        0,
    )
    assert project.error.code == ("no_face" if isinstance(error, dict) else "fake_error")
    with pytest.raises(ProjectFailedError, match="no face found"):
        await sdk.call(client.v1.video_projects.wait, "vid_err", wait_timeout=5, poll_interval=0.01)


async def test_a_seeded_face_detection(sdk: Any, fake: FakeMagicHour, client: Any) -> None:
    fake.seed_project("face_detection", id="faces_1", outputs=3)
    result = await sdk.call(client.v1.face_detection.get, id="faces_1")
    assert [face.path for face in result.faces] == [f"api-assets/faces_1/0-{i}.png" for i in range(3)]


async def test_delete_then_get_a_seeded_project(sdk: Any, fake: FakeMagicHour, client: Any) -> None:
    fake.seed_project("audio", id="aud_1")
    assert await sdk.call(client.v1.audio_projects.delete, id="aud_1") is None
    assert fake.project("aud_1").deleted
    with pytest.raises(NotFoundError):
        await sdk.call(client.v1.audio_projects.get, id="aud_1")


def test_listeners_hear_every_change_in_order(fake: FakeMagicHour) -> None:
    heard: List[Tuple[str, Any, str]] = []
    remove = fake.on_project_change(lambda c: heard.append((c.project.id, c.previous, c.status)))
    fake.render_seconds = 10
    with fake.client() as client:
        created = client.v1.text_to_video.create(end_seconds=5, style={"prompt": "a cat"})
        fake.advance_clock(10)
        fake.seed_project("image", id="img", status="queued")
        fake.set_project_status("img", "rendering")
        fake.set_project_status("img", "canceled")
        remove()
        fake.set_project_status("img", "complete")
    assert heard == [
        (created.id, None, "rendering"),
        (created.id, "rendering", "complete"),
        ("img", None, "queued"),
        ("img", "queued", "rendering"),
        ("img", "rendering", "canceled"),
    ]


def test_a_clock_change_is_heard_at_the_next_request(fake: FakeMagicHour) -> None:
    heard: List[ProjectChange] = []
    fake.on_project_change(heard.append)
    fake.render_seconds = 0.02
    with fake.client() as client:
        created = client.v1.text_to_video.create(end_seconds=5, style={"prompt": "a cat"})
        threading.Event().wait(0.03)
        assert [c.status for c in heard] == ["rendering"]
        client.v1.files.upload_urls.create(items=[{"extension": "mp4", "type_": "video"}])  # any request
    assert [(c.project.id, c.status) for c in heard] == [(created.id, "rendering"), (created.id, "complete")]


def test_reset_forgets_seeded_projects(fake: FakeMagicHour) -> None:
    fake.seed_project("image", id="img")
    fake.reset()
    assert fake.projects == []
    fake.seed_project("image", id="img")  # the id is free again


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"kind": "gif"}, "kind"),
        ({"kind": "video", "status": "done"}, "status"),
        ({"kind": "face_detection", "status": "canceled"}, "status"),  # not one of its statuses
        ({"kind": "video", "id": "a/b"}, "id"),
        ({"kind": "video", "id": ""}, "id"),
        ({"kind": "video", "error": "boom"}, "error"),  # only with status="error"
        ({"kind": "video", "status": "error", "error": {"code": "x"}}, "error"),
        ({"kind": "video", "outputs": -1}, "outputs"),
        ({"kind": "video", "outputs": b"bytes"}, "outputs"),
        ({"kind": "video", "outputs": [("../x.mp4", b"")]}, "outputs[0]"),
        ({"kind": "video", "credits_charged": "5"}, "credits_charged"),
    ],
)
def test_seed_project_refuses_what_it_cannot_show(fake: FakeMagicHour, kwargs: Any, name: str) -> None:
    kind = kwargs.pop("kind")
    with pytest.raises(InvalidParameterError) as info:
        fake.seed_project(kind, **kwargs)
    assert info.value.param == name
    assert fake.projects == []


def test_seed_project_refuses_an_id_in_use_and_set_status_an_unknown_one(fake: FakeMagicHour) -> None:
    fake.seed_project("video", id="taken")
    with pytest.raises(InvalidParameterError, match="taken"):
        fake.seed_project("image", id="taken")
    with pytest.raises(InvalidParameterError, match=r"'nope'.*'taken'"):
        fake.set_project_status("nope", "complete")
    with pytest.raises(InvalidParameterError):
        fake.on_project_change("not callable")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- mock-server mode


@pytest.mark.parametrize("kind", sorted(RESOURCES))
async def test_mock_server_answers_any_id_and_token_at_its_url(sdk: Any, kind: str, tmp_path: Any) -> None:
    fake = FakeMagicHour(mock_server=True)
    http = sdk.httpx_client(transport=fake.transport())
    client = sdk.client(token="API_TOKEN", environment=Environment.MOCK_SERVER, httpx_client=http)
    resource = getattr(client.v1, RESOURCES[kind])
    project = await sdk.call(resource.get, id="cuid-example")
    assert (project.id, project.status, len(project.downloads)) == ("cuid-example", "complete", 1)
    assert fake.project("cuid-example").kind == kind
    result = await sdk.call(
        resource.check_result, "cuid-example", True, True, download_directory=str(tmp_path)
    )
    assert len(result.downloaded_paths) == 1
    assert await sdk.call(resource.delete, id="never-seen") is None
    record = fake.requests_to(f"{RESOURCES[kind]}.delete")[0]
    assert record.url.startswith(Environment.MOCK_SERVER.value + "/v1/")
    assert record.path == "/v1/" + RESOURCES[kind].replace("_", "-") + "/never-seen"


async def test_mock_server_is_stateless_for_ids_without_a_live_project(sdk: Any) -> None:
    fake = FakeMagicHour(mock_server=True)
    client = sdk.client(
        token="anything", base_url=fake.base_url, httpx_client=sdk.httpx_client(transport=fake.transport())
    )
    await sdk.call(client.v1.image_projects.get, id="same")
    await sdk.call(client.v1.image_projects.delete, id="same")
    again = await sdk.call(client.v1.video_projects.get, id="same")  # deleted, and of another kind
    assert again.id == "same" and fake.project("same").kind == "video"
    page = await sdk.call(client.v1.saved_items.list, cursor="string", limit=20)
    assert page.items == [] and page.next_cursor is None


@pytest.mark.full  # 2.6 s
async def test_without_mock_server_the_fake_is_strict(sdk: Any, fake: FakeMagicHour) -> None:
    client = sdk.client(
        token=fake.token, base_url=fake.base_url, httpx_client=sdk.httpx_client(transport=fake.transport())
    )
    with pytest.raises(NotFoundError):
        await sdk.call(client.v1.image_projects.get, id="cuid-example")
    with pytest.raises(NotFoundError):
        await sdk.call(client.v1.image_projects.delete, id="cuid-example")
    wrong = sdk.client(
        token="API_TOKEN", base_url=fake.base_url, httpx_client=sdk.httpx_client(transport=fake.transport())
    )
    with pytest.raises(AuthenticationError):
        await sdk.call(wrong.v1.image_projects.get, id="cuid-example")
    mocked = sdk.client(
        token=fake.token,
        environment=Environment.MOCK_SERVER,
        httpx_client=sdk.httpx_client(transport=fake.transport()),
    )
    with pytest.raises(httpx.TransportError, match="unknown host"):
        await sdk.call(mocked.v1.image_projects.get, id="cuid-example")
    fake.mock_server = True  # an attribute too
    assert (await sdk.call(mocked.v1.image_projects.get, id="cuid-example")).id == "cuid-example"


async def test_mock_server_on_a_real_server(sdk: Any) -> None:
    with FakeMagicHour(mock_server=True) as fake, fake.serve() as server:
        client = sdk.client(token="API_TOKEN", base_url=server.url)
        project = await sdk.call(client.v1.face_detection.get, id="cuid-example")
        assert project.id == "cuid-example" and project.status == "complete"
        face = await sdk.call(sdk.httpx_client().get, project.faces[0].url)
        assert face.content.startswith(b"\x89PNG")


async def test_mock_server_still_checks_bodies_and_needs_a_token(sdk: Any) -> None:
    fake = FakeMagicHour(mock_server=True)
    with fake.httpx_client() as http:
        assert http.get(fake.base_url + "/v1/image-projects/x").status_code == 401
        refused = http.post(
            fake.base_url + "/v1/face-swap-photo", json={"assets": {}}, headers={"Authorization": "Bearer x"}
        )
        assert refused.status_code == 422
