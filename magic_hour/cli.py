"""The ``magic-hour`` command: upload media from the terminal, with progress bars and a local demo mode.

Try it with no account (a mock server runs inside the command; nothing leaves the machine)::

    magic-hour --mock files upload docs/assets/sample.png

Exit codes: 0 success; 1 the API or an upload failed (the files that did upload are still printed);
2 usage error (bad option, bad path, missing token); 130 interrupted (Ctrl-C).

Progress bars need the ``cli`` extra (``pip install 'magic-hour[cli]'``, which installs rich); rich is
imported here only, lazily, never by the SDK itself. Without it, or when stderr is not a terminal,
progress is reported as plain lines.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Generator,
    List,
    NoReturn,
    Optional,
    Sequence,
    Tuple,
    Union,
)

from . import Client
from ._core.request import BASE_URL_ENV, TOKEN_ENV
from ._exceptions import (
    ApiConnectionError,
    AuthenticationError,
    InsecureTransportError,
    InvalidParameterError,
    MagicHourError,
    MissingTokenError,
    UploadError,
)
from ._extensions import ASSET_TYPES, EXTENSIONS, describe_allowed, normalize_extension, type_for_extension
from ._upload.inputs import Passthrough, Source, inspect_input
from ._upload.results import UploadResult
from ._version import __version__

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from ._upload.flow import UploadProgress

__all__ = ["main"]

PROG = "magic-hour"
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
INSTALL_HINT = "pip install 'magic-hour[cli]'"
DEFAULT_CONCURRENCY = 4
MAX_BARS = 8
"""With more files than this, only the files being uploaded (and failures) get a bar."""


# ---------------------------------------------------------------------------------------------- output


def _one_line(text: str) -> str:
    return "; ".join(part.strip() for part in str(text).splitlines() if part.strip())


def _say(message: str) -> None:
    """One line on stderr, prefixed with the program name (stderr is looked up now: rich may proxy it)."""
    sys.stderr.write(f"{PROG}: {message}\n")
    sys.stderr.flush()


def _human_size(n: int) -> str:
    """Decimal units, as rich's rate and size columns show them: ``313 B``, ``28.6 MB``."""
    if n < 1000:
        return f"{n} B"
    size = float(n)
    for unit in ("kB", "MB", "GB"):
        size /= 1000
        if size < 1000 or unit == "GB":
            break
    return f"{size:.1f} {unit}"


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# ---------------------------------------------------------------------------------------------- parsing


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: an integer >= 1") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: an integer >= 1")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: an integer >= 0") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: an integer >= 0")
    return value


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: a number of seconds > 0") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: a number of seconds > 0")
    return value


def _item(text: str) -> Dict[str, str]:
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
                f"invalid item {text!r}: {ext!r} is not {_article(asset_type)} {asset_type} extension; "
                f"allowed: {describe_allowed(asset_type)}"
            )
        return {"extension": ext, "type_": asset_type}
    inferred = type_for_extension(ext)
    if inferred is None:
        raise argparse.ArgumentTypeError(
            f"invalid item {text!r}: unknown extension {ext!r}; allowed: {describe_allowed()}"
        )
    return {"extension": ext, "type_": inferred}


def _global_options(*, with_defaults: bool) -> argparse.ArgumentParser:
    """The global options; accepted before the command and after it (``files upload x.png --mock``).

    On sub-commands their defaults are SUPPRESS, so an option given before the command is not reset.
    """

    def default(value: object) -> object:
        return value if with_defaults else argparse.SUPPRESS

    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("global options")
    group.add_argument(
        "--token",
        default=default(None),
        help=f"API token (default: ${TOKEN_ENV}; prefer the variable, a token on the command line "
        "is visible to other users of this machine)",
    )
    group.add_argument(
        "--base-url",
        default=default(None),
        metavar="URL",
        help=f"API base URL (default: ${BASE_URL_ENV}, else https://api.magichour.ai)",
    )
    group.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=default(None),
        metavar="SECONDS",
        help="timeout of each request (default 60 s, 10 s to connect)",
    )
    group.add_argument(
        "--max-retries",
        type=_non_negative_int,
        default=default(None),
        metavar="N",
        help="retries of a failed request or upload (default 2)",
    )
    group.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=default(False),
        help="log requests and retries to stderr (the token is never shown)",
    )
    group.add_argument(
        "--mock",
        action="store_true",
        default=default(False),
        help="run against a local mock server started by this command: no account, no network",
    )
    return parent


