"""``magic-hour batch``: many jobs through the SDK's batch runner (``magic_hour.batches``), with its journal.

- ``batch run GROUP COMMAND [options] [FILE...]``: one tool over many files. The command's own options
  (the same parser, request assembly and checks as the single job's command) with a folder or a glob
  given to one file option (``--image photos/``, ``--image 'photos/*.jpg'``), or the files listed after
  the options (the option named by ``--each``, by default the command's only required file option);
- ``batch manifest FILE``: a JSONL manifest, one job per line (``{"tool", "params", "key", "output"}``);
- ``batch resume JOURNAL``, ``batch status JOURNAL``, ``batch report JOURNAL``, ``batch resolve JOURNAL
  KEY``.

The first Ctrl-C (or SIGTERM) stops the batch cleanly (creates in flight are recorded) and prints the
command that resumes it; a second one exits at once.
"""

from __future__ import annotations

import argparse
import csv
import glob
import json
import os
import re
import sys
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Sequence, Tuple, cast

from ._output import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, PROG, clean, print_json, say
from ._parser import Parser, UsageError, global_options, non_negative_int, positive_int
from ._resume import command_line, where_the_api_is

if TYPE_CHECKING:
    from ..batches import BatchItem, BatchJob, BatchSummary
    from ._signals import Run as CliRun

Json = Dict[str, Any]

EPILOG = f"""\
examples:
  {PROG} --mock batch run image remove-background --image docs/assets/ --output-dir out
  {PROG} batch run image remove-background photos/*.jpg --output-dir out --max-credits 5000
  {PROG} batch run image face-swap --face me.png --each image posters/*.jpg --output-dir swapped
  {PROG} batch manifest jobs.jsonl --output-dir out --max-concurrent-jobs 5
  {PROG} batch status out/magic-hour-batch.sqlite
  {PROG} batch report out/magic-hour-batch.sqlite --format csv > report.csv

A journal (out/magic-hour-batch.sqlite) records each step of each item: run the same command again, or
{PROG} batch resume JOURNAL, and every item goes on where it was, never created twice."""


def _batch_options(parser: argparse.ArgumentParser, *, output_dir: bool) -> None:
    group = parser.add_argument_group("batch options")
    group.add_argument(
        "--journal", metavar="FILE", help="the journal (default: magic-hour-batch.sqlite in --output-dir)"
    )
    if output_dir:
        group.add_argument(
            "--output-dir", metavar="DIR", help="where outputs go (default: the journal's folder)"
        )
        group.add_argument(
            "--no-download", action="store_true", help="wait for each project, download nothing"
        )
        group.add_argument(
            "--wait-timeout", type=float, metavar="SECONDS", help="wait for each project at most this long"
        )
        # -q/--quiet is a global option (before or after the command)
    group.add_argument(
        "--max-concurrent-jobs",
        type=positive_int,
        default=3,
        metavar="N",
        help="projects rendering at once (default 3, the smallest paid plan's limit; raise it to your plan's)",
    )
    group.add_argument(
        "--max-credits",
        type=non_negative_int,
        metavar="N",
        help="no job starts once the batch has charged this many credits (every run of the journal)",
    )
    group.add_argument(
        "--retry-failed", action="store_true", help="try the failed items again (a new project each)"
    )


