"""Output kind: ``magic_hour/resources/v1/tools.py``, the table of the operations that start a project.

One entry per resource whose ``create`` starts a project (``creates`` in the metadata): its name under
``client.v1``, the project kind, the fields that take an uploaded file and loaders of its create
:class:`~magic_hour._core.body.Endpoint` and of the model a project of its kind is read into. Batches
and the CLI read this table instead of importing every resource module and reading its privates: each
loader imports its one module by name, so the dependency is visible to the import checks and typed, and
importing the table imports no resource module.
"""

from __future__ import annotations

from typing import Dict, List

from . import ir
from .jobs import files_literal
from .jobs_methods import result_model
from .load import Api
from .pyfmt import HEADER, all_list

PATH = "magic_hour/resources/v1/tools.py"

_HEAD = '''"""The operations that start a project (a batch's tools), by their name under ``client.v1``.

Each :class:`ToolInfo` says what the tool's resource module declares: the kind of project its
``create`` starts, its fields that take an uploaded file (dotted Python names, ``[]`` for array items,
from ``spec/metadata.json``) and loaders of its create endpoint and of the model a project of its kind
is read into. A loader imports its own module on first use, so importing this table imports none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping, Tuple

if TYPE_CHECKING:
    from ..._core.body import Endpoint

'''

_INFO = '''

@dataclass(frozen=True)
class ToolInfo:
    """``client.v1.<name>.create``, an operation that starts a project."""

    name: str
    kind: str
    """The kind of project it starts: ``video``, ``image``, ``audio`` or ``face_detection``."""
    files: Mapping[str, Tuple[str, ...]]
    """Its fields that take an uploaded file (dotted paths, ``[]`` for array items) -> the asset types
    each takes (``("image", "video")`` for a field that takes either)."""
    model_module: str
    """The module (under ``magic_hour``) of the model a project of its kind is read into."""
    endpoint: Callable[[], Endpoint]
    """Its create endpoint: the request schema ``create`` checks its arguments with."""
    model: Callable[[], Any]
    """The pydantic model a project of its kind is read into (its ``GET``'s answer)."""
'''


def render(api: Api) -> Dict[str, str]:
    tools = sorted(
        (op for op in ir.build(api) if op.op.creates and op.op.method == "create"),
        key=lambda o: o.op.resource,
    )
    kinds = sorted({str(op.op.creates) for op in tools})
    out: List[str] = [HEADER + _HEAD + all_list(["TOOLS", "ToolInfo"]) + "\n" + _INFO]
    for kind in kinds:
        base, _, _ = result_model(kind, api.projects)
        module = result_model(kind, api.projects)[2].removesuffix("_with_downloads")
        out.append(
            f"\n\ndef _{kind}_model() -> Any:\n"
            f"    from ...types.models.{module} import {base}\n\n"
            f"    return {base}\n"
        )
    for op in tools:
        name = op.op.resource
        out.append(
            f"\n\ndef _{name}() -> Endpoint:\n"
            f"    from .{name} import client\n\n"
            f"    return client.{op.op.method.upper()}\n"
        )
    entries = []
    for op in tools:
        name, kind = op.op.resource, str(op.op.creates)
        module = result_model(kind, api.projects)[2].removesuffix("_with_downloads")
        files = files_literal(op.op.files)
        entries.append(
            f'    "{name}": ToolInfo("{name}", "{kind}", {files}, "types.models.{module}", '
            f"_{name}, _{kind}_model),\n"
        )
    out.append(
        "\n\nTOOLS: Mapping[str, ToolInfo] = {\n" + "".join(entries) + "}\n"
        '"""Every tool by its name under ``client.v1``, sorted."""\n'
    )
    return {PATH: "".join(out)}
