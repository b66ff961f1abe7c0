"""What an installed official ``magic-hour`` package declares, read from its source files as text.

Both packages are named ``magic_hour``, so the official one is never imported here: its
``types/params`` TypedDicts, its ``types/models`` pydantic models and its ``generate()`` methods are
parsed with :mod:`ast`. That also keeps what runtime introspection loses: the docstring under each
field (the official's own wording of what a deprecated key is and what replaces it).

A type becomes a :class:`Declared` (its keys with wire names, required or not, a JSON schema of the
annotation and the docstring); ``generate()`` becomes the list of request fields it uploads first.
"""

from __future__ import annotations

import ast
import inspect
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

Json = Dict[str, Any]

_SCALARS = {"str": "string", "int": "integer", "float": "number", "bool": "boolean"}


@dataclass
class Key:
    py: str  # the official's Python name: ``type_``
    wire: str  # the name on the wire: ``type``
    required: bool
    annotation: ast.expr = field(repr=False)
    doc: str = ""


@dataclass
class Declared:
    """One TypedDict of ``types/params`` or one model of ``types/models``."""

    name: str  # V1AiImageEditorCreateBodyAssets
    kind: str  # "params" or "models"
    file: str  # "magic_hour/types/params/v1_ai_image_editor_create_body_assets.py"
    doc: str
    keys: Dict[str, Key]  # by wire name
    open: bool = False  # its serializer allows extra keys (additionalProperties)


@dataclass
class Official:
    root: Path  # the package directory (.../site-packages/magic_hour)
    version: str
    types: Dict[str, Declared]  # by type name, params and models
    uploads: Dict[str, List[str]]  # namespace ("ai_image_editor") -> dotted request fields generate() uploads

    @property
    def source(self) -> str:
        return f"magic-hour {self.version}"

    def schema(self, key: Key, where: str) -> Json:
        """The JSON schema of a key's annotation; nested types inline (objects with properties)."""
        schema = self._schema(key.annotation, where)
        if key.doc:
            schema["description"] = key.doc
        return schema

    def object_schema(self, declared: Declared) -> Json:
        required = sorted(k.wire for k in declared.keys.values() if k.required)
        out: Json = {"type": "object"}
        if declared.doc and declared.doc != declared.name:
            out["description"] = declared.doc
        if required:
            out["required"] = required
        out["properties"] = {
            wire: self.schema(k, f"{declared.name}.{k.py}") for wire, k in sorted(declared.keys.items())
        }
        if declared.open:
            out["additionalProperties"] = True
        return out

    def _schema(self, node: ast.expr, where: str) -> Json:
        if isinstance(node, (ast.Name, ast.Attribute)):
            name = ast.unparse(node).rsplit(".", 1)[-1]
            if name in _SCALARS:
                return {"type": _SCALARS[name]}
            if name in self.types:
                return self.object_schema(self.types[name])
        if isinstance(node, ast.Subscript):
            head = ast.unparse(node.value).rsplit(".", 1)[-1]
            args = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            if head in ("Required", "NotRequired"):
                return self._schema(args[0], where)
            if head == "Optional":
                return {**self._schema(args[0], where), "nullable": True}
            if head == "List":
                return {"type": "array", "items": self._schema(args[0], where)}
            if head == "Literal":
                values = [ast.literal_eval(a) for a in args]
                kinds = {type(v) for v in values}
                kind = {str: "string", int: "integer", bool: "boolean", float: "number"}.get(kinds.pop())
                if kind is None or kinds:
                    raise SystemExit(f"codegen.official: {where}: a Literal of mixed types")
                return {"type": kind, "enum": values}
        raise SystemExit(f"codegen.official: {where}: annotation {ast.unparse(node)!r} is not supported")


def literal_values(node: ast.expr) -> List[Any]:
    """Every ``Literal[...]`` value in an annotation (through Required, Optional, List)."""
    out: List[Any] = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Subscript) and ast.unparse(sub.value).endswith("Literal"):
            args = sub.slice.elts if isinstance(sub.slice, ast.Tuple) else [sub.slice]
            out += [ast.literal_eval(a) for a in args]
    return out


