"""``python -m codegen.official``: spec/official.json is what the installed official package declares
beyond spec/openapi.json + spec/overlay.json, and the reader and the merge do what they say.

The official package is read as text (both packages are named ``magic_hour``); the first test reads the
one ``.ci/official_sdk.sh`` installed (skipped without it), the others small hand-written packages.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import textwrap
from pathlib import Path
from typing import Dict

import pytest

from codegen import official as official_json
from codegen.load import load
from codegen.official_package import find, read

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("MAGIC_HOUR_OFFICIAL_VENV", ROOT / ".ci" / ".venv-official"))
PYTHON = VENV / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


@pytest.mark.skipif(
    not PYTHON.exists(), reason=f"no official SDK venv at {VENV} (run: bash .ci/official_sdk.sh)"
)
def test_official_json_is_what_the_installed_package_declares() -> None:
    official = read(find(VENV))
    expected = official_json.render(official, ROOT / "spec")
    assert (ROOT / "spec" / "official.json").read_text(encoding="utf-8") == expected, (
        f"spec/official.json is not what {official.source} declares; run\n"
        "  python -m codegen.official && python -m codegen"
    )


def package(root: Path, files: Dict[str, str], version: str = "9.9.9") -> Path:
    """A fake installed official package under ``root`` (site-packages layout)."""
    site = root / "lib" / "python3.11" / "site-packages"
    (site / f"magic_hour-{version}.dist-info").mkdir(parents=True)
    (site / f"magic_hour-{version}.dist-info" / "METADATA").write_text(
        f"Name: magic_hour\nVersion: {version}\n"
    )
    for rel, text in files.items():
        path = site / "magic_hour" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return site / "magic_hour"


STYLE = """
    import pydantic
    import typing
    import typing_extensions


    class V1AiImageUpscalerCreateBodyStyle(typing_extensions.TypedDict):
        \"\"\"
        Style settings.
        \"\"\"

        enhancement: typing_extensions.NotRequired[
            typing_extensions.Literal["Balanced", "Creative"]
        ]
        \"\"\"
        Deprecated: use `mode` instead.@TRAIL@
        @STRAY@
        `"Balanced"` maps to `"balanced"`.
        \"\"\"

        mode: typing_extensions.NotRequired[
            typing_extensions.Literal["balanced", "turbo"]
        ]
        \"\"\"
        The mode.
        \"\"\"

        type_: typing_extensions.Required[typing.Optional[typing.List[int]]]


    class _SerializerV1AiImageUpscalerCreateBodyStyle(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(populate_by_name=True)

        enhancement: typing.Optional[str] = pydantic.Field(alias="enhancement", default=None)
        mode: typing.Optional[str] = pydantic.Field(alias="mode", default=None)
        type_: typing.Optional[typing.List[int]] = pydantic.Field(alias="type")
"""
# What the official files have: blanks after a line, and a blank line indented deeper than the text.
STYLE = textwrap.dedent(STYLE).replace("@TRAIL@", "   ").replace("@STRAY@", " " * 10)

RESPONSE = """
    import pydantic


    class V1AiImageUpscalerCreateResponse(pydantic.BaseModel):
        \"\"\"
        Success
        \"\"\"

        credits_charged: int = pydantic.Field(alias="credits_charged")
        frame_cost: int = pydantic.Field(
            alias="frame_cost",
        )
        \"\"\"
        Deprecated: use 'credits_charged' instead.
        \"\"\"
        id: str = pydantic.Field(alias="id")
"""
RESPONSE = textwrap.dedent(RESPONSE)

GENERATE = """
    class AiImageUpscalerClient:
        def generate(self, *, assets, style):
            file_client = FilesClient(base_client=self._base_client)
            if "image_file_path" in assets:
                image_file_path = assets["image_file_path"]
                assets["image_file_path"] = file_client.upload_file(file=image_file_path)
            if "image_file_paths" in assets:
                for image_file_path in assets["image_file_paths"]:
                    assets["image_file_paths"] = [
                        file_client.upload_file(file=image_file_path)
                        for image_file_path in assets["image_file_paths"]
                    ]
            for mapping in assets["face_mappings"]:
                mapping["new_face"] = file_client.upload_file(mapping["new_face"])
            uploaded = {"video_file_path": file_client.upload_file(file=assets["video_file_path"])}
            return self.create(assets=assets, style=style)

        def create(self, *, assets, style):
            return FilesClient().upload_file(file=assets["not_in_generate"])
"""
GENERATE = textwrap.dedent(GENERATE)


def test_the_reader_keeps_wire_names_wording_and_uploads(tmp_path: Path) -> None:
    found = read(
        package(
            tmp_path,
            {
                "types/params/v1_ai_image_upscaler_create_body_style.py": STYLE,
                "types/models/v1_ai_image_upscaler_create_response.py": RESPONSE,
                "resources/v1/ai_image_upscaler/client.py": GENERATE,
            },
        )
    )
    assert found.source == "magic-hour 9.9.9"
    style = found.types["V1AiImageUpscalerCreateBodyStyle"]
    assert style.file == "magic_hour/types/params/v1_ai_image_upscaler_create_body_style.py"
    assert set(style.keys) == {"enhancement", "mode", "type"}  # the serializer's alias: the wire name
    assert found.object_schema(style) == {
        "type": "object",
        "description": "Style settings.",
        "required": ["type"],
        "properties": {
            "enhancement": {
                "type": "string",
                "enum": ["Balanced", "Creative"],
                # trailing blanks and a blank line's stray indentation dropped, the wording kept
                "description": 'Deprecated: use `mode` instead.\n\n`"Balanced"` maps to `"balanced"`.',
            },
            "mode": {"type": "string", "enum": ["balanced", "turbo"], "description": "The mode."},
            "type": {"type": "array", "items": {"type": "integer"}, "nullable": True},
        },
    }
    response = found.types["V1AiImageUpscalerCreateResponse"]
    assert [(k.wire, k.required) for k in response.keys.values()] == [
        ("credits_charged", True),
        ("frame_cost", True),
        ("id", True),
    ]
    assert response.keys["frame_cost"].doc == "Deprecated: use 'credits_charged' instead."
    # a name reused for two fields, a loop, a comprehension, a positional argument; not create()'s
    assert found.uploads == {
        "ai_image_upscaler": [
            "assets.face_mappings[].new_face",
            "assets.image_file_path",
            "assets.image_file_paths[]",
            "assets.video_file_path",
        ]
    }


def test_facts_are_what_ours_lacks_with_their_source(tmp_path: Path) -> None:
    found = read(
        package(
            tmp_path,
            {
                "types/params/v1_ai_image_upscaler_create_body_style.py": STYLE,
                "types/models/v1_ai_image_upscaler_create_response.py": RESPONSE,
            },
        )
    )
    facts = official_json.facts(found, load(ROOT / "spec", official=False))
    source = "magic-hour 9.9.9 magic_hour/types/params/v1_ai_image_upscaler_create_body_style.py"
    assert facts["package"] == "magic-hour 9.9.9" and facts["params_types"] == {}
    entry = facts["operations"]["POST /v1/ai-image-upscaler"]
    assert entry["body"] == {
        "style.enhancement": {
            "schema": {
                "type": "string",
                "enum": ["Balanced", "Creative"],
                "description": 'Deprecated: use `mode` instead.\n\n`"Balanced"` maps to `"balanced"`.',
                "deprecated": True,
            },
            "source": f"{source} V1AiImageUpscalerCreateBodyStyle.enhancement",
        },
        # ours has mode with balanced: only the value it lacks; type_ is not ours at all: added
        "style.mode": {"enum": ["turbo"], "source": f"{source} V1AiImageUpscalerCreateBodyStyle.mode"},
        "style.type": {
            "schema": {"type": "array", "items": {"type": "integer"}, "nullable": True},
            "source": f"{source} V1AiImageUpscalerCreateBodyStyle.type_",
        },
    }
    (frame_cost,) = entry["response"].values()
    assert frame_cost["schema"]["deprecated"] is True
    assert list(entry["response"]) == ["frame_cost"]


def test_a_type_that_matches_nothing_of_ours_stops_the_script(tmp_path: Path) -> None:
    found = read(
        package(
            tmp_path,
            {
                "types/models/v1_brand_new_create_response.py": RESPONSE.replace(
                    "V1AiImageUpscalerCreateResponse", "V1BrandNewCreateResponse"
                )
            },
        )
    )
    with pytest.raises(SystemExit, match=r"V1BrandNewCreateResponse matches no object of spec/"):
        official_json.facts(found, load(ROOT / "spec", official=False))


def test_the_command_writes_then_checks(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    package(venv, {"types/params/v1_ai_image_upscaler_create_body_style.py": STYLE})
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT / "spec", checkout / "spec")
    args = ["--venv", str(venv), "--root", str(checkout)]
    assert official_json.main([*args, "--check"]) == 1
    assert official_json.main(args) == 0
    assert official_json.main([*args, "--check"]) == 0
    written = json.loads((checkout / "spec" / "official.json").read_text())
    assert set(written["operations"]) == {"POST /v1/ai-image-upscaler"}
    merged = load(checkout / "spec")
    (op,) = [o for o in merged.operations if o.key == "POST /v1/ai-image-upscaler"]
    style = op.raw["requestBody"]["content"]["application/json"]["schema"]["properties"]["style"]
    assert style["properties"]["enhancement"]["deprecated"] is True
    assert style["properties"]["enhancement"]["x-magic-hour-official"].startswith("magic-hour 9.9.9 ")
    assert style["properties"]["mode"]["enum"][-1] == "turbo"
    assert "enhancement" not in style.get("required", [])


def test_an_upload_metadata_does_not_type_stops_codegen(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "spec", tmp_path / "spec")
    path = tmp_path / "spec" / "official.json"
    facts = json.loads(path.read_text())
    facts["operations"]["POST /v1/ai-image-upscaler"]["uploads"].append("assets.mask_file_path")
    path.write_text(json.dumps(facts))
    with pytest.raises(SystemExit, match=r"assets\.mask_file_path; add each to its files"):
        load(tmp_path / "spec")
    assert load(tmp_path / "spec", official=False).operations  # without official.json: no such fact


def test_what_the_published_description_has_wins(tmp_path: Path) -> None:
    """A newer openapi.json that gains a field or a value official.json adds: no conflict, no duplicate."""
    shutil.copytree(ROOT / "spec", tmp_path / "spec")
    path = tmp_path / "spec" / "openapi.json"
    doc = json.loads(path.read_text())
    body = doc["paths"]["/v1/text-to-video"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    body["properties"]["model"]["enum"].append("wan-3.0")
    body["properties"]["orientation"] = {"type": "string", "description": "published"}
    path.write_text(json.dumps(doc))
    (op,) = [o for o in load(tmp_path / "spec").operations if o.key == "POST /v1/text-to-video"]
    props = op.raw["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert props["model"]["enum"].count("wan-3.0") == 1
    assert props["orientation"] == {"type": "string", "description": "published"}
