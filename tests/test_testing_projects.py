"""The fake's projects: lifecycle on the fake's clock, outcome knobs, downloads with ranges, records;
and the paginated saved items. Through the transport (sync) and the real server (async)."""

from __future__ import annotations

from contextlib import ExitStack, suppress
from typing import Any, AsyncIterator, Dict

import httpx
import pytest
from conftest import default_ssl_context

from magic_hour import InvalidParameterError
from magic_hour.testing import FakeMagicHour

pytestmark = pytest.mark.anyio

BODY = {"name": "Poster", "assets": {"target_file_path": "api-assets/id/1.png", "source_file_path": "x.png"}}


class Api:
    def __init__(self, fake: FakeMagicHour, http: Any, is_async: bool, base_url: str) -> None:
        self.fake, self.http, self.is_async, self.base_url = fake, http, is_async, base_url

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        kwargs.setdefault("headers", {"Authorization": f"Bearer {self.fake.token}"})
        url = url if url.startswith("http") else self.base_url + url
        if self.is_async:
            response: httpx.Response = await self.http.request(method, url, **kwargs)
            return response
        return self.http.request(method, url, **kwargs)  # type: ignore[no-any-return]

    async def start(self) -> str:
        response = await self.request("POST", "/v1/face-swap-photo", json=BODY)
        assert response.status_code == 200, response.text
        return str(response.json()["id"])

    async def get(self, project_id: str) -> Dict[str, Any]:
        response = await self.request("GET", f"/v1/image-projects/{project_id}")
        assert response.status_code == 200, response.text
        body: Dict[str, Any] = response.json()
        return body


@pytest.fixture(params=["sync-transport", "async-server"])
async def api(request: pytest.FixtureRequest) -> AsyncIterator[Api]:
    with ExitStack() as stack, FakeMagicHour() as fake:
        if request.param == "sync-transport":
            yield Api(fake, stack.enter_context(fake.httpx_client()), False, fake.base_url)
        else:
            server = stack.enter_context(fake.serve())
            async with httpx.AsyncClient(verify=default_ssl_context()) as http:
                yield Api(fake, http, True, server.url)


async def test_a_project_is_queued_then_rendering_then_complete(api: Api) -> None:
    api.fake.queue_seconds, api.fake.render_seconds = 5, 10
    project_id = await api.start()
    first = await api.get(project_id)
    assert (first["status"], first["downloads"]) == ("queued", [])
    api.fake.advance_clock(5)
    assert (await api.get(project_id))["status"] == "rendering"
    api.fake.advance_clock(10)
    done = await api.get(project_id)
    assert done["status"] == "complete" and len(done["downloads"]) == 1
    assert done["name"] == "Poster" and done["error"] is None
    # The deprecated fields the official SDK 0.90 requires (the published description dropped them).
    assert (done["total_frame_cost"], done["download"]) == (done["credits_charged"], done["downloads"][0])
    assert [r.route for r in api.fake.requests_to("image_projects.get")] == ["image_projects.get"] * 3
    assert api.fake.project(project_id).route == "face_swap_photo.create"
    assert api.fake.project(project_id).body == BODY


async def test_a_video_project_download_is_its_first_download(api: Api) -> None:
    response = await api.request(
        "POST", "/v1/text-to-video", json={"end_seconds": 5, "style": {"prompt": "x"}}
    )
    assert response.json()["frame_cost"] == response.json()["credits_charged"]
    video = (await api.request("GET", f"/v1/video-projects/{response.json()['id']}")).json()
    assert video["download"] == video["downloads"][0]  # the fake's file, not the example's URL
    assert (await api.request("GET", video["download"]["url"], headers={})).status_code == 200
    assert video["total_frame_cost"] == video["credits_charged"]


@pytest.mark.parametrize("outcome", ["error", "canceled"])
async def test_end_next_projects(api: Api, outcome: str) -> None:
    api.fake.end_next_projects(outcome, code="no_source_face", message="no face")
    failed, fine = await api.start(), await api.start()
    body = await api.get(failed)
    assert (body["status"], body["downloads"], body["credits_charged"]) == (outcome, [], 0)
    expected = {"code": "no_source_face", "message": "no face"} if outcome == "error" else None
    assert body["error"] == expected
    assert (await api.get(fine))["status"] == "complete"


async def test_a_face_detection_cannot_be_canceled_so_it_errors(api: Api) -> None:
    api.fake.end_next_projects("canceled")
    response = await api.request("POST", "/v1/face-detection", json={"assets": {"target_file_path": "a.png"}})
    body = (await api.request("GET", f"/v1/face-detection/{response.json()['id']}")).json()
    assert (body["status"], body["faces"]) == ("error", [])