def _doc(node: Optional[ast.stmt]) -> str:
    if (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    ):
        # The official docstrings carry trailing blanks and stray indentation on blank lines.
        return "\n".join(line.rstrip() for line in inspect.cleandoc(node.value.value).splitlines())
    return ""


def _alias(value: Optional[ast.expr]) -> Optional[str]:
    """``pydantic.Field(alias="type", ...)`` -> ``"type"``."""
    if isinstance(value, ast.Call):
        for kw in value.keywords:
            if kw.arg == "alias" and isinstance(kw.value, ast.Constant):
                return str(kw.value.value)
    return None


def _has_default(value: Optional[ast.expr]) -> bool:
    if value is None:
        return False
    if isinstance(value, ast.Call) and ast.unparse(value.func).endswith("Field"):
        return any(kw.arg in ("default", "default_factory") for kw in value.keywords)
    return True


def _fields(cls: ast.ClassDef) -> List[tuple[str, ast.AnnAssign, str]]:
    out = []
    for i, stmt in enumerate(cls.body):
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            name = stmt.target.id
            if name.startswith("_"):
                continue
            after = cls.body[i + 1] if i + 1 < len(cls.body) else None
            out.append((name, stmt, _doc(after)))
    return out


def _opens(cls: ast.ClassDef) -> bool:
    """``model_config = pydantic.ConfigDict(extra="allow")``."""
    for stmt in cls.body:
        if isinstance(stmt, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "model_config" for t in stmt.targets
        ):
            return any(
                kw.arg == "extra" and isinstance(kw.value, ast.Constant) and kw.value.value == "allow"
                for kw in getattr(stmt.value, "keywords", [])
            )
    return False


def _read_module(path: Path, kind: str, rel: str) -> List[Declared]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    classes = {c.name: c for c in tree.body if isinstance(c, ast.ClassDef)}
    out = []
    for name, cls in classes.items():
        if name.startswith("_"):
            continue
        doc = _doc(cls.body[0]) if cls.body else ""
        # A TypedDict's keys are Python names; its serializer (same module) gives the wire names.
        serializer = classes.get(f"_Serializer{name}")
        aliases: Dict[str, str] = {}
        aliases_from = serializer if kind == "params" else cls
        if aliases_from is not None:
            for py, stmt, _ in _fields(aliases_from):
                aliases[py] = _alias(stmt.value) or py
        keys: Dict[str, Key] = {}
        for py, stmt, field_doc in _fields(cls):
            ann = stmt.annotation
            if kind == "params":
                required = ast.unparse(ann).split("[", 1)[0].endswith(".Required")
            else:
                required = not _has_default(stmt.value)
            wire = aliases.get(py, py)
            keys[wire] = Key(py=py, wire=wire, required=required, annotation=ann, doc=field_doc)
        opened = _opens(serializer if kind == "params" and serializer is not None else cls)
        out.append(Declared(name=name, kind=kind, file=rel, doc=doc, keys=keys, open=opened))
    return out


