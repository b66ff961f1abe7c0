"""The job methods' source (issue 14): ``generate`` of a project-creating resource, and ``check_result``,
``wait`` and ``download`` of a project resource, as lines of a generated class. Used by :mod:`codegen.jobs`."""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

from . import ir, names
from .methods import EXTRA
from .pyfmt import docstring

Projects = Dict[str, Dict[str, str]]


RUNNER_ARGS = (
    "wait_for_completion",
    "download_outputs",
    "download_directory",
    "overwrite",
    "raise_on_failure",
    "wait_timeout",
    "poll_interval",
    "on_progress",
)
_GENERATE_ARGS = [
    "        wait_for_completion: bool = True,",
    "        download_outputs: bool = True,",
    "        download_directory: Optional[str] = None,",
    "        overwrite: bool = False,",
    "        raise_on_failure: bool = False,",
    "        wait_timeout: Optional[float] = None,",
    "        poll_interval: Optional[float] = None,",
    "        on_progress: Optional[JobProgressCallback] = None,",
]


def result_model(kind: str, projects: Dict[str, Dict[str, str]]) -> Tuple[str, str, str]:
    """(GET model, WithDownloads model, its module) of a project kind: ``image`` ->
    ``V1ImageProjectsGetResponse``, ``V1ImageProjectsGetResponseWithDownloads``, ``v1_..._with_downloads``."""
    resource = projects[kind]["resource"]
    base = names.type_name(["v1", resource, "get", "response"])
    module = names.module_name(["v1", resource, "get", "response", "with", "downloads"])
    return base, base + "WithDownloads", module


WHAT = {
    "video": "a video project",
    "image": "an image project",
    "audio": "an audio project",
    "face_detection": "a face detection",
}


def _runner_name(arg: str) -> str:
    """The runner's name of a generated argument: the wait's budget is ``wait_timeout`` in every public
    signature (``timeout`` is one attempt's, as in httpx)."""
    return "timeout" if arg == "wait_timeout" else arg


def _runner(is_async: bool) -> Tuple[str, str]:
    return ("async_jobs", "await ") if is_async else ("sync_jobs", "")


def _preload(is_async: bool, *models: str) -> List[str]:
    """An async method's first call imports the job runner and its models in a worker thread (pydantic
    among them), not on the event loop: :func:`magic_hour._core.preload.aload`."""
    if not is_async:
        return []
    loads = [f"types.models.{m}" for m in models] + ["_jobs.runner"]
    return [f'        await aload("{name}")' for name in loads]


def generate_method(m: Any, op: ir.Op, projects: Projects, is_async: bool) -> str:
    assert op.op.creates is not None
    clash = {f.py for f in m.args} & set(RUNNER_ARGS)
    assert not clash, f"{op.op.key}: body fields {clash} clash with generate()'s own arguments"
    if op.generate_assets is not None:
        m.args = [
            ir.Field(f.wire, f.py, f.required, op.generate_assets) if f.wire == "assets" else f
            for f in m.args
        ]
    _, model, module = result_model(op.op.creates, projects)
    m.type_imports.add(f"from __MH__.types.models.{module} import {model}")
    m.type_imports.add("from __MH__._jobs.events import JobProgressCallback")
    lines = m.signature(is_async, "generate", model)
    at = next(i for i, line in enumerate(lines) if "request_options:" in line)
    if not any(line.strip() == "*," for line in lines[:at]):
        lines.insert(at, "        *,")
        at += 1
    lines[at:at] = _GENERATE_ARGS
    runner, aw = _runner(is_async)
    body = ", ".join(f'"{f.py}": {f.py}' for f in (op.body.fields if op.body else []))
    # An open body's extra fields go to the create as its own argument (as the official generate does).
    extra_arg = f", {EXTRA}={EXTRA}" if m.extra else ""
    extra_check = f", extra={EXTRA}" if m.extra else ""
    doc = (
        f"{op.summary or 'Create'}, then wait and download: ``generate``.\n\n"
        "Uploads the local files among the inputs (one presign call, concurrent uploads; files this client "
        f"already uploaded are reused), calls :meth:`create`, waits for the {op.op.creates.replace('_', ' ')} "
        "to end and downloads its outputs. See docs/jobs.md.\n\n"
        "Args:\n"
        "    (as for ``create``; file fields also take local paths and binary file objects)\n"
        "    wait_for_completion: wait for the project to end (default true).\n"
        "    download_outputs: download the outputs once it is complete (default true).\n"
        "    download_directory: where to save them (default: the current directory), named after the project.\n"
        "    overwrite: replace an existing file of an output's name (by default it is kept, and the output\n"
        "        saved as ``<name>-1<ext>``).\n"
        "    raise_on_failure: raise ``ProjectFailedError`` if it ends in ``error`` or ``canceled``.\n"
        "    wait_timeout: seconds to wait for the project at most (``ProjectTimeoutError``); ``None`` (the\n"
        "        default) waits as long as it takes.\n"
        "    poll_interval: a fixed interval between polls (default: adaptive, or $MAGIC_HOUR_POLL_INTERVAL).\n"
        "    on_progress: receives UploadProgress, ProjectStatus, DownloadProgress and JobDone events.\n"
        "    request_options: for the ``create`` call.\n\n"
        f"Returns:\n    {model}: the project, with ``downloaded_paths``."
    )
    lines.append(docstring(doc, "        ").rstrip("\n"))
    lines += [
        *_preload(is_async, module),
        f"        from __MH__._jobs import {runner}",
        f"        from __MH__.types.models.{module} import {model}",
        "",
        f"        return {aw}{runner}(self._http).generate(",
        f'            "{op.op.creates}",',
        f"            {model},",
        f"            create=lambda body: self.create(**body{extra_arg}, request_options=request_options),",
        # The create's own checks, run on the body before anything is uploaded (local inputs in place).
        f"            check=lambda body: {m.const}.build(body{extra_check}),",
        f"            body={{{body}}},",
        "            files=_GENERATE_FILES,",
        *[f"            {_runner_name(a)}={a}," for a in RUNNER_ARGS],
        "            request_options=request_options,",
        "        )",
    ]
    return "\n".join(lines) + "\n"


