"""``magic-hour values GROUP COMMAND [OPTION]``: the values an option takes (1,266 voices, 101 meme
templates...), which ``--help`` counts instead of listing; from the catalog only (no SDK import)."""

from __future__ import annotations

import argparse
import difflib
import sys
from typing import Any, Dict, List

from ._catalog import load_catalog
from ._output import EXIT_OK, PROG, clean, print_json
from ._parser import UsageError

Json = Dict[str, Any]


def _pick(what: str, name: str, names: List[str]) -> str:
    if name in names:
        return name
    near = difflib.get_close_matches(name, names, n=1)
    hint = f"; did you mean {near[0]!r}?" if near else f"; one of: {', '.join(names)}"
    raise UsageError(f"no {what} {name!r}{hint}")


def cmd_values(args: argparse.Namespace, run: object) -> int:
    words: List[str] = list(args.words)
    if "--json" in words:  # after the option: the words are taken as they come, --json among them
        words.remove("--json")
        args.json = True
    if len(words) not in (2, 3):
        raise UsageError(
            f"usage: {PROG} values GROUP COMMAND [OPTION], e.g. {PROG} values audio speech --voice-name"
        )
    catalog = load_catalog() or {"commands": []}
    commands: List[Json] = [c for c in catalog["commands"] if c["action"] != "builtin"]
    group = _pick("group", words[0], sorted({c["group"] for c in commands}))
    name = _pick(f"{group} command", words[1], [c["name"] for c in commands if c["group"] == group])
    command = next(c for c in commands if (c["group"], c["name"]) == (group, name))
    listed = {f["flag"]: list(f["choices"]) for f in command["flags"] if f.get("choices")}
    if len(words) == 2:
        if args.json:
            print_json(
                {"ok": True, "command": f"{group} {name}", "options": {k: len(v) for k, v in listed.items()}}
            )
        else:
            for flag, values in listed.items():
                sys.stdout.write(f"{flag}\t{len(values)} values\n")
        return EXIT_OK
    option = words[2] if words[2].startswith("--") else "--" + words[2]
    if option not in listed:
        options = [f["flag"] for f in command["flags"]]
        if option in options:
            raise UsageError(f"{group} {name} {option} takes any value (it has no list)")
        option = _pick(f"option of {group} {name} with a list of values,", option, list(listed) or ["(none)"])
    values = listed[option]
    if args.json:
        print_json(
            {
                "ok": True,
                "command": f"{group} {name}",
                "option": option,
                "count": len(values),
                "values": values,
            }
        )
    else:
        sys.stdout.write("".join(clean(v) + "\n" for v in values))
    return EXIT_OK
