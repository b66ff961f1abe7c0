"""A command's arguments in ``magic_hour/cli/_catalog.json``, from its operation's schemas (``cli_catalog.py``
assembles the commands): one option per field a flag can set, with its type, choices, default and help;
the required objects a body needs even when no option sets one of their fields; help text from the
spec's descriptions, whole (a sentence is never cut) and plain.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

from .load import Api, Json, Operation


def _resolve(api: Api, schema: Json) -> Json:
    seen = 0
    while "$ref" in schema and seen < 20:
        node: Any = api.document
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema, seen = node, seen + 1
    return schema


_TITLE = re.compile(r"\s*(#+ .*|\*\*[^*]+\*\*:?)\s*")
# What every file field of the spec says about where a file may come from: the command says it its own way.
_FILE_SOURCES = re.compile(
    r"(This|The) value is either\s*\n\s*- a direct URL[^\n]*\n\s*- [^\n]*(\s*See the \[file upload guide\][^\n]*)?",
    re.I,
)
_MARKER = re.compile(r"^\s*(\+-|[-*+]|\d+\.)\s+")


def _article(match: re.Match[str]) -> str:
    return ("An " if match.group(1) == "A" else "an ") + match.group(2)


def plain(text: Optional[str]) -> str:
    """A spec description as plain text, whole: never cut, so no rule or constraint is lost. Links,
    markup and title lines are dropped; list items become clauses (``a; b; c``); the spec's sentence on
    where a file may come from goes (the command has its own); ``a Animation`` reads ``an Animation``."""
    if not text:
        return ""
    text = _FILE_SOURCES.sub("", text)
    out = ""
    for raw in text.splitlines():
        if _TITLE.fullmatch(raw):
            continue
        listed = bool(_MARKER.match(raw))
        line = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", _MARKER.sub("", raw))
        item = " ".join(re.sub(r"[*`]+", "", line).split())
        if out and out[-1] in ".!?":
            item = item.lstrip(".,; ")
        if not item:
            continue
        if not out:
            out = item
        elif out[-1] in ".:!?;" or not listed:
            out += " " + item
        else:
            out += "; " + item
    out = re.sub(r"\s+([.,;])", r"\1", out).strip(" ;")
    return re.sub(r"\b(a|A) ([AEIOaeio]\w)", _article, out)


def without_values(text: str, choices: Sequence[str]) -> str:
    """``text`` without a run of the field's own values (``Available voices: Elon Musk, Mark Zuckerberg,
    ...``): the command shows how many there are and how to list them. Prose about values (a model and
    what it supports) is kept: only a run of 8 or more values separated by commas goes."""
    if len(choices) <= 8:
        return text
    one = "|".join(re.escape(c) for c in sorted(choices, key=len, reverse=True))
    # the run, with what introduces it (``Available voices:``)
    run = re.compile(
        rf"(?:\b[A-Z][^.!?:]*:\s*)?(?:{one})(?:(?:, (?:and |or )?| (?:and|or) )(?:{one})){{7,}}\.?"
    )
    return " ".join(run.sub("", text).split())


def first_paragraph(text: Optional[str]) -> str:
    """:func:`plain` of the first paragraph that is not a title (a command's description: the spec's
    longer ones go on with how to call the API, which the command does for the person)."""
    if not text:
        return ""
    for block in re.split(r"\n\s*\n", text):
        found = plain(block)
        if found:
            return found
    return ""


def first_sentence(text: Optional[str]) -> str:
    """The first sentence of :func:`plain`, whole however long (a one-line summary never ends
    mid-sentence)."""
    whole = plain(text)
    match = re.match(r"(.+?[.!?])(\s|$)", whole)
    return match.group(1) if match else whole


def _type(api: Api, schema: Json) -> Json:
    """``type`` (+ ``items``, ``choices``) of a leaf, in the catalog's words."""
    schema = _resolve(api, schema)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    out: Json = {"type": kind if kind in ("string", "integer", "number", "boolean", "array") else "json"}
    if out["type"] == "array":
        items = _resolve(api, schema.get("items", {}))
        item_type = items.get("type")
        if item_type not in ("string", "integer", "number", "boolean"):
            return {"type": "json"}
        out["items"] = item_type
        if items.get("enum"):
            out["choices"] = [str(v) for v in items["enum"]]
    elif schema.get("enum"):
        out["choices"] = [str(v) for v in schema["enum"] if v is not None]
    return out


