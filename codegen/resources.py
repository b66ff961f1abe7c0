"""Output kind: resource clients, ``magic_hour/resources/v1/<name>/client.py`` (+ its ``__init__``).

Each module declares its operations as :class:`magic_hour._core.body.Endpoint` values with compact body
and query schemas (Python literals), and sync and async classes whose methods are a few declarative
lines: pack the keyword arguments, let the endpoint check and convert them, hand the request to the core
with the response model (imported on first call, module by module). Cursor-paginated ``list`` methods
also get ``iter_all``, a generator over every item of every page. One operation's declaration and
methods are rendered by :mod:`.methods`; this module assembles them, with the workflow methods of
:mod:`.jobs`, into the modules and their imports.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Dict, List, Optional, Set

from . import ir, jobs, names
from .load import Api
from .methods import Method, first_paragraph
from .pyfmt import HEADER, all_list, docstring

DIR = "magic_hour/resources/v1"
# The seed's class names, kept working as aliases of the official ones.
LEGACY_ALIASES = {"files.upload_urls": ("UploadUrls", "AsyncUploadUrls")}


def render_resource(
    resource: str, ops: List[ir.Op], checks: Dict[str, Dict[str, str]], projects: jobs.Projects
) -> str:
    methods = [Method(op) for op in sorted(ops, key=lambda o: o.op.method)]
    sync_cls, async_cls = names.class_name(resource), names.async_class_name(resource)
    core: Set[str] = set()
    endpoints = "".join(m.endpoint(checks.get(m.op.op.key, {}), core) for m in methods)
    sync_body = "\n".join(m.render(False) for m in methods)
    async_body = "\n".join(m.render(True) for m in methods)
    used: Set[str] = {"Optional"}
    type_imports: Set[str] = set()
    for m in methods:
        used |= m.used
        type_imports |= m.type_imports
    # generate / check_result / wait / download, from the metadata (codegen/jobs.py)
    tail, tail_imports, tail_names = jobs.module_tail(resource, projects)
    type_imports |= set(tail_imports)
    for is_async in (False, True):
        extra, extra_used, extra_imports = jobs.methods(Method, ops, resource, projects, is_async)
        used |= extra_used
        type_imports |= extra_imports
        if is_async:
            async_body += extra
        else:
            sync_body += extra
    text = endpoints + sync_body + async_body
    given = ["from __MH__._core.config import NOT_GIVEN, NotGiven"] if "NOT_GIVEN" in text else []
    schemas = core - {"CHECKS"}  # the compact schemas of _core.schema
    typing_names = sorted(used & {"Any", "AsyncIterator", "Dict", "Iterator", "List", "Optional", "Union"})
    literal_import = ["", "from typing_extensions import Literal"] if "Literal[" in text else []
    title = first_paragraph(ops[0].summary) if len(ops) == 1 else resource
    head = [
        HEADER + f'"""``client.v1.{resource}``: {title}."""',
        "",
        "from __future__ import annotations",
        "",
        f"from typing import TYPE_CHECKING, {', '.join(typing_names)}",
        *literal_import,
        "",
        "from __MH__._core.body import Endpoint",
        *given,
        "from __MH__._core.preload import aload",
        "from __MH__._core.request import RequestOptions",
        *([f"from __MH__._core.schema import {', '.join(sorted(schemas))}"] if schemas else []),
        *(["from __MH__._validation import CHECKS"] if "CHECKS" in core else []),
        "",
        "if TYPE_CHECKING:",
        "    from __MH__._core.transport import AsyncHTTP, SyncHTTP",
        *sorted("    " + i for i in type_imports),
        "",
        all_list([async_cls, sync_cls, *tail_names]),
        "",
    ]
    summaries = "; ".join(f"``{o.op.method}``: {o.summary}" for o in sorted(ops, key=lambda o: o.op.method))
    doc = f"``client.v1.{resource}``: {summaries}."
    cls = []
    for name, http, body in ((sync_cls, "SyncHTTP", sync_body), (async_cls, "AsyncHTTP", async_body)):
        cls.append(
            f"\n\nclass {name}:\n"
            + docstring(doc or name, "    ")
            + f"\n    def __init__(self, http: {http}) -> None:\n"
            "        self._http = http\n\n" + body
        )
    up = "." * (4 + resource.count("."))  # resources/v1/<name>/client.py -> magic_hour
    body = endpoints + jobs.module_head(resource, ops) + "".join(cls) + tail
    return ("\n".join(head) + "\n" + body).replace("__MH__.", up)


def render(api: Api) -> Dict[str, str]:
    by_resource: Dict[str, List[ir.Op]] = defaultdict(list)
    checks = {o.key: o.checks for o in api.operations}
    for op in ir.build(api):
        by_resource[op.op.resource].append(op)
    files: Dict[str, str] = {}
    for resource, ops in sorted(by_resource.items()):
        base = f"{DIR}/{resource.replace('.', '/')}"
        files[f"{base}/client.py"] = render_resource(resource, ops, checks, api.projects)
        sync_cls, async_cls = names.class_name(resource), names.async_class_name(resource)
        exported = [async_cls, sync_cls]
        lines = [
            HEADER + f'"""``client.v1.{resource}``."""',
            "",
            f"from .client import {async_cls}, {sync_cls}",
        ]
        legacy: Optional[tuple] = LEGACY_ALIASES.get(resource)  # type: ignore[type-arg]
        if legacy:
            lines += ["", f"{legacy[0]} = {sync_cls}", f"{legacy[1]} = {async_cls}"]
            exported += list(legacy)
        extra_lines, extra_names = jobs.package_tail(resource, api.projects)
        lines += extra_lines
        exported += extra_names
        lines += ["", all_list(exported)]
        files[f"{base}/__init__.py"] = "\n".join(lines) + "\n"
    return files