async def test_downloads_support_ranges_and_can_go_without(api: Api) -> None:
    project_id = await api.start()
    url = (await api.get(project_id))["downloads"][0]["url"]
    whole = await api.request("GET", url, headers={})
    assert whole.headers["accept-ranges"] == "bytes"
    part = await api.request("GET", url, headers={"Range": "bytes=8-"})
    assert (part.status_code, part.content) == (206, whole.content[8:])
    assert part.headers["content-range"] == f"bytes 8-{len(whole.content) - 1}/{len(whole.content)}"
    tail = await api.request("GET", url, headers={"Range": "bytes=-4"})
    assert tail.content == whole.content[-4:]
    bad = await api.request("GET", url, headers={"Range": "bytes=99999-"})
    assert bad.status_code == 416
    api.fake.ranges = False
    plain = await api.request("GET", url, headers={"Range": "bytes=8-"})
    assert (plain.status_code, plain.content, plain.headers.get("accept-ranges")) == (
        200,
        whole.content,
        None,
    )


async def test_download_urls_expire_and_faults_apply(api: Api) -> None:
    url = (await api.get(await api.start()))["downloads"][0]["url"]
    api.fake.fail_next("downloads", 503)
    assert (await api.request("GET", url, headers={})).status_code == 503
    api.fake.fail_next("image_projects.get", 429, headers={"Retry-After": "0"})
    assert (await api.request("GET", "/v1/image-projects/x")).status_code == 429
    api.fake.advance_clock(api.fake.url_ttl + 1)
    expired = await api.request("GET", url, headers={})
    assert expired.status_code == 403 and b"Request has expired" in expired.content
    assert [r.status for r in api.fake.requests_to("downloads")] == [503, 403]