def _leaves(api: Api, schema: Json, prefix: str, required: bool) -> List[Tuple[str, Json, bool]]:
    """(dotted path, schema, required) of every field a flag can set: scalars and arrays of scalars, in
    objects (not inside arrays of objects: those take --set or --body)."""
    schema = _resolve(api, schema)
    out: List[Tuple[str, Json, bool]] = []
    needed = set(schema.get("required", []))
    for name, sub in (schema.get("properties") or {}).items():
        sub = _resolve(api, sub)
        path = f"{prefix}{name}"
        is_required = required and name in needed
        if sub.get("type") == "object" and sub.get("properties"):
            out += _leaves(api, sub, path + ".", is_required)
        else:
            out.append((path, sub, is_required))
    return out


def _dashed(name: str) -> str:
    """``face_swap_mode`` -> ``face-swap-mode``; ``searchWeb`` -> ``search-web``."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"-\1", name).lower().replace("_", "-")


def _file_flag(path: str, file_type: Any, reserved: Set[str]) -> str:
    """``assets.source_file_path`` -> ``--source``; ``assets.body_file_path`` -> ``--body-image`` (``--body``
    is the option that takes a whole JSON body)."""
    leaf = path.rsplit(".", 1)[-1]
    flag = "--" + _dashed(re.sub(r"_file_paths?$", "", leaf))
    if flag in reserved:
        flag += "-" + (file_type if isinstance(file_type, str) else "file")
    return flag


def required_objects(api: Api, schema: Json, prefix: str = "") -> List[str]:
    """Paths of the required objects none of whose fields is required (``style`` of the face editor): the
    body needs them, if only as ``{}``, when no flag sets one of their fields."""
    schema = _resolve(api, schema)
    out: List[str] = []
    for name in schema.get("required", []):
        sub = _resolve(api, (schema.get("properties") or {}).get(name, {}))
        if sub.get("type") == "object" and sub.get("properties"):
            if not sub.get("required"):
                out.append(prefix + name)
            out += required_objects(api, sub, f"{prefix}{name}.")
    return out


def flags(api: Api, op: Operation, reserved: Set[str]) -> List[Json]:
    """The options that set the fields of ``op``'s body and query: one per leaf field (``--<name>``; a
    file field ``--source`` for ``source_file_path``), its full path when the name is taken twice or is
    one of the command's own options (``reserved``)."""
    content = (op.raw.get("requestBody") or {}).get("content", {}).get("application/json", {})
    leaves = _leaves(api, content.get("schema", {}), "", True) if content else []
    params = [p for p in op.raw.get("parameters", []) if p.get("in") == "query"]
    candidates: List[Tuple[str, str, Json, bool, str, Optional[str]]] = []
    files = {key.removesuffix("[]"): value for key, value in op.files.items()}
    for path, schema, required in leaves:
        candidates.append((path, "body", schema, required, schema.get("description", ""), files.get(path)))
    for p in params:
        candidates.append(
            (p["name"], "query", p.get("schema", {}), bool(p.get("required")), p.get("description", ""), None)
        )
    names: Dict[str, int] = {}
    proposed: List[str] = []
    for path, _, schema, _, _, file_type in candidates:
        flag = _file_flag(path, file_type, reserved) if file_type else "--" + _dashed(path.rsplit(".", 1)[-1])
        proposed.append(flag)
        if not schema.get("deprecated"):
            names[flag] = names.get(flag, 0) + 1
    flags: List[Json] = []
    used: Set[str] = set()
    for (path, where, schema, required, description, file_type), flag in zip(candidates, proposed):
        # A deprecated field never takes a name from a current one (the editor's deprecated
        # assets.image_file_path leaves --image to image_file_paths): it gets its full path.
        taken = names.get(flag, 0) > (0 if schema.get("deprecated") else 1)
        if taken or flag in reserved:
            flag = "--" + _dashed(path.replace(".", "-"))
        if flag in used or flag in reserved:
            flag = "--field-" + _dashed(path.replace(".", "-"))
        used.add(flag)
        entry: Json = {"flag": flag, "path": path, "in": where, **_type(api, schema), "required": required}
        if file_type:
            entry["file"] = file_type
        if "default" in schema and not isinstance(schema["default"], (dict, list)):
            entry["default"] = schema["default"]
        entry["help"] = without_values(plain(description), entry.get("choices", [])) or path
        if schema.get("deprecated") or re.search(r"\bdeprecated\b", first_sentence(description), re.I):
            entry["deprecated"] = True
        flags.append(entry)
    return flags