def add_batch_command(commands: Any, catalog: Optional[Json], argv: Sequence[str]) -> None:
    """``batch`` and its commands; the catalog's commands under ``batch run`` only when it is run."""
    batch = commands.add_parser(
        "batch",
        help="many jobs: one tool over a folder, or a manifest; resumable, never paid twice",
        description="Many jobs with a journal: resumable after any crash, never creating an item twice.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = batch.add_subparsers(
        title="commands", dest="batch_command", metavar="COMMAND", required=True, parser_class=Parser
    )
    common = global_options(with_defaults=False)

    run = sub.add_parser(
        "run",
        help="one tool over many files: GROUP COMMAND with its options, a folder or glob as one file",
        description="One tool over many files: the command's options as for a single job, with a folder or a "
        "glob given to one file option, or the files listed after the options.",
    )
    wanted = "run" in argv and "batch" in argv
    if catalog is not None and wanted:
        from ._catalog import add_catalog_commands

        leaf = Parser(add_help=False, parents=[common])
        _batch_options(leaf, output_dir=False)
        leaf.add_argument(
            "--each", metavar="OPTION", help="the file option that takes each file (e.g. --target)"
        )
        leaf.add_argument(
            "inputs", nargs="*", metavar="FILE", help="the files (or give a folder or glob to the option)"
        )
        # Not required for argparse, whose message would be "required: GROUP": cmd_batch says which.
        run_commands = run.add_subparsers(title="groups", dest="group", metavar="GROUP", parser_class=Parser)
        run.set_defaults(group=None, run_help=run.format_help)
        add_catalog_commands(run_commands, leaf, catalog, argv)

    manifest = sub.add_parser(
        "manifest",
        parents=[common],
        help="a JSONL manifest: one job per line",
        description='A JSONL manifest, one job per line: {"tool": "image_background_remover" (or "image '
        'remove-background"), "params": {...the API\'s body...}, "key": "...", "output": "..."}.',
    )
    manifest.add_argument("manifest", metavar="FILE", help="the manifest (- for stdin)")
    _batch_options(manifest, output_dir=True)

    resume = sub.add_parser(
        "resume", parents=[common], help="resume the batch of a journal", description="Resume a batch."
    )
    resume.add_argument("journal_path", metavar="JOURNAL")
    _batch_options(resume, output_dir=True)

    status = sub.add_parser("status", parents=[common], help="items by state and credits (no network)")
    status.add_argument("journal_path", metavar="JOURNAL")

    report = sub.add_parser(
        "report", parents=[common], help="one row per item: input, project, status, credits, outputs, error"
    )
    report.add_argument("journal_path", metavar="JOURNAL")
    report.add_argument("--format", choices=("csv", "jsonl"), default="csv", help="csv (default) or jsonl")
    report.add_argument("--state", help="only the items in this state (failed, unknown...)")

    resolve = sub.add_parser(
        "resolve",
        parents=[common],
        help="settle an item whose project may exist, once you looked for it",
        description="An item in state unknown: its create may have started a project whose id never came back. "
        "Look for it (named after the item) in your dashboard, then: --project-id ID (found: the next run "
        "downloads it) or --not-created (the next run creates it).",
    )
    resolve.add_argument("journal_path", metavar="JOURNAL")
    resolve.add_argument("key", metavar="KEY")
    how = resolve.add_mutually_exclusive_group(required=True)
    how.add_argument("--project-id", metavar="ID")
    how.add_argument("--not-created", action="store_true")
    for parser in (manifest, resume, status, report, resolve):
        parser.leaf = True


# ---------------------------------------------------------------------------------------------- running


def cmd_batch(args: argparse.Namespace, run: CliRun) -> int:
    from .._exceptions import InvalidParameterError

    command = args.batch_command
    if command == "status":
        return _status(args)
    if command == "report":
        return _report(args)
    if command == "resolve":
        return _resolve(args)
    places: List[str] = []
    if command == "run" and getattr(args, "group", None) is None:
        raise UsageError(_which_tool(), getattr(args, "run_help", lambda: "")())
    if command == "run":
        jobs, output_dir = _tool_jobs(args)
        places = [str(job.key) for job in jobs]
    elif command == "manifest":
        jobs, places = _manifest_jobs(args)
        output_dir = args.output_dir
    else:
        jobs, output_dir = None, args.output_dir
    try:
        return _run(args, run, jobs, output_dir)
    except InvalidParameterError as exc:  # a job refused before anything was sent: name its line or file
        found = re.match(r"jobs\[(\d+)\]", exc.param)
        if found is None or int(found.group(1)) >= len(places):
            raise
        message = re.sub(r"^jobs\[\d+\]: ", "", str(exc))
        raise UsageError(f"{places[int(found.group(1))]}: {message}") from None


def _which_tool() -> str:
    """``batch run`` without its tool: the form of the command and the groups that have one."""
    groups = list(dict.fromkeys(name.split(" ", 1)[0] for name in _cli_tools()))
    return (
        f"{PROG} batch run: which tool? {PROG} batch run GROUP COMMAND [options] [FILE...], with GROUP one "
        f"of {', '.join(groups)} ({PROG} batch run GROUP --help lists its commands; e.g. {PROG} batch run "
        "image remove-background --image photos/ --output-dir out)"
    )


def _journal_of(args: argparse.Namespace, output_dir: Optional[str]) -> str:
    journal = getattr(args, "journal_path", None) or args.journal
    if journal:
        return str(journal)
    if output_dir is None:
        raise UsageError("--output-dir (or --journal) is needed: where the outputs and the journal go")
    return os.path.join(output_dir, "magic-hour-batch.sqlite")


