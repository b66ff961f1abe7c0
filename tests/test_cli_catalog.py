"""The command catalog: the parser read from a small hand-made catalog, the request built from flags,
``--set``, ``--body`` and ``-`` inputs, and the generated catalog's coverage of the API."""

from __future__ import annotations

import argparse
import io
import json
import os
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

from magic_hour.cli._catalog import CATALOG, add_catalog_commands, load_catalog
from magic_hour.cli._parser import Parser, UsageError, global_options
from magic_hour.cli._request import Stdin, request_parts, set_path

REPO = Path(__file__).resolve().parent.parent

FIXTURE: Dict[str, Any] = {
    "format": 1,
    "groups": [{"name": "image", "help": "create and manage images"}, {"name": "account", "help": "you"}],
    "commands": [
        {
            "group": "image",
            "name": "face-swap",
            "operation": "POST /v1/face-swap-photo",
            "action": "create",
            "kind": "image",
            "help": "Face Swap Photo",
            "description": "Create a face swap photo.",
            "args": [],
            "flags": [
                {
                    "flag": "--name",
                    "path": "name",
                    "in": "body",
                    "type": "string",
                    "required": False,
                    "help": "a name",
                },
                {
                    "flag": "--mode",
                    "path": "assets.face_swap_mode",
                    "in": "body",
                    "type": "string",
                    "required": False,
                    "choices": ["all-faces", "individual-faces"],
                    "default": "all-faces",
                    "help": "how to swap",
                },
                {
                    "flag": "--source",
                    "path": "assets.source_file_path",
                    "in": "body",
                    "type": "string",
                    "required": True,
                    "file": "image",
                    "help": "the face",
                },
                {
                    "flag": "--image",
                    "path": "assets.image_file_paths",
                    "in": "body",
                    "type": "array",
                    "items": "string",
                    "required": False,
                    "file": "image",
                    "help": "more images",
                },
                {
                    "flag": "--width",
                    "path": "width",
                    "in": "body",
                    "type": "integer",
                    "required": False,
                    "help": "w",
                },
                {
                    "flag": "--strength",
                    "path": "style.strength",
                    "in": "body",
                    "type": "number",
                    "required": False,
                    "help": "s",
                },
                {
                    "flag": "--enhance",
                    "path": "style.enhance",
                    "in": "body",
                    "type": "boolean",
                    "required": False,
                    "help": "e",
                },
            ],
            "body": True,
            "files": {"assets.source_file_path": "image", "assets.image_file_paths[]": "image"},
        },
        {
            "group": "image",
            "name": "get",
            "operation": "GET /v1/image-projects/{id}",
            "action": "get",
            "kind": "image",
            "help": "Get image details",
            "description": "Get the details of an image project.",
            "args": [{"name": "id", "help": "the project id"}],
            "flags": [],
            "body": False,
        },
        {
            "group": "account",
            "name": "list-things",
            "operation": "GET /v1/things",
            "action": "call",
            "help": "things",
            "description": "Things.",
            "args": [],
            "flags": [
                {
                    "flag": "--limit",
                    "path": "limit",
                    "in": "query",
                    "type": "integer",
                    "required": False,
                    "help": "n",
                }
            ],
            "body": False,
        },
    ],
}


def parse(argv: List[str], catalog: Optional[Dict[str, Any]] = None) -> argparse.Namespace:
    parser = Parser(prog="magic-hour", parents=[global_options(with_defaults=True)])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    add_catalog_commands(commands, global_options(with_defaults=False), catalog or FIXTURE, argv)
    return parser.parse_args(argv)


def request(argv: List[str], stdin: str = "") -> Any:
    args = parse(argv)
    reader = Stdin()
    reader._doc = json.loads(stdin) if stdin else None  # pyright: ignore[reportPrivateUsage]
    return request_parts(args.catalog_command, args, reader)


