"""A catalog command's arguments turned back into its request: body (flags, ``--set``, ``--body``), query and
path parameters; file inputs given as ``-`` taken from the previous command's ``--json`` on stdin."""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any, List, Optional, Tuple, cast

from ._bounded import MAX_DEPTH, MAX_INDEX, BoundError, load
from ._output import Json
from ._parser import UsageError

_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _as_list(value: Any) -> Optional[List[Any]]:
    return cast("List[Any]", value) if isinstance(value, list) else None  # type: ignore[redundant-cast]  # pyright needs it


def path_steps(path: str) -> List[Any]:
    """The steps of a field path (names and list indexes), within the bounds of :mod:`._bounded`."""
    shown = repr(path) if len(path) <= 80 else f"{path[:60]!r}..."
    steps: List[Any] = []
    for m in _STEP.finditer(path):
        digits = m.group(2)
        if digits is None:
            steps.append(m.group(1))
        elif len(digits.lstrip("0")) > len(str(MAX_INDEX)):  # before int(): it refuses 4,300 digits
            index = digits if len(digits) <= 20 else digits[:20] + "..."
            raise UsageError(
                f"invalid field path {shown}: [{index}] is past the largest list index, {MAX_INDEX}"
            )
        else:
            steps.append(int(digits))
    if not steps or "".join(str(s) for s in steps) == "":
        raise UsageError(f"invalid field path {path!r}")
    if len(steps) > MAX_DEPTH:
        raise UsageError(f"invalid field path {path[:60]!r}...: more than {MAX_DEPTH} levels")
    too_big = [s for s in steps if isinstance(s, int) and s > MAX_INDEX]
    if too_big:
        raise UsageError(
            f"invalid field path {path!r}: [{too_big[0]}] is past the largest list index, {MAX_INDEX}"
        )
    return steps


def set_path(body: Json, path: str, value: Any) -> None:
    """``assets.face_mappings[0].new_face`` = ``value`` in ``body`` (objects and lists made as needed)."""
    steps = path_steps(path)
    node: Any = body
    for step, nxt in zip(steps, [*steps[1:], None]):
        fresh: Any = [] if isinstance(nxt, int) else {}
        if isinstance(step, int):
            items = _as_list(node)
            if items is None:
                raise UsageError(f"invalid field path {path!r}: [{step}] of something that is not a list")
            while len(items) <= step:
                items.append(None)
            if nxt is None:
                items[step] = value
            elif items[step] is None:
                items[step] = fresh
            elif not isinstance(items[step], (dict, list)):
                raise UsageError(
                    f"invalid field path {path!r}: [{step}] holds a value, not an object or a list"
                )
            node = items[step]
        else:
            if not isinstance(node, dict):
                raise UsageError(f"invalid field path {path!r}: {step!r} of something that is not an object")
            fields = cast(Json, node)
            if nxt is None:
                fields[step] = value
            elif fields.get(step) is None:
                fields[step] = fresh
            elif not isinstance(fields[step], (dict, list)):
                raise UsageError(
                    f"invalid field path {path!r}: {step!r} holds a value, not an object or a list"
                )
            node = fields[step]


PIPE_HINT = (
    "add --json to the first command, e.g. magic-hour --json image generate --prompt ... "
    "| magic-hour video from-image --image - ..."
)


class Stdin:
    """The previous command's ``--json`` document, read from stdin once, for inputs given as ``-``."""

    def __init__(self) -> None:
        self._doc: Optional[Json] = None

    def document(self) -> Json:
        if self._doc is None:
            if sys.stdin is None or sys.stdin.isatty():
                raise UsageError(f"an input is '-' but nothing is piped in; {PIPE_HINT}")
            text = sys.stdin.read()
            try:
                doc = load(text)
            except BoundError as exc:
                raise UsageError(f"an input is '-' but the JSON document on stdin is {exc}") from None
            except ValueError:
                what = "nothing came" if not text.strip() else "what came is not a JSON document"
                raise UsageError(f"an input is '-' but {what} on stdin; {PIPE_HINT}") from None
            if not isinstance(doc, dict):
                raise UsageError("an input is '-' but stdin is not a JSON object of magic-hour --json")
            self._doc = cast(Json, doc)
        return self._doc

    def output(self, number: int) -> str:
        """The ``number``-th output (1-based): the downloaded file if there is one, else its URL."""
        doc = self.document()
        for key in ("downloaded", "outputs"):
            values = _as_list(doc.get(key))
            if values:
                if number > len(values):
                    raise UsageError(f"input -{number}: the previous command has only {len(values)} outputs")
                return str(values[number - 1])
        raise UsageError(
            "an input is '-' but the previous command has no outputs (did it fail, or run with --no-wait?)"
        )


