"""Output kind: request types, one TypedDict module per object under ``magic_hour/types/params/``.

``V1<Resource><Method>Body`` and one type per nested object or array item
(``...BodyAssetsFaceMappingsItem``), as the official package names them; ``V1<Resource>GenerateBodyAssets``
(and nested) for project-creating POSTs, whose file fields also take local paths and file objects.
"""

from __future__ import annotations

from typing import Dict, List, Set

from . import ir
from .load import Api
from .pyfmt import HEADER, all_list, docstring, type_expr, typing_imports

DIR = "magic_hour/types/params"


def _field_doc(f: ir.Field, generate: bool) -> str:
    text = f.node.description
    if generate and f.file:
        text += (
            f"\n\nAlso a local {f.file} file to upload first: a path (``str`` or ``os.PathLike``) or a binary"
            " file object. URLs and ``api-assets/...`` paths are sent as they are."
        )
    return text


def render_type(obj: ir.Node, generate: bool = False) -> str:
    used: Set[str] = {"TypedDict"}
    imports: Set[str] = set()
    renamed = False
    body: List[str] = [f"class {obj.type_name}(TypedDict):\n"]
    body.append(docstring(obj.description or obj.type_name, "    "))
    for f in obj.fields:
        expr = type_expr(f.node, used, file=generate and f.file is not None)
        for sub in ir.referenced(f.node):
            imports.add(f"from .{sub.module} import {sub.type_name}")
        wrap = "Required" if f.required else "NotRequired"
        used.add(wrap)
        if f.py != f.wire:  # pydantic users (TypeAdapter) get the wire name too, as the seed did
            used.add("Annotated")
            renamed = True
            expr = f'Annotated[{expr}, pydantic.Field(alias="{f.wire}")]'
        body.append(f"\n    {f.py}: {wrap}[{expr}]\n")
        body.append(docstring(_field_doc(f, generate), "    "))
    head = [HEADER.rstrip("\n"), *typing_imports(used)]
    if renamed:
        head += ["", "import pydantic"]
        body.append(
            f"\n\n# What ``@pydantic.with_config`` would set (it needs pydantic >= 2.7; we support 2.5):\n"
            f"# validating also accepts the Python names (``type_``), not only the wire names.\n"
            f"{obj.type_name}.__pydantic_config__ = pydantic.ConfigDict(populate_by_name=True)  # type: ignore[attr-defined]\n"
        )
    if imports:
        head += ["", *sorted(imports)]
    return "\n".join(head) + "\n\n\n" + "".join(body)


def render(api: Api) -> Dict[str, str]:
    files: Dict[str, str] = {}
    names: Dict[str, str] = {}
    for op in ir.build(api):
        for generate, root in ((False, op.body), (True, op.generate_assets)):
            for obj in ir.objects(root):
                files[f"{DIR}/{obj.module}.py"] = render_type(obj, generate)
                names[obj.type_name] = obj.module
    for name, extra in sorted(api.params_types.items()):
        obj = ir.node(extra["schema"], list(extra["parts"]), f"official.json {name}")
        ir.mark_files(obj, extra.get("files", {}), "")
        files[f"{DIR}/{obj.module}.py"] = render_type(obj, True)
        names[obj.type_name] = obj.module
    lines = [
        HEADER + '"""Request parameter types (TypedDicts): pass plain dicts, type checkers check them."""\n'
    ]
    lines += [f"from .{module} import {name}" for name, module in sorted(names.items(), key=lambda x: x[1])]
    lines.append("\n" + all_list(names))
    files[f"{DIR}/__init__.py"] = "\n".join(lines) + "\n"
    return files
