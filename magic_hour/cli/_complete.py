"""What the catalog offers at the prompt, without importing the SDK: shell completion, and
``magic-hour values GROUP COMMAND [OPTION]`` (the values an option takes, which ``--help`` counts
instead of listing).

``magic-hour completion bash|zsh|fish`` prints a script that asks ``magic-hour __complete WORDS...``
for the candidates: groups, then commands, then the command's flags; after a flag with a fixed list of
values (an enum of the API), those values; after a file flag, ``__files__`` (the shell completes paths).
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from pathlib import Path
from typing import Any, Dict, List, Sequence, Set

from ._catalog import load_catalog
from ._output import EXIT_OK, PROG, Json, clean, print_json
from ._parser import UsageError

FILES = "__files__"
GLOBAL = [
    "--token",
    "--base-url",
    "--timeout",
    "--max-retries",
    "--max-concurrent-transfers",
    "--json",
    "--quiet",
    "--verbose",
    "--mock",
    "--help",
]
WAIT = ["--no-download", "--output-dir", "--wait-timeout"]
JOB = ["--no-wait", *WAIT, "--set", "--body", "--dry-run"]
FILES_COMMANDS = {
    "upload": ["--type", "--extension", "--concurrency"],
    "upload-urls": ["--item"],
}
WEBHOOKS_COMMANDS = {"listen": ["--port", "--secret", "--count"], "trigger": ["--to", "--secret", "--id"]}
BATCH_STATES = ("planned", "uploaded", "creating", "created", "finished", "downloaded", "failed", "unknown")
BATCH_RUN = ["--journal", "--max-concurrent-jobs", "--max-credits", "--retry-failed"]
BATCH_COMMANDS = {
    "run": [*BATCH_RUN, "--each"],
    "manifest": [*BATCH_RUN, "--output-dir", "--no-download", "--wait-timeout"],
    "resume": [*BATCH_RUN, "--output-dir", "--no-download", "--wait-timeout"],
    "status": [],
    "report": ["--format", "--state"],
    "resolve": ["--project-id", "--not-created"],
}
TAKES_VALUE = {
    "--token",
    "--base-url",
    "--timeout",
    "--max-retries",
    "--max-concurrent-transfers",
    "--output-dir",
    "--output",
    "-o",
    "--wait-timeout",
    "--set",
    "--body",
    "--type",
    "--extension",
    "--concurrency",
    "--item",
    "--port",
    "--secret",
    "--count",
    "--to",
    "--id",
    "--journal",
    "--max-concurrent-jobs",
    "--max-credits",
    "--each",
    "--format",
    "--state",
    "--project-id",
}

# The candidates come filtered (the command unquotes the word being typed); each is quoted for the
# shell (printf %q), so a value with spaces (Morgan Freeman) completes as one word.
BASH = """# magic-hour completion for bash: eval "$(magic-hour completion bash)"
_magic_hour() {
  local IFS=$'\\n' cur="${COMP_WORDS[COMP_CWORD]}" out
  out=$(magic-hour __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)
  if [ "$out" = "__files__" ]; then
    COMPREPLY=($(compgen -f -- "$cur"))
  elif [ -n "$out" ]; then
    COMPREPLY=($(printf '%q\\n' $out))
  else
    COMPREPLY=()
  fi
}
complete -o default -F _magic_hour magic-hour
"""
ZSH = '# magic-hour completion for zsh: eval "$(magic-hour completion zsh)"\n' + (
    "autoload -U +X bashcompinit && bashcompinit\n" + BASH.split("\n", 1)[1]
)
FISH = """# magic-hour completion for fish: magic-hour completion fish | source
function __magic_hour_complete
    set -l out (magic-hour __complete (commandline -opc)[2..-1] (commandline -ct) 2>/dev/null)
    if test "$out" = __files__
        __fish_complete_path (commandline -ct)
    else
        printf '%s\\n' $out
    end