def _from_stdin(value: Any, stdin: Stdin) -> Any:
    if isinstance(value, str) and re.fullmatch(r"-\d*", value):
        return stdin.output(int(value[1:] or "1"))
    values = _as_list(value)
    if values is not None:
        return [_from_stdin(v, stdin) for v in values]
    return value


def _set_value(text: str) -> Tuple[str, Any]:
    path, sep, raw = text.partition("=")
    if not sep or not path.strip():
        raise UsageError(f"invalid --set {text!r}: PATH=VALUE, e.g. assets.face_swap_mode=individual-faces")
    levels = len(path_steps(path.strip()))
    try:
        return path.strip(), load(raw, MAX_DEPTH - levels)
    except BoundError as exc:
        raise UsageError(f"invalid --set {path.strip()}=...: the value is {exc}") from None
    except ValueError:
        return path.strip(), raw


def request_parts(
    command: Json, args: argparse.Namespace, stdin: Optional[Stdin] = None
) -> Tuple[Json, Json, Json]:
    """(body, query, path parameters) of ``command`` from its parsed arguments; required fields checked."""
    stdin = stdin or Stdin()
    body: Json = {}
    if getattr(args, "body", None):
        text = sys.stdin.read() if args.body == "-" else _read(args.body)
        try:
            loaded = load(text)
        except BoundError as exc:
            raise UsageError(f"--body {args.body}: {exc}") from None
        except ValueError as exc:
            raise UsageError(f"--body {args.body}: not JSON ({exc})") from None
        if not isinstance(loaded, dict):
            raise UsageError(f"--body {args.body}: a JSON object is needed")
        body = cast(Json, loaded)
    query: Json = {}
    for flag in command["flags"]:
        value = getattr(args, "field:" + flag["path"], None)
        if value is None:
            continue
        if flag.get("file"):
            value = _from_stdin(value, stdin)
        if flag["in"] == "query":
            query[flag["path"]] = value
        else:
            set_path(body, flag["path"], value)
    sets: List[str] = getattr(args, "sets", None) or []
    for text in sets:
        set_path(body, *_set_value(text))
    objects: List[str] = command.get("objects", [])
    for path in objects:  # required, with no required field: {} when nothing set one of its fields
        if not _has(body, path):
            set_path(body, path, {})
    fill(command, body)
    missing = [
        _needed(f)
        for f in command["flags"]
        if (f["required"] or _required_now(f, body))
        and not _has(body if f["in"] == "body" else query, f["path"])
    ]
    if missing:
        raise UsageError(f"the following arguments are required: {', '.join(missing)}")
    params = {a["name"]: getattr(args, a["name"]) for a in command["args"]}
    return body, query, params


def fill(command: Json, body: Json) -> None:
    """The values the command sends for required fields left out (the catalog's ``fill``, from
    ``spec/cli.json``): the first inference whose field was given, else the default."""
    for flag in command["flags"]:
        rule: Optional[Json] = flag.get("fill")
        if rule is None or flag["in"] != "body" or _has(body, flag["path"]):
            continue
        inferred = [r["value"] for r in rule.get("infer", []) if _has(body, r["when"])]
        if inferred:
            set_path(body, flag["path"], inferred[0])
        elif "default" in rule:
            set_path(body, flag["path"], rule["default"])


def _required_now(flag: Json, body: Json) -> bool:
    """Whether ``flag`` is required by the value of another field (``required_when``)."""
    when: Optional[Json] = flag.get("required_when")
    if when is None:
        return False
    value = _get(body, when["path"])
    return bool(value == when["value"] or (value is None and when["default"]))


def _get(node: Json, path: str) -> Any:
    current: Any = node
    for part in path.split("."):
        if not isinstance(current, dict):
            return None
        current = cast(Json, current).get(part)
    return current


def _needed(flag: Json) -> str:
    """A missing required flag, with the flags it would be inferred from."""
    fills: Json = flag.get("fill") or {}
    rules: List[Json] = fills.get("infer", [])
    sources = [str(r["flag"]) for r in rules]
    if sources:
        return f"{flag['flag']} (or {' or '.join(sources)}, which it follows from)"
    return str(flag["flag"]) + required_when_note(flag)


def required_when_note(flag: Json) -> str:
    """`` (with --face-swap-mode all-faces, the default)``, for a flag required by another's value."""
    when: Optional[Json] = flag.get("required_when")
    if when is None:
        return ""
    return f" (with {when['flag']} {when['value']}{', the default' if when['default'] else ''})"


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as exc:
        raise UsageError(f"--body {path}: {exc.strerror or exc}") from None


def _has(node: Json, path: str) -> bool:
    current: Any = node
    for part in path.split("."):
        if not isinstance(current, dict) or part not in current:
            return False
        current = cast(Json, current)[part]
    return current is not None