def test_flags_become_the_nested_body_with_their_types() -> None:
    body, query, params = request(
        [
            "image",
            "face-swap",
            "--source",
            "me.png",
            "--mode",
            "individual-faces",
            "--width",
            "512",
            "--strength",
            "0.5",
            "--no-enhance",
            "--image",
            "a.png",
            "--image",
            "https://x.test/b.png",
        ]
    )
    assert body == {
        "assets": {
            "source_file_path": "me.png",
            "face_swap_mode": "individual-faces",
            "image_file_paths": ["a.png", "https://x.test/b.png"],
        },
        "width": 512,
        "style": {"strength": 0.5, "enhance": False},
    }
    assert (query, params) == ({}, {})


def test_required_flags_are_checked_after_body_and_set() -> None:
    with pytest.raises(UsageError, match="the following arguments are required: --source"):
        request(["image", "face-swap", "--name", "x"])
    body, _, _ = request(["image", "face-swap", "--set", "assets.source_file_path=me.png"])
    assert body == {"assets": {"source_file_path": "me.png"}}


def test_set_takes_json_values_and_list_indexes() -> None:
    body, _, _ = request(
        [
            "image",
            "face-swap",
            "--source",
            "s.png",
            "--set",
            "assets.face_mappings[1].new_face=b.png",
            "--set",
            "width=640",
            "--set",
            'style={"enhance": true}',
            "--set",
            "name=640x",
        ]
    )
    assert body["assets"]["face_mappings"] == [None, {"new_face": "b.png"}]
    assert body["width"] == 640 and body["style"] == {"enhance": True} and body["name"] == "640x"
    with pytest.raises(UsageError, match="PATH=VALUE"):
        request(["image", "face-swap", "--source", "s.png", "--set", "width"])


def test_body_file_then_flags_override(tmp_path: Path) -> None:
    path = tmp_path / "body.json"
    path.write_text(json.dumps({"name": "from file", "assets": {"source_file_path": "f.png", "x": 1}}))
    body, _, _ = request(["image", "face-swap", "--body", str(path), "--name", "flag"])
    assert body == {"name": "flag", "assets": {"source_file_path": "f.png", "x": 1}}
    path.write_text("[1]")
    with pytest.raises(UsageError, match="a JSON object is needed"):
        request(["image", "face-swap", "--body", str(path)])


def test_enum_choices_are_shown_not_enforced(capsys: pytest.CaptureFixture[str]) -> None:
    body, _, _ = request(["image", "face-swap", "--source", "s.png", "--mode", "a-mode-added-later"])
    assert body["assets"]["face_swap_mode"] == "a-mode-added-later"  # the API decides, not the client
    with pytest.raises(SystemExit):
        parse(["image", "face-swap", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "how to swap. One of: all-faces, individual-faces. (API default: all-faces)" in out
    assert (
        "the face. A local path, a URL, an api-assets/... path, or - for the previous command's output. [required]"
        in out
    )


def test_bad_numbers_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="invalid value 'wide': an integer"):
        parse(["image", "face-swap", "--source", "s.png", "--width", "wide"])


def test_dash_inputs_take_the_previous_commands_outputs() -> None:
    previous = json.dumps(
        {"ok": True, "outputs": ["https://o.test/1.png", "https://o.test/2.png"], "downloaded": []}
    )
    body, _, _ = request(["image", "face-swap", "--source", "-", "--image", "-2"], stdin=previous)
    assert body["assets"] == {
        "source_file_path": "https://o.test/1.png",
        "image_file_paths": ["https://o.test/2.png"],
    }
    local = json.dumps({"outputs": ["https://o.test/1.png"], "downloaded": ["out/1.png"]})
    body, _, _ = request(["image", "face-swap", "--source", "-"], stdin=local)
    assert body["assets"]["source_file_path"] == "out/1.png"  # a downloaded file is preferred
    with pytest.raises(UsageError, match="has only 1 outputs"):
        request(["image", "face-swap", "--source", "-3"], stdin=local)


def test_dash_input_with_nothing_usable_on_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("not json"))
    args = parse(["image", "face-swap", "--source", "-"])
    with pytest.raises(UsageError, match="is not a JSON document on stdin; add --json to the first command"):
        request_parts(args.catalog_command, args, Stdin())


