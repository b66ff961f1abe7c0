"""What the command prints: lines on stderr, sizes and plurals, and the JSON documents of ``--json``.

Pure helpers (no SDK import), so that ``--help`` and ``--version`` stay cheap.
"""

from __future__ import annotations

import sys
from typing import Any, Dict, Optional

PROG = "magic-hour"

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


def one_line(text: object) -> str:
    """A message on one line: its lines joined with ``; ``."""
    return "; ".join(part.strip() for part in str(text).splitlines() if part.strip())


def say(message: str) -> None:
    """One line on stderr, prefixed with the program name (stderr is looked up now: rich may proxy it)."""
    sys.stderr.write(f"{PROG}: {message}\n")
    sys.stderr.flush()


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


def print_json(document: Any) -> None:
    """One JSON document on stdout."""
    import json

    sys.stdout.write(json.dumps(document, indent=2) + "\n")
    sys.stdout.flush()


def usage_error_json(message: str, kind: str = "UsageError", status_code: Optional[int] = None) -> None:
    """The document ``--json`` prints when the command could not start (exit code 2)."""
    print_json({"ok": False, "error": {"type": kind, "message": message, "status_code": status_code}})
