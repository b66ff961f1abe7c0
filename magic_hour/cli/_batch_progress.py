"""A batch's progress on stderr: items by state, credits, the rate and an ETA.

On a terminal, one status line rewritten in place (at most 5 times a second), with a line above it for
each item that fails or whose project may exist. Elsewhere (logs, pipes), one line per item that ends,
and the status line every 10 seconds.
"""

from __future__ import annotations

import math
import shutil
import sys
import threading
import time
from typing import TYPE_CHECKING, List, Mapping, Optional, Tuple

from ._output import PROG, Reporter, clean, say

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
    counts: Mapping[str, int],
    credits: int,
    elapsed: float,
    ended_here: int,
    concurrency: int,
    width: Optional[int] = None,
) -> str:
    """``[1,204/2,000] 1,200 done, 3 failed, 3 rendering, 794 to start; 6,020 credits; 2.1/s, ETA 6m19s``.

    Within ``width`` characters (a terminal's line: a longer one would wrap, and the next draw would
    clear only its last row), the details go first, least telling first: downloading, to start,
    rendering, credits, failed; the counts, the rate and the ETA stay."""
    total = sum(counts.values())
    ended = sum(counts.get(state, 0) for state in ENDED)
    # (what it says, the order it goes in when the line is too long: higher first)
    parts: List[Tuple[str, int]] = [(f"{_count(counts.get('downloaded', 0))} done", 0)]
    for state, word in (("failed", "failed"), ("unknown", "may exist")):
        if counts.get(state):
            parts.append((f"{_count(counts[state])} {word}", 1))
    rendering = counts.get("creating", 0) + counts.get("created", 0)
    if rendering:
        parts.append((f"{_count(rendering)} rendering (at most {concurrency})", 3))
    if counts.get("finished"):
        parts.append((f"{_count(counts['finished'])} downloading", 5))
    waiting = counts.get("planned", 0) + counts.get("uploaded", 0)
    if waiting:
        parts.append((f"{_count(waiting)} to start", 4))
    money = (f"{_count(credits)} credits", 2)
    pace = ""
    if ended_here and elapsed > 0:
        rate = ended_here / elapsed
        left = total - ended
        # Rounded up: an ETA of 0s while items are left would say the batch is done.
        pace = f"{rate:.1f}/s" + (f", ETA {_duration(math.ceil(left / rate))}" if left else "")

    def line(kept: List[Tuple[str, int]]) -> str:
        shown = [text for text, _ in kept if text != money[0]]
        text = f"[{_count(ended)}/{_count(total)}] {', '.join(shown)}"
        if money in kept:
            text += f"; {money[0]}"
        return text + (f"; {pace}" if pace else "")

    kept = [*parts, money]
    text = line(kept)
    while width is not None and len(text) > width:
        droppable = [p for p in kept if p[1] > 0]
        if not droppable:
            return text[: max(width - 1, 0)] + "…" if width > 0 else ""
        kept.remove(max(droppable, key=lambda p: p[1]))
        text = line(kept)
    return text


class BatchReporter(Reporter):
    """Receives the batch's ``BatchUpdate`` events (one at a time) and draws them."""

    def __init__(self, *, terminal: bool, quiet: bool = False) -> None:
        self._terminal = terminal
        self._quiet = quiet
        self._lock = threading.Lock()
        self._drawn = 0.0
        self._ended = 0
        self._line = ""
        self._status: Optional[Tuple[Mapping[str, int], int, float, int, int]] = None
        self._stopped = False

    def __call__(self, update: BatchUpdate) -> None:
        with self._lock:
            if self._stopped or self._quiet:
                return
            item = update.item
            if item.state in ENDED and update.previous not in ENDED:
                self._ended += 1
            self._status = (
                update.counts,
                update.credits_charged,
                update.elapsed,
                self._ended,
                update.concurrency,
            )
            self._line = status_line(*self._status)
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
        # One row of the terminal as it is now (resized meanwhile, too), its last column left free.
        width = shutil.get_terminal_size().columns - len(PROG) - 3
        line = status_line(*self._status, width=width) if self._status else self._line
        sys.stderr.write(f"\r\x1b[2K{PROG}: {clean(line)}")
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