def test_path_arguments_and_query_flags() -> None:
    _, _, params = request(["image", "get", "cm123"])
    assert params == {"id": "cm123"}
    _, query, _ = request(["account", "list-things", "--limit", "5"])
    assert query == {"limit": 5}


def test_only_the_command_being_run_gets_its_flags() -> None:
    with pytest.raises(UsageError, match="unrecognized arguments: --limit"):
        parse(["image", "get", "x", "--limit", "1"])


def test_set_path_refuses_a_path_through_a_value() -> None:
    body: Dict[str, Any] = {"name": "x"}
    with pytest.raises(UsageError, match="'name' holds a value, not an object or a list"):
        set_path(body, "name.first", 1)
    with pytest.raises(UsageError, match=r"\[0\] of something that is not a list"):
        set_path({"assets": {}}, "assets[0]", 1)
    made: Dict[str, Any] = {}
    set_path(made, "a.b[1]", 2)
    assert made == {"a": {"b": [None, 2]}}


# ------------------------------------------------------------------------------------------ the generated catalog

ISSUE_TABLE = {
    "image": {
        "generate",
        "edit",
        "gif",
        "upscale",
        "remove-background",
        "colorize",
        "face-swap",
        "head-swap",
        "body-swap",
        "edit-face",
        "change-clothes",
        "headshot",
        "meme",
        "qr-code",
        "get",
        "wait",
        "download",
        "delete",
    },
    "video": {
        "generate",
        "from-image",
        "from-audio",
        "edit",
        "restyle",
        "animate",
        "talking-photo",
        "lip-sync",
        "face-swap",
        "replace-character",
        "translate",
        "subtitle",
        "upscale",
        "ugc-ad",
        "get",
        "wait",
        "download",
        "delete",
    },
    "audio": {"speech", "clone-voice", "music", "get", "wait", "download", "delete"},
    "faces": {"detect", "get", "wait"},
    "files": {"upload-urls"},
    "account": {"get"},
    "saved-items": {"list"},
}


def test_the_generated_catalog_names_every_operation_as_the_issue_does() -> None:
    catalog = load_catalog()
    assert catalog is not None and catalog["x-generated"].startswith("GENERATED by python -m codegen")
    api = json.loads((REPO / "magic_hour" / "_data" / "api.json").read_text())
    operations = {
        f"{m.upper()} {p}" for p, ms in api["paths"].items() for m in ms if m in ("get", "post", "delete")
    }
    assert {c["operation"] for c in catalog["commands"]} == operations
    names: Dict[str, set] = {}
    for c in catalog["commands"]:
        names.setdefault(c["group"], set()).add(c["name"])
    assert names == ISSUE_TABLE
    face_swap = next(c for c in catalog["commands"] if (c["group"], c["name"]) == ("image", "face-swap"))
    flags = {f["flag"]: f for f in face_swap["flags"]}
    assert flags["--face"]["file"] == "image" and flags["--image"]["required"] is True
    assert flags["--face"]["aliases"] == ["--source"] and flags["--image"]["aliases"] == ["--target"]
    assert flags["--face-swap-mode"]["choices"] == ["all-faces", "individual-faces"]
    assert CATALOG.endswith("_catalog.json")


def test_every_generated_command_parses_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    catalog = load_catalog()
    assert catalog is not None
    for c in catalog["commands"]:
        if c["action"] == "builtin":
            continue
        with pytest.raises(SystemExit) as exit_info:
            parse([c["group"], c["name"], "--help"], catalog)
        assert exit_info.value.code == 0
        text = capsys.readouterr().out
        for flag in c["flags"]:
            assert flag["flag"] in text, (c["group"], c["name"], flag["flag"])


