"""Output kind and resource hook: the job methods (issue 14), generated from the metadata.

From ``creates``/``files`` of each project-creating POST and the metadata's ``projects``:

- every resource whose POST creates a project (or a face detection) gets ``generate``: the arguments of
  ``create`` (file fields typed ``V1<R>GenerateBodyAssets``: they also take local files) plus
  ``wait_for_completion``, ``download_outputs``, ``download_directory`` (the official ones) and
  ``raise_on_failure``, ``timeout``, ``poll_interval``, ``on_progress`` (ours); it hands everything to the
  job runner (``magic_hour._jobs``) with the ``files`` paths and the project kind;
- the project resources (``video_projects``, ``image_projects``, ``audio_projects``) and
  ``face_detection`` get ``check_result`` (official), ``wait`` and ``download``;
- ``V1<Kind>ProjectsGetResponseWithDownloads`` / ``V1FaceDetectionGetResponseWithDownloads`` (official
  names): the GET model plus ``downloaded_paths``, one module each under ``types/models/``, re-exported
  lazily by the project resource's ``client.py`` (its official home) so ``import magic_hour`` stays cheap.

The hook in ``resources.render_resource``: :func:`methods` appends to each class body, :func:`module_head`
and :func:`module_tail` add module-level lines. Nothing here is hand-written per resource.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Set, Tuple

from . import ir, names
from .load import Api
from .pyfmt import HEADER, docstring

DIR = "magic_hour/types/models"
Projects = Dict[str, Dict[str, str]]
RUNNER_ARGS = (
    "wait_for_completion",
    "download_outputs",
    "download_directory",
    "raise_on_failure",
    "timeout",
    "poll_interval",
    "on_progress",
)
_GENERATE_ARGS = [
    "        wait_for_completion: bool = True,",
    "        download_outputs: bool = True,",
    "        download_directory: Optional[str] = None,",
    "        raise_on_failure: bool = False,",
    "        timeout: Optional[float] = None,",
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


_WHAT = {
    "video": "a video project",
    "image": "an image project",
    "audio": "an audio project",
    "face_detection": "a face detection",
}


def _py_path(path: str) -> str:
    """``assets.face_mappings[].new_face`` with each wire name as the Python dict key users write."""
    out = []
    for seg in path.split("."):
        array = seg.endswith("[]")
        key = names.py_name(seg[:-2] if array else seg)
        out.append(key + ("[]" if array else ""))
    return ".".join(out)


def _kind_of_resource(resource: str, projects: Dict[str, Dict[str, str]]) -> Optional[str]:
    return next((k for k, v in projects.items() if v["resource"] == resource), None)


def _creating(ops: List[ir.Op]) -> Optional[ir.Op]:
    return next((o for o in ops if o.op.creates and o.op.method == "create"), None)


def module_head(resource: str, ops: List[ir.Op]) -> str:
    """Module-level constants: the file fields of ``create`` (``_GENERATE_FILES``)."""
    op = _creating(ops)
    if op is None:
        return ""
    files = ", ".join(f'"{_py_path(p)}": "{t}"' for p, t in sorted(op.op.files.items()))
    return f"_GENERATE_FILES: dict[str, str] = {{{files}}}\n"


def _lazy(model: str, source: str) -> str:
    return (
        "\n\ndef __getattr__(name: str) -> Any:  # the official home of the name below; loaded on first use\n"
        f'    if name == "{model}":\n'
        f"        from {source} import {model}\n\n"
        f"        return {model}\n"
        '    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")\n'
    )


def module_tail(resource: str, projects: Projects) -> Tuple[str, List[str], List[str]]:
    """(module-level text, TYPE_CHECKING imports, extra ``__all__`` names) of a project resource's
    ``client.py``: the lazy re-export of its ``...WithDownloads`` model."""
    kind = _kind_of_resource(resource, projects)
    if kind is None:
        return "", [], []
    _, model, module = result_model(kind, projects)
    source = f"__MH__.types.models.{module}"
    return _lazy(model, source), [f"from {source} import {model}"], [model]


def package_tail(resource: str, projects: Projects) -> Tuple[List[str], List[str]]:
    """(lines, extra ``__all__`` names) for a project resource's package ``__init__``: the same name,
    lazily from ``.client``."""
    kind = _kind_of_resource(resource, projects)
    if kind is None:
        return [], []
    _, model, _ = result_model(kind, projects)
    lines = [
        "",
        "from typing import TYPE_CHECKING, Any",
        "",
        "if TYPE_CHECKING:",
        f"    from .client import {model}",
        _lazy(model, ".client").rstrip("\n"),
    ]
    return lines, [model]


def methods(
    method: Any, ops: List[ir.Op], resource: str, projects: Projects, is_async: bool
) -> Tuple[str, Set[str], Set[str]]:
    """(text, typing names used, type imports) of the job methods of one class, appended after its
    generated methods. ``method`` is the resources module's method renderer class (``_Method``: it
    renders signatures and collects the imports their annotations need)."""
    out: List[str] = []
    renderers: List[Any] = []
    op = _creating(ops)
    if op is not None:
        renderers.append(method(op))
        out.append(_generate(renderers[-1], op, projects, is_async))
    kind = _kind_of_resource(resource, projects)
    get = next((o for o in ops if o.op.method == "get"), None)
    if kind is not None and get is not None:
        renderers.append(method(get))
        out.append(_project_methods(renderers[-1], kind, projects, is_async))
    used: Set[str] = set()
    imports: Set[str] = set()
    for r in renderers:
        used |= r.used
        imports |= r.type_imports
    return ("\n" + "\n".join(out)) if out else "", used, imports


def _runner(is_async: bool) -> Tuple[str, str]:
    return ("async_jobs", "await ") if is_async else ("sync_jobs", "")


def _generate(m: Any, op: ir.Op, projects: Projects, is_async: bool) -> str:
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
    doc = (
        f"{op.summary or 'Create'}, then wait and download: ``generate``.\n\n"
        "Uploads the local files among the inputs (one presign call, concurrent uploads; files this client "
        f"already uploaded are reused), calls :meth:`create`, waits for the {op.op.creates.replace('_', ' ')} "
        "to end and downloads its outputs. See docs/jobs.md.\n\n"
        "Args:\n"
        "    (as for ``create``; file fields also take local paths and binary file objects)\n"
        "    wait_for_completion: wait for the project to end (default true).\n"
        "    download_outputs: download the outputs once it is complete (default true).\n"
        "    download_directory: where to save them (default: the current directory).\n"
        "    raise_on_failure: raise ``ProjectFailedError`` if it ends in ``error`` or ``canceled``.\n"
        "    timeout: seconds to wait at most (``ProjectTimeoutError``); ``None`` waits as long as it takes.\n"
        "    poll_interval: a fixed interval between polls (default: adaptive, or $MAGIC_HOUR_POLL_INTERVAL).\n"
        "    on_progress: receives UploadProgress, ProjectStatus, DownloadProgress and JobDone events.\n"
        "    request_options: for the ``create`` call.\n\n"
        f"Returns:\n    {model}: the project, with ``downloaded_paths``."
    )
    lines.append(docstring(doc, "        ").rstrip("\n"))
    lines += [
        f"        from __MH__._jobs import {runner}",
        f"        from __MH__.types.models.{module} import {model}",
        "",
        f"        return {aw}{runner}(self._http).generate(",
        f'            "{op.op.creates}",',
        f"            {model},",
        "            create=lambda body: self.create(**body, request_options=request_options),",
        f"            body={{{body}}},",
        "            files=_GENERATE_FILES,",
        *[f"            {a}={a}," for a in RUNNER_ARGS],
        "        )",
    ]
    return "\n".join(lines) + "\n"


def _project_methods(m: Any, kind: str, projects: Projects, is_async: bool) -> str:
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
    what = _WHAT.get(kind, kind).split(" ", 1)[1]
    imp = f"        from __MH__._jobs import {runner}"
    check_doc = docstring(
        f"Get the {what}, optionally wait for it to end and download its outputs (the official method).\n\n"
        "A project that ends in ``error`` or ``canceled`` is returned, not raised; the wait has no time "
        "limit and polls adaptively, or every $MAGIC_HOUR_POLL_INTERVAL seconds when set. See docs/jobs.md."
        f"\n\nReturns:\n    {model}: the {what}, with ``downloaded_paths`` when outputs were downloaded.",
        "        ",
    ).rstrip("\n")
    wait_doc = docstring(
        f"Poll the {what} until it ends and return it.\n\n"
        "Polls every 0.25 s at first, then less often as the wait grows (completion is noticed within "
        "max(0.5 s, 10% of the time waited)); each poll is a normal request with the client's retries.\n\n"
        "Raises:\n"
        "    ProjectFailedError: it ended in ``error`` or ``canceled`` (``.code``, ``.error_message``).\n"
        "    ProjectTimeoutError: still running after ``timeout`` seconds (``.status``: the last seen).",
        "        ",
    ).rstrip("\n")
    download_doc = docstring(
        f"Download the outputs of a {what} (the {what} itself, or its list of outputs) into ``directory``; "
        "return the paths written, in order. Streamed, concurrent, resumed after a drop, renamed into "
        "place when complete. See docs/jobs.md.",
        "        ",
    ).rstrip("\n")
    check = [
        f"    {a}def check_result(",
        "        self,",
        "        id: str,",
        "        wait_for_completion: bool,",
        "        download_outputs: bool,",
        "        download_directory: Optional[str] = None,",
        f"    ) -> {model}:",
        check_doc,
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
        "        )",
    ]
    wait = [
        f"    {a}def wait(",
        "        self,",
        "        id: str,",
        "        *,",
        "        timeout: Optional[float] = 3600.0,",
        "        poll_interval: Optional[float] = None,",
        "        on_progress: Optional[StatusCallback] = None,",
        "        request_options: Optional[RequestOptions] = None,",
        f"    ) -> {base}:",
        wait_doc,
        imp,
        f"        from __MH__.types.models.{base_module} import {base}",
        "",
        f"        return {aw}{runner}(self._http).wait(",
        f'            "{kind}",',
        "            id,",
        f"            {base},",
        "            timeout=timeout,",
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
        "    ) -> List[str]:",
        download_doc,
        imp,
        "",
        f"        return {aw}{runner}(self._http).download(",
        "            project, directory, max_concurrency=max_concurrency, on_progress=on_progress",
        "        )",
    ]
    return "\n".join("\n".join(x) + "\n" for x in (check, wait, download))


def render(api: Api) -> Dict[str, str]:
    """The ``...WithDownloads`` model modules."""
    projects: Projects = api.projects
    files: Dict[str, str] = {}
    for kind in sorted(projects):
        base, model, module = result_model(kind, projects)
        base_module = names.module_name(["v1", projects[kind]["resource"], "get", "response"])
        what = _WHAT.get(kind, kind)
        files[f"{DIR}/{module}.py"] = (
            HEADER
            + f'"""``{model}``: {what} with the paths of its downloaded outputs (the official name)."""\n\n'
            "from typing import List, Optional\n\n"
            f"from .{base_module} import {base}\n\n\n"
            f"class {model}({base}):\n"
            + docstring(
                f"{base}, plus the paths of the outputs ``generate``/``check_result`` downloaded.", "    "
            )
            + "\n    downloaded_paths: Optional[List[str]] = None\n"
            + docstring(
                "The paths of the downloaded files, in the order of the outputs; ``None`` unless "
                "``download_outputs`` was true and it completed.",
                "    ",
            )
        )
    return files


# --- the API reference pages (codegen/docs.py's ``sections`` switch) ----------------------------------------


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
        f"- `check_result(id, wait_for_completion, download_outputs, download_directory=None)`: the official "
        f"method; returns a `{model}WithDownloads` (with `downloaded_paths`), a failed project included.",
        "- `wait(id, *, timeout=3600, poll_interval=None, on_progress=None, request_options=None)`: polls "
        f"adaptively until it ends; returns the `{model}`, raises `ProjectFailedError` or "
        "`ProjectTimeoutError`.",
        "- `download(project, *, directory=None, max_concurrency=4, on_progress=None)`: saves its outputs "
        "(streamed, concurrent, resumed, renamed into place when complete); returns the paths.",
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
        "| `download_directory` | `None` | Where to save them (default: the current directory). |",
        "| `raise_on_failure` | `False` | Raise `ProjectFailedError` if it ends in `error` or `canceled`. |",
        "| `timeout` | `None` | Seconds to wait at most (`ProjectTimeoutError`); `None`: no limit. |",
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
