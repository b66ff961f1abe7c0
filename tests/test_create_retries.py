"""A create (a call that starts a project and spends credits) is never sent twice unless the answer
proves that nothing started: real servers on 127.0.0.1, ``Client`` and ``AsyncClient`` on asyncio and
trio. What is retried, and why, is the table of ``docs/reliability.md``."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any, List, Type

import _modes
import httpx
import pytest
from _servers import Close, Forward, Hang, RawServer, Received, Reset, Respond, closed_port
from conftest import TOKEN, Flavor, Sleeps, default_ssl_context

from magic_hour import (
    ApiConnectionError,
    ApiError,
    ApiResponseValidationError,
    ApiTimeoutError,
    Client,
    ConflictError,
    InternalServerError,
    InvalidParameterError,
    ProjectFailedError,
    ProjectMayExistConnectionError,
    ProjectMayExistError,
    ProjectMayExistResponseError,
    ProjectMayExistServerError,
    ProjectMayExistStatusError,
    ProjectMayExistTimeoutError,
    RateLimitError,
)
from magic_hour._core.retry import nothing_started, worth_retrying
from magic_hour.testing import FakeMagicHour
from magic_hour.testing._spec import example

pytestmark = pytest.mark.anyio
mode, anyio_backend, sdk = _modes.mode, _modes.anyio_backend, _modes.sdk

CREATE_PATH = "/v1/face-swap-photo"
ASSETS = {"source_file_path": "api-assets/a.png", "target_file_path": "api-assets/b.png"}
CREATED = Respond(200, [("Content-Type", "application/json")], b'{"id": "p1", "credits_charged": 10}')
SAMPLE = Path(__file__).resolve().parent.parent / "docs" / "assets" / "sample.png"
API = Path(__file__).resolve().parent.parent / "magic_hour" / "_data" / "api.json"


async def create(sdk: Flavor, server: RawServer, **kwargs: Any) -> Any:
    client = sdk.client(base_url=server.url, timeout=kwargs.pop("timeout", 5.0))
    return await sdk.call(client.v1.face_swap_photo.create, assets=ASSETS, **kwargs)


def posts(server: RawServer) -> List[str]:
    return [r.target for r in server.requests if r.method == "POST"]


# ------------------------------------------------------------------------ not proof: sent exactly once

UNPROVEN = [
    (Respond(500, body=b'{"message": "boom"}'), ProjectMayExistServerError, InternalServerError),
    (Respond(502), ProjectMayExistServerError, InternalServerError),
    (Respond(503, [("Retry-After", "0")]), ProjectMayExistServerError, InternalServerError),
    (Respond(504), ProjectMayExistServerError, InternalServerError),
    # Envoy's stream idle timeout, after it passed the whole request on (was retried: a second project)
    (Respond(408, body=b"stream timeout"), ProjectMayExistStatusError, ApiError),
    (Respond(303, [("Location", "/v1/image-projects/p1")]), ProjectMayExistStatusError, ApiError),
    (Close(), ProjectMayExistConnectionError, ApiConnectionError),  # dropped after the whole request
    (Reset(), ProjectMayExistConnectionError, ApiConnectionError),
    (Hang(10), ProjectMayExistTimeoutError, ApiTimeoutError),  # no answer within the read timeout
    (Respond(200, body=b'{"id": "p1", "credits'), ProjectMayExistResponseError, ApiResponseValidationError),
]


@pytest.mark.parametrize(
    ("action", "cls", "official"),
    UNPROVEN,
    ids=["500", "502", "503", "504", "408", "303", "fin", "rst", "read-timeout", "cut"],
)
async def test_a_create_is_sent_once_when_the_answer_proves_nothing(
    sdk: Flavor, sleeps: Sleeps, action: Any, cls: Type[ProjectMayExistError], official: Type[Exception]
) -> None:
    with RawServer([action], then=CREATED) as server, pytest.raises(ProjectMayExistError) as info:
        await create(sdk, server, timeout=0.3)
    assert posts(server) == [CREATE_PATH]  # the default max_retries=2 would have sent it 3 times
    assert sleeps == []
    err = info.value
    assert type(err) is cls and isinstance(err, official)
    assert (err.operation, err.kind) == (f"POST {CREATE_PATH}", "image")
    message = str(err)
    assert "may have started an image project" in message or "started an image project" in message
    assert "magichour.ai" in message and "'image.started' webhook event" in message
    assert TOKEN not in message


async def test_a_5xx_to_a_create_keeps_what_an_official_except_reads(sdk: Flavor) -> None:
    with (
        RawServer([Respond(502, [("x-request-id", "req_9")], b'{"message": "Bad gateway"}')]) as server,
        pytest.raises(ApiError) as info,
    ):  # the official package's class
        await create(sdk, server)
    err = info.value
    assert isinstance(err, ProjectMayExistServerError)
    assert (err.status_code, err.body, err.request_id) == (502, {"message": "Bad gateway"}, "req_9")
    assert str(err).startswith("502: Bad gateway. POST /v1/face-swap-photo may have started")


async def test_after_proven_failures_an_unproven_one_still_stops(sdk: Flavor) -> None:
    """429 is retried (nothing started); the 502 that follows is not."""
    with (
        RawServer([Respond(429, [("Retry-After", "0")]), Respond(502)], then=CREATED) as server,
        pytest.raises(ProjectMayExistServerError),
    ):
        await create(sdk, server)
    assert posts(server) == [CREATE_PATH] * 2


async def test_a_timeout_on_a_lent_client_is_not_proof(sdk: Flavor) -> None:
    with RawServer([Hang(10)], then=CREATED) as server:
        http = sdk.httpx_client(timeout=0.3)
        client = sdk.client(base_url=server.url, httpx_client=http)
        with pytest.raises(ProjectMayExistTimeoutError):
            await sdk.call(client.v1.face_swap_photo.create, assets=ASSETS)
    assert posts(server) == [CREATE_PATH]


async def test_the_total_timeout_cutting_a_create_is_not_proof(sdk: Flavor) -> None:
    with RawServer([Hang(10)], then=CREATED) as server, pytest.raises(ProjectMayExistTimeoutError):
        await create(sdk, server, request_options={"total_timeout": 0.3})
    assert posts(server) == [CREATE_PATH]


# ------------------------------------------------------------------------------ proof: retried


@pytest.mark.parametrize(
    "body",
    [b'{"message": "Too many requests"}', b'{"id": "p0", "credits_charged": 10}'],
    ids=["message", "reads-like-a-project"],
)
async def test_a_create_is_retried_after_a_429(sdk: Flavor, sleeps: Sleeps, body: bytes) -> None:
    """The status decides, not the body: RFC 6585 says a 429 refused the request (a server that started
    a project and answered 429 breaks HTTP as one answering 400 would)."""
    with RawServer([Respond(429, [("Retry-After", "0")], body)], then=CREATED) as server:
        created = await create(sdk, server)
    assert created.id == "p1"
    assert posts(server) == [CREATE_PATH] * 2


async def test_proven_failures_end_in_their_usual_error(sdk: Flavor, sleeps: Sleeps) -> None:
    with (
        RawServer([], then=Respond(429, [("Retry-After", "0")])) as server,
        pytest.raises(RateLimitError) as info,
    ):
        await create(sdk, server)
    assert not isinstance(info.value, ProjectMayExistError)
    assert posts(server) == [CREATE_PATH] * 3


@pytest.mark.parametrize(
    ("status", "cls"),
    [(409, ConflictError), (307, ApiError), (400, ApiError)],
    ids=["409", "307", "400"],
)
async def test_a_refused_create_is_not_sent_again(sdk: Flavor, sleeps: Sleeps, status: int, cls: Any) -> None:
    """Refused, so nothing started, but not worth a retry: RFC 9110 has the user resolve a 409's conflict
    and resubmit (it was retried 3 times before), and the API documents no 409 for a create."""
    with (
        RawServer([], then=Respond(status, [("Location", "/v1/elsewhere")])) as server,
        pytest.raises(cls) as info,
    ):
        await create(sdk, server)
    assert not isinstance(info.value, ProjectMayExistError) and info.value.status_code == status
    assert posts(server) == [CREATE_PATH]
    assert sleeps == []


async def test_a_gateway_timeout_after_the_create_started_bills_one_project(
    sdk: Flavor, sleeps: Sleeps
) -> None:
    """Envoy answers 408 when its stream idle timeout fires after it passed the request on: the project
    started behind it. Before, the 408 was taken for proof and the create sent twice more (3 projects)."""
    fake = FakeMagicHour(tokens=TOKEN)
    with fake.serve() as served:

        def envoy(request: Received) -> Any:
            if request.method == "POST" and request.target == CREATE_PATH:
                headers = [(k, v) for k, v in request.headers if k.lower() not in ("host", "content-length")]
                httpx.post(
                    served.url + request.target,
                    headers=headers,
                    content=request.body,
                    verify=default_ssl_context(),
                )
                return Respond(408, [("Content-Type", "text/plain")], b"stream timeout")
            return Forward(served.url)

        with RawServer(envoy) as proxy:
            client = sdk.client(base_url=proxy.url)
            with pytest.raises(ProjectMayExistStatusError) as info:
                await sdk.call(client.v1.face_swap_photo.create, assets=ASSETS, name="poster")
        assert len(fake.requests_to("face_swap_photo.create")) == 1
        assert len(fake.projects) == 1
    assert info.value.status_code == 408 and isinstance(info.value, ApiError)


async def test_a_create_that_cannot_connect_is_retried(sdk: Flavor, sleeps: Sleeps) -> None:
    client = sdk.client(base_url=f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(ApiConnectionError) as info:
        await sdk.call(client.v1.face_swap_photo.create, assets=ASSETS)
    assert not isinstance(info.value, ProjectMayExistError)
    assert len(sleeps) == 2  # three attempts, as for any call


async def test_retry_may_duplicate_retries_as_any_call(sdk: Flavor, sleeps: Sleeps) -> None:
    with RawServer([Respond(502), Close()], then=CREATED) as server:
        created = await create(sdk, server, request_options={"retry_may_duplicate": True})
    assert created.id == "p1"
    assert posts(server) == [CREATE_PATH] * 3
    with RawServer([Respond(408), Respond(409)], then=CREATED) as server:
        created = await create(sdk, server, request_options={"retry_may_duplicate": True})
    assert posts(server) == [CREATE_PATH] * 3
    with (
        RawServer([], then=Respond(502)) as server,
        pytest.raises(ProjectMayExistServerError),
    ):  # the last answer still proves nothing
        await create(sdk, server, request_options={"retry_may_duplicate": True})
    assert posts(server) == [CREATE_PATH] * 3


@pytest.mark.parametrize("value", ["yes", 1, None])
async def test_retry_may_duplicate_takes_a_bool(sdk: Flavor, value: object) -> None:
    with (
        RawServer([], then=CREATED) as server,
        pytest.raises(InvalidParameterError, match="retry_may_duplicate"),
    ):
        await create(sdk, server, request_options={"retry_may_duplicate": value})
    assert server.requests == []


# ------------------------------------------------------------------- other calls keep their retries


def _project() -> bytes:
    api = json.loads(API.read_text())
    schema = api["paths"]["/v1/image-projects/{id}"]["get"]["responses"]["200"]["content"]["application/json"]
    return json.dumps(example(schema["schema"])).encode()


GOT = Respond(200, [("Content-Type", "application/json")], _project())


@pytest.mark.parametrize("first", [Respond(502), Close(), Hang(10)], ids=["502", "fin", "read-timeout"])
async def test_reads_and_the_presign_call_are_still_retried(sdk: Flavor, sleeps: Sleeps, first: Any) -> None:
    with RawServer([first], then=GOT) as server:
        client = sdk.client(base_url=server.url, timeout=0.3)
        await sdk.call(client.v1.image_projects.get, id="p1")
    assert [r.method for r in server.requests] == ["GET", "GET"]
    presigned = Respond(
        200,
        [("Content-Type", "application/json")],
        b'{"items": [{"upload_url": "https://s.example/u", "expires_at": "2030-01-01T00:00:00Z",'
        b' "file_path": "api-assets/u.mp4"}]}',
    )
    with RawServer([first], then=presigned) as server:
        client = sdk.client(base_url=server.url, timeout=0.3)
        await sdk.call(client.v1.files.upload_urls.create, items=[{"extension": "mp4", "type_": "video"}])
    assert posts(server) == ["/v1/files/upload-urls"] * 2


async def test_an_upload_put_is_still_retried(sdk: Flavor, sleeps: Sleeps) -> None:
    fake = FakeMagicHour(tokens=TOKEN)
    with fake.serve() as served:
        fake.fail_next("storage", 503)
        client = sdk.client(base_url=served.url)
        await sdk.call(client.v1.files.upload_file, str(SAMPLE))
    assert [r.status for r in fake.requests_to("storage")] == [503, 200]


# ------------------------------------------------------------------------- generate() and the CLI


async def test_generate_creates_once(sdk: Flavor, sleeps: Sleeps, tmp_path: Path) -> None:
    fake = FakeMagicHour(tokens=TOKEN)
    with fake.serve() as served:
        fake.fail_next("face_swap_photo.create", 502)
        client = sdk.client(base_url=served.url)
        with pytest.raises(ProjectMayExistServerError):
            await sdk.call(
                client.v1.face_swap_photo.generate,
                assets={"source_file_path": str(SAMPLE), "target_file_path": str(SAMPLE)},
                download_directory=str(tmp_path),
            )
        assert len(fake.requests_to("face_swap_photo.create")) == 1
        assert len(fake.requests_to("storage")) == 1  # the inputs were uploaded once
    assert list(tmp_path.iterdir()) == []


async def test_generate_creates_once_when_the_answer_is_lost(sdk: Flavor, tmp_path: Path) -> None:
    fake = FakeMagicHour(tokens=TOKEN)
    with fake.serve() as served:
        drop = lambda r: Close() if r.target == CREATE_PATH else Forward(served.url)  # noqa: E731
        with RawServer(drop) as proxy:
            client = sdk.client(base_url=proxy.url)
            with pytest.raises(ProjectMayExistConnectionError):
                await sdk.call(
                    client.v1.face_swap_photo.generate,
                    assets={"source_file_path": str(SAMPLE), "target_file_path": str(SAMPLE)},
                    download_directory=str(tmp_path),
                )
        assert posts(proxy).count(CREATE_PATH) == 1


class Stop(Exception):
    """The caller's own error, raised from its progress callback during the wait."""


