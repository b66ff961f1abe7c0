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
and :func:`module_tail` add module-level lines, :func:`package_tail` the package ``__init__``'s; the
method source is in :mod:`codegen.jobs_methods`, the docs pages' sections in :mod:`codegen.jobs_docs`.
Nothing here is hand-written per resource.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Set, Tuple

from . import ir, names
from .jobs_methods import WHAT, Projects, generate_method, project_methods, result_model
from .load import Api
from .pyfmt import HEADER, docstring

DIR = "magic_hour/types/models"


def py_path(path: str) -> str:
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


def asset_types(types: Any) -> str:
    """The asset types a file field takes (metadata: one name, or a list of them) as a tuple literal."""
    names_ = [types] if isinstance(types, str) else list(types)
    return "(" + ", ".join(f'"{t}"' for t in names_) + ("," if len(names_) == 1 else "") + ")"


def files_literal(files: Dict[str, Any]) -> str:
    """``{"assets.image_file_path": ("image",), ...}``: each file field (Python names) -> its asset types."""
    return "{" + ", ".join(f'"{py_path(p)}": {asset_types(t)}' for p, t in sorted(files.items())) + "}"


def module_head(resource: str, ops: List[ir.Op]) -> str:
    """Module-level constants: the file fields of ``create`` (``_GENERATE_FILES``)."""
    op = _creating(ops)
    if op is None:
        return ""
    return f"_GENERATE_FILES: dict[str, tuple[str, ...]] = {files_literal(op.op.files)}\n"


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
    generated methods. ``method`` is the method renderer class (:class:`.methods.Method`: it
    renders signatures and collects the imports their annotations need)."""
    out: List[str] = []
    renderers: List[Any] = []
    op = _creating(ops)
    if op is not None:
        renderers.append(method(op))
        out.append(generate_method(renderers[-1], op, projects, is_async))
    kind = _kind_of_resource(resource, projects)
    get = next((o for o in ops if o.op.method == "get"), None)
    if kind is not None and get is not None:
        renderers.append(method(get))
        out.append(project_methods(renderers[-1], kind, projects, is_async))
    used: Set[str] = set()
    imports: Set[str] = set()
    for r in renderers:
        used |= r.used
        imports |= r.type_imports
    return ("\n" + "\n".join(out)) if out else "", used, imports


def render(api: Api) -> Dict[str, str]:
    """The ``...WithDownloads`` model modules."""
    projects: Projects = api.projects
    files: Dict[str, str] = {}
    for kind in sorted(projects):
        base, model, module = result_model(kind, projects)
        base_module = names.module_name(["v1", projects[kind]["resource"], "get", "response"])
        what = WHAT.get(kind, kind)
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
