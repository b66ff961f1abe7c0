"""The generated command tree: ``_catalog.json`` (written by ``python -m codegen``) read into the parser,
and each command's arguments turned back into the request (body, query, path).

The catalog's format is described in ``docs/cli.md`` ("The command catalog"). Only the command being
run gets its flags built, so a catalog of every operation costs ``--help`` almost nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import os
from typing import Any, Callable, Dict, List, Optional, Sequence, cast

from ._output import PROG, Json
from ._parser import Parser, positive_seconds
from ._request import required_when_note

CATALOG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_catalog.json")
RUNNER_ACTIONS = ("create", "wait", "download")


def load_catalog(path: str = CATALOG) -> Optional[Json]:
    """The catalog, or ``None`` when it has not been generated."""
    try:
        with open(path, encoding="utf-8") as f:
            return cast(Json, json.load(f))
    except FileNotFoundError:
        return None


def _number(kind: str) -> Callable[[str], Any]:
    convert: Callable[[str], Any] = int if kind == "integer" else float

    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or (isinstance(value, float) and not math.isfinite(value)):  # float("1e999") is inf
            raise argparse.ArgumentTypeError(
                f"invalid value {text!r}: {'an integer' if kind == 'integer' else 'a finite number'}"
            )
        return value

    return parse


def _json_value(text: str) -> Any:
    from ._bounded import BoundError, load

    try:
        return load(text)
    except BoundError as exc:
        raise argparse.ArgumentTypeError(f"invalid JSON {text[:60]!r}: {exc}") from None
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid JSON {text!r}") from None


MAX_SHOWN_VALUES = 12
"""A longer list of values is counted in ``--help``, and listed by ``magic-hour values``."""


def values_text(choices: List[str]) -> str:
    """``a, b, "c, d"``: the values, quoted where one holds a comma or a quote (``Tyler, the Creator``)."""
    return ", ".join(f'"{c}"' if ("," in c or '"' in c or c != c.strip()) else c for c in choices)


def _help(flag: Json, command: Json) -> str:
    text = str(flag.get("help", ""))
    if text and text[-1] not in ".!?)":
        text += "."
    if flag.get("file"):
        text += " A local path, a URL, an api-assets/... path, or - for the previous command's output."
    if flag["type"] == "json":
        text += " Given as JSON."
    elif flag["type"] == "array":
        text += " Repeat the option for several."
    choices: List[str] = flag.get("choices") or []
    if len(choices) > MAX_SHOWN_VALUES:
        text += (
            f" One of {len(choices)} values: "
            f"{PROG} values {command['group']} {command['name']} {flag['flag']} lists them."
        )
    elif choices:
        text += f" One of: {values_text(choices)}."
    if "default" in flag:
        text += f" (API default: {flag['default']})"
    text += fill_note(flag)
    if flag.get("required") and not flag.get("fill"):
        text += " [required]"
    elif flag.get("required_when"):
        text += f" [required{required_when_note(flag)}]"
    return text.replace("%", "%%")


def fill_note(flag: Json) -> str:
    """`` (when not given: file if --video is given, youtube if --youtube-url is given, else none)``."""
    rule = flag.get("fill")
    if not rule:
        return ""
    parts = [f"{r['value']} if {r['flag']} is given" for r in rule.get("infer", [])]
    if "default" in rule:
        parts.append(("else " if parts else "") + str(rule["default"]))
    required = "" if "default" in rule else "; required otherwise"
    return f" (when not given: {', '.join(parts)}{required})"


def _add_flag(parser: Any, flag: Json, command: Json) -> None:
    """The option of ``flag``, and its former names (``aliases``) as hidden options of the same field."""
    kind, dest = flag["type"], "field:" + flag["path"]
    shown: Dict[str, Any] = {"help": _help(flag, command)}
    options: Dict[str, Any] = {"dest": dest}
    if kind == "boolean":
        options.update(action=argparse.BooleanOptionalAction, default=None)
    else:
        item = flag.get("items", kind)
        convert: Callable[[str], Any] = str
        if item in ("integer", "number"):
            convert = _number(item)
        elif item == "boolean" or kind == "json":
            convert = _json_value
        metavar = flag["flag"].lstrip("-").upper().replace("-", "_")
        if flag.get("file"):
            metavar = "FILE"
        elif kind == "json":
            metavar = "JSON"
        options.update(type=convert, metavar=metavar)
        if kind == "array":
            options["action"] = "append"
    parser.add_argument(flag["flag"], **options, **shown)
    for alias in flag.get("aliases", []):
        parser.add_argument(alias, **options, help=argparse.SUPPRESS)


def _add_runner_options(parser: argparse.ArgumentParser, command: Json) -> None:
    group = parser.add_argument_group("job options")
    if command["action"] == "create":
        group.add_argument("--no-wait", action="store_true", help="print the project's id and type, and exit")
        group.add_argument(
            "--dry-run",
            action="store_true",
            help="send nothing: print the request body (what --body takes) and the files that would be uploaded",
        )
        group.add_argument(
            "--body",
            metavar="FILE",
            help="the request body as JSON, from a file or - (stdin); flags and --set override it",
        )
        group.add_argument(
            "--set",
            dest="sets",
            action="append",
            default=[],
            metavar="PATH=VALUE",
            help="set any field, e.g. --set assets.face_swap_mode=individual-faces (VALUE is JSON if it parses, else a string)",
        )
    if command["action"] in RUNNER_ACTIONS:
        group.add_argument(
            "--no-download",
            action="store_true",
            help="wait, then print the output URLs instead of downloading them",
        )
        group.add_argument(
            "--output-dir",
            default=None,
            metavar="DIR",
            help="where outputs are downloaded (default: the current directory), named after the project: ID.png",
        )
        if command["action"] != "wait":
            group.add_argument(
                "-o",
                "--output",
                default=None,
                metavar="FILE",
                help="save the output as FILE (several outputs: FILE's name with -1, -2...); an existing FILE is an error unless --overwrite",
            )
            group.add_argument(
                "--overwrite",
                action="store_true",
                help="replace existing files of the outputs' names (by default they are kept, and the output is saved as NAME-1.png)",
            )
        group.add_argument(
            "--wait-timeout",
            type=positive_seconds,
            default=None,
            metavar="SECONDS",
            help="give up waiting after this long (default 1 hour)",
        )


def add_catalog_commands(
    commands: Any, common: argparse.ArgumentParser, catalog: Json, argv: Sequence[str]
) -> None:
    """A sub-command per group of ``catalog`` and a command per entry; flags only for the one in ``argv``."""
    wanted = set(argv)
    groups: Dict[str, Any] = {}
    for group in catalog["groups"]:
        if group["name"] == "files":
            continue
        parser = commands.add_parser(
            group["name"], help=group["help"], description=group["help"][:1].upper() + group["help"][1:] + "."
        )
        groups[group["name"]] = parser.add_subparsers(
            title="commands", dest="group_command", metavar="COMMAND", required=True, parser_class=Parser
        )
    for command in catalog["commands"]:
        if command["action"] == "builtin" or command["group"] not in wanted:
            continue  # a group's commands are built when the group is named
        run = command["group"] in wanted and command["name"] in wanted
        sub = groups[command["group"]].add_parser(
            command["name"],
            parents=[common] if run else [],  # the global options copied into every command would slow --help
            help=command["help"],
            description=command["description"],
        )
        sub.set_defaults(command_id="catalog", catalog_command=command)
        if not run:
            continue
        sub.leaf = True
        for arg in command["args"]:
            sub.add_argument(arg["name"], metavar=arg["name"].upper(), help=arg["help"])
        deprecated = sub.add_argument_group("deprecated options (the API ignores or replaces them)")
        for flag in command["flags"]:
            _add_flag(deprecated if flag.get("deprecated") else sub, flag, command)
        _add_runner_options(sub, command)