end
complete -c magic-hour -f -a '(__magic_hour_complete)'
"""
SCRIPTS = {"bash": BASH, "zsh": ZSH, "fish": FISH}


def candidates(words: Sequence[str]) -> List[str]:
    """What may come as the last of ``words`` (the words after ``magic-hour``, the last one partial)."""
    catalog = load_catalog() or {"groups": [], "commands": []}
    done, current = list(words[:-1]), unquote(words[-1]) if words else ""
    switches = _switches(catalog)
    positional = [w for i, w in enumerate(done) if not w.startswith("-") and not _is_value(done, i, switches)]
    previous = done[-1] if done else ""
    commands: List[Dict[str, Any]] = [c for c in catalog["commands"] if c["action"] != "builtin"]
    if not positional:
        if previous in TAKES_VALUE:
            return []
        groups = ["files", "completion", "values", "mock", "webhooks", "batch"]
        groups += [g["name"] for g in catalog["groups"] if g["name"] != "files"]
        return _match(groups + GLOBAL + ["--version"] if current.startswith("-") else groups, current)
    group = positional[0]
    if group == "batch":
        return _batch(words, positional[1:], previous, current)
    if group == "webhooks":
        return _webhooks(positional[1:], previous, current)
    if group == "completion":
        return _match(list(SCRIPTS), current) if len(positional) == 1 else []
    if group == "values":
        return _values(commands, positional[1:], current)
    if group == "mock":
        return _match(["samples", "where", "reset"], current) if len(positional) == 1 else []
    if len(positional) == 1:
        names = (
            list(FILES_COMMANDS) if group == "files" else [c["name"] for c in commands if c["group"] == group]
        )
        return _match(names, current)
    if group == "files":
        if previous in TAKES_VALUE:
            return ["video", "audio", "image"] if previous == "--type" else []
        flags = FILES_COMMANDS.get(positional[1], [])
        return _match(flags + GLOBAL, current) if current.startswith("-") else [FILES]
    command = next((c for c in commands if (c["group"], c["name"]) == (group, positional[1])), None)
    if command is None:
        return []
    flag = next((f for f in command["flags"] if previous in (f["flag"], *f.get("aliases", []))), None)
    if flag is not None:
        if flag.get("file"):
            return [FILES]
        return _match(list(flag.get("choices", [])), current)
    if previous in TAKES_VALUE:
        return [FILES] if previous in ("--output-dir", "--output", "-o", "--body") else []
    options = [f["flag"] for f in command["flags"]]
    if command["action"] in ("create", "wait", "download"):
        options += JOB if command["action"] == "create" else WAIT
        if command["action"] != "wait":
            options += ["--output", "--overwrite"]
    return _match(options + GLOBAL, current)


def _values(commands: List[Dict[str, Any]], words: Sequence[str], current: str) -> List[str]:
    """``values GROUP COMMAND OPTION``: the groups, commands and options that have a list of values."""
    if not words:
        return _match(sorted({c["group"] for c in commands}), current)
    if len(words) == 1:
        return _match([c["name"] for c in commands if c["group"] == words[0]], current)
    command = next((c for c in commands if (c["group"], c["name"]) == (words[0], words[1])), None)
    if command is None or len(words) > 2:
        return []
    return _match([f["flag"] for f in command["flags"] if f.get("choices")], current)


def _batch(words: Sequence[str], positional: Sequence[str], previous: str, current: str) -> List[str]:
    """``batch COMMAND``: its commands; ``batch run`` completes as the job command it names, plus the
    batch options; the others take a journal or a manifest (paths) and their options."""
    if not positional:
        return _match(list(BATCH_COMMANDS), current)
    command = positional[0]
    if command == "run":
        if len(positional) == 1:  # the job commands' groups only
            catalog = load_catalog() or {"groups": []}
            return _match([g["name"] for g in catalog["groups"] if g["name"] != "files"], current)
        found = candidates(list(words[words.index("run") + 1 :]))
        return found + _match(BATCH_COMMANDS["run"], current) if current.startswith("-") else found
    if previous in ("--format", "--state"):
        values: List[str] = ["csv", "jsonl"] if previous == "--format" else [*BATCH_STATES]
        return _match(values, current)
    if previous in TAKES_VALUE:
        return [FILES] if previous in ("--journal", "--output-dir") else []
    if current.startswith("-"):
        return _match(BATCH_COMMANDS.get(command, []) + GLOBAL, current)
    return [FILES] if len(positional) == 1 else []


def _webhooks(words: Sequence[str], previous: str, current: str) -> List[str]:
    """``webhooks listen|trigger``: the commands, their options, and trigger's event types."""
    if not words:
        return _match(list(WEBHOOKS_COMMANDS), current)
    flags = WEBHOOKS_COMMANDS.get(words[0])
    if flags is None or previous in TAKES_VALUE:
        return []
    if words[0] == "trigger" and len(words) == 1 and not current.startswith("-"):
        # The generated description of the events, read as is: no import of magic_hour.webhooks.
        data = Path(__file__).resolve().parent.parent / "_data" / "webhooks.json"
        return _match(sorted(json.loads(data.read_text(encoding="utf-8"))["events"]), current)
    return _match(flags + GLOBAL, current)


def unquote(word: str) -> str:
    """The word being typed as the shell will read it: ``Morgan\\ F`` and ``"Morgan F`` are ``Morgan F``."""
    if word[:1] in ("'", '"'):
        return word[1:].rstrip(word[0])
    return re.sub(r"\\(.)", r"\1", word)


def _switches(catalog: Dict[str, Any]) -> Set[str]:
    """Options that take no value: the command's own, and the API's booleans."""
    found = {
        "--json",
        "--verbose",
        "-v",
        "--mock",
        "--help",
        "--no-wait",
        "--no-download",
        "--quiet",
        "-q",
        "--dry-run",
    }
    found |= {
        name
        for c in catalog["commands"]
        for f in c["flags"]
        if f["type"] == "boolean"
        for name in [f["flag"], *f.get("aliases", [])]
    }
    return found


def _is_value(done: Sequence[str], i: int, switches: Set[str]) -> bool:
    """Whether ``done[i]`` is the value of the option before it (an option that takes a value)."""
    option = done[i - 1] if i > 0 else ""
    return option.startswith("--") and option not in switches and not option.startswith("--no-")


def _match(options: List[str], prefix: str) -> List[str]:
    return [o for o in options if o.startswith(prefix)]


def complete(words: Sequence[str]) -> int:
    sys.stdout.write("\n".join(candidates(words)) + "\n")
    return 0


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
