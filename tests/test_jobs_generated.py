"""The job methods the generator emits from the metadata (codegen/jobs.py): ``generate`` on every resource
whose POST creates a project or a face detection, ``check_result``/``wait``/``download`` on the project
resources and face detection, the official ``...WithDownloads`` names; and that they work end to end on
real sockets (tests/_jobs_server.py), sync and async."""

from __future__ import annotations

import importlib
import inspect
import json
import pathlib
from typing import Any, Dict, Iterator, List

import pytest
from _jobs_server import JobsServer

import magic_hour
from magic_hour import ProjectFailedError

pytestmark = pytest.mark.anyio

API = json.loads((pathlib.Path(magic_hour.__file__).parent / "_data" / "api.json").read_text())
PROJECTS: Dict[str, Any] = API["x-magic-hour-projects"]
CREATING = sorted(
    (op["x-magic-hour"]["resource"], op["x-magic-hour"]["creates"])
    for ops in API["paths"].values()
    for op in ops.values()
    if isinstance(op, dict) and op.get("x-magic-hour", {}).get("creates")
)
RUNNER_ARGS = [
    "wait_for_completion",
    "download_outputs",
    "download_directory",
    "overwrite",
    "raise_on_failure",
    "wait_timeout",
    "poll_interval",
    "on_progress",
]


def _classes(resource: str) -> List[Any]:
    module = importlib.import_module(f"magic_hour.resources.v1.{resource}.client")
    return [
        c
        for c in vars(module).values()
        if inspect.isclass(c) and c.__module__ == module.__name__ and c.__name__.endswith("Client")
    ]


@pytest.mark.parametrize(("resource", "kind"), CREATING)
def test_every_creating_resource_has_generate(resource: str, kind: str) -> None:
    classes = _classes(resource)
    assert len(classes) == 2
    for cls in classes:
        create = inspect.signature(cls.create).parameters
        generate = inspect.signature(cls.generate).parameters
        expected = (
            [p for p in create if p not in ("self", "request_options")] + RUNNER_ARGS + ["request_options"]
        )
        assert list(generate)[1:] == expected, cls.__name__
        assert all(generate[p].kind is inspect.Parameter.KEYWORD_ONLY for p in expected)
        assert inspect.iscoroutinefunction(cls.generate) == cls.__name__.startswith("Async")


@pytest.mark.parametrize("kind", sorted(PROJECTS))
def test_project_resources_have_the_job_methods_and_official_names(kind: str) -> None:
    resource = PROJECTS[kind]["resource"]
    for cls in _classes(resource):
        for name in ("check_result", "wait", "download"):
            assert callable(getattr(cls, name)), f"{cls.__name__}.{name}"
        assert list(inspect.signature(cls.check_result).parameters)[1:] == [
            "id",
            "wait_for_completion",
            "download_outputs",
            "download_directory",
            "overwrite",  # ours, keyword-only: the official's positional ones are unchanged
            "wait_timeout",
        ]
        assert (
            inspect.signature(cls.check_result).parameters["overwrite"].kind is inspect.Parameter.KEYWORD_ONLY
        )
    module = importlib.import_module(f"magic_hour.resources.v1.{resource}.client")
    base = "V1" + "".join(p.title() for p in resource.split("_")) + "GetResponse"
    with_downloads = getattr(module, base + "WithDownloads")
    assert with_downloads.__mro__[1].__name__ == base
    assert "downloaded_paths" in with_downloads.model_fields


@pytest.fixture
def server() -> Iterator[JobsServer]:
    with JobsServer() as srv:
        yield srv


@pytest.mark.full
async def test_generated_generate_wait_check_result_download(
    sdk: Any, server: JobsServer, tmp_path: pathlib.Path
) -> None:
    client = sdk.client(base_url=server.url)
    me = tmp_path / "me.png"
    me.write_bytes(b"\x89PNG" + b"m" * 500)
    assets = {"source_file_path": str(me), "target_file_path": me, "face_swap_mode": "all-faces"}
    res = await sdk.call(
        client.v1.face_swap_photo.generate,
        assets=assets,
        name="swap",
        download_directory=str(tmp_path / "out"),
        poll_interval=0.05,
    )
    assert type(res).__name__ == "V1ImageProjectsGetResponseWithDownloads" and res.status == "complete"
    assert res.downloaded_paths == [str(tmp_path / "out" / f"{res.id}.png")]
    assert len(server.state.presigns) == 1 and len(server.requests("PUT")) == 1  # the same file once
    assert assets["source_file_path"] == str(me), "the caller's dict was modified"

    job = await sdk.call(client.v1.face_swap_photo.create, assets={"target_file_path": "api-assets/x.png"})
    project = await sdk.call(client.v1.image_projects.wait, job.id, poll_interval=0.05)
    assert type(project).__name__ == "V1ImageProjectsGetResponse" and project.status == "complete"
    paths = await sdk.call(client.v1.image_projects.download, project, directory=str(tmp_path / "d"))
    assert [pathlib.Path(p).read_bytes() for p in paths] == [server.state.outputs[0][1]]
    again = await sdk.call(client.v1.image_projects.check_result, job.id, True, False)
    assert again.status == "complete" and again.downloaded_paths is None

    server.state.outcomes = ["error"]
    with pytest.raises(ProjectFailedError):
        await sdk.call(
            client.v1.face_swap_photo.generate,
            assets={"target_file_path": "api-assets/x.png"},
            raise_on_failure=True,
            poll_interval=0.05,
        )


async def test_generated_face_detection(sdk: Any, server: JobsServer, tmp_path: pathlib.Path) -> None:
    client = sdk.client(base_url=server.url)
    server.state.outputs = [("0.png", b"face0"), ("1.png", b"face1")]
    res = await sdk.call(
        client.v1.face_detection.generate,
        assets={"target_file_path": "api-assets/group.png"},
        download_directory=str(tmp_path),
        poll_interval=0.05,
    )
    assert type(res).__name__ == "V1FaceDetectionGetResponseWithDownloads"
    assert [pathlib.Path(p).read_bytes() for p in res.downloaded_paths] == [b"face0", b"face1"]