# ------------------------------------------------------------------------------------------ completion


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["im"], ["image"]),
        (["--token", "t", "ima"], ["image"]),
        (["image", "fa"], ["face-swap"]),
        (["image", "face-swap", "--fa"], ["--face-swap-mode", "--face", "--face-mappings"]),
        (["image", "face-swap", "--so"], []),  # a former name is accepted, not offered
        (["image", "face-swap", "--face-swap-mode", ""], ["all-faces", "individual-faces"]),
        (["image", "face-swap", "--source", ""], ["__files__"]),
        (["image", "face-swap", "--source", "a.png", "--no-w"], ["--no-wait"]),
        (["files", "upload", "--type", ""], ["video", "audio", "image"]),
        (["files", "upload", ""], ["__files__"]),
        (["completion", ""], ["bash", "zsh", "fish"]),
        (
            ["saved-items", "list", "--type", ""],
            ["brand_kit", "character", "moodboard", "reference", "voice"],
        ),
    ],
)
def test_completion_candidates(words: List[str], expected: List[str]) -> None:
    from magic_hour.cli._complete import candidates

    assert candidates(words) == expected


def test_bash_completion_script_completes_through_the_command(tmp_path: Path) -> None:
    import shutil
    import subprocess
    import sys

    bash = shutil.which("bash")
    assert bash is not None
    shim = tmp_path / "magic-hour"  # the script calls `magic-hour`: this checkout's
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m magic_hour "$@"\n')
    shim.chmod(0o755)
    script = subprocess.run(
        [sys.executable, "-m", "magic_hour", "completion", "bash"], capture_output=True, text=True, check=True
    ).stdout
    probe = (
        script + "COMP_WORDS=(magic-hour image face-swap --face-swap-mode ''); COMP_CWORD=4; _magic_hour\n"
        "printf '%s\\n' \"${COMPREPLY[@]}\"\n"
    )
    env = {**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"}
    out = subprocess.run([bash, "-c", probe], capture_output=True, text=True, env=env, check=True).stdout
    assert out.split() == ["all-faces", "individual-faces"]


def test_a_list_of_objects_takes_json() -> None:
    catalog = load_catalog()
    assert catalog is not None
    mappings = '[{"original_face": "0-0.png", "new_face": "me.png"}]'
    args = parse(
        [
            "image",
            "face-swap",
            "--target",
            "t.png",
            "--face-swap-mode",
            "individual-faces",
            "--face-mappings",
            mappings,
        ],
        catalog,
    )
    body, _, _ = request_parts(args.catalog_command, args, Stdin())
    assert body["assets"]["face_mappings"] == [{"original_face": "0-0.png", "new_face": "me.png"}]
    with pytest.raises(UsageError, match="invalid JSON"):
        parse(["image", "face-swap", "--target", "t.png", "--face-mappings", "[{"], catalog)


def test_a_required_object_without_required_fields_is_sent_empty() -> None:
    """The face editor's ``style`` is required, none of its fields is: with no style flag the body still
    has ``style: {}`` (the API answered 422 "style is required" without it); a flag fills it."""
    catalog = load_catalog()
    assert catalog is not None
    command = next(c for c in catalog["commands"] if (c["group"], c["name"]) == ("image", "edit-face"))
    assert command["objects"] == ["style"]
    fixture = {**FIXTURE, "commands": [command]}
    args = parse(["image", "edit-face", "--image", "me.png"], fixture)
    body, _, _ = request_parts(command, args, Stdin())
    assert body == {"assets": {"image_file_path": "me.png"}, "style": {}}
    args = parse(["image", "edit-face", "--image", "me.png", "--head-yaw", "5"], fixture)
    body, _, _ = request_parts(command, args, Stdin())
    assert body["style"] == {"head_yaw": 5}


def test_the_command_fills_only_what_spec_cli_json_says() -> None:
    """Every fill and required_when of the catalog comes from spec/cli.json, whose every entry names a
    field of its operation, says why (x-why), and refers to fields of the same body."""
    facts = json.loads((REPO / "spec" / "cli.json").read_text(encoding="utf-8"))["operations"]
    catalog = load_catalog() or {}
    seen = 0
    for command in catalog["commands"]:
        paths = {f["path"] for f in command["flags"]}
        for flag in command["flags"]:
            entry = facts.get(command["operation"], {}).get(flag["path"]) or {}
            assert bool(flag.get("fill")) == ("default" in entry or "infer" in entry), flag
            assert bool(flag.get("required_when")) == ("required_when" in entry), flag
            if entry:
                seen += 1
                assert entry["x-why"], (command["operation"], flag["path"])
                assert flag["required"] or not flag.get("fill")  # only what the API requires is filled
                assert all(rule["when"] in paths for rule in entry.get("infer", []))
                assert entry.get("required_when", {}).get("field", flag["path"]) in paths
    assert seen == sum(len(v) for v in facts.values())


def _commands(parser: argparse.ArgumentParser) -> List[argparse.ArgumentParser]:
    """Every parser of the tree under ``parser`` (itself included)."""
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):  # an alias maps to the same parser
                found += _commands(sub)
    return found


