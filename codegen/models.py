"""Output kind: response models, one pydantic module per object under ``magic_hour/types/models/``.

They subclass the hand-written :class:`magic_hour.types._base.BaseModel` (unknown fields kept, URL queries
redacted in reprs). ``date-time`` fields stay the wire's strings, as in the official package; enum
fields are typed ``str`` (values listed in the docstring) so a value the API adds later still parses.
The package ``__init__`` is lazy: a method imports only its own response model's module.
"""

from __future__ import annotations

from typing import Dict, List, Set

from . import ir
from .load import Api
from .pyfmt import HEADER, all_list, docstring, type_expr, typing_imports

DIR = "magic_hour/types/models"


def _doc(f: ir.Field) -> str:
    text = f.node.description
    if f.node.enum and f.node.kind == "string" and not all(f"`{v}`" in text for v in f.node.enum):
        text += ("\n\n" if text else "") + "One of: " + ", ".join(f"``{v}``" for v in f.node.enum) + "."
    return text


def render_model(obj: ir.Node) -> str:
    used: Set[str] = set()
    imports: Set[str] = set()
    pydantic = False
    body: List[str] = [
        f"class {obj.type_name}(BaseModel):\n",
        docstring(obj.description or obj.type_name, "    "),
    ]
    for f in obj.fields:
        expr = type_expr(f.node, used, enums=False)
        for sub in ir.referenced(f.node):
            imports.add(f"from .{sub.module} import {sub.type_name}")
        optional = f.node.nullable or not f.required
        if optional and not f.node.nullable:
            used.add("Optional")
            expr = f"Optional[{expr}]"
        if f.py != f.wire:
            pydantic = True
            default = ", default=None" if optional else ""
            line = f'{f.py}: {expr} = pydantic.Field(alias="{f.wire}"{default})'
        else:
            line = f"{f.py}: {expr}" + (" = None" if optional else "")
        body.append(f"\n    {line}\n")
        body.append(docstring(_doc(f), "    "))
    head = [HEADER.rstrip("\n")]
    std = typing_imports(used)
    if std:
        head += std
    if pydantic:
        head += ["", "import pydantic"]
    head += ["", "from .._base import BaseModel", *sorted(imports)]
    return "\n".join(head) + "\n\n\n" + "".join(body)


def render(api: Api) -> Dict[str, str]:
    files: Dict[str, str] = {}
    names: Dict[str, str] = {}
    for op in ir.build(api):
        for obj in ir.objects(op.response):
            files[f"{DIR}/{obj.module}.py"] = render_model(obj)
            names[obj.type_name] = obj.module
    ordered = sorted(names.items())
    lines = [
        HEADER + '"""Response models (pydantic v2): unknown fields kept; loaded on first use."""',
        "",
        "import importlib",
        "from typing import TYPE_CHECKING, Any, Dict",
        "",
        "if TYPE_CHECKING:",
        *[f"    from .{module} import {name} as {name}" for name, module in ordered],
        "",
        "_MODULES: Dict[str, str] = {",
        *[f'    "{name}": "{module}",' for name, module in ordered],
        "}",
        "",
        all_list(names),
        "",
        "",
        "def __getattr__(name: str) -> Any:",
        "    module = _MODULES.get(name)",
        "    if module is None:",
        '        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")',
        '    return getattr(importlib.import_module(f"{__name__}.{module}"), name)',
        "",
        "",
        "def __dir__() -> Any:",
        "    return sorted(__all__)",
    ]
    files[f"{DIR}/__init__.py"] = "\n".join(lines) + "\n"
    return files
