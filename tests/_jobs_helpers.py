"""Stand-ins for what the generator emits around the job runner: models and a face-swap-photo resource
(create + generate), so the runner is tested on real sockets before the generated resources exist."""

from __future__ import annotations

import pathlib
from typing import Any, Dict, List, Optional

from pydantic import BaseModel, ConfigDict

from magic_hour import AsyncClient, Client, NotGiven
from magic_hour._core.request import ApiRequest
from magic_hour._jobs import AsyncJobs, SyncJobs, async_jobs, sync_jobs

FILES = {
    "assets.source_file_path": "image",
    "assets.target_file_path": "image",
    "assets.face_mappings[].new_face": "image",
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Download(_Model):
    url: str
    expires_at: str


class ProjectError(_Model):
    code: str
    message: str


class ImageProject(_Model):
    id: str
    status: str
    error: Optional[ProjectError] = None
    downloads: List[Download] = []


class ImageProjectWithDownloads(ImageProject):
    downloaded_paths: Optional[List[str]] = None


class Face(_Model):
    path: str
    url: str


class FaceDetection(_Model):
    id: str
    status: str
    faces: List[Face] = []


class FaceDetectionWithDownloads(FaceDetection):
    downloaded_paths: Optional[List[str]] = None


class Created(_Model):
    id: str


def runner(client: Any) -> Any:
    """The client's job runner (SyncJobs or AsyncJobs)."""
    if isinstance(client, Client):
        return sync_jobs(client._http)
    assert isinstance(client, AsyncClient)
    return async_jobs(client._http)


def _wire(body: Dict[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in body.items() if not isinstance(v, NotGiven)}


def creator(client: Any, path: str = "/v1/face-swap-photo") -> Any:
    """``create(body)`` for the runner: one POST through the core, as a generated ``create`` does."""
    http = client._http
    if isinstance(client, Client):

        def create(body: Dict[str, Any]) -> Created:
            return http.request(ApiRequest("POST", path, json=_wire(body)), Created, None)

        return create

    async def acreate(body: Dict[str, Any]) -> Created:
        return await http.request(ApiRequest("POST", path, json=_wire(body)), Created, None)

    return acreate


async def generate(sdk: Any, client: Any, body: Dict[str, Any], **kwargs: Any) -> ImageProjectWithDownloads:
    """What the generated ``client.v1.face_swap_photo.generate(...)`` does."""
    jobs = runner(client)
    assert isinstance(jobs, (SyncJobs, AsyncJobs))
    kwargs.setdefault("poll_interval", 0.05)
    return await sdk.call(
        jobs.generate,
        "image",
        ImageProjectWithDownloads,
        create=creator(client),
        body=body,
        files=FILES,
        **kwargs,
    )


def leftovers(directory: pathlib.Path) -> List[str]:
    """Temporary files left in ``directory`` (there must be none)."""
    return sorted(p.name for p in directory.rglob("*.part"))