def _run(
    args: argparse.Namespace, run: CliRun, jobs: Optional[List[BatchJob]], output_dir: Optional[str]
) -> int:
    from .._client import http_of
    from ..batches._run import Run, check_options
    from ..batches._sync import run_sync
    from ._batch_progress import BatchReporter
    from ._session import open_client

    journal = _journal_of(args, output_dir)
    reporter = BatchReporter(terminal=sys.stderr.isatty(), quiet=args.quiet or args.json)
    options = check_options(
        journal=journal,
        output_dir=output_dir,
        max_concurrent_jobs=args.max_concurrent_jobs,
        max_credits=args.max_credits,
        retry_failed=args.retry_failed,
        download_outputs=not args.no_download,
        wait_timeout=args.wait_timeout,
        poll_interval=None,
        on_progress=reporter,
    )
    with open_client(args) as client:
        http = http_of(client)  # the client is ready before the journal is taken
        batch = Run.open(options, jobs)
        run.reporter = reporter
        run.graceful = batch.interrupt
        try:
            summary = run_sync(client, http, batch)
        finally:
            reporter.stop()
    return _summary(args, summary, journal)


def _resume_command(args: argparse.Namespace, journal: str) -> str:
    return command_line([*where_the_api_is(args), "batch", "resume", journal])


def _summary(args: argparse.Namespace, summary: BatchSummary, journal: str) -> int:
    resume = _resume_command(args, journal)
    unknown = list(_unknown_items(journal)) if summary.unknown else []
    if args.json:
        print_json(_summary_json(summary, resume, unknown))
    else:
        _say_summary(summary, resume, unknown)
    if summary.stopped == "interrupted":
        return EXIT_INTERRUPTED
    return EXIT_OK if summary.complete else EXIT_FAILURE


def _unknown_items(journal: str) -> Iterator[BatchItem]:
    from ..batches import items

    for n, item in enumerate(items(journal, state="unknown")):
        if n >= 20:
            return
        yield item


def _summary_json(summary: BatchSummary, resume: str, unknown: List[BatchItem]) -> Json:
    return {
        "ok": summary.complete,
        "journal": summary.journal,
        "output_dir": summary.output_dir,
        "total": summary.total,
        "done": summary.done,
        "failed": summary.failed,
        "unknown": summary.unknown,
        "not_started": summary.not_started,
        "in_progress": summary.in_progress,
        "counts": dict(summary.counts),
        "credits_charged": summary.credits_charged,
        "stopped": summary.stopped,
        "elapsed": round(summary.elapsed, 3),
        "resume": None if summary.complete else resume,
        "may_exist": [_item_json(i) for i in unknown],
    }


def _say_summary(summary: BatchSummary, resume: str, unknown: List[BatchItem]) -> None:
    say(
        f"{summary.done} of {summary.total} done, {summary.failed} failed, {summary.credits_charged} credits charged "
        f"in {summary.elapsed:.1f}s; journal: {summary.journal}"
    )
    reasons = {
        "budget": "the budget (--max-credits) is reached: no job was started after it",
        "interrupted": "interrupted: creates in flight were recorded; projects already created keep rendering",
        "payment_required": "the account has no credits left (402)",
        "unauthorized": "the API refused the token (401/403)",
    }
    if summary.stopped is not None:
        say(f"stopped: {reasons.get(summary.stopped, summary.stopped)}")
    left: List[str] = []
    if summary.not_started:
        left.append(f"{summary.not_started} not started (nothing charged)")
    if summary.in_progress:
        left.append(f"{summary.in_progress} created, not downloaded yet")
    if left:
        say("left: " + ", ".join(left) + f"; to resume: {resume}")
    if summary.failed:
        say(f"failed items are tried again only when asked: {resume} --retry-failed")
    for item in unknown:
        since = _when(item.creating_since)
        settle = command_line(["batch", "resolve", summary.journal, item.key, "--project-id"])
        say(
            f"{item.label}: its create may have started a project (look for one named {item.label!r}, created "
            f"around {since}, in your dashboard), then: {settle} ID (or --not-created)"
        )


def _when(stamp: Optional[float]) -> str:
    import time

    if stamp is None:
        return "an unknown time"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(stamp))


# ---------------------------------------------------------------------------------------------- jobs


