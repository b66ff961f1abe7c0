"""Output kind: resource clients, ``magic_hour/resources/v1/<name>/client.py`` (+ its ``__init__``).

Each module declares its operations as :class:`magic_hour._core.body.Endpoint` values with compact body
and query schemas (Python literals), and sync and async classes whose methods are a few declarative
lines: pack the keyword arguments, let the endpoint check and convert them, hand the request to the core
with the response model (imported on first call, module by module). Cursor-paginated ``list`` methods
also get ``iter_all``, a generator over every item of every page.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Dict, List, Optional, Set

from . import ir, jobs, names
from .load import Api
from .pyfmt import HEADER, all_list, docstring, type_expr

DIR = "magic_hour/resources/v1"
# The seed's class names, kept working as aliases of the official ones.
LEGACY_ALIASES = {"files.upload_urls": ("UploadUrls", "AsyncUploadUrls")}
EXTRA = "additional_properties"
_SCALARS = {"string": "STR", "integer": "INT", "number": "NUM", "boolean": "BOOL"}
_SCALAR_KIND = {"string": "str", "integer": "int", "number": "num", "boolean": "bool"}


def schema_expr(node: ir.Node, checks: Dict[str, str], core: Set[str], path: str = "") -> str:
    """The compact schema literal (see magic_hour/_core/body.py) for ``node``; ``core``: names used."""
    null = ", True" if node.nullable else ""
    if node.kind in _SCALARS:
        if node.nullable:
            core.add("Scalar")
            return f'Scalar("{_SCALAR_KIND[node.kind]}", True)'
        core.add(_SCALARS[node.kind])
        return _SCALARS[node.kind]
    if node.kind == "array":
        assert node.items is not None
        core.add("Arr")
        return f"Arr({schema_expr(node.items, checks, core, path + '[]')}{null})"
    core.add("Obj")
    fields = []
    hooks = {}
    for f in node.fields:
        sub = f"{path}.{f.wire}" if path else f.wire
        if sub in checks:
            hooks[f.py] = checks[sub]
        fields.append(f'"{f.py}": ("{f.wire}", {f.required}, {schema_expr(f.node, checks, core, sub)})')
    name = node.type_name if node.parts else "query"
    extra = (
        (", nullable=True" if node.nullable else "")
        + (", open=True" if node.open else "")
        + (f", hooks={hooks!r}".replace("'", '"') if hooks else "")
    )
    return f'Obj("{name}", {{{", ".join(fields)}}}{extra})'


def _first_paragraph(text: str) -> str:
    return " ".join(text.strip().split("\n\n")[0].split())


class _Method:
    def __init__(self, op: ir.Op) -> None:
        self.op = op
        self.name = op.op.method
        self.const = "_" + self.name.upper()
        self.used: Set[str] = set()
        self.type_imports: Set[str] = set()
        self.args: List[ir.Field] = []  # keyword arguments, official order: required, then optional; by name
        groups: List[List[ir.Field]] = [op.path_params]
        if op.query is not None:
            groups.append(op.query.fields)
        if op.body is not None:
            groups.append(op.body.fields)
        flat = [f for g in groups for f in g]
        self.extra = (
            op.body is not None and op.body.open
        )  # official: additional_properties=, spread in the body
        if self.extra:
            doc = (
                "Extra body fields, sent as given (this operation accepts fields beyond the documented ones)."
            )
            flat.append(ir.Field(EXTRA, EXTRA, False, ir.Node("dict", description=doc)))
        self.args = sorted((f for f in flat if f.required), key=lambda f: f.py) + sorted(
            (f for f in flat if not f.required), key=lambda f: f.py
        )
        resp = op.response
        self.model = resp.type_name if resp is not None else None
        self.model_module = resp.module if resp is not None else None
        self.paged = (
            self.name == "list"
            and op.query is not None
            and any(f.wire == "cursor" for f in op.query.fields)
            and resp is not None
            and any(f.wire == "next_cursor" for f in resp.fields)
            and any(f.wire == "items" and f.node.kind == "array" for f in resp.fields)
        )

    def annotation(self, f: ir.Field) -> str:
        expr = type_expr(f.node, self.used)
        for sub in ir.referenced(f.node):
            self.type_imports.add(f"from __MH__.types.params.{sub.module} import {sub.type_name}")
        if f.required:
            return expr
        self.used.update({"Optional", "Union"})
        if not f.node.nullable:
            expr = f"Optional[{expr}]"
        return f"Union[{expr}, NotGiven] = NOT_GIVEN"

    def endpoint(self, checks: Dict[str, str], core: Set[str]) -> str:
        o = self.op
        parts = [f'"{o.op.http_method}"', f'"{o.op.path}"']
        if o.body is not None:
            parts.append(f"body={schema_expr(o.body, checks, core)}")
        if o.query is not None:
            parts.append(f"query={schema_expr(o.query, checks, core)}")
        return f"{self.const} = Endpoint({', '.join(parts)})\n"

    def doc(self) -> str:
        o = self.op
        lines = [f"{o.summary or self.name}: ``{o.op.http_method} {o.op.path}``.", ""]
        if o.description:
            lines += [o.description, ""]
        lines.append("Args:")
        for f in self.args:
            lines.append(f"    {f.py}: {_first_paragraph(f.node.description) or f.py}")
        lines.append(
            "    request_options: ``timeout``, ``additional_headers``, ``additional_params``, ``max_retries``."
        )
        lines += [
            "",
            "Raises:",
            "    InvalidParameterError: an argument can never be accepted (before any request).",
        ]
        lines += ["    ApiError: the API answered with an error (a subclass per status code)."]
        return "\n".join(lines)

    def signature(self, is_async: bool, name: str, ret: str, skip: str = "") -> List[str]:
        out = [f"    {'async ' if is_async else ''}def {name}(", "        self,"]
        args = [f for f in self.args if f.wire != skip]
        if args:
            out.append("        *,")
        for f in args:
            out.append(f"        {f.py}: {self.annotation(f)},")
        if not args:
            out.append("        *,")
        out += ["        request_options: Optional[RequestOptions] = None,", f"    ) -> {ret}:"]
        return out

    def _call(self) -> str:
        o = self.op
        pieces = []
        if o.body is not None:
            pieces.append("{" + ", ".join(f'"{f.py}": {f.py}' for f in o.body.fields) + "}")
            if self.extra:
                pieces.append(f"extra={EXTRA}")
        if o.path_params:
            pieces.append("path={" + ", ".join(f'"{f.py}": {f.py}' for f in o.path_params) + "}")
        if o.query is not None:
            pieces.append("query={" + ", ".join(f'"{f.py}": {f.py}' for f in o.query.fields) + "}")
        return f"{self.const}.request({', '.join(pieces)})"

    def render(self, is_async: bool) -> str:
        aw = "await " if is_async else ""
        ret = self.model or "None"
        if self.model is not None:
            self.type_imports.add(f"from __MH__.types.models.{self.model_module} import {self.model}")
        out = self.signature(is_async, self.name, ret)
        out.append(docstring(self.doc(), "        ").rstrip("\n"))
        if is_async:  # pydantic and the model are imported in a worker thread the first time
            module = f"types.models.{self.model_module}" if self.model is not None else "types._base"
            out.append(f'        await aload("{module}")')
        if self.model is not None:
            out.append(f"        from __MH__.types.models.{self.model_module} import {self.model}\n")
            out.append(
                f"        return {aw}self._http.request({self._call()}, {self.model}, request_options)"
            )
        else:
            out.append("        from __MH__.types._base import NoContent\n")
            out.append(f"        {aw}self._http.request({self._call()}, NoContent, request_options)")
        text = "\n".join(out) + "\n"
        if self.paged:
            text += "\n" + self._iter_all(is_async)
        return text

    def _iter_all(self, is_async: bool) -> str:
        assert self.op.response is not None
        items = next(f for f in self.op.response.fields if f.wire == "items").node.items
        assert items is not None
        item_type = items.type_name
        self.type_imports.add(f"from __MH__.types.models.{items.module} import {item_type}")
        it = "AsyncIterator" if is_async else "Iterator"
        self.used.add(it)
        out = self.signature(is_async, "iter_all", f"{it}[{item_type}]", skip="cursor")
        passed = ", ".join(f"{f.py}={f.py}" for f in self.args if f.wire != "cursor")
        aw = "await " if is_async else ""
        out += [
            docstring(
                "Every item of every page, fetching pages as needed (follows ``next_cursor``).\n\n"
                f"Arguments as for :meth:`{self.name}` (without ``cursor``).",
                "        ",
            ).rstrip("\n"),
            "        cursor: Union[Optional[str], NotGiven] = NOT_GIVEN",
            "        while True:",
            f"            page = {aw}self.{self.name}(cursor=cursor, {passed}, request_options=request_options)",
            *(
                ["            for item in page.items:", "                yield item"]
                if is_async  # no `yield from` in async generators
                else ["            yield from page.items"]
            ),
            "            if not page.next_cursor or page.next_cursor == cursor:",
            "                return",
            "            cursor = page.next_cursor",
        ]
        return "\n".join(out) + "\n"


def render_resource(
    resource: str, ops: List[ir.Op], checks: Dict[str, Dict[str, str]], projects: jobs.Projects
) -> str:
    methods = [_Method(op) for op in sorted(ops, key=lambda o: o.op.method)]
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
        extra, extra_used, extra_imports = jobs.methods(_Method, ops, resource, projects, is_async)
        used |= extra_used
        type_imports |= extra_imports
        if is_async:
            async_body += extra
        else:
            sync_body += extra
    text = endpoints + sync_body + async_body
    req = ["RequestOptions"] + (["NOT_GIVEN", "NotGiven"] if "NOT_GIVEN" in text else [])
    typing_names = sorted(used & {"Any", "AsyncIterator", "Dict", "Iterator", "List", "Optional", "Union"})
    literal_import = ["", "from typing_extensions import Literal"] if "Literal[" in text else []
    title = _first_paragraph(ops[0].summary) if len(ops) == 1 else resource
    head = [
        HEADER + f'"""``client.v1.{resource}``: {title}."""',
        "",
        "from __future__ import annotations",
        "",
        f"from typing import TYPE_CHECKING, {', '.join(typing_names)}",
        *literal_import,
        "",
        f"from __MH__._core.body import {', '.join(['Endpoint', *sorted(core)])}",
        "from __MH__._core.preload import aload",
        f"from __MH__._core.request import {', '.join(sorted(req))}",
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