def _stop_at_first_status(event: Any) -> None:
    if type(event).__name__ == "ProjectStatus":
        raise Stop("the caller's callback")


@pytest.mark.parametrize("fault", ["poll-500", "callback"])
async def test_an_error_after_the_create_names_the_project_to_pick_up(
    sdk: Flavor, sleeps: Sleeps, tmp_path: Path, fault: str
) -> None:
    """A poll that fails after its retries, or the caller's callback raising during the wait: the project
    started, and generate() called again would bill another. The error keeps its class and says which
    project to pick up with check_result (before: only e.request.url held the id of a failed poll)."""
    fake = FakeMagicHour(tokens=TOKEN)
    with fake.serve() as served:
        client = sdk.client(base_url=served.url)
        kwargs: Any = {"on_progress": _stop_at_first_status} if fault == "callback" else {}
        if fault == "poll-500":
            fake.fail_next("image_projects.get", 500, times=3)
        with pytest.raises(InternalServerError if fault == "poll-500" else Stop) as info:
            await sdk.call(
                client.v1.face_swap_photo.generate,
                assets={"source_file_path": str(SAMPLE), "target_file_path": str(SAMPLE)},
                download_directory=str(tmp_path),
                **kwargs,
            )
        (project,) = fake.projects
        notes = getattr(info.value, "__notes__", [])
        assert notes == [
            f"image project {project.id!r} was started (its credits are spent) before this error; pick it "
            f"up without starting another: client.v1.image_projects.check_result(id={project.id!r}, "
            "wait_for_completion=True, download_outputs=True)"
        ]
        assert TOKEN not in notes[0]
        done = await sdk.call(
            client.v1.image_projects.check_result,
            id=project.id,
            wait_for_completion=True,
            download_outputs=True,
            download_directory=str(tmp_path),
        )
        assert done.status == "complete" and done.downloaded_paths
        assert len(fake.requests_to("face_swap_photo.create")) == 1


