"""One operation of a resource client: its :class:`magic_hour._core.body.Endpoint` declaration (the
compact body and query schemas, Python literals) and its sync and async methods (keyword arguments in
the official order, docstring, the declarative call, and ``iter_all`` for a cursor-paginated ``list``).
:mod:`.resources` assembles them into modules; :mod:`.jobs` renders its own methods with :class:`Method`.
"""

from __future__ import annotations

from typing import Dict, List, Set

from . import ir
from .pyfmt import docstring, type_expr

EXTRA = "additional_properties"
_SCALARS = {"string": "STR", "integer": "INT", "number": "NUM", "boolean": "BOOL"}
_SCALAR_KIND = {"string": "str", "integer": "int", "number": "num", "boolean": "bool"}


def schema_expr(node: ir.Node, checks: Dict[str, str], core: Set[str], path: str = "") -> str:
    """The compact schema literal (see magic_hour/_core/schema.py) for ``node``; ``core``: names used."""
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
            core.add("CHECKS")  # magic_hour._validation's table, passed in: the core knows no check by name
            hooks[f.py] = f'CHECKS["{checks[sub]}"]'
        fields.append(f'"{f.py}": ("{f.wire}", {f.required}, {schema_expr(f.node, checks, core, sub)})')
    name = node.type_name if node.parts else "query"
    extra = (
        (", nullable=True" if node.nullable else "")
        + (", open=True" if node.open else "")
        + (", hooks={" + ", ".join(f'"{k}": {v}' for k, v in hooks.items()) + "}" if hooks else "")
    )
    return f'Obj("{name}", {{{", ".join(fields)}}}{extra})'


def first_paragraph(text: str) -> str:
    return " ".join(text.strip().split("\n\n")[0].split())


class Method:
    def __init__(self, op: ir.Op) -> None:
        self.op = op
        self.name = op.op.method
        self.const = self.name.upper()  # public: the tools table (codegen/tools.py) reads CREATE
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
        if o.op.creates:  # starts a project and spends credits: retried only when nothing started
            parts.append(f'creates="{o.op.creates}"')
        return f"{self.const} = Endpoint({', '.join(parts)})\n"

    def doc(self) -> str:
        o = self.op
        lines = [f"{o.summary or self.name}: ``{o.op.http_method} {o.op.path}``.", ""]
        if o.description:
            lines += [o.description, ""]
        lines.append("Args:")
        for f in self.args:
            lines.append(f"    {f.py}: {first_paragraph(f.node.description) or f.py}")
        options = "``timeout``, ``additional_headers``, ``additional_params``, ``max_retries``"
        if o.op.creates:
            options += ", ``retry_may_duplicate``"
        lines.append(f"    request_options: {options}.")
        lines += [
            "",
            "Raises:",
            "    InvalidParameterError: an argument can never be accepted (before any request).",
        ]
        lines += ["    ApiError: the API answered with an error (a subclass per status code)."]
        if o.op.creates:
            lines += [
                "    ProjectMayExistError: it was sent and the answer does not prove that nothing started "
                "(a 5xx, a timeout, a dropped connection): not retried, so as not to pay twice. "
                "See docs/reliability.md."
            ]
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
        return f"{self.const}.build({', '.join(pieces)})"

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
