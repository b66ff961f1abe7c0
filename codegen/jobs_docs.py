"""The job sections of the API reference pages (issue 14), for :func:`codegen.docs.sections`: ``generate``
after a project-creating ``create``, the project job methods after a project resource's ``get``."""

from __future__ import annotations

from typing import Any, List

from . import names


def doc_sections(d: Any) -> List[Any]:
    """The job sections of an operation's page: ``generate`` after a project-creating ``create``, and
    ``check_result``/``wait``/``download`` after the ``get`` of a project resource."""
    if d.op.creates and d.op.method == "create":
        return [generate_section]
    if d.op.method == "get" and d.op.resource in _PROJECT_RESOURCES:
        return [project_section]
    return []


_PROJECT_RESOURCES = ("video_projects", "image_projects", "audio_projects", "face_detection")


def project_section(d: Any) -> List[str]:
    """``check_result``, ``wait`` and ``download`` of a project resource: signatures and a link."""
    resource = d.op.resource
    model = names.type_name(["v1", resource, "get", "response"])
    up = "../" * (resource.count(".") + 1)
    return [
        '### Wait for it, download its outputs <a name="wait"></a>',
        "",
        f"Next to `get`, `client.v1.{resource}` has the job methods (see [Jobs]({up}jobs.md)):",
        "",
        "- `check_result(id, wait_for_completion, download_outputs, download_directory=None, *, "
        f"overwrite=False, wait_timeout=None)`: the official method; returns a `{model}WithDownloads` (with `downloaded_paths`), "
        "a failed project included.",
        "- `wait(id, *, wait_timeout=None, poll_interval=None, on_progress=None, "
        "request_options=None)`: polls "
        f"adaptively until it ends; returns the `{model}`, raises `ProjectFailedError` or "
        "`ProjectTimeoutError`.",
        "- `download(project, *, directory=None, max_concurrency=4, on_progress=None, overwrite=False)`: "
        "saves its outputs (streamed, concurrent, resumed, moved into place when complete, never over an "
        "existing file unless `overwrite`); returns the paths.",
        "",
    ]


def generate_section(d: Any) -> List[str]:
    """``generate``: what it does, its extra parameters, and the create example as a generate call."""
    from .examples import WIDTH, call_arguments, flat, literal

    kind = d.op.creates
    resource = _projects_resource(kind)
    model = names.type_name(["v1", resource, "get", "response"]) + "WithDownloads"
    module = names.module_name(["v1", resource, "get", "response", "with", "downloads"])
    up = "../" * (d.op.resource.count(".") + 1)
    files = ", ".join(f"`{p}`" for p in sorted(d.op.files)) or "none"
    lines = [
        '### Generate (upload, create, wait, download) <a name="generate"></a>',
        "",
        f"`generate` takes the arguments of `create` and does the whole job: uploads the local files among "
        f"the file fields ({files}: a path, `os.PathLike` or binary file object; URLs and `api-assets/...` "
        "paths are sent as they are) in one presign call, starts the project, waits for it and downloads "
        f"its outputs. See [Jobs]({up}jobs.md).",
        "",
        "| Parameter | Default | Description |",
        "|-----------|:-------:|-------------|",
        "| *(the parameters of `create`)* | | |",
        "| `wait_for_completion` | `True` | Wait for the project to end. |",
        "| `download_outputs` | `True` | Download the outputs once it is complete. |",
        "| `download_directory` | `None` | Where to save them (default: the current directory), named after "
        "the project: `<id>.png`, `<id>-1.png`... |",
        "| `overwrite` | `False` | Replace an existing file of an output's name (else the output is saved "
        "as `<name>-1.png`). |",
        "| `raise_on_failure` | `False` | Raise `ProjectFailedError` if it ends in `error` or `canceled`. |",
        "| `wait_timeout` | `None` | Seconds to wait for the project at most (`ProjectTimeoutError`); `None`: "
        "no limit. |",
        "| `poll_interval` | `None` | A fixed interval between polls (default: adaptive). |",
        "| `on_progress` | `None` | Receives upload, status, download and done events. |",
        "",
    ]
    args = [*call_arguments(d), ("download_directory", "outputs")]
    for awaited in (False, True):
        cls = "AsyncClient" if awaited else "Client"
        target = ("await " if awaited else "") + f"client.v1.{d.op.resource}.generate"
        one_line = f"res = {target}(" + ", ".join(f"{k}={flat(v)}" for k, v in args) + ")"
        if len(one_line) <= WIDTH:
            call = one_line
        else:
            call = (
                f"res = {target}(\n"
                + "\n".join(f"    {k}={literal(v, 4, 4 + len(k) + 1)}," for k, v in args)
                + "\n)"
            )
        lines += [
            f"#### {'Asynchronous' if awaited else 'Synchronous'} Client",
            "",
            "```python",
            f"from magic_hour import {cls}",
            "from os import getenv",
            "",
            f'client = {cls}(token=getenv("API_TOKEN"))',
            call,
            "print(res.status, res.downloaded_paths)",
            "```",
            "",
        ]
    lines += ["#### Response", "", "##### Type"]
    lines += [
        f"[{model}](/magic_hour/types/models/{module}.py): the project as `get` returns it, plus "
        "`downloaded_paths`.",
        "",
    ]
    return lines


def _projects_resource(kind: str) -> str:
    # The metadata's ``projects``: ``<kind>_projects``, and ``face_detection`` for face detections.
    return kind if kind == "face_detection" else f"{kind}_projects"