def test_every_command_is_a_leaf_with_the_globals_line_and_a_did_you_mean() -> None:
    from magic_hour.cli._main import build_parser

    catalog = load_catalog()
    assert catalog is not None
    # A command's flags are built only when it is named: name them all (and batch run, for its copies).
    every = [
        "batch",
        "run",
        *(g["name"] for g in catalog["groups"]),
        *(c["name"] for c in catalog["commands"]),
    ]
    tree = _commands(build_parser(every))
    subparsers = argparse._SubParsersAction
    leaves = [p for p in tree if not any(isinstance(a, subparsers) for a in p._actions)]
    assert {"magic-hour webhooks listen", "magic-hour batch status"} <= {p.prog for p in leaves}
    assert len([p for p in leaves if p.prog.startswith("magic-hour batch run ")]) > 20
    for parser in leaves:  # a command, not a group: the parser of what is left over
        if parser.prog == "magic-hour values":
            continue  # every word after it is its own (GROUP COMMAND [OPTION])
        assert isinstance(parser, Parser) and parser.leaf, parser.prog
        takes_globals = "--json" in parser._option_string_actions  # all but completion
        assert takes_globals == (parser.prog != "magic-hour completion"), parser.prog
        line = "global options (--json, -q, -v, --mock,"
        assert (line in parser.format_help()) == takes_globals, parser.prog
    for parser in tree:
        if parser not in leaves:
            assert isinstance(parser, Parser) and not parser.leaf, parser.prog
    listen = next(p for p in leaves if p.prog == "magic-hour webhooks listen")
    with pytest.raises(UsageError) as caught:
        listen.parse_args(["--prot", "9000", "--jsno"])
    assert caught.value.message == (
        "unrecognized arguments: --prot 9000 --jsno; did you mean --port or --count? "
        "(see magic-hour webhooks listen --help)"
    )
    assert caught.value.usage.startswith("usage: magic-hour webhooks listen ")
    with pytest.raises(UsageError) as caught:
        listen.parse_args(["--jsno"])
    assert "did you mean --json?" in caught.value.message  # a global option, its help shown once


@pytest.mark.parametrize(
    "argv",
    [
        ["--jsno", "files", "upload", "a.png"],
        ["files", "--jsno", "upload", "a.png"],
        ["batch", "--jsno", "status", "j"],
    ],
)
def test_an_option_no_command_took_gets_the_programs_did_you_mean(argv: List[str]) -> None:
    # Misplaced before the command (or mistyped at the top), it reaches the program's parser, not the
    # command's: argparse said only 'unrecognized arguments'.
    from magic_hour.cli._main import build_parser

    with pytest.raises(UsageError) as caught:
        build_parser(argv).parse_args(argv)
    assert (
        caught.value.message == "unrecognized arguments: --jsno; did you mean --json? (see magic-hour --help)"
    )
    assert caught.value.usage.startswith("usage: magic-hour [-h]")
