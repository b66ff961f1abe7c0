"""What the command prints: lines on stderr, sizes and plurals, the JSON documents of ``--json``, and the
interface of its progress displays (:class:`Reporter`: plain lines in ``_progress``, rich bars in ``_bars``).

Pure helpers (no SDK import but the small ``_redact``), so that ``--help`` and ``--version`` stay cheap.
"""

from __future__ import annotations

import math
import sys
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, cast

from .._redact import invisible

if TYPE_CHECKING:
    from .._upload.batch import UploadResult
    from .._upload.flow import UploadProgress
    from .._upload.inputs import Source

PROG = "magic-hour"
Json = Dict[str, Any]
"""A JSON object: the catalog's entries, a request body, a document printed with ``--json``."""

EXIT_OK = 0
"""Everything succeeded."""
EXIT_FAILURE = 1
"""The API, an upload or the job failed."""
EXIT_USAGE = 2
"""Bad options or inputs, no token: nothing was sent."""
EXIT_INTERRUPTED = 130
"""Ctrl-C (128 + SIGINT)."""
EXIT_TERMINATED = 143
"""SIGTERM (128 + SIGTERM), as shells and supervisors expect of a process that a signal ended."""

TOKEN_ENV = "MAGIC_HOUR_API_TOKEN"
BASE_URL_ENV = "MAGIC_HOUR_BASE_URL"
INSTALL_HINT = "pip install 'magic-hour[cli]'"


def _shown(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def clean(text: object, *, lines: bool = False) -> str:
    """``text`` (from the server, or anything that may hold what a terminal acts on) safe to write to a
    terminal: every control, format or separator character (:func:`magic_hour._redact.invisible`)
    written as a visible escape (``\\x1b``, ``\\u202e``, ``\\u200b``). Tab and newline too, unless
    ``lines`` (a log record's traceback keeps its lines)."""
    text = str(text)
    if text.isascii() and text.isprintable():  # the common case
        return text
    kept = "\t\n" if lines else ""
    return "".join(_shown(c) if invisible(c) and c not in kept else c for c in text)


def one_line(text: object) -> str:
    """A message on one line: its lines joined with ``; ``."""
    return "; ".join(part.strip() for part in str(text).splitlines() if part.strip())


def say(message: str) -> None:
    """One line on stderr, prefixed with the program name (stderr is looked up now: rich may proxy it).

    Control characters are shown, not obeyed: a message may quote the server (an API error, a project's
    ``error.message``), which must not retitle the terminal or forge a line of ours."""
    sys.stderr.write(f"{PROG}: {clean(message)}\n")
    sys.stderr.flush()


def write_fields(*fields: object) -> None:
    """One line on stdout: ``fields`` separated by tabs, each :func:`clean` (an id, a URL or a status
    the API sent cannot hold a tab, a newline or an escape sequence of its own)."""
    sys.stdout.write("\t".join(clean(f) for f in fields) + "\n")


def human_size(n: int) -> str:
    """Decimal units, as rich's size columns show them: ``313 B``, ``28.6 MB``."""
    if n < 1000:
        return f"{n} B"
    size = float(n)
    unit = "kB"
    for unit in ("kB", "MB", "GB", "TB"):
        size /= 1000
        if size < 999.95 or unit == "TB":
            break
    return f"{size:.1f} {unit}"


def article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def plural(n: int, word: str) -> str:
    """``1 file``, ``3 files``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def percent(done: int, total: int) -> int:
    """Whole percent of ``done`` in ``total``, rounded down: 100 only when everything is done."""
    if total <= 0:
        return 100
    return min(100, 100 * done // total)


def error_json(error: BaseException) -> Dict[str, Any]:
    """An error as the ``error`` member of a ``--json`` document."""
    return {
        "type": type(error).__name__,
        "message": one_line(str(error)),
        "status_code": getattr(error, "status_code", None),
    }


def finite(value: Any) -> Any:
    """``value`` with every infinite or NaN number replaced by ``None``, as JavaScript's
    ``JSON.stringify`` does: JSON has no such numbers, and a server's ``1e999`` is decoded as infinity."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        items = cast("Dict[Any, Any]", value).items()  # type: ignore[redundant-cast]  # pyright needs it
        return {k: finite(v) for k, v in items}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in cast("List[Any]", value)]
    return value


def print_json(document: Any) -> None:
    """One JSON document on stdout: always valid JSON (no ``Infinity`` or ``NaN``; every control and
    non-ASCII character escaped, so the document is also safe on a terminal)."""
    import json

    sys.stdout.write(json.dumps(finite(document), indent=2, ensure_ascii=True, allow_nan=False) + "\n")
    sys.stdout.flush()


def usage_error_json(message: str, kind: str = "UsageError", status_code: Optional[int] = None) -> None:
    """The document ``--json`` prints when the command could not start (exit code 2)."""
    print_json({"ok": False, "error": {"type": kind, "message": message, "status_code": status_code}})


class Reporter:
    """Shows upload progress. ``on_progress`` is called from one thread at a time."""

    def start(self, sources: Sequence[Source], concurrency: int, passed: int) -> None:
        """Uploads of ``sources`` are about to start; ``passed`` inputs (URLs, api-assets paths) need none."""

    def on_progress(self, event: UploadProgress) -> None:
        """An upload sent ``event.bytes_sent`` bytes (0 again when an attempt starts)."""

    def finish(self, results: Sequence[UploadResult]) -> None:
        """Every upload ended (results in input order, passed-through inputs included)."""

    def stop(self) -> None:
        """Stop drawing (idempotent)."""

    def project_started(self, noun: str, project_id: str) -> None:
        """A job's project was created: its id is shown at once (what an interrupted job resumes with)."""

    def interrupt(self) -> None:
        """Stop drawing at once, from another thread, on Ctrl-C or SIGTERM (idempotent)."""
        self.stop()
