"""When a job may start (pure: no I/O, no threads; the drivers hold it under their own lock).

Four things decide, checked by :meth:`Scheduler.admit` before every create:

- **the concurrency bound**: at most ``limit`` projects of this run render at once. It starts at the
  run's ``max_concurrent_jobs``. A 429 answering a create (the plan's limit of concurrent generations,
  or a rate limit) halves it (at most once per pause) and pauses new creates until one of the run's
  jobs ends or the back-off passes; each create accepted raises it by ``1/limit``, so it climbs back by
  one per round of jobs (additive increase, multiplicative decrease, as TCP does);
- **the budget**: once the credits charged reach ``max_credits``, no job starts; jobs already started finish.
  A create waits while the creates in flight, each at the highest price its tool cost so far, could use
  what is left;
- **a refusal that may be the plan's limit**: the API's description documents no answer for a create
  beyond the plan's concurrent generations (its creates answer ``400`` and ``422`` to what they refuse),
  so a 400 or 422 is judged once the run's creates in flight have their answers (no create starts
  meanwhile): if a project of the run renders then, the refusal may be the limit, the bound comes down
  to the jobs holding slots and new creates wait for one of them to end; the item tries again then (five
  times at most). With nothing of the run rendering, the item is refused for itself and fails at once;
- **a stop**: an interrupt, or an answer that no other job can succeed after (402: no credits left;
  401/403).
"""

from __future__ import annotations

import time
from typing import Callable, Dict, Optional

FIRST_BACKOFF = 1.0
MAX_BACKOFF = 60.0


class Scheduler:
    def __init__(
        self,
        max_jobs: int,
        max_credits: Optional[int],
        spent: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_jobs = max_jobs
        self.limit = float(max_jobs)
        self.max_credits = max_credits
        self.spent = spent
        self.clock = clock
        self.running = 0
        """Jobs holding a slot: from just before their create until their project ends."""
        self.creating: Dict[str, int] = {}
        """Creates in flight, per tool."""
        self.prices: Dict[str, int] = {}
        """The highest credits a create of each tool charged so far."""
        self.paused_until = 0.0
        self.pause_ends_on_release = False
        self.throttles = 0
        """429s in a row (the back-off doubles with each)."""
        self.stopped: Optional[str] = None
        self.judging = 0
        """Refusals waiting for the creates in flight to be answered (see :meth:`verdict`)."""

    @property
    def concurrency(self) -> int:
        return max(1, int(self.limit))

    def reserved(self) -> int:
        return sum(self.prices.get(tool, 0) * n for tool, n in self.creating.items())

    def budget_spent(self) -> bool:
        return self.max_credits is not None and self.spent >= self.max_credits

    def admit(self, tool: str) -> Optional[float]:
        """``0`` when a create of ``tool`` may start now (its slot taken), ``None`` when none will
        (stopped, or the budget is spent: the stop is recorded), else seconds to wait at most before
        asking again (the drivers also ask again whenever a job ends)."""
        if self.stopped is not None:
            return None
        if self.budget_spent():
            self.stopped = "budget"
            return None
        if self.max_credits is not None and self.spent + self.reserved() >= self.max_credits:
            return MAX_BACKOFF  # the creates in flight may use what is left: asked again when they end
        if self.judging:
            return MAX_BACKOFF  # asked again once the refusals are judged
        now = self.clock()
        if now < self.paused_until:
            return self.paused_until - now
        if self.running >= self.concurrency:
            return MAX_BACKOFF
        self.running += 1
        self.creating[tool] = self.creating.get(tool, 0) + 1
        return 0.0

    def may_start(self) -> bool:
        """Whether new items should still be prepared (uploaded) for a create."""
        if self.stopped is None and self.budget_spent():
            self.stopped = "budget"
        return self.stopped is None

    def hold(self) -> None:
        """A slot for a project created by an earlier run (it renders whatever the bound says)."""
        self.running += 1

    def created(self, tool: str, credits: int) -> None:
        """A create of ``tool`` was accepted; it charged ``credits``."""
        self._create_ended(tool)
        self.prices[tool] = max(self.prices.get(tool, 0), credits)
        self.throttles = 0
        if self.limit < self.max_jobs:
            self.limit = min(float(self.max_jobs), self.limit + 1.0 / self.concurrency)

    def not_created(self, tool: str) -> None:
        """A create of ``tool`` ended without a project (refused, failed, unknown): its slot is given back."""
        self._create_ended(tool)
        self.running = max(0, self.running - 1)

    def throttled(self, tool: str, retry_after: Optional[float]) -> None:
        """A create was answered 429: nothing started. Lower the bound, pause new creates."""
        self.not_created(tool)
        now = self.clock()
        if now >= self.paused_until:  # one decrease per pause: the 429s of one burst count once
            self.limit = max(1.0, self.limit / 2.0)
        self.throttles += 1
        backoff = min(MAX_BACKOFF, FIRST_BACKOFF * 2.0 ** (self.throttles - 1))
        wait = backoff if retry_after is None else min(max(retry_after, 0.0), MAX_BACKOFF)
        self.paused_until = max(self.paused_until, now + wait)
        # Without a server's word, a job of ours ending frees a place at the API: try again then.
        self.pause_ends_on_release = retry_after is None

    def refused(self, tool: str) -> None:
        """A create of ``tool`` was refused (400, 422: nothing started); its slot is given back. Whether
        the plan's limit of concurrent generations may be why is decided by :meth:`verdict`; no create
        starts until it is."""
        self.not_created(tool)
        self.judging += 1

    def verdict(self) -> Optional[bool]:
        """For a refusal (:meth:`refused`): ``None`` while creates of the run are in flight (they may be
        accepted: a refusal is judged on projects the API holds, not on creates it may refuse too);
        then ``True`` when a project of the run renders, as the limit (the API documents no answer of
        its own for it) may be why: the bound comes down to the jobs holding slots and new creates wait
        for one of them to end, then the item may try again. ``False``: nothing of the run renders, the
        refusal is the item's own."""
        rendering = self.running - sum(self.creating.values())
        if rendering <= 0 and self.creating and self.stopped is None:
            return None
        self.judging = max(0, self.judging - 1)
        if rendering <= 0:
            return False
        self.limit = max(1.0, min(self.limit, float(self.running)))
        self.paused_until = max(self.paused_until, self.clock() + MAX_BACKOFF)
        self.pause_ends_on_release = True
        return True

    def release(self, ended: bool = True) -> None:
        """A job gives its slot back: its project ended (``ended``), or the run stopped waiting for it."""
        self.running = max(0, self.running - 1)
        if ended and self.pause_ends_on_release:
            self.paused_until = 0.0
            self.pause_ends_on_release = False

    def charge(self, delta: int) -> None:
        self.spent += delta

    def stop(self, reason: str) -> None:
        if self.stopped is None:
            self.stopped = reason

    def _create_ended(self, tool: str) -> None:
        left = self.creating.get(tool, 0) - 1
        if left > 0:
            self.creating[tool] = left
        else:
            self.creating.pop(tool, None)
