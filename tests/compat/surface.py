"""The public surface of an installed ``magic_hour`` package, by introspection; and how two compare.

Runs in either interpreter: ``python tests/compat/surface.py`` (in the official 0.90.0 SDK's venv, see
``.ci/official_sdk.sh``) prints the official package's surface as JSON; ``tests/test_official_surface.py``
imports this file to dump ours in-process and to compare the two. To see what ours lacks, from the
repository root: ``python tests/compat/surface.py --compare tests/compat/official_surface.json``. Standard library only, and no import
of ``magic_hour`` at module level, so that importing this file never picks a package.

What a surface holds (everything an official user's code can name):
- ``top_level``: ``magic_hour.__all__``; ``environment``: the ``Environment`` members and values;
- ``constructors``: the parameters of ``Client`` / ``AsyncClient``;
- ``namespaces``: every namespace under ``client.v1`` (found by walking the attributes of a live client),
  sync and async: its class (module and name) and each public method: coroutine or not, parameters
  (name, kind, required, and the default when it is a plain literal);
- ``modules``: the public names of the modules users import from (``magic_hour``, ``magic_hour.client``,
  ``magic_hour.environment``, ``magic_hour.resources.v1``, each ``magic_hour.resources.v1.<name>`` and its
  ``client`` module: the classes defined there);
- ``types``: the public names of ``magic_hour.types.params`` and ``magic_hour.types.models``;
- ``functions``: the public functions of ``magic_hour.helpers`` (coroutine or not, parameters);
- ``attributes``: the submodules reachable as attributes after ``import magic_hour`` (``magic_hour.types``);
- ``fields``: per type of those two modules, each TypedDict key / model field (Python name): whether it is
  required, the literal values its annotation allows (``"any": true`` when it takes any string, as
  ours does for enum fields of response models and for fields of the generate() variants), and
  ``"numbers"``: ``"float"`` or ``"int"`` for a number (a key the official types ``float`` must not be
  an ``int`` in ours: the official sends 512.5 there, ours would refuse it).
"""

from __future__ import annotations

import importlib
import inspect
import json
import sys
from typing import Any, Dict, List, Optional, Set

Surface = Dict[str, Any]

_LITERALS = (type(None), bool, int, float, str)


def _hints(cls: Any) -> Dict[str, Any]:
    """Resolved annotations without Required / NotRequired / Annotated (typing_extensions when present:
    it knows its own TypedDict's markers on every Python)."""
    try:
        from typing_extensions import get_type_hints
    except ImportError:  # pragma: no cover - both packages depend on typing_extensions
        from typing import get_type_hints
    return dict(get_type_hints(cls))


def _allowed(annotation: Any) -> Dict[str, Any]:
    """``{"literals": [...]}`` of an annotation (through Optional, List, Union), ``"any": True`` when a
    plain ``str`` is among what it takes, ``"numbers"``: ``"float"`` or ``"int"`` when it takes one (a
    float field of the official's takes 512.5, an int field of ours refuses it)."""
    import typing

    literals: List[Any] = []
    anything = False
    numbers: Set[str] = set()
    todo = [annotation]
    while todo:
        current = todo.pop()
        origin = typing.get_origin(current)
        if current is str:
            anything = True
        elif current in (int, float):
            numbers.add(current.__name__)
        elif origin is typing.Literal:
            literals += [v for v in typing.get_args(current) if v not in literals]
        elif origin is not None:
            todo += list(typing.get_args(current))
    out: Dict[str, Any] = {}
    if literals:
        out["literals"] = sorted(literals, key=lambda v: (type(v).__name__, str(v)))
    if anything:
        out["any"] = True
    if numbers:
        out["numbers"] = "float" if "float" in numbers else "int"
    return out


def _fields(kind: str, names: List[str]) -> Dict[str, Dict[str, Any]]:
    module = importlib.import_module(f"magic_hour.types.{kind}")
    out: Dict[str, Dict[str, Any]] = {}
    for name in names:
        cls = getattr(module, name)
        keys: Dict[str, Any] = {}
        if kind == "params":
            required = set(getattr(cls, "__required_keys__", ()))
            for key, annotation in sorted(_hints(cls).items()):
                keys[key] = {"required": key in required, **_allowed(annotation)}
        else:
            for key, info in sorted(cls.model_fields.items()):
                keys[key] = {"required": info.is_required(), **_allowed(info.annotation)}
        out[name] = keys
    return out