def project_methods(m: Any, kind: str, projects: Projects, is_async: bool) -> str:
    base, model, module = result_model(kind, projects)
    base_module = names.module_name(["v1", projects[kind]["resource"], "get", "response"])
    m.type_imports.update(
        {
            f"from __MH__.types.models.{module} import {model}",
            f"from __MH__.types.models.{base_module} import {base}",
            "from __MH__._jobs.events import DownloadProgressCallback, StatusCallback",
        }
    )
    m.used.update({"Any", "List", "Optional"})
    runner, aw = _runner(is_async)
    a = "async " if is_async else ""
    what = WHAT.get(kind, kind).split(" ", 1)[1]
    imp = f"        from __MH__._jobs import {runner}"
    check_doc = docstring(
        f"Get the {what}, optionally wait for it to end and download its outputs (the official method).\n\n"
        "A project that ends in ``error`` or ``canceled`` is returned, not raised; the wait has no time "
        "limit unless ``wait_timeout`` (seconds: then ``ProjectTimeoutError``) and polls adaptively, or every $MAGIC_HOUR_POLL_INTERVAL seconds when set. Outputs are named "
        "after the project (``<id>.png``) and never replace an existing file unless ``overwrite``. See "
        "docs/jobs.md."
        f"\n\nReturns:\n    {model}: the {what}, with ``downloaded_paths`` when outputs were downloaded.",
        "        ",
    ).rstrip("\n")
    wait_doc = docstring(
        f"Poll the {what} until it ends and return it.\n\n"
        "Polls every 0.25 s at first, then less often as the wait grows (completion is noticed within "
        "max(0.5 s, 10% of the time waited)); each poll is a normal request with the client's retries.\n\n"
        "Raises:\n"
        "    ProjectFailedError: it ended in ``error`` or ``canceled`` (``.code``, ``.error_message``).\n"
        "    ProjectTimeoutError: still running after ``wait_timeout`` seconds (``.status``: the last seen;\n"
        "        ``None``, the default, waits as long as it takes).",
        "        ",
    ).rstrip("\n")
    download_doc = docstring(
        f"Download the outputs of a {what} (the {what} itself, or its list of outputs) into ``directory``; "
        "return the paths written, in order. Streamed, concurrent, resumed after a drop, moved into "
        "place when complete: named after the project when given the project itself, and never over an "
        "existing file unless ``overwrite`` (else ``<name>-1<ext>``). See docs/jobs.md.",
        "        ",
    ).rstrip("\n")
    check = [
        f"    {a}def check_result(",
        "        self,",
        "        id: str,",
        "        wait_for_completion: bool,",
        "        download_outputs: bool,",
        "        download_directory: Optional[str] = None,",
        "        *,",
        "        overwrite: bool = False,",
        "        wait_timeout: Optional[float] = None,",
        f"    ) -> {model}:",
        check_doc,
        *_preload(is_async, module),
        imp,
        f"        from __MH__.types.models.{module} import {model}",
        "",
        f"        return {aw}{runner}(self._http).check_result(",
        f'            "{kind}",',
        "            id,",
        f"            {model},",
        "            wait_for_completion=wait_for_completion,",
        "            download_outputs=download_outputs,",
        "            download_directory=download_directory,",
        "            overwrite=overwrite,",
        "            timeout=wait_timeout,",
        "        )",
    ]
    wait = [
        f"    {a}def wait(",
        "        self,",
        "        id: str,",
        "        *,",
        "        wait_timeout: Optional[float] = None,",
        "        poll_interval: Optional[float] = None,",
        "        on_progress: Optional[StatusCallback] = None,",
        "        request_options: Optional[RequestOptions] = None,",
        f"    ) -> {base}:",
        wait_doc,
        *_preload(is_async, base_module),
        imp,
        f"        from __MH__.types.models.{base_module} import {base}",
        "",
        f"        return {aw}{runner}(self._http).wait(",
        f'            "{kind}",',
        "            id,",
        f"            {base},",
        "            timeout=wait_timeout,",
        "            poll_interval=poll_interval,",
        "            on_progress=on_progress,",
        "            request_options=request_options,",
        "        )",
    ]
    download = [
        f"    {a}def download(",
        "        self,",
        "        project: Any,",
        "        *,",
        "        directory: Optional[str] = None,",
        "        max_concurrency: int = 4,",
        "        on_progress: Optional[DownloadProgressCallback] = None,",
        "        overwrite: bool = False,",
        "    ) -> List[str]:",
        download_doc,
        *_preload(is_async),
        imp,
        "",
        f"        return {aw}{runner}(self._http).download(",
        "            project,",
        "            directory,",
        "            max_concurrency=max_concurrency,",
        "            on_progress=on_progress,",
        "            overwrite=overwrite,",
        "        )",
    ]
    return "\n".join("\n".join(x) + "\n" for x in (check, wait, download))
