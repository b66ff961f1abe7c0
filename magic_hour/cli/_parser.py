"""The argument parser (:class:`Parser`: usage errors that lead somewhere), the global options, the
value types of options, and the ``files`` and ``mock`` commands; ``_main.build_parser`` assembles the
tree from these and the other command modules, so nothing here imports them.

Imports nothing of the SDK beyond the extension table, so that ``--help`` and ``--version`` are cheap.
"""

from __future__ import annotations

import argparse
import difflib
import functools
import re
import shutil
import textwrap
from typing import Any, Dict, FrozenSet, List, NoReturn, Optional, Sequence, Tuple

from .._extensions import ASSET_TYPES, EXTENSIONS, describe_allowed, normalize_extension, type_for_extension
from ._output import BASE_URL_ENV, PROG, TOKEN_ENV, article

DEFAULT_CONCURRENCY = 4
UNSET: Any = object()
"""The default of an option whose values include ``None`` (``--max-concurrent-transfers none``): not a
string, which argparse would parse as if given."""


class UsageError(Exception):
    """Bad command-line arguments; ``usage`` is the usage line of the command concerned."""

    def __init__(self, message: str, usage: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage


GLOBAL_SHOWN = (
    "--json, -q, -v, --mock, --token, --base-url, --timeout, --max-retries, --max-concurrent-transfers"
)


class HelpFormatter(argparse.HelpFormatter):
    """Help wrapped at spaces only: a value such as ``ai-anime-generator`` or a flag is never split at
    its hyphens (which broke copy and paste)."""

    def _split_lines(self, text: str, width: int) -> List[str]:
        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False, break_long_words=False)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return textwrap.fill(
            " ".join(text.split()),
            width,
            initial_indent=indent,
            subsequent_indent=indent,
            break_on_hyphens=False,
            break_long_words=False,
        )


class RawDescription(HelpFormatter):
    """A description and epilog printed as written (examples), options wrapped as :class:`HelpFormatter`."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "".join(indent + line for line in text.splitlines(keepends=True))


class Parser(argparse.ArgumentParser):
    """Raises :class:`UsageError` instead of exiting, so ``main`` decides what to print (``--json``), and
    makes each error lead somewhere: an unknown option is reported with its command's usage (not the
    program's) and the closest options; a mistyped command gets the closest commands; a group named
    without a command lists its commands."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        # Exact names only: a prefix taken for a whole name (--face-swap-mod) would change meaning when
        # an option is added, and would hide a typo from the did-you-mean below.
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)
        self.leaf = False
        """A command's own parser: what is left over after it is unknown to the command."""
        self.command_names: Dict[str, Any] = {}
        self.global_flags: FrozenSet[str] = frozenset()
        """The global options' names, on the parser :func:`global_options` makes."""

    def add_subparsers(self, **kwargs: Any) -> Any:
        action = super().add_subparsers(**kwargs)
        self.command_names = action.choices  # filled as the commands are added
        return action

    def parse_known_args(  # type: ignore[override]  # typeshed's overloads, one signature here
        self, args: Optional[Sequence[str]] = None, namespace: Any = None
    ) -> Tuple[Any, List[str]]:
        parsed, extras = super().parse_known_args(args, namespace)
        if extras and self.leaf:
            self.error(self._unknown(extras))
        return parsed, extras

    def parse_args(  # type: ignore[override]  # typeshed's overloads, one signature here
        self, args: Optional[Sequence[str]] = None, namespace: Any = None
    ) -> Any:
        # What no command took (a leaf reports its own): an option misplaced before the command, or
        # mistyped at the top, gets the program's did-you-mean as a command's gets its own.
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            self.error(self._unknown(extras))
        return parsed

    def _unknown(self, extras: List[str]) -> str:
        message = f"unrecognized arguments: {' '.join(extras)}"
        option = next((e.split("=", 1)[0] for e in extras if e.startswith("-")), None)
        if option is not None:
            globals_ = _global_flags()
            known = [
                s
                for action in self._actions
                for s in action.option_strings
                # a former name (help hidden) is not suggested; a global option (help shown once,
                # under magic-hour --help) is
                if s.startswith("--") and (action.help != argparse.SUPPRESS or s in globals_)
            ]
            near = difflib.get_close_matches(option, known, n=3, cutoff=0.6)
            if near:
                message += f"; did you mean {' or '.join(near)}?"
        return message + f" (see {self.prog} --help)"

    def format_help(self) -> str:
        text = super().format_help()
        if self.leaf and "--json" in self._option_string_actions:  # listed once, under magic-hour --help
            note = f"global options ({GLOBAL_SHOWN}) work here too: {PROG} --help lists them."
            width = shutil.get_terminal_size().columns - 2  # what argparse wraps the rest to
            text += "\n" + "\n".join(textwrap.wrap(note, width, break_on_hyphens=False)) + "\n"
        return text

    def error(self, message: str) -> NoReturn:
        names = list(self.command_names)
        if names and message.startswith("the following arguments are required: COMMAND"):
            raise UsageError(f"{self.prog}: which command? (listed above)", self.format_help())
        choice = re.search(r"invalid choice: '([^']*)'", message)
        if names and choice is not None:
            wrong = choice.group(1)
            near = difflib.get_close_matches(wrong, names, n=3, cutoff=0.5)
            hint = f"did you mean {' or '.join(near)}?" if near else f"the commands: {', '.join(names)}"
            message = f"unknown command {wrong!r} for {self.prog}; {hint}"
        raise UsageError(message, self.format_usage())


