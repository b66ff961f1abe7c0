"""A batch's progress on stderr: items by state, credits, the rate and an ETA.

On a terminal, one status line rewritten in place (at most 5 times a second), with a line above it for
each item that fails or whose project may exist. Elsewhere (logs, pipes), one line per item that ends,
and the status line every 10 seconds.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TYPE_CHECKING, Mapping, Optional

from ._output import PROG, clean, say
from ._progress import Reporter

if TYPE_CHECKING:
    from ..batches import BatchUpdate

ENDED = ("downloaded", "failed", "unknown")


def _count(n: int) -> str:
    return f"{n:,}"


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def status_line(
    counts: Mapping[str, int], credits: int, elapsed: float, ended_here: int, concurrency: int
) -> str:
    """``[1,204/2,000] 1,200 done, 3 failed, 3 rendering, 794 to start; 6,020 credits; 2.1/s, ETA 6m19s``."""
    total = sum(counts.values())
    ended = sum(counts.get(state, 0) for state in ENDED)
    parts = [f"{_count(counts.get('downloaded', 0))} done"]
    for state, word in (("failed", "failed"), ("unknown", "may exist")):
        if counts.get(state):
            parts.append(f"{_count(counts[state])} {word}")
    rendering = counts.get("creating", 0) + counts.get("created", 0)
    if rendering:
        parts.append(f"{_count(rendering)} rendering (at most {concurrency})")
    if counts.get("finished"):
        parts.append(f"{_count(counts['finished'])} downloading")
    waiting = counts.get("planned", 0) + counts.get("uploaded", 0)
    if waiting:
        parts.append(f"{_count(waiting)} to start")
    line = f"[{_count(ended)}/{_count(total)}] {', '.join(parts)}; {_count(credits)} credits"
    if ended_here and elapsed > 0:
        rate = ended_here / elapsed
        left = total - ended
        line += f"; {rate:.1f}/s" + (f", ETA {_duration(left / rate)}" if left else "")
    return line


class BatchReporter(Reporter):
    """Receives the batch's ``BatchUpdate`` events (one at a time) and draws them."""

    def __init__(self, *, terminal: bool, quiet: bool = False) -> None:
        self._terminal = terminal
        self._quiet = quiet
        self._lock = threading.Lock()
        self._drawn = 0.0
        self._ended = 0
        self._line = ""
        self._stopped = False

    def __call__(self, update: BatchUpdate) -> None:
        with self._lock:
            if self._stopped or self._quiet:
                return
            item = update.item
            if item.state in ENDED and update.previous not in ENDED:
                self._ended += 1
            self._line = status_line(
                update.counts, update.credits_charged, update.elapsed, self._ended, update.concurrency
            )
            if item.state in ("failed", "unknown") or (not self._terminal and item.state in ENDED):
                self._above(self._item_line(update))
            now = time.monotonic()
            if self._terminal and now - self._drawn >= 0.2:
                self._draw()
                self._drawn = now
            elif not self._terminal and now - self._drawn >= 10:
                say(self._line)
                self._drawn = now

    @staticmethod
    def _item_line(update: BatchUpdate) -> str:
        item = update.item
        what = {
            "downloaded": "done",
            "failed": "failed",
            "unknown": "may exist (see magic-hour batch report)",
        }
        line = f"{item.label}: {what.get(item.state, item.state)}"
        if item.outputs and item.state == "downloaded":
            line += f" -> {', '.join(item.outputs)}"
        if item.failure is not None and item.state != "downloaded":
            line += f": {item.failure.message}"
        return line

    def _above(self, line: str) -> None:
        if self._terminal:
            sys.stderr.write("\r\x1b[2K")
        say(line)
        if self._terminal:
            self._draw()

    def _draw(self) -> None:
        sys.stderr.write(f"\r\x1b[2K{PROG}: {clean(self._line)}")
        sys.stderr.flush()

    def stop(self, final: Optional[str] = None) -> None:
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            if self._terminal and self._line and not self._quiet:
                sys.stderr.write("\r\x1b[2K")
                sys.stderr.flush()

    def interrupt(self) -> None:
        self.stop()
