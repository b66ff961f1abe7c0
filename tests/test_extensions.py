"""The upload extension table is the API's current list (issue 10): parsed from the vendored spec.

``spec/openapi.json`` describes ``POST /v1/files/upload-urls`` with a list "Valid file extensions per
asset type" and, on the ``extension`` field, "Possible extensions are ...". Both are read here; a new
spec that changes either fails this test until ``magic_hour/_extensions.py`` follows.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest

from magic_hour._extensions import API_EXTENSIONS, ASSET_TYPES, EXTENSIONS, type_for_extension

SPEC = Path(__file__).resolve().parent.parent / "spec" / "openapi.json"


def operation() -> Dict[str, Any]:
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    op: Dict[str, Any] = spec["paths"]["/v1/files/upload-urls"]["post"]
    return op


def spec_groups() -> Dict[str, List[str]]:
    """``- video: mp4, m4v, ...`` lines after "Valid file extensions per asset type"."""
    description: str = operation()["description"]
    section = description.split("Valid file extensions per asset type", 1)[1]
    groups: Dict[str, List[str]] = {}
    for line in section.splitlines():
        match = re.fullmatch(r"\s*-\s*(\w+):\s*(.+?)\s*", line)
        if match:
            groups[match[1]] = [e.strip() for e in match[2].split(",")]
        elif groups and line.strip():
            break  # the end of the list
    return groups


def spec_item_schema() -> Dict[str, Any]:
    body = operation()["requestBody"]["content"]["application/json"]["schema"]
    schema: Dict[str, Any] = body["properties"]["items"]["items"]
    return schema


def test_the_table_is_the_specs_list() -> None:
    groups = spec_groups()
    assert set(groups) >= {"video", "audio", "image"}, groups  # the parser found the list
    assert groups == {group: list(exts) for group, exts in API_EXTENSIONS.items()}


def test_the_extension_fields_list_agrees() -> None:
    text = spec_item_schema()["properties"]["extension"]["description"]
    listed = set(re.search(r"Possible extensions are ([\w,]+)", text)[1].split(","))  # type: ignore[index]
    assert listed == {ext for exts in API_EXTENSIONS.values() for ext in exts}


def test_the_types_are_the_specs_enum() -> None:
    assert list(ASSET_TYPES) == spec_item_schema()["properties"]["type"]["enum"]


def test_every_listed_extension_is_accepted_with_each_type_the_api_lists_it_under() -> None:
    for group, exts in API_EXTENSIONS.items():
        types = ("video", "image") if group == "gif" else (group,)
        for ext in exts:
            assert any(ext in EXTENSIONS[t] for t in types), (group, ext)  # type: ignore[index]
            assert type_for_extension(ext) is not None, ext
    for asset_type, exts in EXTENSIONS.items():  # and nothing the API does not list
        for ext in exts:
            assert ext in API_EXTENSIONS[asset_type] or ext in API_EXTENSIONS["gif"], (asset_type, ext)


def test_the_parser_sees_a_change(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    op = spec["paths"]["/v1/files/upload-urls"]["post"]
    op["description"] = op["description"].replace("- audio: mp3, ", "- audio: mp3, xyz, ")
    changed = tmp_path / "openapi.json"
    changed.write_text(json.dumps(spec), encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "SPEC", changed)
    assert "xyz" in spec_groups()["audio"]
    with pytest.raises(AssertionError):
        test_the_table_is_the_specs_list()