# ---------------------------------------------------------------------------------------------- values


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: an integer >= 1") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: an integer >= 1")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: an integer >= 0") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: an integer >= 0")
    return value


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: a number of seconds > 0") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: a number of seconds > 0")
    return value


def max_transfers(text: str) -> Optional[int]:
    """``--max-concurrent-transfers``: an integer >= 1, or ``none`` (no client-wide bound)."""
    if text.strip().lower() == "none":
        return None
    try:
        return positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"invalid value {text!r}: an integer >= 1, or none for no bound"
        ) from None


def extension(text: str) -> str:
    ext = normalize_extension(text)
    if type_for_extension(ext) is None:
        raise argparse.ArgumentTypeError(f"invalid extension {text!r}; allowed: {describe_allowed()}")
    return ext


def upload_item(text: str) -> Dict[str, str]:
    """``mp4:video`` (or just ``mp4``: the type follows from the extension) -> an upload-urls item."""
    ext_text, sep, type_text = text.partition(":")
    ext = normalize_extension(ext_text)
    if not ext:
        raise argparse.ArgumentTypeError(f"invalid item {text!r}: EXTENSION[:TYPE], e.g. mp4:video")
    if sep:
        asset_type = type_text.strip().lower()
        if asset_type not in ASSET_TYPES:
            raise argparse.ArgumentTypeError(
                f"invalid item {text!r}: the type must be one of {', '.join(ASSET_TYPES)}"
            )
        if ext not in EXTENSIONS[asset_type]:  # webm is video or audio, gif video or image...
            raise argparse.ArgumentTypeError(
                f"invalid item {text!r}: {ext!r} is not {article(asset_type)} {asset_type} extension; "
                f"allowed: {describe_allowed(asset_type)}"  # pyright: ignore[reportArgumentType]
            )
        return {"extension": ext, "type_": asset_type}
    inferred = type_for_extension(ext)
    if inferred is None:
        raise argparse.ArgumentTypeError(
            f"invalid item {text!r}: unknown extension {ext!r}; allowed: {describe_allowed()}"
        )
    return {"extension": ext, "type_": inferred}


# ---------------------------------------------------------------------------------------------- options


def global_options(*, with_defaults: bool) -> Parser:
    """The global options; accepted before the command and after it (``files upload x.png --mock``).

    On sub-commands their defaults are SUPPRESS, so an option given before the command is not reset,
    and so is their help: ``magic-hour --help`` lists them once, a command's help says where.
    """

    def default(value: object) -> Any:
        return value if with_defaults else argparse.SUPPRESS

    def shown(text: str) -> str:
        return text if with_defaults else argparse.SUPPRESS

    parent = Parser(add_help=False)
    group = parent.add_argument_group("global options")
    names: List[str] = []

    def option(*flags: str, **kwargs: Any) -> None:
        group.add_argument(*flags, **kwargs)
        names.extend(flags)

    option(
        "--token",
        default=default(None),
        help=shown(
            f"API token (default: ${TOKEN_ENV}; prefer the variable, a token on the command line "
            "is visible to other users of this machine)"
        ),
    )
    option(
        "--base-url",
        default=default(None),
        metavar="URL",
        help=shown(f"API base URL (default: ${BASE_URL_ENV}, else https://api.magichour.ai)"),
    )
    option(
        "--timeout",
        type=positive_seconds,
        default=default(None),
        metavar="SECONDS",
        help=shown("timeout of each request (default 60 s, 10 s to connect)"),
    )
    option(
        "--max-retries",
        type=non_negative_int,
        default=default(None),
        metavar="N",
        help=shown("retries of a failed request or upload (default 2)"),
    )
    option(
        "--max-concurrent-transfers",
        type=max_transfers,
        default=default(UNSET),
        metavar="N",
        help=shown(
            "file uploads and downloads in flight at once, across everything the command transfers "
            "(default 8; none: no bound)"
        ),
    )
    option(
        "--json",
        action="store_true",
        default=default(False),
        help=shown("print one JSON document on stdout, also when the command fails"),
    )
    option(
        "-q",
        "--quiet",
        action="store_true",
        default=default(False),
        help=shown("no progress on stderr (errors and warnings are still said)"),
    )
    option(
        "-v",
        "--verbose",
        action="store_true",
        default=default(False),
        help=shown("log requests and retries to stderr (the token is never shown)"),
    )
    option(
        "--mock",
        action="store_true",
        default=default(False),
        help=shown("run against a local mock server started by this command: no account, no network"),
    )
    parent.global_flags = frozenset(names)
    return parent