def _params(func: Any) -> List[Dict[str, Any]]:
    out = []
    for p in inspect.signature(func).parameters.values():
        if p.name == "self":
            continue
        entry: Dict[str, Any] = {
            "name": p.name,
            "kind": p.kind.name,
            "required": p.default is inspect.Parameter.empty
            and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD),
        }
        if p.default is not inspect.Parameter.empty and isinstance(p.default, _LITERALS):
            entry["default"] = p.default
        out.append(entry)
    return out


def _is_namespace(value: Any) -> bool:
    return type(value).__module__.startswith("magic_hour.resources.")


def _walk(obj: Any, prefix: str, out: Dict[str, Any], depth: int = 0) -> None:
    for name in sorted(dir(obj)):
        if name.startswith("_") or depth > 3:
            continue
        value = getattr(obj, name, None)
        if not _is_namespace(value):
            continue
        cls = type(value)
        path = f"{prefix}.{name}"
        methods = {}
        for mname, member in inspect.getmembers(cls):
            if mname.startswith("_") or not callable(member) or isinstance(member, type):
                continue
            methods[mname] = {
                "async": inspect.iscoroutinefunction(member),
                "params": _params(member),
            }
        out[path] = {"class": f"{cls.__module__}.{cls.__qualname__}", "methods": methods}
        _walk(value, path, out, depth + 1)


def _public(module_name: str) -> List[str]:
    """Every public non-module name a user can import from the module (``__all__`` when it has one)."""
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None) or dir(module)
    return sorted(
        n for n in names if not n.startswith("_") and not inspect.ismodule(getattr(module, n, None))
    )


def _defined(module_name: str) -> List[str]:
    """The public names the module is about: ``__all__``, else the classes defined in it (not its imports)."""
    module = importlib.import_module(module_name)
    if getattr(module, "__all__", None):
        return _public(module_name)
    return sorted(
        n
        for n, v in vars(module).items()
        if not n.startswith("_") and isinstance(v, type) and v.__module__ == module_name
    )


def dump(reference: Optional[Surface] = None) -> Surface:
    """The surface of the ``magic_hour`` this interpreter imports.

    Without ``reference`` (the official package), a module's names are what it defines (its ``__all__``,
    else its own classes, not its imports). With one (ours), they are every public name importable from
    it, and the reference's modules are looked up too (one that does not import is left out, so
    :func:`compare` reports it missing).
    """
    import magic_hour
    from magic_hour import AsyncClient, Client
    from magic_hour.environment import Environment

    namespaces: Dict[str, Dict[str, Any]] = {"sync": {}, "async": {}}
    for kind, cls in (("sync", Client), ("async", AsyncClient)):
        client = cls(token="surface-dump-token")
        try:
            _walk(client.v1, "v1", namespaces[kind])
        finally:
            close = getattr(client, "close", None)
            if kind == "sync" and callable(close):
                close()
    wanted = {
        "magic_hour",
        "magic_hour.client",
        "magic_hour.environment",
        "magic_hour.resources.v1",
        *_HELPERS,
    }
    for kind_map in namespaces.values():
        for info in kind_map.values():
            client_module = info["class"].rsplit(".", 1)[0]
            wanted |= {client_module, client_module.rsplit(".", 1)[0]}
    types = {kind: _public(f"magic_hour.types.{kind}") for kind in ("params", "models")}
    names_of = _defined if reference is None else _public
    modules: Dict[str, List[str]] = {}
    for name in sorted(wanted | set((reference or {}).get("modules", {}))):
        try:
            modules[name] = names_of(name)
        except ImportError:
            continue  # compare() reports it missing
    return {
        "package_version": getattr(magic_hour, "__version__", None) or _dist_version(),
        "top_level": sorted(getattr(magic_hour, "__all__", [])),
        "environment": {m.name: m.value for m in Environment},
        "constructors": {c.__name__: _params(c.__init__) for c in (Client, AsyncClient)},
        "namespaces": namespaces,
        "modules": modules,
        "types": types,
        "fields": {kind: _fields(kind, types[kind]) for kind in ("params", "models")},
        "functions": _functions(),
        "attributes": sorted(n for n in _SUBMODULES if inspect.ismodule(getattr(magic_hour, n, None))),
    }


