"""Dependencies point one way: ``_core`` <- ``_upload`` <- ``_jobs`` <- resources <- the client.

Every import in the package (at the top, inside a function, or under ``TYPE_CHECKING``) is read with
``ast``, and none may reach a higher layer: what a lower layer needs is passed in to it. Nor is any
module on an import cycle, inside a layer or across (``TYPE_CHECKING`` imports aside: they never run).
"""

from __future__ import annotations

import ast
import asyncio
import inspect
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple

import pytest

import magic_hour

ROOT = Path(magic_hour.__file__).parent

# The modules every layer may use: errors, redaction, checks of values and the generated types.
FOUNDATION = {
    "_binary_response",
    "_data",
    "_errors",
    "_exceptions",
    "_extensions",
    "_redact",
    "_validation",
    "_version",
    "environment",
    "types",
}
LAYERS = ["_core", "_upload", "_jobs", "resources"]
"""In order; the rest of the package (the client, batches, the CLI, testing, webhooks) sits above."""


def rank(module: str) -> int:
    """0 for the foundation, then 1 + the layer's index; the top for anything else in the package."""
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else ""
    if top in FOUNDATION:
        return 0
    if top in LAYERS:
        return 1 + LAYERS.index(top)
    return 1 + len(LAYERS)


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _package_of(path: Path, root: Path) -> str:
    name = module_name(path, root)
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def _targets(node: ast.AST, package: str) -> Iterator[str]:
    """The modules an ``import`` or ``from ... import`` statement names, relative ones resolved."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
            target = ".".join(base + ([node.module] if node.module else []))
        else:
            target = node.module or ""
        if node.module is None:  # from . import x: x may be a module
            for alias in node.names:
                yield f"{target}.{alias.name}"
        else:
            yield target


def imports(path: Path, root: Path = ROOT) -> Iterator[Tuple[int, str]]:
    """(line, imported module) for every import in the file, relative ones resolved."""
    package = _package_of(path, root)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        for target in _targets(node, package):
            yield node.lineno, target


def upward_imports(root: Path = ROOT) -> List[str]:
    found: List[str] = []
    for path in sorted(root.rglob("*.py")):
        name = module_name(path, root)
        for line, target in imports(path, root):
            if target.split(".")[0] == "magic_hour" and rank(target) > rank(name):
                found.append(f"{path.relative_to(root.parent)}:{line}: {name} imports {target}")
    return found


def test_no_module_imports_a_higher_layer() -> None:
    assert upward_imports() == []


def test_the_check_sees_every_kind_of_import(tmp_path: Path) -> None:
    # The check itself: a top-level, a lazy and a TYPE_CHECKING import upward are each found.
    package = tmp_path / "magic_hour"
    (package / "_core").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "_core" / "__init__.py").write_text("")
    (package / "_core" / "a.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "from .._upload import engine\n"
        "from . import b\n"
        "if TYPE_CHECKING:\n"
        "    from ..resources.v1 import files\n"
        "def f():\n"
        "    import magic_hour._jobs.runner\n"
        "    from .._exceptions import MagicHourError\n"
    )
    found = upward_imports(package)
    assert [line.split(": ", 1)[1] for line in found] == [
        "magic_hour._core.a imports magic_hour._upload",
        "magic_hour._core.a imports magic_hour.resources.v1",
        "magic_hour._core.a imports magic_hour._jobs.runner",
    ]


# Third-party packages the SDK runs on (its dependencies, extras and what they bring): only their public
# names may be used. An underscore name of theirs can change in any release within our version ranges.
DEPENDENCIES = {
    "anyio",
    "asyncio",
    "certifi",
    "h11",
    "h2",
    "httpcore",
    "httpx",
    "idna",
    "pydantic",
    "pydantic_core",
    "rich",
    "sniffio",
    "socksio",
    "sqlite3",
    "trio",
    "typing_extensions",
}


def _private(dotted: str) -> bool:
    parts = dotted.split(".")
    return parts[0] in DEPENDENCIES and any(p.startswith("_") and not p.endswith("__") for p in parts[1:])


def private_uses(root: Path = ROOT) -> List[str]:
    """Every private module or name of a dependency the package (or the tests) imports, reads as an
    attribute (``httpx._utils``) or names in a string (``import_module("anyio._backends._asyncio")``)."""
    found: List[str] = []
    for path in sorted(root.rglob("*.py")):
        if path == Path(__file__):  # this check's own examples
            continue
        where = path.relative_to(root.parent)
        for line, target in imports(path, root):
            if _private(target):
                found.append(f"{where}:{line}: {target}")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            used = ""
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and not node.level
                and not _private(node.module)
            ):
                used = next(
                    (f"{node.module}.{a.name}" for a in node.names if _private(f"{node.module}.{a.name}")), ""
                )
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                used = f"{node.value.id}.{node.attr}"
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                used = node.value
            if used and _private(used):
                found.append(f"{where}:{node.lineno}: {used}")
    return found


def test_no_private_name_of_a_dependency_is_used() -> None:
    assert private_uses() == []


def test_no_test_uses_a_private_name_of_a_dependency() -> None:
    # A test that reads a dependency's private state breaks (or stops proving anything) in any release
    # of it within our version ranges, as the package would.
    assert private_uses(Path(__file__).parent) == []


def test_the_private_name_check_finds_each_kind(tmp_path: Path) -> None:
    package = tmp_path / "magic_hour"
    package.mkdir()
    (package / "__init__.py").write_text(
        "import httpx\n"
        "import httpx._transports.default\n"
        "from pydantic._internal import _model_construction\n"
        "from httpx import URL, _utils\n"
        "from typing_extensions import __all__\n"
        "def f():\n"
        "    return httpx._config, httpx.__version__, httpx.URL\n"
        "NAME = 'anyio._backends._asyncio'\n"
        "OURS = 'magic_hour._core'\n"
    )
    assert sorted(line.split(": ", 1)[1] for line in private_uses(package)) == [
        "anyio._backends._asyncio",
        "httpx._config",
        "httpx._transports.default",
        "httpx._utils",
        "pydantic._internal",
    ]


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _import_module_call(node: ast.AST) -> bool:
    func = node.func if isinstance(node, ast.Call) else None
    return (isinstance(func, ast.Name) and func.id == "import_module") or (
        isinstance(func, ast.Attribute) and func.attr == "import_module"
    )


def cross_module_private_reads(root: Path = ROOT) -> List[str]:
    """Every place a module of the package reads another module's underscore name: ``from .a import
    _x``, ``a._x`` on a module bound by an import or ``import_module``, ``getattr(m, "_x")`` (and
    ``hasattr``/``setattr``/``delattr``) on anything but ``self``/``cls``. What one module needs of
    another is a public name of it (issue 22: ``batches`` read each resource module's ``_CREATE``)."""
    modules = {module_name(path, root) for path in root.rglob("*.py")}
    found: List[str] = []
    for path in sorted(root.rglob("*.py")):
        package, where = _package_of(path, root), path.relative_to(root.parent)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        bound: Set[str] = set()  # local names of the package's modules
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                base = package.split(".")[: len(package.split(".")) - max(node.level - 1, 0)]
                source = ".".join([*base, node.module or ""]).strip(".") if node.level else node.module or ""
                for alias in node.names:
                    if f"{source}.{alias.name}" in modules:
                        bound.add(alias.asname or alias.name)
                    elif _is_private(alias.name) and source in modules:
                        found.append(f"{where}:{node.lineno}: from {source} import {alias.name}")
            elif isinstance(node, ast.Import):
                bound.update(a.asname or a.name for a in node.names if a.name.split(".")[0] == root.name)
            elif isinstance(node, ast.Assign) and _import_module_call(node.value):
                bound.update(t.id for t in node.targets if isinstance(t, ast.Name))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and _is_private(node.attr):
                owner = ast.unparse(node.value)
                if f"{owner}.{node.attr}" in modules:  # magic_hour._core: a module, not a name in one
                    continue
                if owner in bound or (owner in modules and owner.split(".")[0] == root.name):
                    found.append(f"{where}:{node.lineno}: {owner}.{node.attr}")
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("getattr", "hasattr", "setattr", "delattr")
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
                and isinstance(node.args[1].value, str)
                and _is_private(node.args[1].value)
                and not (isinstance(node.args[0], ast.Name) and node.args[0].id in ("self", "cls"))
            ):
                found.append(f"{where}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_module_reads_another_modules_private_name() -> None:
    assert cross_module_private_reads() == []


def test_the_cross_module_private_check_finds_each_kind(tmp_path: Path) -> None:
    package = tmp_path / "magic_hour"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "_core.py").write_text("_SECRET = 1\nPUBLIC = 2\n")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "user.py").write_text(
        "import importlib\n"
        "import magic_hour._core\n"
        "from .. import _core\n"
        "from .._core import _SECRET, PUBLIC\n"
        "from .. import _core as core\n"
        "_OWN = 1\n"
        "class A:\n"
        "    _x = 1\n"
        "    def f(self):\n"
        "        return getattr(self, '_x'), self._x, _OWN, core.PUBLIC, getattr(core, 'PUBLIC')\n"
        "def g():\n"
        "    module = importlib.import_module('magic_hour._core')\n"
        "    return core._SECRET, magic_hour._core._SECRET, module._SECRET, getattr(module, '_SECRET', None)\n"
    )
    assert sorted(line.split(": ", 1)[1] for line in cross_module_private_reads(package)) == [
        "core._SECRET",
        "from magic_hour._core import _SECRET",
        "getattr(module, '_SECRET', None)",
        "magic_hour._core._SECRET",
        "module._SECRET",
    ]


