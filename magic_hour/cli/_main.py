"""``main``: build the command tree (:func:`build_parser`: every command module's parsers), parse, run
the command, and turn every outcome into an exit code and what is printed.

Exit codes: 0 done; 1 the API, an upload or the job failed; 2 usage (bad option or input, no token:
nothing was sent); 130 interrupted (Ctrl-C); 143 terminated (SIGTERM). With ``--json``, stdout always
gets one JSON document, errors included.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional, Sequence

from .._version import __version__
from ._output import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    TOKEN_ENV,
    clean,
    error_json,
    one_line,
    print_json,
    say,
    usage_error_json,
)
from ._parser import Parser, UsageError, add_files_commands, add_mock_commands, global_options

if TYPE_CHECKING:
    from ._resume import JobState
    from ._signals import Run

Command = Callable[[argparse.Namespace, "Run"], int]


def build_parser(argv: Sequence[str] = ()) -> Parser:
    """The ``magic-hour`` parser: the ``files`` commands and those of the generated catalog (flags built
    only for the command named in ``argv``)."""
    common = global_options(with_defaults=False)
    parser = Parser(
        prog=PROG,
        description="The Magic Hour API from the terminal. Try it without an account: "
        f"{PROG} mock samples (writes sample.png, sample.mp4 and sample.mp3 here), then "
        f"{PROG} --mock image face-swap --face sample.png --image sample.png",
        parents=[global_options(with_defaults=True)],
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(
        title="commands", dest="command", metavar="COMMAND", required=True, parser_class=Parser
    )
    add_files_commands(commands, common)
    from ._webhooks import add_webhooks_commands

    add_webhooks_commands(commands, common)
    completion = commands.add_parser(
        "completion",
        help="print a shell completion script",
        description='Print a completion script: eval "$(magic-hour completion bash)" (or zsh), '
        "or magic-hour completion fish | source.",
    )
    completion.add_argument("shell", choices=("bash", "zsh", "fish"))
    completion.set_defaults(command_id="completion")
    completion.leaf = True
    values = commands.add_parser(
        "values",
        help="list the values an option takes (voices, templates, styles...)",
        description=f"List the values an option of a command takes, one per line (--json: a document). "
        f"{PROG} values audio speech --voice-name lists the voices; without the option, the options "
        "of the command that have a list of values, with their counts.",
    )
    values.add_argument("words", nargs=argparse.REMAINDER, metavar="GROUP COMMAND [OPTION]")
    values.set_defaults(command_id="values")
    add_mock_commands(commands, common)
    from ._catalog import add_catalog_commands, load_catalog

    catalog = load_catalog()
    if catalog is not None:
        add_catalog_commands(commands, common, catalog, argv)
    from ._batch import add_batch_command  # its own module: magic-hour batch

    add_batch_command(commands, catalog, argv)
    return parser


def _commands() -> Dict[str, Command]:
    from ._batch import cmd_batch
    from ._complete import cmd_values
    from ._files import cmd_upload, cmd_upload_urls
    from ._jobs import cmd_catalog
    from ._mock import cmd_mock
    from ._webhooks import COMMANDS as webhooks_commands

    return {
        "files.upload": cmd_upload,
        "files.upload-urls": cmd_upload_urls,
        "batch": cmd_batch,
        "catalog": cmd_catalog,
        "completion": _cmd_completion,
        "values": cmd_values,
        "mock": cmd_mock,
        **webhooks_commands,
    }


def _cmd_completion(args: argparse.Namespace, run: Run) -> int:
    from ._complete import SCRIPTS

    sys.stdout.write(SCRIPTS[args.shell])
    return EXIT_OK


def _failure(exc: BaseException, args: argparse.Namespace, job: Optional[JobState] = None) -> int:
    """One line on stderr (and the JSON document with --json); the exit code. After the project a job
    command created started (``job``), what became of it and the command that picks it up, as an
    interrupt says: run again, the command would start and bill another."""
    from .._exceptions import (
        ApiConnectionError,
        AuthenticationError,
        InsecureTransportError,
        InvalidParameterError,
        MagicHourError,
        MissingTokenError,
        NotFoundError,
    )

    code = EXIT_FAILURE
    if isinstance(exc, UsageError):
        message, code = exc.message, EXIT_USAGE
    elif isinstance(exc, MissingTokenError):
        message = (
            f"no API token: set {TOKEN_ENV} (export {TOKEN_ENV}=...) or pass --token; "
            "or try --mock to run against a local mock server (no account needed)"
        )
        code = EXIT_USAGE
    elif isinstance(exc, (InvalidParameterError, InsecureTransportError)):
        message, code = one_line(exc), EXIT_USAGE
    elif isinstance(exc, AuthenticationError):
        message = f"{one_line(exc)}; check the token (--token or ${TOKEN_ENV})"
    elif isinstance(exc, ApiConnectionError):
        message = f"{one_line(exc)}; check the network and --base-url, or try --mock"
    elif isinstance(exc, NotFoundError) and args.mock:
        from ._mock import state_dir

        message = (
            f"{one_line(exc)}; the mock knows only the projects of earlier --mock commands "
            f"(kept in {state_dir()} until magic-hour mock reset)"
        )
    elif isinstance(exc, (MagicHourError, OSError)):
        message = one_line(exc)
    else:
        if args.verbose:
            import traceback

            traceback.print_exception(type(exc), exc, exc.__traceback__)
        more = "" if args.verbose else " (run with -v for details)"
        say(f"internal error: {type(exc).__name__}: {one_line(exc)}{more}")
        if args.json:
            print_json({"ok": False, "error": error_json(exc)})
        return EXIT_FAILURE
    say(f"error: {message}")
    command: Dict[str, Any] = getattr(args, "catalog_command", None) or {}
    started = job is not None and job.phase == "started" and command.get("action") == "create"
    for line in job.lines() if job is not None and started else []:
        say(line)
    if args.json:
        document: Dict[str, Any] = {"ok": False}
        if job is not None and started:
            document.update(job.document())
        document["error"] = {**error_json(exc), "message": message}
        print_json(document)
    return code


def _usage(error: UsageError, argv: Sequence[str]) -> int:
    sys.stderr.write(clean(error.usage, lines=True))
    sys.stderr.write(f"{PROG}: error: {clean(error.message)}\n")
    sys.stderr.flush()
    if "--json" in argv:
        usage_error_json(error.message)
    return EXIT_USAGE


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the ``magic-hour`` command; return its exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["__complete"]:  # asked by the completion scripts, at each <Tab>
        from ._complete import complete

        return complete(args_list[1:])
    if args_list == ["--version"]:  # the common case, without building the parser
        sys.stdout.write(f"{PROG} {__version__}\n")
        return EXIT_OK
    try:
        try:
            args = build_parser(args_list).parse_args(args_list)
        except UsageError as exc:
            return _usage(exc, args_list)
        except SystemExit as exc:  # --help, --version (argparse printed them)
            return exc.code if isinstance(exc.code, int) else EXIT_OK
        if args.mock and args.base_url is not None:
            return _usage(UsageError("--mock and --base-url cannot be used together"), args_list)
        from ._session import configure_logging
        from ._signals import Run, run_guarded

        configure_logging(args)
        command = _commands()["batch" if args.command == "batch" else args.command_id]
        run = Run(json=args.json)
        try:
            return run_guarded(lambda: command(args, run), run)
        except BrokenPipeError:
            # stdout was closed early (``| head``): not an error worth a traceback.
            with contextlib.suppress(OSError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return EXIT_FAILURE
        except Exception as exc:
            return _failure(exc, args, run.job)
    except KeyboardInterrupt:
        say("interrupted")
        return EXIT_INTERRUPTED