_HELPERS = ("magic_hour.helpers", "magic_hour.helpers.download", "magic_hour.helpers.logger")
_SUBMODULES = ("client", "environment", "helpers", "resources", "types")


def _functions() -> Dict[str, Any]:
    """The public functions of the helper modules: ``{"magic_hour.helpers.download_files_sync": ...}``."""
    out: Dict[str, Any] = {}
    for module_name in _HELPERS:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        for name in getattr(module, "__all__", []):
            func = getattr(module, name, None)
            if inspect.isfunction(func):
                out[f"{module_name}.{name}"] = {
                    "async": inspect.iscoroutinefunction(func),
                    "params": _params(func),
                }
    return out


def _dist_version() -> str:
    import importlib.metadata

    return importlib.metadata.version("magic-hour")


# --- comparing --------------------------------------------------------------------------------------------


def _param_problems(where: str, theirs: List[Dict[str, Any]], ours: List[Dict[str, Any]]) -> List[str]:
    """What official code calling ``theirs`` would break on with ``ours``; ids start with ``where``."""
    problems = []
    mine = {p["name"]: p for p in ours}
    var_kw = any(p["kind"] == "VAR_KEYWORD" for p in ours)
    positional = [p["name"] for p in ours if p["kind"] in ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD")]
    their_positional = [
        p["name"] for p in theirs if p["kind"] in ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD")
    ]
    for p in theirs:
        pid = f"{where}({p['name']})"
        m = mine.get(p["name"])
        if p["kind"] in ("VAR_POSITIONAL", "VAR_KEYWORD"):
            if not any(q["kind"] == p["kind"] for q in ours):
                problems.append(f"{pid}: official takes {p['kind']}, ours does not")
            continue
        if m is None:
            if not var_kw:
                problems.append(f"{pid}: missing parameter")
            continue
        if p["kind"] == "KEYWORD_ONLY" and m["kind"] not in ("KEYWORD_ONLY", "POSITIONAL_OR_KEYWORD"):
            problems.append(f"{pid}: official is keyword-only, ours is {m['kind']}")
        if p["kind"] in ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD"):
            index = their_positional.index(p["name"])
            if index >= len(positional) or positional[index] != p["name"]:
                problems.append(f"{pid}: official takes it as positional #{index}, ours does not")
        if not p["required"] and m["required"]:
            problems.append(f"{pid}: optional in official, required in ours")
        # Literal defaults must agree (``wait_for_completion=True``); a sentinel default on either side means
        # "not given", whose behaviour the docs state, so it is not compared.
        if "default" in p and "default" in m and m["default"] != p["default"]:
            problems.append(f"{pid}: default {p['default']!r} in official, {m['default']!r} in ours")
    for m in ours:
        if m["name"] not in {p["name"] for p in theirs} and m["required"]:
            problems.append(f"{where}({m['name']}): required in ours, absent from official")
    return problems


def compare(official: Surface, ours: Surface) -> List[str]:
    """Every way ``ours`` lacks something of ``official``, one line each, sorted; extras are fine.

    Each line starts with an id (``sync v1.face_swap.generate``, ``types.params V1FooBody``, ...): the
    allowlist of the surface test names these ids.
    """
    problems: List[str] = []
    for name in official["top_level"]:
        if name not in ours["top_level"]:
            problems.append(f"top_level {name}: missing from magic_hour.__all__")
    for member, value in official["environment"].items():
        if ours["environment"].get(member) != value:
            problems.append(
                f"environment {member}: official {value!r}, ours {ours['environment'].get(member)!r}"
            )
    for cls, params in official["constructors"].items():
        problems += _param_problems(f"constructor {cls}", params, ours["constructors"].get(cls, []))
    for kind in ("sync", "async"):
        mine_ns = ours["namespaces"][kind]
        for path, info in official["namespaces"][kind].items():
            nid = f"{kind} {path}"
            mine = mine_ns.get(path)
            if mine is None:
                problems.append(f"{nid}: missing namespace")
                continue
            if mine["class"] != info["class"]:
                problems.append(f"{nid}: class {info['class']} in official, {mine['class']} in ours")
            for method, spec in info["methods"].items():
                mid = f"{nid}.{method}"
                have = mine["methods"].get(method)
                if have is None:
                    problems.append(f"{mid}: missing method")
                    continue
                if have["async"] != spec["async"]:
                    problems.append(
                        f"{mid}: async={spec['async']} in official, async={have['async']} in ours"
                    )
                problems += _param_problems(mid, spec["params"], have["params"])
    for module, names in official["modules"].items():
        have_names: Set[str] = set(ours["modules"].get(module, ()))
        if module not in ours["modules"]:
            problems.append(f"module {module}: missing module")
            continue
        problems += [f"module {module}.{n}: missing name" for n in names if n not in have_names]
    for kind in ("params", "models"):
        have_types = set(ours["types"].get(kind, ()))
        problems += [
            f"types.{kind} {n}: missing type" for n in official["types"][kind] if n not in have_types
        ]
    mine_functions = ours.get("functions", {})
    for name, spec in official.get("functions", {}).items():
        have = mine_functions.get(name)
        if have is None:
            problems.append(f"function {name}: missing function")
            continue
        if have["async"] != spec["async"]:
            problems.append(
                f"function {name}: async={spec['async']} in official, async={have['async']} in ours"
            )
        problems += _param_problems(f"function {name}", spec["params"], have["params"])
    problems += [
        f"attribute magic_hour.{n}: not reachable after import magic_hour"
        for n in official.get("attributes", [])
        if n not in ours.get("attributes", [])
    ]
    for kind in ("params", "models"):
        mine_fields = ours.get("fields", {}).get(kind, {})
        for name, keys in official.get("fields", {}).get(kind, {}).items():
            if name not in mine_fields:
                continue  # reported above as a missing type
            problems += _field_problems(f"fields.{kind} {name}", keys, mine_fields[name], kind)
    return sorted(problems)


def _field_problems(where: str, theirs: Dict[str, Any], ours: Dict[str, Any], kind: str) -> List[str]:
    """What code written for the official type would break on with ours: a key it may set (params) or
    read (models) that ours lacks, a key it may leave out that ours requires, a literal value ours does
    not take."""
    problems = []
    for key, spec in theirs.items():
        mine = ours.get(key)
        if mine is None:
            problems.append(f"{where}.{key}: missing {'key' if kind == 'params' else 'field'}")
            continue
        if kind == "params" and not spec["required"] and mine["required"]:
            problems.append(f"{where}.{key}: optional in official, required in ours")
        if kind == "params" and spec.get("numbers") == "float" and mine.get("numbers") == "int":
            problems.append(f"{where}.{key}: a number in official (512.5), only an integer in ours")
        if mine.get("any"):
            continue
        missing = [v for v in spec.get("literals", []) if v not in mine.get("literals", [])]
        if missing:
            shown = ", ".join(repr(v) for v in missing[:5]) + (", ..." if len(missing) > 5 else "")
            problems.append(f"{where}.{key} literals: {len(missing)} value(s) missing: {shown}")
    return problems


def problem_id(line: str) -> str:
    """The id a problem line starts with (what an allowlist names)."""
    return line.split(": ", 1)[0]


def main(argv: List[str]) -> int:
    """``surface.py``: print this interpreter's surface as JSON (how the fixture is made, in the official
    venv). ``surface.py --compare FIXTURE``: print what this interpreter's package lacks of FIXTURE's."""
    if argv[:1] == ["--compare"] and len(argv) == 2:
        with open(argv[1], encoding="utf-8") as f:
            reference = json.load(f)
        problems = compare(reference, dump(reference))
        sys.stdout.write("".join(line + "\n" for line in problems))
        sys.stdout.write(f"{len(problems)} difference(s)\n")
        return 1 if problems else 0
    json.dump(dump(), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
