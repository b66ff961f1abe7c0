"""The runner adapter: a catalog command run through the SDK's job runner (``magic_hour._jobs``).

``create`` uploads the local inputs in one batch, starts the job, waits and downloads (unless
``--no-wait``/``--no-download``); ``wait``/``download`` do the same for a project id; ``get``,
``delete`` and plain calls print what the API answered. The answer is read into a permissive model
(unknown fields kept as sent), so the command prints what the API sent. At the end a person reads one
line (what the job cost, an account's summary); ``--json`` prints the documents instead.

``--dry-run`` sends nothing (no token, no network): stdout gets the request body as the command would
build it, local files still named by their path, which is what ``--body`` takes (``--dry-run >
body.json``, then ``--body body.json``); stderr says which files would be uploaded into which fields.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple, cast
from urllib.parse import urlencode

from ._checks import check_input_kinds, check_values
from ._output import EXIT_FAILURE, EXIT_OK, Json, human_size, one_line, plural, print_json, say, write_fields
from ._request import request_parts
from ._resume import JobState, job_state, noun
from ._session import call_json, open_client
from ._signals import Run

if TYPE_CHECKING:
    from pydantic import BaseModel

    from .. import Client


def _credits(value: Any) -> str:
    """``5 credits charged`` ("" when the API did not say)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return ""
    amount = f"{int(value):,}" if float(value).is_integer() else f"{value:,.1f}"
    return f"{amount} credit{'' if value == 1 else 's'} charged"


def job_line(doc: Json, elapsed: Optional[float]) -> str:
    """``image project cm59… complete in 3.2 s; 5 credits charged`` (the API's credits_charged), or
    ``error: image project cm59… ended error: <why> (0 credits charged)``."""
    what = f"{noun(str(doc['type']))} {doc['id']}"
    charged = _credits(doc.get("credits_charged"))
    if doc["ok"]:
        took = f" in {elapsed:.1f} s" if elapsed is not None else ""
        return f"{what} {doc['status']}{took}" + (f"; {charged}" if charged else "")
    error: Any = doc.get("error")
    message: Any = cast(Json, error).get("message", error) if isinstance(error, dict) else error
    reason = one_line(message or "")
    return (
        f"error: {what} ended {doc['status']}"
        + (f": {reason}" if reason else "")
        + (f" ({charged})" if charged else "")
    )


def account_line(account: Any) -> str:
    """``12,500 credits left; plan Pro (active, renews 2026-10-01); user@example.com``."""
    if not isinstance(account, dict):
        return one_line(account)
    data = cast(Json, account)
    parts: List[str] = []
    credits = data.get("credits")
    if isinstance(credits, (int, float)) and not isinstance(credits, bool):
        parts.append(f"{credits:,} credits left")
    plan: Any = data.get("subscription")
    if isinstance(plan, dict):
        sub = cast(Json, plan)
        name = sub.get("name") or data.get("tier") or "unnamed"
        state = [str(sub["status"])] if sub.get("status") else []
        end = str(sub.get("current_period_end") or "")[:10]
        if end:
            state.append(f"{'ends' if sub.get('cancel_at_period_end') else 'renews'} {end}")
        parts.append(f"plan {name}" + (f" ({', '.join(state)})" if state else ""))
    elif data.get("tier"):
        parts.append(f"plan {data['tier']} (no subscription)")
    else:
        parts.append("no subscription")
    if data.get("email"):
        parts.append(str(data["email"]))
    return "; ".join(parts)


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


FAILED = ("error", "canceled")


def _models() -> Any:
    """The permissive project model (built on first use: pydantic is imported only by commands)."""
    from pydantic import BaseModel, ConfigDict

    class Output(BaseModel):
        model_config = ConfigDict(extra="allow")
        url: str = ""

    class Project(BaseModel):
        model_config = ConfigDict(extra="allow")
        id: str
        status: str = ""
        downloads: Optional[List[Output]] = None
        faces: Optional[List[Output]] = None
        downloaded_paths: Optional[List[str]] = None

    return Project


def _path(template: str, params: Json) -> str:
    from .._core.request import path_segment  # an id of "." or ".." would reach another path

    for name, value in params.items():
        template = template.replace("{" + name + "}", path_segment(name, str(value)))
    return template


def _document(kind: str, project: BaseModel, downloaded: Optional[List[str]]) -> Json:
    raw: Json = project.model_dump(mode="json", exclude={"downloaded_paths"}, exclude_unset=True)
    items: List[Any] = raw.get("downloads") or raw.get("faces") or []
    urls = [cast(Json, item).get("url") for item in items if isinstance(item, dict)]
    status = str(raw.get("status", ""))
    return {
        "ok": status not in FAILED,
        "id": raw.get("id"),
        "type": kind,
        "status": status,
        "credits_charged": raw.get("credits_charged"),
        "outputs": urls,
        "downloaded": list(downloaded or []),
        "error": raw.get("error"),
        "project": raw,
    }