def _uploads(path: Path) -> List[str]:
    """The request fields the ``generate`` method of a resource module uploads before it creates.

    Found by what each ``upload_file(file=...)`` call uploads: a request field (``assets["x"]``), or a
    name bound to one, or a loop or comprehension variable walking a list of them (``[]``).
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    gen = next(
        (
            f
            for cls in tree.body
            if isinstance(cls, ast.ClassDef)
            for f in cls.body
            if isinstance(f, ast.FunctionDef) and f.name == "generate"
        ),
        None,
    )
    if gen is None:
        return []
    # A local name -> where it was bound (line) and the dotted request field it holds ("[]": an item).
    # Names are reused (``image_file_path`` for one field, then for the items of another), so a call's
    # argument is the latest binding before it, or its own comprehension's.
    bound: Dict[str, List[Tuple[int, str]]] = {}
    found = set()

    def resolve(arg: ast.expr, line: int, local: Dict[str, str]) -> Optional[str]:
        if isinstance(arg, ast.Name) and arg.id in local:
            return local[arg.id]
        if isinstance(arg, ast.Name) and arg.id != "assets":
            earlier = [b for b in bound.get(arg.id, []) if b[0] <= line]
            return max(earlier)[1] if earlier else None
        if isinstance(arg, ast.Subscript) and isinstance(arg.slice, ast.Constant):
            base = resolve(arg.value, line, local)
            return None if base is None else f"{base}.{arg.slice.value}"
        return "assets" if isinstance(arg, ast.Name) else None

    for node in ast.walk(gen):  # breadth first: outer bindings are recorded before inner ones are read
        if isinstance(node, ast.For) and isinstance(node.target, ast.Name):
            walked = resolve(node.iter, node.lineno, {})
            if walked is not None:
                bound.setdefault(node.target.id, []).append((node.lineno, walked + "[]"))
        elif (
            isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
        ):
            held = resolve(node.value, node.lineno, {})
            if held is not None:
                bound.setdefault(node.targets[0].id, []).append((node.lineno, held))
    for node in ast.walk(gen):
        if not (isinstance(node, ast.Call) and ast.unparse(node.func).endswith("upload_file")):
            continue
        local: Dict[str, str] = {}
        for comp in ast.walk(gen):
            if isinstance(comp, (ast.ListComp, ast.GeneratorExp)) and any(
                n is node for n in ast.walk(comp.elt)
            ):
                for gen_ in comp.generators:
                    walked = resolve(gen_.iter, comp.lineno, {})
                    if isinstance(gen_.target, ast.Name) and walked is not None:
                        local[gen_.target.id] = walked + "[]"
        arg = next(
            (kw.value for kw in node.keywords if kw.arg == "file"), node.args[0] if node.args else None
        )
        uploaded = resolve(arg, node.lineno, local) if arg is not None else None
        if uploaded is None:
            raise SystemExit(f"codegen.official: {path}: cannot tell what {ast.unparse(node)} uploads")
        found.add(uploaded)
    return sorted(found)


def _version(package: Path) -> str:
    for meta in sorted(package.parent.glob("magic_hour-*.dist-info/METADATA")):
        match = re.search(r"^Version: (\S+)$", meta.read_text(encoding="utf-8"), re.M)
        if match:
            return match.group(1)
    raise SystemExit(f"codegen.official: no magic_hour-*.dist-info next to {package}")


def venv_of(venv: Optional[Path] = None) -> Path:
    """The official package's venv: ``venv``, else ``$MAGIC_HOUR_OFFICIAL_VENV``, else
    ``.ci/.venv-official`` (where ``.ci/official_sdk.sh`` installs it)."""
    root = Path(__file__).resolve().parent.parent
    return venv or Path(os.environ.get("MAGIC_HOUR_OFFICIAL_VENV", root / ".ci" / ".venv-official"))


def find(venv: Optional[Path] = None) -> Path:
    """The official package's directory in its venv (see :func:`venv_of`)."""
    venv = venv_of(venv)
    found = sorted(venv.glob("lib/python*/site-packages/magic_hour")) + sorted(
        venv.glob("Lib/site-packages/magic_hour")
    )
    if not found:
        raise SystemExit(
            f"codegen.official: no official package under {venv} (run: bash .ci/official_sdk.sh)"
        )
    return found[-1]


def read(package: Path) -> Official:
    types: Dict[str, Declared] = {}
    for kind in ("params", "models"):
        for path in sorted((package / "types" / kind).glob("*.py")):
            if path.name == "__init__.py":
                continue
            rel = path.relative_to(package.parent).as_posix()
            for declared in _read_module(path, kind, rel):
                types[declared.name] = declared
    uploads = {}
    for path in sorted((package / "resources" / "v1").glob("*/client.py")):
        found = _uploads(path)
        if found:
            uploads[path.parent.name] = found
    return Official(root=package, version=_version(package), types=types, uploads=uploads)