def _tool_jobs(args: argparse.Namespace) -> Tuple[List[BatchJob], Optional[str]]:
    """The catalog command's options, assembled and checked as for a single job, once per file."""
    from dataclasses import replace

    from ..batches import each_file
    from ._checks import check_input_kinds, check_values
    from ._request import request_parts

    command: Json = args.catalog_command
    if command["action"] != "create":
        raise UsageError(
            f"batch run takes a command that starts a project, not {command['group']} {command['name']}"
        )
    if getattr(args, "no_wait", False):
        raise UsageError("--no-wait: a batch waits for its projects (--no-download only waits)")
    flag, files = _each(command, args)
    setattr(args, "field:" + flag["path"], files[0][0])  # the first file stands for all while assembling
    body, _, _ = request_parts(command, args)
    check_values(command, body, {})
    tool = _tool_of(command)
    jobs: List[BatchJob] = []
    listed = each_file(tool, [file for file, _, _ in files], field=flag["path"], params=body)
    for job, (_, key, output) in zip(listed, files):
        check_input_kinds(command, cast(Json, job.params))  # each file's kind fits the option
        jobs.append(replace(job, key=key, output=output))
    return jobs, args.output_dir


def _each(command: Json, args: argparse.Namespace) -> Tuple[Json, List[Tuple[str, str, str]]]:
    """The file option that varies, and its files with their keys: a folder or glob given to it, or the
    files listed after the options."""
    file_flags = [f for f in command["flags"] if f.get("file") and "[]" not in f["path"]]
    inputs: List[str] = list(args.inputs or [])
    if args.each is not None:
        wanted = "--" + str(args.each).lstrip(
            "-"
        )  # --each target (argparse would take --target as an option)
        chosen = [f for f in file_flags if wanted in (f["flag"], *f.get("aliases", []))]  # former names too
        if not chosen:
            names = ", ".join(f["flag"] for f in file_flags) or "none"
            raise UsageError(
                f"--each {args.each}: not a file option of {command['group']} {command['name']} ({names})"
            )
        flag = chosen[0]
        given = getattr(args, "field:" + flag["path"], None)
        if given is not None:
            inputs.insert(0, str(given))
    else:
        with_values = [f for f in file_flags if getattr(args, "field:" + f["path"], None) is not None]
        expanding = [f for f in with_values if _is_many(str(getattr(args, "field:" + f["path"])))]
        if len(expanding) > 1:
            raise UsageError(
                "more than one option holds a folder or glob: name the one that varies with --each"
            )
        if expanding:
            flag = expanding[0]
            inputs.insert(0, str(getattr(args, "field:" + flag["path"])))
        else:
            required = [f for f in file_flags if f.get("required")]
            unset = [f for f in (required or file_flags) if f not in with_values]
            if len(unset) != 1 or not inputs:
                raise UsageError(
                    "give a folder or a glob to the file option that varies (e.g. --image photos/), or list the "
                    "files after the options (with --each OPTION when the command has several file options)"
                )
            flag = unset[0]
    files = _expand(inputs, flag)
    if not files:
        raise UsageError(f"{flag['flag']}: no file matches {' '.join(inputs)}")
    return flag, files


def _is_many(value: str) -> bool:
    return os.path.isdir(value) or glob.has_magic(value)


def _expand(inputs: List[str], flag: Json) -> List[Tuple[str, str, str]]:
    """``(file, key, output name)`` per file: a folder's files keyed and named by their path in it, a
    glob's by their path under its first folder (``photos/a/b.jpg`` -> ``a/b.png``), a listed file keyed
    by its path from here (absolute when outside) and named by its own name. The same command line gives
    the same keys, so a rerun finds its items."""
    from ..batches._plan import accepts, glob_root, walk_files

    found: Dict[str, Tuple[str, str]] = {}
    for value in inputs:
        if os.path.isdir(value):
            kind = flag.get("file") or ()  # an asset type, or a list of them (face detection's)
            kinds = (kind,) if isinstance(kind, str) else tuple(kind)
            pairs = [(p, os.path.relpath(p, value), "") for p in walk_files(value) if accepts(kinds, p)]
        elif glob.has_magic(value):
            root = glob_root(value)
            listed = sorted(glob.iglob(value, recursive=True))
            pairs = [(p, os.path.relpath(p, root), "") for p in listed if os.path.isfile(p)]
        else:
            here = os.path.relpath(os.path.abspath(value))
            pairs = [
                (value, os.path.abspath(value) if here.startswith("..") else here, os.path.basename(value))
            ]
        for file, key, name in pairs:
            key = key.replace(os.sep, "/")
            found.setdefault(file, (key, os.path.splitext(name or key)[0]))
    return [(file, key, output) for file, (key, output) in found.items()]