def test_ctrl_c_during_the_wait_names_the_project(tmp_path: Path) -> None:
    fake = FakeMagicHour(tokens=TOKEN)

    def interrupt(event: Any) -> None:
        if type(event).__name__ == "ProjectStatus":
            raise KeyboardInterrupt

    with fake.serve() as served, Client(base_url=served.url, token=TOKEN) as client:
        with pytest.raises(KeyboardInterrupt) as info:
            client.v1.face_swap_photo.generate(
                assets={"source_file_path": str(SAMPLE), "target_file_path": str(SAMPLE)},
                download_directory=str(tmp_path),
                on_progress=interrupt,
            )
        (project,) = fake.projects
    assert f"check_result(id={project.id!r}" in info.value.__notes__[0]


async def test_a_failed_project_gets_no_note(sdk: Flavor, tmp_path: Path) -> None:
    fake = FakeMagicHour(tokens=TOKEN)
    with fake.serve() as served:
        fake.end_next_projects("error")
        client = sdk.client(base_url=served.url)
        with pytest.raises(ProjectFailedError) as info:
            await sdk.call(
                client.v1.face_swap_photo.generate,
                assets={"source_file_path": str(SAMPLE), "target_file_path": str(SAMPLE)},
                download_directory=str(tmp_path),
                raise_on_failure=True,
            )
    assert not hasattr(info.value, "__notes__")  # it ended (refunded), and the error holds it