def _print_outcome(doc: Json, args: argparse.Namespace, waited: bool, elapsed: Optional[float]) -> int:
    if args.json:
        print_json(doc)
    elif not waited:
        write_fields(doc["id"], doc["type"], doc["status"])
    else:
        for line in doc["downloaded"] or doc["outputs"]:
            write_fields(line)
    sys.stdout.flush()
    # The last line: what the job came to and what it cost (a failure is said even with -q).
    if waited and (not doc["ok"] or not args.quiet):
        say(job_line(doc, elapsed))
    return EXIT_OK if doc["ok"] else EXIT_FAILURE


def _output(args: argparse.Namespace) -> Tuple[Optional[str], bool]:
    """``-o FILE`` and ``--overwrite``, checked before any request (an existing FILE is refused now,
    not after the render was paid for)."""
    from .._exceptions import InvalidParameterError
    from .._jobs.names import check_save

    output: Optional[str] = getattr(args, "output", None)
    overwrite = bool(getattr(args, "overwrite", False))
    if output is not None and getattr(args, "output_dir", None) is not None:
        raise InvalidParameterError("--output", output, "either -o FILE or --output-dir DIR, not both")
    check_save(overwrite, output)
    return (os.path.abspath(output) if output is not None else None), overwrite


def _watch(run: Run, directory: Optional[str]) -> str:
    folder = os.path.abspath(directory or ".")
    run.watch_dir(folder)
    return folder


def _following(job: JobState, reporter: Callable[[Any], object]) -> Callable[[Any], None]:
    """The job's progress callback: ``reporter``, and the project's last status noted for an interrupt."""

    def on_progress(event: Any) -> None:
        status = getattr(event, "status", None)  # ProjectStatus, JobDone
        if isinstance(status, str):
            job.status = status
            job.elapsed = getattr(event, "elapsed", job.elapsed)
        reporter(event)

    return on_progress


def cmd_catalog(args: argparse.Namespace, run: Run) -> int:
    from ._progress import make_job_reporter

    command: Json = args.catalog_command
    action, kind = command["action"], command.get("kind", "")
    method, template = command["operation"].split(" ", 1)
    body, query, params = request_parts(command, args)
    check_values(command, body, query)  # before any upload: a mistake found now costs nothing
    check_input_kinds(command, body)
    output, overwrite = _output(args)
    if getattr(args, "dry_run", False):
        return dry_run(command, args, body)
    path = _path(template, params)  # before any client exists
    with open_client(args) as client:
        if action not in ("create", "wait", "download"):
            return _plain_call(client, args, command, method, path, query)
        from .._client import http_of
        from .._jobs import sync_jobs

        jobs = sync_jobs(http_of(client))
        project_model = _models()
        reporter: Any = make_job_reporter(args.quiet)
        run.reporter = reporter
        job = run.job = job_state(args, command, params.get("id"))
        on_progress = _following(job, reporter)
        folder = (
            None if args.no_download else _watch(run, os.path.dirname(output) if output else args.output_dir)
        )

        def create(body: Json) -> Any:
            job.phase = "creating"
            project = project_model.model_validate(call_json(client, "POST", template, body, creates=kind))
            job.created(project.id)
            reporter.project_started(noun(kind), project.id)
            return project

        try:
            if action == "create":
                project = jobs.generate(
                    kind,
                    project_model,
                    create=create,
                    body=body,
                    files={  # the catalog's asset type of a field: one name, or a list of them
                        path: (types,) if isinstance(types, str) else tuple(types)
                        for path, types in command.get("files", {}).items()
                    },
                    wait_for_completion=not args.no_wait,
                    download_outputs=not args.no_download,
                    download_directory=folder,
                    timeout=args.wait_timeout,
                    on_progress=on_progress,
                    overwrite=overwrite,
                    output=output,
                )
                downloaded = project.downloaded_paths
            else:
                project = jobs.wait(
                    kind,
                    params["id"],
                    project_model,
                    timeout=args.wait_timeout,
                    raise_on_failure=False,
                    on_progress=on_progress,
                )
                downloaded = None
                items: List[Any] = project.downloads or project.faces or []
                outputs = [str(item.url) for item in items]
                if action == "download" and not args.no_download and project.status not in FAILED and outputs:
                    # The project itself: its id names the outputs, and a URL the API gave that cannot
                    # be used is a DownloadError.
                    downloaded = jobs.download(
                        project, folder, on_progress=on_progress, overwrite=overwrite, output=output
                    )
        finally:
            reporter.stop()
    waited = action != "create" or not args.no_wait
    return _print_outcome(_document(kind, project, downloaded), args, waited, job.elapsed)


def _plain_call(
    client: Client, args: argparse.Namespace, command: Json, method: str, path: str, query: Json
) -> int:
    if query:
        path += "?" + urlencode(query, doseq=True)
    answer = call_json(client, method, path)
    if command["action"] == "delete":
        doc: Any = {"ok": True, "id": path.rsplit("/", 1)[-1], "type": command.get("kind"), "deleted": True}
        if not args.json:
            say(f"deleted {command.get('kind')} project {doc['id']}")
            return EXIT_OK
    elif command.get("summary") == "account" and not args.json:
        write_fields(account_line(answer))
        return EXIT_OK
    else:
        doc = answer
    print_json(doc)
    return EXIT_OK