async def test_saved_items_pages_with_a_cursor(api: Api) -> None:
    seeded = api.fake.seed("saved_items.list", count=45)
    assert len({item["id"] for item in seeded}) == 45
    seen, cursor, pages = [], None, 0
    while True:
        params = {"cursor": cursor} if cursor else {}
        body = (await api.request("GET", "/v1/saved-items", params=params)).json()
        seen += [item["id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert (pages, seen) == (3, [item["id"] for item in seeded])
    small = (await api.request("GET", "/v1/saved-items", params={"limit": 10, "type": "voice"})).json()
    assert {item["type"] for item in small["items"]} == {"voice"} and len(small["items"]) == 9
    assert small["next_cursor"] is None


async def test_saved_items_query_is_checked(api: Api) -> None:
    for params, fragment in [
        ({"limit": "many"}, "limit must be an integer"),
        ({"type": "nope"}, "type must be one of"),
        ({"cursor": "garbage"}, "cursor"),
    ]:
        response = await api.request("GET", "/v1/saved-items", params=params)
        assert response.status_code in (400, 422) and fragment in response.json()["message"], response.text
    assert (await api.request("GET", "/v1/saved-items")).json() == {"items": [], "next_cursor": None}


def test_seed_and_knob_arguments_are_checked() -> None:
    fake = FakeMagicHour()
    for call in (
        lambda: fake.seed("account.list", count=1),
        lambda: fake.seed("saved_items.list"),
        lambda: fake.seed("saved_items.list", count=-1),
        lambda: fake.end_next_projects("exploded"),
        lambda: fake.fail_next("nope"),
        lambda: setattr(fake, "render_seconds", -1),
        lambda: FakeMagicHour(queue_seconds=-1),
    ):
        with pytest.raises(InvalidParameterError):
            call()
    given = fake.seed("saved_items.list", [{"id": "a", "type": "voice", "name": None, "assets": []}])
    assert given[0]["id"] == "a"


def test_reset_forgets_projects_and_seeds() -> None:
    fake = FakeMagicHour()
    fake.seed("saved_items.list", count=2)
    with fake.httpx_client() as http:
        http.post(
            fake.base_url + "/v1/face-swap-photo", json=BODY, headers={"Authorization": "Bearer test-token"}
        )
    assert len(fake.projects) == 1
    fake.reset()
    assert fake.projects == [] and fake.requests == []
    with fake.httpx_client() as http:
        body = http.get(
            fake.base_url + "/v1/saved-items", headers={"Authorization": "Bearer test-token"}
        ).json()
    assert body["items"] == []


async def test_drop_next_downloads_cuts_the_body_and_a_range_resumes(api: Api) -> None:
    url = (await api.get(await api.start()))["downloads"][0]["url"]
    whole = (await api.request("GET", url, headers={})).content
    api.fake.drop_next_downloads(after_bytes=10)
    received = bytearray()

    async def read() -> None:
        if api.is_async:
            async with api.http.stream("GET", url) as response:
                assert response.headers["content-length"] == str(len(whole))
                async for chunk in response.aiter_bytes():
                    received.extend(chunk)
        else:
            with api.http.stream("GET", url) as response:
                assert response.headers["content-length"] == str(len(whole))
                for chunk in response.iter_bytes():
                    received.extend(chunk)

    with pytest.raises(httpx.TransportError):
        await read()
    assert received == whole[:10]
    rest = await api.request("GET", url, headers={"Range": f"bytes={len(received)}-"})
    assert bytes(received) + rest.content == whole
    assert [r.fault for r in api.fake.requests_to("downloads")] == [None, "drop", None]


async def test_latency_on_one_route(api: Api) -> None:
    import time

    api.fake.set_latency(0.2, route="image_projects.get")
    project_id = await api.start()
    start = time.perf_counter()
    await api.start()
    fast = time.perf_counter() - start
    start = time.perf_counter()
    await api.get(project_id)
    assert time.perf_counter() - start >= 0.2 > fast


async def test_output_size_makes_big_valid_outputs(api: Api) -> None:
    api.fake.output_size = 3 * 1024 * 1024 + 7
    url = (await api.get(await api.start()))["downloads"][0]["url"]
    response = await api.request("GET", url, headers={})
    assert len(response.content) == 3 * 1024 * 1024 + 7 == int(response.headers["content-length"])
    assert response.content.startswith(b"\x89PNG\r\n\x1a\n") and response.content.endswith(b"IEND\xaeB`\x82")
    with pytest.raises(InvalidParameterError):
        api.fake.output_size = 0


async def test_drop_next_downloads_per_file(api: Api) -> None:
    api.fake.drop_next_downloads(per_file=True)
    first = (await api.get(await api.start()))["downloads"][0]["url"]
    second = (await api.get(await api.start()))["downloads"][0]["url"]
    for url in (second, first, second, first):
        with suppress(httpx.TransportError):
            await api.request("GET", url, headers={})
    assert [r.fault for r in api.fake.requests_to("downloads")] == ["drop", "drop", None, None]


def test_echo_inputs_outputs_the_uploaded_input() -> None:
    fake = FakeMagicHour()
    photo = b"\x89PNG\r\n\x1a\n" + b"my own pixels" * 100
    with fake.client() as client, fake.httpx_client() as http:
        item = client.v1.files.upload_urls.create(items=[{"extension": "png", "type_": "image"}]).items[0]
        assert (
            http.put(item.upload_url, content=photo, headers={"Content-Type": "image/png"}).status_code == 200
        )
        assets = {"source_file_path": "https://example.com/me.png", "target_file_path": item.file_path}
        plain = client.v1.face_swap_photo.create(assets=assets)
        fake.echo_inputs = True
        echoed = client.v1.face_swap_photo.create(assets=assets)
        not_uploaded = client.v1.face_swap_photo.create(assets={"target_file_path": "api-assets/x/y.png"})
        urls = [client.v1.image_projects.get(id=p.id).downloads[0].url for p in (plain, echoed, not_uploaded)]
        bodies = [http.get(url) for url in urls]
    assert bodies[1].content == photo and bodies[1].headers["content-type"] == "image/png"
    assert bodies[0].content != photo and bodies[0].content.startswith(b"\x89PNG")
    assert bodies[2].content == bodies[0].content


def test_echo_inputs_outputs_face_detections_image_but_not_its_video() -> None:
    """Face detection's field takes an image or a video (its metadata lists both): an uploaded image is
    echoed as the faces' image, a video is not."""
    fake = FakeMagicHour()
    fake.echo_inputs = True
    photo = b"\x89PNG\r\n\x1a\n" + b"my own face" * 100
    with fake.client() as client, fake.httpx_client() as http:
        faces = []
        for ext, type_, content in (("png", "image", photo), ("mp4", "video", b"\x00\x00\x00\x18ftypmp42")):
            item = client.v1.files.upload_urls.create(items=[{"extension": ext, "type_": type_}]).items[0]
            assert http.put(item.upload_url, content=content).status_code == 200
            job = client.v1.face_detection.create(assets={"target_file_path": item.file_path})
            faces.append(http.get(client.v1.face_detection.get(id=job.id).faces[0].url))
    assert faces[0].content == photo and faces[0].headers["content-type"] == "image/png"
    assert faces[1].content != photo and faces[1].content.startswith(b"\x89PNG")