def test_the_cli_creates_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, sleeps: Sleeps
) -> None:
    from magic_hour.cli import main

    fake = FakeMagicHour(tokens=TOKEN)
    monkeypatch.setenv("MAGIC_HOUR_API_TOKEN", TOKEN)
    monkeypatch.chdir(tmp_path)
    with fake.serve() as served:
        fake.fail_next("face_swap_photo.create", 504)
        argv = [
            "--base-url",
            served.url,
            "image",
            "face-swap",
            "--source",
            str(SAMPLE),
            "--target",
            str(SAMPLE),
        ]
        assert main(argv) == 1
        assert len(fake.requests_to("face_swap_photo.create")) == 1
    assert "may have started an image project" in capsys.readouterr().err


@pytest.mark.parametrize("json_output", [False, True], ids=["text", "json"])
def test_the_cli_names_the_started_project_when_the_wait_fails(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    sleeps: Sleeps,
    json_output: bool,
) -> None:
    """Run again, the command would start and bill a second project: after an error that came once the
    project started, it says which one and the command that picks it up (as an interrupt does)."""
    from magic_hour.cli import main

    fake = FakeMagicHour(tokens=TOKEN)
    monkeypatch.setenv("MAGIC_HOUR_API_TOKEN", TOKEN)
    monkeypatch.chdir(tmp_path)
    with fake.serve() as served:
        fake.fail_next("image_projects.get", 500, times=3)
        argv = ["--base-url", served.url, *(["--json"] if json_output else [])]
        argv += ["image", "face-swap", "--source", str(SAMPLE), "--target", str(SAMPLE)]
        assert main(argv) == 1
        (project,) = fake.projects
        resume = f"magic-hour --base-url {served.url} image download {project.id}"
    out, err = capsys.readouterr()
    assert f"to wait for it and get its outputs: {resume}" in err
    if json_output:
        document = json.loads(out)
        assert (document["ok"], document["id"], document["resume"]) == (False, project.id, resume)
        assert document["error"]["status_code"] == 500