@functools.cache
def _global_flags() -> FrozenSet[str]:
    """The long names of the global options (a sub-command's parser hides their help)."""
    return global_options(with_defaults=True).global_flags


UPLOAD_EPILOG = f"""\
examples:
  {PROG} mock samples && {PROG} --mock files upload sample.png
  {PROG} files upload clip.mp4 photo.png song.mp3 --concurrency 8
  {PROG} files upload *.png --type image --json

stdout gets one file_path per line, in input order (only the files that were uploaded), or one JSON
document with --json. Exit code: 0 all uploaded, 1 some failed, 2 usage error."""

URLS_EPILOG = f"""\
examples:
  {PROG} --mock files upload-urls --item mp4:video --item mp3:audio
  {PROG} files upload-urls --item png --json

Each line is: file_path, upload_url and expires_at (as the API sent it), separated by tabs."""


def add_files_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """``files upload`` and ``files upload-urls``."""
    files = commands.add_parser(
        "files", help="upload files to Magic Hour's storage", description="Files in Magic Hour's storage."
    )
    files_commands = files.add_subparsers(
        title="commands", dest="files_command", metavar="COMMAND", required=True, parser_class=Parser
    )
    upload = files_commands.add_parser(
        "upload",
        parents=[common],
        help="upload local files; print their file_path values",
        description="Upload local files (streamed, concurrent, retried) and print the file_path of each, "
        "to pass to other API calls.",
        epilog=UPLOAD_EPILOG,
        formatter_class=RawDescription,
    )
    upload.add_argument("paths", nargs="+", metavar="PATH", help="files to upload")
    upload.add_argument(
        "--type",
        dest="type_",
        choices=ASSET_TYPES,
        help="the asset type of every file (checked against each extension; default: inferred)",
    )
    upload.add_argument(
        "--extension",
        type=extension,
        metavar="EXT",
        help="upload every file as this extension (for files whose name has none; default: the name's)",
    )
    upload.add_argument(
        "--concurrency",
        type=positive_int,
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help=f"how many files upload at once (default {DEFAULT_CONCURRENCY})",
    )
    upload.set_defaults(command_id="files.upload")
    upload.leaf = True

    urls = files_commands.add_parser(
        "upload-urls",
        parents=[common],
        help="get pre-signed upload URLs",
        description="Ask the API for pre-signed upload URLs (POST /v1/files/upload-urls).",
        epilog=URLS_EPILOG,
        formatter_class=RawDescription,
    )
    urls.add_argument(
        "--item",
        dest="items",
        action="append",
        type=upload_item,
        required=True,
        metavar="EXT[:TYPE]",
        help="an extension and its type, e.g. mp4:video (repeat for several; the type defaults to "
        "the extension's)",
    )
    urls.set_defaults(command_id="files.upload-urls")
    urls.leaf = True


def add_mock_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """``mock samples``, ``mock where`` and ``mock reset``: what ``--mock`` needs outside a checkout, and
    the state it keeps between commands."""
    mock = commands.add_parser(
        "mock",
        help="sample inputs and the state of --mock",
        description="--mock runs a local mock of the API inside each command; it remembers the projects "
        "of earlier --mock commands in a state directory ($MAGIC_HOUR_MOCK_DIR, else "
        "~/.local/state/magic-hour/mock).",
    )
    mock_commands = mock.add_subparsers(
        title="commands", dest="mock_command", metavar="COMMAND", required=True, parser_class=Parser
    )
    samples = mock_commands.add_parser(
        "samples",
        parents=[common],
        help="write sample.png, sample.mp4 and sample.mp3 (small inputs to try jobs with)",
        description="Write small sample inputs into DIR (default: the current directory); existing files "
        "are kept. Print their paths.",
    )
    samples.add_argument("directory", nargs="?", default=".", metavar="DIR")
    where = mock_commands.add_parser(
        "where", parents=[common], help="print the directory where --mock keeps its state"
    )
    reset = mock_commands.add_parser(
        "reset", parents=[common], help="forget the projects of earlier --mock commands"
    )
    for sub in (samples, where, reset):
        sub.set_defaults(command_id="mock")
        sub.leaf = True
