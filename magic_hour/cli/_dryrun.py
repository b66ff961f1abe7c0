"""``--dry-run``: what a job would send, without sending anything (no token, no network).

stdout gets the request body as the command would build it, local files still named by their path,
which is what ``--body`` takes (``--dry-run > body.json``, then ``--body body.json``); stderr says which
files would be uploaded (each once) into which fields, and the operation. ``--json``: one document.
"""

from __future__ import annotations

import argparse
import os
from typing import Any, Dict, List

from ._output import EXIT_OK, human_size, plural, print_json, say

Json = Dict[str, Any]


def uploads_of(command: Json, body: Json) -> List[Json]:
    """The local files of ``body`` (checked as a run checks them: they exist and are readable files
    with a known extension), each once, with the fields it would go to."""
    from .._extensions import normalize_extension, type_for_extension
    from .._jobs.inputs import collect, field_name

    found: Dict[str, Json] = {}
    for item in collect(body, command.get("files") or {}):
        path = str(item.value)
        entry = found.setdefault(
            os.path.realpath(path),
            {
                "path": path,
                "type": type_for_extension(normalize_extension(os.path.splitext(path)[1])),
                "size": os.path.getsize(path),
                "fields": [],
            },
        )
        entry["fields"].append(field_name(item.location))
    return list(found.values())


def dry_run(command: Json, args: argparse.Namespace, body: Json) -> int:
    uploads = uploads_of(command, body)
    if args.json:
        print_json(
            {"ok": True, "dry_run": True, "operation": command["operation"], "uploads": uploads, "body": body}
        )
        return EXIT_OK
    say("dry run: nothing was sent")
    if uploads:
        total = sum(int(u["size"]) for u in uploads)
        say(f"would upload {plural(len(uploads), 'file')} ({human_size(total)}):")
        for u in uploads:
            say(f"  {u['path']} ({u['type']}, {human_size(int(u['size']))}) -> {', '.join(u['fields'])}")
    say(f"would send {command['operation']} with this body (local files replaced by their uploaded path):")
    print_json(body)
    return EXIT_OK