# ------------------------------------------------------------------------------------ the decision


def _request() -> httpx.Request:
    return httpx.Request("POST", "https://api.magichour.ai/v1/face-swap")


@pytest.mark.parametrize(
    ("outcome", "proof"),
    [
        (httpx.ConnectError("refused"), True),
        (httpx.ConnectTimeout("slow handshake"), True),
        (httpx.PoolTimeout("no free connection"), True),
        (httpx.ProxyError("tunnel refused"), True),
        (httpx.UnsupportedProtocol("ftp"), True),
        (httpx.ReadTimeout("no answer"), False),
        (httpx.ReadError("reset"), False),
        (httpx.WriteError("broken pipe"), False),  # asyncio may still send what it buffered
        (httpx.WriteTimeout("slow"), False),
        (httpx.RemoteProtocolError("Server disconnected without sending a response."), False),
        (httpx.Response(429), True),
        (httpx.Response(408), False),  # Envoy's stream idle timeout, after passing the request on
        (httpx.Response(409), True),
        (httpx.Response(400), True),
        (httpx.Response(422), True),
        (httpx.Response(303), False),  # a processed POST's answer, to be fetched elsewhere
        (httpx.Response(307), True),
        (httpx.Response(500), False),
        (httpx.Response(502), False),
        (httpx.Response(503, headers={"Retry-After": "1"}), False),
        (httpx.Response(504), False),
    ],
    ids=repr,
)
def test_what_proves_that_nothing_started(outcome: Any, proof: bool) -> None:
    assert nothing_started(outcome) is proof