def operation_words(root: Path = ROOT) -> List[str]:
    """String literals of ``_core`` (docstrings aside) that name an operation or one of its checks: the
    core gets what it needs passed in by the generated code, and knows no operation by name."""
    from magic_hour._validation import CHECKS

    found: List[str] = []
    for path in sorted((root / "_core").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and node.body
            and isinstance(node.body[0], ast.Expr)
        }
        for node in ast.walk(tree):
            text = node.value if isinstance(node, ast.Constant) and id(node) not in docstrings else None
            if isinstance(text, str) and (text in CHECKS or text.startswith("/v1")):
                found.append(f"{path.relative_to(root.parent)}:{node.lineno}: {node.value!r}")
    return found


def test_the_core_knows_no_operation() -> None:
    """Issue 22 item 5: the field checks of ``spec/metadata.json`` reach ``_core.body`` as callables from
    the generated code (``magic_hour._validation.CHECKS``), not by a hook name the core looks up."""
    assert operation_words() == []


def test_the_operation_check_finds_one(tmp_path: Path) -> None:
    (tmp_path / "magic_hour" / "_core").mkdir(parents=True)
    (tmp_path / "magic_hour" / "_core" / "body.py").write_text(
        '"""Mentions upload_items in a docstring: fine."""\n'
        "def hook(name):\n"
        '    return name == "upload_items" or name.startswith("/v1/files")\n'
    )
    assert operation_words(tmp_path / "magic_hour") == [
        "magic_hour/_core/body.py:3: 'upload_items'",
        "magic_hour/_core/body.py:3: '/v1/files'",
    ]