def _manifest_jobs(args: argparse.Namespace) -> Tuple[List[BatchJob], List[str]]:
    """The manifest's jobs, and where each is (``jobs.jsonl:3``) for messages."""
    from ..batches import BatchJob
    from ._bounded import BoundError, load

    try:
        if args.manifest == "-":
            text = sys.stdin.read()
        else:
            with open(args.manifest, encoding="utf-8") as f:
                text = f.read()
    except OSError as exc:
        raise UsageError(f"{args.manifest}: {exc.strerror or exc}") from None
    commands = _cli_tools()
    jobs: List[BatchJob] = []
    places: List[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            data = load(line)
        except (BoundError, ValueError) as exc:
            raise UsageError(f"{args.manifest}:{number}: not a JSON object ({exc})") from None
        if not isinstance(data, dict):
            raise UsageError(f"{args.manifest}:{number}: not a JSON object")
        entry = cast(Json, data)
        unknown = set(entry) - {"tool", "params", "key", "output"}
        if unknown or "tool" not in entry:
            raise UsageError(f'{args.manifest}:{number}: a job is {{"tool", "params", "key", "output"}}')
        tool: Any = commands.get(str(entry["tool"]), entry["tool"])  # checked with the job
        jobs.append(BatchJob(tool, entry.get("params") or {}, entry.get("key"), entry.get("output")))
        places.append(f"{args.manifest}:{number}")
    if not jobs:
        raise UsageError(f"{args.manifest}: no job in it")
    return jobs, places


def _tool_of(command: Json) -> str:
    """The SDK's name of the tool a create command runs (``image_background_remover``), from the catalog."""
    return str(command["tool"])


def _cli_tools() -> Dict[str, str]:
    """``"image remove-background"`` -> ``"image_background_remover"``: a manifest may name a job either way."""
    from ._catalog import load_catalog

    catalog = load_catalog() or {"commands": []}
    return {
        f"{c['group']} {c['name']}": _tool_of(c) for c in catalog["commands"] if c.get("action") == "create"
    }


# ---------------------------------------------------------------------------------------------- reading


def _item_json(item: BatchItem) -> Json:
    failure = item.failure
    return {
        "key": item.key,
        "input": item.label,
        "tool": item.tool,
        "state": item.state,
        "project_id": item.project_id,
        "status": item.status,
        "credits": item.credits_charged,
        "outputs": list(item.outputs),
        "error": None if failure is None else {k: v for k, v in vars(failure).items() if v is not None},
        "creates": item.creates,
        "creating_since": item.creating_since,
    }


def _status(args: argparse.Namespace) -> int:
    from ..batches import status

    summary = status(args.journal_path)
    if args.json:
        print_json(
            _summary_json(
                summary, _resume_command(args, summary.journal), list(_unknown_items(summary.journal))
            )
        )
        return EXIT_OK
    counts = ", ".join(f"{n} {state}" for state, n in summary.counts.items() if n)
    sys.stdout.write(
        f"{summary.total} items: {counts or 'none'}; {summary.credits_charged} credits charged\n"
    )
    return EXIT_OK


def _report(args: argparse.Namespace) -> int:
    from ..batches import items

    rows = (_item_json(item) for item in items(args.journal_path, state=args.state))
    # What the server sent (an error's message, a status) may reach a terminal: JSON lines escape every
    # control and non-ASCII character (as print_json does), and CSV cells show them as escapes (clean).
    if args.format == "jsonl":
        for row in rows:
            sys.stdout.write(json.dumps(row, ensure_ascii=True, allow_nan=False) + "\n")
        return EXIT_OK
    writer = csv.writer(sys.stdout)
    writer.writerow(["input", "key", "state", "project_id", "status", "credits", "outputs", "error"])
    for row in rows:
        error = cast(Optional[Json], row["error"])
        message = "" if error is None else f"{error.get('type', '')}: {error.get('message', '')}"
        outputs = " ".join(cast(List[str], row["outputs"]))
        cells = [
            row["input"],
            row["key"],
            row["state"],
            row["project_id"] or "",
            row["status"] or "",
            row["credits"],
            outputs,
            message,
        ]
        writer.writerow([clean(cell) for cell in cells])
    return EXIT_OK


def _resolve(args: argparse.Namespace) -> int:
    from ..batches import resolve

    item = resolve(args.journal_path, args.key, project_id=None if args.not_created else args.project_id)
    if args.json:
        print_json({"ok": True, "item": _item_json(item)})
    else:
        what = (
            "created again"
            if item.project_id is None
            else f"waited for (project {item.project_id}) and downloaded"
        )
        say(
            f"{item.label}: now {item.state}; the next run has it {what}: {_resume_command(args, args.journal_path)}"
        )
    return EXIT_OK
