"""Nothing of the official ``magic-hour`` 0.90.0 package's public surface is missing from ours.

Code written for the official SDK must run unchanged on ours, so every namespace under ``client.v1``
(sync and async), method, parameter (name, kind, required, literal default), type name in
``magic_hour.types.params`` / ``.models``, TypedDict key and model field (and whether a key may be left
out), literal value a key or field takes, module path (``magic_hour/resources/v1/<name>/client.py`` with
``<Name>Client`` / ``Async<Name>Client``), ``Environment`` member and top-level name of the official
package must exist on ours (extras are fine). The keys, fields and values come from spec/official.json
(``python -m codegen.official``); this test checks the generated code, by introspection, not that file. ``tests/compat/surface.py`` introspects a package; the
official package's surface is committed in ``tests/compat/official_surface.json``, so the comparison runs
without the official venv; with it (``.ci/official_sdk.sh``), a second test re-dumps the official
package in a subprocess and checks the fixture is current.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Dict, FrozenSet, List

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMPAT = Path(__file__).resolve().parent / "compat"
SCRIPT = COMPAT / "surface.py"
FIXTURE = COMPAT / "official_surface.json"
VENV = Path(os.environ.get("MAGIC_HOUR_OFFICIAL_VENV", ROOT / ".ci" / ".venv-official"))
PYTHON = VENV / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def _load_surface_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("magic_hour_surface", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


surface = _load_surface_module()

# The ONE list of official names allowed to be missing; the test fails when anything else is missing,
# and when a name listed here exists (remove it from the list then). Issue 14's names (generate() on every
# project-creating namespace, check_result() on the project namespaces, the ...GetResponseWithDownloads
# models) are generated since codegen/jobs.py.
KNOWN_MISSING: FrozenSet[str] = frozenset()


def official() -> Dict[str, Any]:
    data: Dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return data


def report(problems: List[str]) -> str:
    return f"{len(problems)} difference(s) from the official 0.90.0 surface:\n  " + "\n  ".join(problems)


def test_nothing_of_the_official_surface_is_missing() -> None:
    theirs = official()
    problems = surface.compare(theirs, surface.dump(theirs))
    unexpected = [p for p in problems if surface.problem_id(p) not in KNOWN_MISSING]
    assert not unexpected, report(unexpected)
    print(report(problems))  # what the allowlist still covers, for `pytest -s`


def test_the_allowlist_is_current() -> None:
    theirs = official()
    missing = {surface.problem_id(p) for p in surface.compare(theirs, surface.dump(theirs))}
    stale = sorted(KNOWN_MISSING - missing)
    assert not stale, "exists now, remove from KNOWN_MISSING:\n  " + "\n  ".join(stale)


def test_the_allowlist_names_official_things() -> None:
    """Every allowlisted id is something the official package has (no typo hides a real gap)."""
    theirs = official()
    empty: Dict[str, Any] = {
        "top_level": [],
        "environment": {},
        "constructors": {},
        "namespaces": {"sync": {}, "async": {}},
        "modules": {m: [] for m in theirs["modules"]},
        "types": {"params": [], "models": []},
        # types without keys: every official key and field shows up as missing by its own id
        "fields": {kind: {name: {} for name in names} for kind, names in theirs["fields"].items()},
    }
    # Against namespaces without methods, every official method shows up as missing by its own id.
    for kind in ("sync", "async"):
        for path, info in theirs["namespaces"][kind].items():
            empty["namespaces"][kind][path] = {"class": info["class"], "methods": {}}
    everything = {surface.problem_id(p) for p in surface.compare(theirs, empty)}
    assert everything >= KNOWN_MISSING, sorted(KNOWN_MISSING - everything)


def test_the_fixture_covers_the_official_surface() -> None:
    theirs = official()
    assert theirs["package_version"].startswith("0.90.")
    assert theirs["top_level"] == ["ApiError", "AsyncClient", "BinaryResponse", "Client", "Environment"]
    for kind in ("sync", "async"):
        namespaces = theirs["namespaces"][kind]
        assert len(namespaces) == 39  # 40 namespaces in the count includes v1 itself
        assert "v1.files.upload_urls" in namespaces and "v1.saved_items" in namespaces
        methods = sum(len(info["methods"]) for info in namespaces.values())
        assert methods == 42 + 32 + 3 + 1  # operations + generate + check_result + files.upload_file
    assert "V1FaceSwapCreateBodyAssetsFaceMappingsItem" in theirs["types"]["params"]
    assert "V1VideoProjectsGetResponse" in theirs["types"]["models"]
    fields = theirs["fields"]
    assert set(fields["params"]) == set(theirs["types"]["params"])
    assert set(fields["models"]) == set(theirs["types"]["models"])
    values = {
        kind: sum(len(k.get("literals", [])) for t in fields[kind].values() for k in t.values())
        for kind in fields
    }
    assert values == {"params": 1873, "models": 38}  # the 1,911 literal values
    assert fields["params"]["V1AiImageUpscalerCreateBodyStyle"]["enhancement"] == {
        "required": False,
        "literals": ["Balanced", "Creative", "Resemblance"],
    }
    assert fields["models"]["V1AiImageEditorCreateResponse"]["frame_cost"] == {
        "required": True,
        "numbers": "int",
    }
    assert fields["params"]["V1FaceSwapCreateBody"]["end_seconds"] == {"required": True, "numbers": "float"}


@pytest.mark.skipif(
    not PYTHON.exists(), reason=f"no official SDK venv at {VENV} (run: bash .ci/official_sdk.sh)"
)
def test_the_fixture_is_the_official_packages_surface(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    proc = subprocess.run(
        [str(PYTHON), "-I", str(SCRIPT)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    dumped = json.loads(proc.stdout)
    assert dumped == official(), (
        "tests/compat/official_surface.json is stale; regenerate it (and spec/official.json) with\n"
        "  python -m codegen.official && python -m codegen"
    )


# --- the comparison itself can fail ------------------------------------------------------------------------


def _param(name: str, kind: str = "KEYWORD_ONLY", required: bool = False, **default: Any) -> Dict[str, Any]:
    return {"name": name, "kind": kind, "required": required, **default}


BASE: Dict[str, Any] = {
    "top_level": ["Client"],
    "environment": {"ENVIRONMENT": "https://api.magichour.ai"},
    "constructors": {"Client": [_param("token", default=None)]},
    "namespaces": {
        "sync": {
            "v1.face_swap": {
                "class": "magic_hour.resources.v1.face_swap.client.FaceSwapClient",
                "methods": {
                    "create": {
                        "async": False,
                        "params": [
                            _param("assets", required=True),
                            _param("name"),
                            _param("request_options"),
                        ],
                    },
                    "generate": {"async": False, "params": [_param("wait_for_completion", default=True)]},
                },
            }
        },
        "async": {},
    },
    "modules": {"magic_hour.resources.v1.face_swap.client": ["FaceSwapClient"]},
    "types": {"params": ["V1FaceSwapCreateBody"], "models": ["V1FaceSwapCreateResponse"]},
    "fields": {
        "params": {
            "V1FaceSwapCreateBody": {
                "assets": {"required": True},
                "name": {"required": False, "any": True},
                "model": {"required": False, "literals": ["a", "b"]},
                "end_seconds": {"required": True, "numbers": "float"},
                "width": {"required": False, "numbers": "int"},
            }
        },
        "models": {"V1FaceSwapCreateResponse": {"id": {"required": True, "any": True}}},
    },
}


def _keys(s: Dict[str, Any]) -> Dict[str, Any]:
    keys: Dict[str, Any] = s["fields"]["params"]["V1FaceSwapCreateBody"]
    return keys


def _create(s: Dict[str, Any]) -> Dict[str, Any]:
    method: Dict[str, Any] = s["namespaces"]["sync"]["v1.face_swap"]["methods"]["create"]
    return method


def test_compare_identical_and_extra_is_fine() -> None:
    ours = copy.deepcopy(BASE)
    assert surface.compare(BASE, ours) == []
    ours["top_level"].append("Extra")
    ours["types"]["params"].append("V1Extra")
    _create(ours)["params"].append(_param("extra_optional"))
    _create(ours)["params"][0]["kind"] = "POSITIONAL_OR_KEYWORD"  # still callable by keyword
    _create(ours)["params"][0]["required"] = False  # optional where official requires it: still fine
    _keys(ours)["extra"] = {"required": False}
    _keys(ours)["assets"]["required"] = False
    _keys(ours)["model"]["literals"].append("c")
    _keys(ours)["width"]["numbers"] = "float"  # ours takes 512.5 where official takes integers: fine
    ours["fields"]["models"]["V1FaceSwapCreateResponse"]["id"]["required"] = False  # Optional: still fine
    assert surface.compare(BASE, ours) == []
    _keys(ours)["model"] = {"required": False, "any": True}  # ours takes any string: every value
    assert surface.compare(BASE, ours) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda s: s["top_level"].remove("Client"), "top_level Client: missing from magic_hour.__all__"),
        (lambda s: s["environment"].clear(), "environment ENVIRONMENT: official"),
        (lambda s: s["constructors"]["Client"].clear(), "constructor Client(token): missing parameter"),
        (lambda s: s["namespaces"]["sync"].clear(), "sync v1.face_swap: missing namespace"),
        (
            lambda s: s["namespaces"]["sync"]["v1.face_swap"].update({"class": "magic_hour.x.FaceSwap"}),
            "sync v1.face_swap: class magic_hour.resources.v1.face_swap.client.FaceSwapClient in official",
        ),
        (
            lambda s: s["namespaces"]["sync"]["v1.face_swap"]["methods"].pop("generate"),
            "sync v1.face_swap.generate: missing method",
        ),
        (lambda s: _create(s).update({"async": True}), "sync v1.face_swap.create: async=False in official"),
        (lambda s: _create(s)["params"].pop(1), "sync v1.face_swap.create(name): missing parameter"),
        (
            lambda s: _create(s)["params"][1].update({"required": True}),
            "sync v1.face_swap.create(name): optional in official, required in ours",
        ),
        (
            lambda s: _create(s)["params"][0].update({"kind": "POSITIONAL_ONLY"}),
            "sync v1.face_swap.create(assets): official is keyword-only",
        ),
        (
            lambda s: _create(s)["params"].append(_param("new", required=True)),
            "sync v1.face_swap.create(new): required in ours, absent from official",
        ),
        (
            lambda s: s["namespaces"]["sync"]["v1.face_swap"]["methods"]["generate"]["params"][0].update(
                {"default": False}
            ),
            "sync v1.face_swap.generate(wait_for_completion): default True in official, False in ours",
        ),
        (lambda s: s["modules"].clear(), "module magic_hour.resources.v1.face_swap.client: missing module"),
        (
            lambda s: s["modules"]["magic_hour.resources.v1.face_swap.client"].clear(),
            "module magic_hour.resources.v1.face_swap.client.FaceSwapClient: missing name",
        ),
        (lambda s: s["types"]["models"].clear(), "types.models V1FaceSwapCreateResponse: missing type"),
        (lambda s: _keys(s).pop("name"), "fields.params V1FaceSwapCreateBody.name: missing key"),
        (
            lambda s: _keys(s)["name"].update({"required": True}),
            "fields.params V1FaceSwapCreateBody.name: optional in official, required in ours",
        ),
        (
            lambda s: _keys(s)["model"]["literals"].remove("b"),
            "fields.params V1FaceSwapCreateBody.model literals: 1 value(s) missing: 'b'",
        ),
        (
            lambda s: _keys(s)["model"].pop("literals"),
            "fields.params V1FaceSwapCreateBody.model literals: 2 value(s) missing: 'a', 'b'",
        ),
        (
            lambda s: _keys(s)["end_seconds"].update({"numbers": "int"}),
            "fields.params V1FaceSwapCreateBody.end_seconds: a number in official (512.5), only an integer",
        ),
        (
            lambda s: s["fields"]["models"]["V1FaceSwapCreateResponse"].clear(),
            "fields.models V1FaceSwapCreateResponse.id: missing field",
        ),
    ],
)
def test_compare_reports_what_is_missing(change: Any, expected: str) -> None:
    ours = copy.deepcopy(BASE)
    change(ours)
    problems = surface.compare(BASE, ours)
    assert len(problems) == 1 and problems[0].startswith(expected), problems


def test_a_missing_method_is_reported_by_its_id_only() -> None:
    ours = copy.deepcopy(BASE)
    del ours["namespaces"]["sync"]["v1.face_swap"]["methods"]["generate"]
    (line,) = surface.compare(BASE, ours)
    assert surface.problem_id(line) == "sync v1.face_swap.generate"