def weak_registries(root: Path = ROOT) -> List[str]:
    """Weak maps or sets made at module or class level anywhere in the package: a registry of objects
    kept beside them (per-client state keyed by the client or its driver) rather than held by them."""
    found: List[str] = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        scopes = [tree.body] + [node.body for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]
        for body in scopes:
            for node in body:
                value = node.value if isinstance(node, (ast.Assign, ast.AnnAssign)) else None
                if isinstance(value, ast.Call) and "Weak" in ast.unparse(value.func):
                    found.append(f"{path.relative_to(root.parent)}:{node.lineno}")
    return found


def test_no_per_client_state_in_module_level_maps() -> None:
    """Issue 22 item 4: what a client owns has one owner. The client holds its HTTP driver, and the
    driver its pool, transfer slots, job runner, upload engine and upload cache; no module keeps a weak
    map from clients (or drivers) to their state."""
    assert weak_registries() == []


def test_the_registry_check_finds_one(tmp_path: Path) -> None:
    package = tmp_path / "magic_hour"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "_client.py").write_text(
        "import weakref\n"
        "_DRIVERS: weakref.WeakKeyDictionary[object, object] = weakref.WeakKeyDictionary()\n"
        "class Runner:\n"
        "    cache = weakref.WeakValueDictionary()\n"
        "    def __init__(self):\n"
        "        self.loops = weakref.WeakKeyDictionary()  # an instance's own: allowed\n"
    )
    assert weak_registries(package) == ["magic_hour/_client.py:2", "magic_hour/_client.py:4"]


def test_one_runner_and_one_upload_engine_per_client() -> None:
    from magic_hour import AsyncClient, Client
    from magic_hour._client import http_of
    from magic_hour._jobs import async_jobs, sync_jobs

    for make, jobs in ((Client, sync_jobs), (AsyncClient, async_jobs)):
        first, second = make(token="t"), make(token="t")
        runner = jobs(http_of(first))  # type: ignore[arg-type]
        assert jobs(http_of(first)) is runner is http_of(first).jobs  # type: ignore[arg-type]
        assert jobs(http_of(second)) is not runner  # type: ignore[arg-type]
        uploader: Any = first.v1.files._uploader()  # pyright: ignore[reportPrivateUsage]
        if inspect.iscoroutine(uploader):  # the async one imports the engine off the event loop first
            uploader = asyncio.run(uploader)
        assert uploader is runner.uploader