UPLOAD_EPILOG = f"""\
examples:
  {PROG} --mock files upload docs/assets/sample.png
  {PROG} files upload clip.mp4 photo.png song.mp3 --concurrency 8
  {PROG} files upload *.png --type image --json

stdout gets one file_path per line, in input order (only the files that were uploaded), or one JSON
document with --json. Exit code: 0 all uploaded, 1 some failed, 2 usage error."""

URLS_EPILOG = f"""\
examples:
  {PROG} --mock files upload-urls --item mp4:video --item mp3:audio
  {PROG} files upload-urls --item png --json

Each line is: file_path, upload_url and expires_at, separated by tabs."""


def build_parser() -> argparse.ArgumentParser:
    """The ``magic-hour`` argument parser."""
    common = _global_options(with_defaults=False)
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="The Magic Hour API from the terminal. "
        f"Try it without an account: {PROG} --mock files upload docs/assets/sample.png",
        parents=[_global_options(with_defaults=True)],
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND", required=True)

    files = commands.add_parser(
        "files", help="upload files to Magic Hour's storage", description="Files in Magic Hour's storage."
    )
    files_commands = files.add_subparsers(
        title="commands", dest="files_command", metavar="COMMAND", required=True
    )

    upload = files_commands.add_parser(
        "upload",
        parents=[common],
        help="upload local files; print their file_path values",
        description="Upload local files (streamed, concurrent, retried) and print the file_path of each, "
        "to pass to other API calls.",
        epilog=UPLOAD_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    upload.add_argument("paths", nargs="+", metavar="PATH", help="files to upload")
    upload.add_argument(
        "--type",
        dest="type_",
        choices=ASSET_TYPES,
        help="the asset type of every file (checked against each extension; default: inferred)",
    )
    upload.add_argument(
        "--concurrency",
        type=_positive_int,
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help=f"how many files upload at once (default {DEFAULT_CONCURRENCY})",
    )
    upload.add_argument("--json", action="store_true", help="print one JSON document with a result per file")
    upload.set_defaults(handler=_cmd_upload)

    urls = files_commands.add_parser(
        "upload-urls",
        parents=[common],
        help="get pre-signed upload URLs",
        description="Ask the API for pre-signed upload URLs (POST /v1/files/upload-urls).",
        epilog=URLS_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    urls.add_argument(
        "--item",
        dest="items",
        action="append",
        type=_item,
        required=True,
        metavar="EXT[:TYPE]",
        help="an extension and its type, e.g. mp4:video (repeat for several; the type defaults to "
        "the extension's)",
    )
    urls.add_argument("--json", action="store_true", help="print the whole response as JSON")
    urls.set_defaults(handler=_cmd_upload_urls)
    return parser


# ---------------------------------------------------------------------------------------------- logging


class _StderrHandler(logging.Handler):
    """Writes to the current ``sys.stderr`` (so log lines go above rich's live progress display) and
    removes the token from every line, whatever logged it."""

    def __init__(self, secrets: Sequence[str]) -> None:
        super().__init__(logging.DEBUG)
        self._secrets = [s for s in secrets if s]
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            for secret in self._secrets:
                line = line.replace(secret, "<token>")
            sys.stderr.write(line + "\n")
            sys.stderr.flush()
        except Exception:  # pragma: no cover - logging must never break the command
            self.handleError(record)


def _configure_logging(verbose: bool, secrets: Sequence[str]) -> None:
    if not verbose:
        return
    logger = logging.getLogger("magic_hour")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(_StderrHandler(secrets))
    logger.propagate = False


# ---------------------------------------------------------------------------------------------- client


def _token(args: argparse.Namespace) -> Optional[str]:
    token: Optional[str] = args.token if args.token is not None else os.environ.get(TOKEN_ENV)
    return token.strip() if token is not None and token.strip() else None


@contextlib.contextmanager
def _client(args: argparse.Namespace) -> Generator[Client, None, None]:
    options: Dict[str, Any] = {}
    if args.timeout is not None:
        options["timeout"] = args.timeout
    if args.max_retries is not None:
        options["max_retries"] = args.max_retries
    if args.mock:
        from .testing import FakeMagicHour

        # Only sizes and hashes are kept: a big file "uploaded" to the mock does not fill the memory.
        fake = FakeMagicHour(keep_content=False)
        with fake.serve() as server:
            _say(f"using a local mock server at {server.url}; no request leaves this machine")
            with Client(token=fake.token, base_url=server.url, **options) as client:
                yield client
        return
    token = _token(args)
    if token is None:
        raise MissingTokenError()
    with Client(token=token, base_url=args.base_url, **options) as client:
        yield client


# ---------------------------------------------------------------------------------------------- progress


class Reporter:
    """Shows upload progress on stderr. ``on_progress`` is called from one thread at a time."""

    def start(self, sources: Sequence[Source], concurrency: int) -> None:
        """Uploads are about to start."""

    def on_progress(self, event: UploadProgress) -> None:
        """An upload sent ``event.bytes_sent`` bytes (0 again when an attempt is retried)."""

    def finish(self, results: Sequence[UploadResult]) -> None:
        """Every upload ended (results in input order)."""

    def stop(self) -> None:
        """Stop drawing (idempotent; may be called from another thread, on Ctrl-C)."""


class PlainReporter(Reporter):
    """Plain lines, for logs and pipes: a start line, each quarter reached, and retries."""

    def __init__(self) -> None:
        self._quarter: Dict[int, int] = {}
        self._sent: Dict[int, int] = {}
        self._attempt: Dict[int, int] = {}
        self._count = 0

    def _say(self, event: UploadProgress, message: str) -> None:
        where = f"[{event.index + 1}/{self._count}] " if self._count > 1 else ""
        _say(f"{where}{event.name}: {message}")

    def start(self, sources: Sequence[Source], concurrency: int) -> None:
        total = sum(s.size for s in sources)
        self._count = len(sources)
        at_once = f", {min(concurrency, len(sources))} at a time" if len(sources) > 1 else ""
        _say(f"uploading {_plural(len(sources), 'file')} ({_human_size(total)}){at_once}")

    def on_progress(self, event: UploadProgress) -> None:
        i = event.index
        previous = self._sent.get(i)
        self._sent[i] = event.bytes_sent
        if previous is None:
            self._quarter[i] = 0
            self._attempt[i] = 1
            self._say(event, f"started ({_human_size(event.total)})")
        elif event.bytes_sent < previous or (event.bytes_sent == 0 and previous == event.total):
            self._quarter[i] = 0
            self._attempt[i] += 1
            self._say(event, f"retrying from the first byte (attempt {self._attempt[i]})")
        if event.total > 0 and event.bytes_sent > 0:
            quarter = 4 * event.bytes_sent // event.total
            if quarter > self._quarter[i]:
                self._quarter[i] = quarter
                if quarter >= 4:
                    self._say(event, f"sent {_human_size(event.total)}")
                else:
                    self._say(event, f"{25 * quarter}% ({_human_size(event.bytes_sent)})")


class RichReporter(Reporter):
    """One bar per file (bytes, rate, ETA) plus a total, drawn by rich on the terminal."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._lock = threading.Lock()
        self._stopped = False
        self._tasks: Dict[int, TaskID] = {}
        self._names: Dict[int, str] = {}
        self._sizes: Dict[int, int] = {}
        self._sent: Dict[int, int] = {}
        self._attempt: Dict[int, int] = {}
        self._total: Optional[TaskID] = None
        self._few = True

    @staticmethod
    def create() -> Optional[RichReporter]:
        """A reporter for stderr if it is an interactive terminal and rich is installed, else ``None``."""
        try:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TaskProgressColumn,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )
        except ImportError:
            if sys.stderr.isatty():
                _say(f"progress bars need rich: {INSTALL_HINT} (showing plain progress)")
            return None
        console = Console(stderr=True)
        if not console.is_terminal or console.is_dumb_terminal:
            return None
        progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(bar_width=None),
            TaskProgressColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console,
            redirect_stdout=False,
            expand=True,
        )
        return RichReporter(progress)

    @staticmethod
    def _label(name: str, width: int = 32) -> str:
        from rich.markup import escape

        shown = name if len(name) <= width else "…" + name[-(width - 1) :]
        return escape(shown)

    def start(self, sources: Sequence[Source], concurrency: int) -> None:
        self._few = len(sources) <= MAX_BARS
        with self._lock:
            for s in sources:
                self._names[s.index] = self._label(s.name)
                self._sizes[s.index] = s.size
                self._tasks[s.index] = self._progress.add_task(
                    self._names[s.index], total=s.size, visible=self._few
                )
            if len(sources) > 1:
                total = sum(s.size for s in sources)
                self._total = self._progress.add_task(
                    f"[bold]total ({_plural(len(sources), 'file')})", total=total
                )
            self._progress.start()

    def on_progress(self, event: UploadProgress) -> None:
        task = self._tasks.get(event.index)
        if task is None:
            return
        previous = self._sent.get(event.index)
        self._sent[event.index] = event.bytes_sent
        if previous is not None and event.bytes_sent < previous:
            self._attempt[event.index] = self._attempt.get(event.index, 1) + 1
            self._progress.reset(
                task,
                description=f"{self._names[event.index]} [yellow](retry {self._attempt[event.index] - 1})",
                visible=True,
            )
        in_flight = event.bytes_sent < event.total
        self._progress.update(task, completed=event.bytes_sent, visible=self._few or in_flight)
        if self._total is not None:
            self._progress.update(self._total, completed=sum(self._sent.values()))

    def finish(self, results: Sequence[UploadResult]) -> None:
        # Final state: only what was stored counts; a failed file's bar goes back to 0, in red.
        stored = 0
        for r in results:
            task = self._tasks.get(r.index)
            if task is None:
                continue
            name = self._names[r.index]
            if r.ok:
                stored += self._sizes[r.index]
                self._progress.update(task, description=f"[green]✓[/] {name}", completed=self._sizes[r.index])
            else:
                self._progress.update(task, description=f"[red]✗ {name}", completed=0, visible=True)
        if self._total is not None:
            failed = sum(1 for r in results if not r.ok)
            outcome = f"[red]{failed} of {len(results)} failed" if failed else f"{len(results)} files"
            self._progress.update(self._total, description=f"[bold]total ({outcome})", completed=stored)
        self.stop()

    def stop(self) -> None:
        with self._lock:
            if not self._stopped:
                self._stopped = True
                self._progress.stop()


def _reporter() -> Reporter:
    return RichReporter.create() or PlainReporter()


# ---------------------------------------------------------------------------------------------- commands


@dataclass
class _Run:
    """What the interrupt handler needs to clean up."""

    reporter: Optional[Reporter] = None


def _check_inputs(paths: Sequence[str], type_: Optional[str]) -> List[Union[Passthrough, Source]]:
    """Every path checked before any request (exists, a readable file, an extension of ``type_``)."""
    return [inspect_input(path, i, type_=type_) for i, path in enumerate(paths)]


def _error_json(error: BaseException) -> Dict[str, Any]:
    return {
        "type": type(error).__name__,
        "message": _one_line(str(error)),
        "status_code": getattr(error, "status_code", None),
    }


def _cmd_upload(args: argparse.Namespace, run: _Run) -> int:
    paths: List[str] = args.paths
    checked = _check_inputs(paths, args.type_)
    sources = [c for c in checked if isinstance(c, Source)]
    with _client(args) as client:
        reporter = _reporter() if sources else Reporter()
        run.reporter = reporter
        start = time.perf_counter()
        reporter.start(sources, args.concurrency)
        try:
            try:
                uploaded = client.v1.files.upload_files(
                    paths, max_concurrency=args.concurrency, on_progress=reporter.on_progress
                )
                results = [UploadResult(i, p, file_path=f) for i, (p, f) in enumerate(zip(paths, uploaded))]
            except UploadError as exc:
                results = exc.results
            reporter.finish(results)
        finally:
            reporter.stop()
        elapsed = time.perf_counter() - start
    sizes = {s.index: s.size for s in sources}
    failed = [r for r in results if not r.ok]
    if args.json:
        document = {
            "ok": not failed,
            "files": [
                {
                    "path": paths[r.index],
                    "file_path": r.file_path,
                    "size": sizes.get(r.index),
                    "error": _error_json(r.error) if r.error is not None else None,
                }
                for r in results
            ],
        }
        print(json.dumps(document, indent=2))
    else:
        for r in results:
            if r.file_path is not None:
                print(r.file_path)
    sys.stdout.flush()
    sent = sum(sizes.get(r.index, 0) for r in results if r.ok)
    if not failed:
        if sources:
            _say(f"uploaded {_plural(len(results), 'file')} ({_human_size(sent)}) in {elapsed:.2f} s")
        return EXIT_OK
    for r in failed:
        assert r.error is not None
        _say(f"error: {paths[r.index]}: {_reason(r)}")
    errors = [r.error for r in failed]
    hint = _hint(errors)
    _say(f"{len(failed)} of {_plural(len(results), 'upload')} failed" + (f"; {hint}" if hint else ""))
    return EXIT_FAILURE


def _reason(result: UploadResult) -> str:
    """Why one file failed, without repeating its name (the line starts with it)."""
    text = _one_line(str(result.error))
    prefix = f"uploading {result.name} failed: "
    return text[len(prefix) :] if text.startswith(prefix) else text


def _hint(errors: Sequence[Optional[BaseException]]) -> Optional[str]:
    if any(isinstance(e, AuthenticationError) for e in errors):
        return f"check the token (--token or ${TOKEN_ENV})"
    if any(isinstance(e, ApiConnectionError) for e in errors):
        return "check the network and --base-url, or try --mock"
    return None


def _cmd_upload_urls(args: argparse.Namespace, run: _Run) -> int:
    with _client(args) as client:
        res = client.v1.files.upload_urls.create(items=args.items)
    if args.json:
        print(json.dumps(res.model_dump(mode="json"), indent=2))
    else:
        from ._upload.flow import parse_expires_at

        for item in res.items:
            print(f"{item.file_path}\t{item.upload_url}\t{parse_expires_at(item.expires_at).isoformat()}")
    sys.stdout.flush()
    return EXIT_OK


# ---------------------------------------------------------------------------------------------- main


def _failure(exc: BaseException, args: argparse.Namespace) -> int:
    """One line on stderr and the exit code, for an error that ended a command."""
    if isinstance(exc, MissingTokenError):
        _say(
            f"error: no API token: set {TOKEN_ENV} (export {TOKEN_ENV}=...) or pass --token; "
            "or try --mock to run against a local mock server (no account needed)"
        )
        return EXIT_USAGE
    if isinstance(exc, (InvalidParameterError, InsecureTransportError)):
        _say(f"error: {_one_line(str(exc))}")
        return EXIT_USAGE
    if isinstance(exc, AuthenticationError):
        _say(f"error: {_one_line(str(exc))}; check the token (--token or ${TOKEN_ENV})")
        return EXIT_FAILURE
    if isinstance(exc, ApiConnectionError):
        _say(f"error: {_one_line(str(exc))}; check the network and --base-url, or try --mock")
        return EXIT_FAILURE
    if isinstance(exc, (MagicHourError, OSError)):
        _say(f"error: {_one_line(str(exc))}")
        return EXIT_FAILURE
    if args.verbose:
        traceback.print_exception(type(exc), exc, exc.__traceback__)
    more = "" if args.verbose else " (run with -v for details)"
    _say(f"internal error: {type(exc).__name__}: {_one_line(str(exc))}{more}")
    return EXIT_FAILURE


def _interrupted(run: _Run) -> NoReturn:
    """Ctrl-C: stop drawing, say so, and leave now.

    The command runs in a worker thread that may be waiting for a server (up to the timeout), and the
    upload pool's threads would be joined at exit; ``os._exit`` skips both, after the output is flushed.
    """
    if run.reporter is not None:
        with contextlib.suppress(Exception):
            run.reporter.stop()
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    _say("interrupted")
    os._exit(EXIT_INTERRUPTED)


def _run_in_thread(fn: Callable[[], int], run: _Run) -> int:
    """Run ``fn`` in a worker thread so that Ctrl-C (delivered to the main thread) is handled at once."""
    outcome: List[Tuple[Optional[int], Optional[BaseException]]] = []

    def target() -> None:
        try:
            outcome.append((fn(), None))
        except BaseException as exc:
            outcome.append((None, exc))

    worker = threading.Thread(target=target, name="magic-hour-cli", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.1)
    except KeyboardInterrupt:
        _interrupted(run)
    code, error = outcome[0]
    if error is not None:
        raise error
    assert code is not None
    return code


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the ``magic-hour`` command; return its exit code."""
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:  # --help, --version, usage errors (argparse printed them)
            return exc.code if isinstance(exc.code, int) else EXIT_USAGE
        if args.mock and args.base_url is not None:
            _say("error: --mock and --base-url cannot be used together")
            return EXIT_USAGE
        _configure_logging(args.verbose, [t for t in (args.token, os.environ.get(TOKEN_ENV)) if t])
        run = _Run()
        try:
            return _run_in_thread(lambda: args.handler(args, run), run)
        except BrokenPipeError:
            # stdout was closed early (``| head``): not an error worth a traceback.
            with contextlib.suppress(OSError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return EXIT_FAILURE
        except Exception as exc:
            return _failure(exc, args)
    except KeyboardInterrupt:
        _say("interrupted")
        return EXIT_INTERRUPTED