# What each kind of call does after each failure: a call that is not a create, a create, and a create
# with retry_may_duplicate. A create is retried only after proof that nothing started, which may pass.
DECISIONS = [
    (httpx.ConnectError("refused"), True, True, True),
    (httpx.ConnectTimeout("slow handshake"), True, True, True),
    (httpx.PoolTimeout("no free connection"), True, True, True),
    (httpx.ReadTimeout("no answer"), True, False, True),
    (httpx.RemoteProtocolError("Server disconnected without sending a response."), True, False, True),
    (httpx.WriteError("broken pipe"), True, False, True),
    (httpx.Response(429), True, True, True),
    (httpx.Response(408), True, False, True),
    (httpx.Response(409), True, False, True),
    (httpx.Response(500), True, False, True),
    (httpx.Response(503, headers={"Retry-After": "0"}), True, False, True),
    (httpx.Response(303), False, False, False),
    (httpx.Response(400), False, False, False),
    (httpx.Response(422), False, False, False),
]


@pytest.mark.parametrize(("outcome", "call", "create", "duplicate"), DECISIONS, ids=repr)
def test_the_retry_decision(outcome: Any, call: bool, create: bool, duplicate: bool) -> None:
    assert worth_retrying(outcome) is call
    assert worth_retrying(outcome, creates=True) is create
    assert worth_retrying(outcome, creates=True, retry_may_duplicate=True) is duplicate
    if create:  # a create is retried only on proof
        assert nothing_started(outcome)


def test_every_post_is_a_create_or_known_to_be_safe_to_repeat() -> None:
    """A new POST must be classified: a create (``creates`` in spec/metadata.json) is retried only on
    proof; the presign call may be repeated (it only mints other URLs)."""
    safe_to_repeat = {"POST /v1/files/upload-urls"}
    api = json.loads(
        (Path(importlib.import_module("magic_hour").__file__).parent / "_data" / "api.json").read_text()
    )
    creates = 0
    for path, methods in api["paths"].items():
        for method, op in methods.items():
            meta = op["x-magic-hour"]
            key = f"{method.upper()} {path}"
            module = importlib.import_module(f"magic_hour.resources.v1.{meta['resource']}.client")
            endpoint = getattr(module, meta["method"].upper())
            assert endpoint.creates == meta.get("creates"), key
            if method == "post":
                assert (meta.get("creates") is not None) != (key in safe_to_repeat), key
                creates += meta.get("creates") is not None
    assert creates == 32