def test_contributing_maps_every_core_module() -> None:
    """CONTRIBUTING's layout map names each module of ``_core`` (issue 22: the map matches the layout)."""
    text = (ROOT.parent / "CONTRIBUTING.md").read_text(encoding="utf-8")
    mapped = text[text.index("  _core/ ") : text.index("  _upload/ ")]
    modules = sorted(p.name for p in (ROOT / "_core").glob("*.py") if p.name != "__init__.py")
    assert [m for m in modules if m not in mapped] == []


def test_contributing_maps_every_jobs_module() -> None:
    """CONTRIBUTING's layout map names each module of ``_jobs`` (issue 22: the map matches the layout)."""
    text = (ROOT.parent / "CONTRIBUTING.md").read_text(encoding="utf-8")
    mapped = text[text.index("  _jobs/ ") : text.index("  webhooks/ ")]
    modules = sorted(p.name for p in (ROOT / "_jobs").glob("*.py") if p.name != "__init__.py")
    assert [m for m in modules if m not in mapped] == []


@pytest.mark.parametrize(
    ("package", "until"),
    [
        ("_upload", "  _jobs/ "),
        ("testing", "  cli/ "),
        ("cli", "  helpers/ "),
        ("webhooks", "  batches/ "),
        ("batches", "  resources/v1/ "),
        ("helpers", "\ndocs/ "),
    ],
)
def test_contributing_maps_every_module_of(package: str, until: str) -> None:
    """CONTRIBUTING's layout map names each module of these packages, in the package's own lines."""
    text = (ROOT.parent / "CONTRIBUTING.md").read_text(encoding="utf-8")
    mapped = text[text.index(f"  {package}/ ") : text.index(until)]
    modules = sorted(p.name for p in (ROOT / package).glob("*.py") if p.name != "__init__.py")
    assert [m for m in modules if m not in mapped] == []


def _type_checking(node: ast.AST) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Name) and test.id.endswith("TYPE_CHECKING")) or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _run_time_nodes(node: ast.AST) -> Iterator[ast.AST]:
    """Every node under ``node`` but the body of an ``if TYPE_CHECKING:`` (its ``else:`` runs)."""
    for child in ast.iter_child_nodes(node):
        if _type_checking(child):
            assert isinstance(child, ast.If)
            for other in child.orelse:
                yield other
                yield from _run_time_nodes(other)
            continue
        yield child
        yield from _run_time_nodes(child)


def _built_names(call: ast.Call, module: str, package: str, tree: ast.Module, words: Set[str]) -> Set[str]:
    """The names an ``import_module(f"...")`` may build: ``{__name__}``, ``{__package__}`` and the
    file's string constants (``{_PACKAGE}``) filled in, and one other part taken from ``words``."""
    known = {"__name__": module, "__package__": package}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            known.update((t.id, node.value.value) for t in node.targets if isinstance(t, ast.Name))
    arg = call.args[0] if call.args else None
    if not isinstance(arg, ast.JoinedStr):
        return set()
    parts: List[Optional[str]] = []
    for value in arg.values:
        if isinstance(value, ast.Constant):
            parts.append(str(value.value))
        elif isinstance(value, ast.FormattedValue) and isinstance(value.value, ast.Name):
            parts.append(known.get(value.value.id))
        else:
            parts.append(None)
    if parts.count(None) != 1:
        return set()
    return {"".join(word if part is None else part for part in parts) for word in words}


def run_time_imports(path: Path, root: Path = ROOT) -> Iterator[Tuple[str, bool]]:
    """(module, exact) for every import of the file that runs: at the top or inside a function (lazy
    imports are dependencies too), not under ``if TYPE_CHECKING:``. With ``importlib.import_module`` in
    the file, also what it may load (``exact``: counted only if it names a module): every string of the
    file that names one (``magic_hour.x``, or ``.x`` relative to the file's package: the lazy tables of
    PEP 562 ``__getattr__``, constants such as ``_EVENTS``), and the names an f-string argument builds
    from one string of the file (``f"{__name__}.{module}"``). A name that comes from the caller is not
    seen."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _package_of(path, root)
    nodes = list(_run_time_nodes(tree))
    for node in nodes:
        for target in _targets(node, package):
            yield target, False
    calls = [
        n
        for n in nodes
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "import_module"
    ]
    if calls:
        words = {n.value for n in nodes if isinstance(n, ast.Constant) and isinstance(n.value, str)}
        for word in words:
            if word.startswith("."):
                yield f"{package}{word}", True
            elif word.startswith(f"{root.name}."):
                yield word, True
        for call in calls:
            for built in _built_names(call, module_name(path, root), package, tree, words):
                yield built, True


def import_graph(root: Path = ROOT) -> Dict[str, Set[str]]:
    """Each module of the package and the modules of the package it imports when it runs. An import
    statement counts as the deepest module it names (``from pkg import name`` imports ``pkg`` unless
    ``name`` is a module)."""
    paths = {module_name(path, root): path for path in sorted(root.rglob("*.py"))}

    def resolve(target: str) -> str:
        while target and target not in paths:
            target = target.rpartition(".")[0]
        return target

    graph: Dict[str, Set[str]] = {}
    for name, path in paths.items():
        found = {
            target if exact else resolve(target)
            for target, exact in run_time_imports(path, root)
            if target.split(".")[0] == root.name
        }
        graph[name] = (found & paths.keys()) - {name}
    return graph


def import_cycles(root: Path = ROOT) -> List[str]:
    """Each cycle of the package's imports, as its modules (``a -> b -> a``): for every module that is
    on one, the shortest cycle through it."""
    graph = import_graph(root)
    found: Set[Tuple[str, ...]] = set()
    for start in sorted(graph):
        paths: Dict[str, List[str]] = {start: [start]}  # breadth first: the shortest path to each
        frontier = [start]
        cycle: Optional[List[str]] = None
        while frontier and cycle is None:
            step: List[str] = []
            for module in frontier:
                if start in graph[module]:
                    cycle = paths[module]
                    break
                for dep in sorted(graph[module] - paths.keys()):
                    paths[dep] = paths[module] + [dep]
                    step.append(dep)
            frontier = step
        if cycle is not None:
            first = cycle.index(min(cycle))  # one spelling of each cycle, whichever module it is found from
            found.add(tuple(cycle[first:] + cycle[:first]))
    return [" -> ".join((*cycle, cycle[0])) for cycle in sorted(found)]


def test_no_import_cycle_in_the_package() -> None:
    """Issue 22 item 5: dependencies point one way inside a layer too. A module that imports another
    that imports it back (at the top or in a function) works only in some import orders, and neither
    can be understood, tested or moved alone; what both need goes below both, or is passed in."""
    graph = import_graph()
    # The check sees imports inside functions and what the PEP 562 __getattr__ of a package loads.
    assert "magic_hour.cli._bars" in graph["magic_hour.cli._progress"]
    assert "magic_hour.batches" in graph["magic_hour._client"]
    assert "magic_hour.testing._fake" in graph["magic_hour.testing"]
    assert {"magic_hour.client", "magic_hour.batches"} <= graph["magic_hour"]
    assert "magic_hour._errors.jobs" in graph["magic_hour._exceptions"]
    assert import_cycles() == []


def test_the_cycle_check_finds_each_kind(tmp_path: Path) -> None:
    package = tmp_path / "magic_hour"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text(
        "import importlib\n"
        "_LAZY = {'Thing': '._thing'}\n"
        "def __getattr__(name):\n"
        "    return getattr(importlib.import_module(_LAZY[name], __name__), name)\n"
    )
    (package / "sub" / "_thing.py").write_text("from . import helper\n")  # the package's own name
    (package / "built").mkdir()
    (package / "built" / "__init__.py").write_text(
        "import importlib\n"
        "_MODULES = {'Model': 'model'}\n"
        "def __getattr__(name):\n"
        "    return getattr(importlib.import_module(f'{__name__}.{_MODULES[name]}'), name)\n"
    )
    (package / "built" / "model.py").write_text("def f():\n    import magic_hour.built\n")
    (package / "a.py").write_text("from . import b\n")
    (package / "b.py").write_text("def f():\n    from .c import C\n")
    (package / "c.py").write_text("from .a import A\nfrom .sub import _thing\n")
    (package / "d.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import A\nelse:\n    A = None\n"
    )
    (package / "e.py").write_text("import magic_hour.d\n")
    (package / "f.py").write_text("import magic_hour.e\nfrom .d import A\n")
    assert import_cycles(package) == [
        "magic_hour.a -> magic_hour.b -> magic_hour.c -> magic_hour.a",
        "magic_hour.built -> magic_hour.built.model -> magic_hour.built",
        "magic_hour.sub -> magic_hour.sub._thing -> magic_hour.sub",
    ]
    (package / "d.py").write_text("from .a import A\nimport magic_hour.e as e\n")
    assert "magic_hour.d -> magic_hour.e -> magic_hour.d" in import_cycles(package)
