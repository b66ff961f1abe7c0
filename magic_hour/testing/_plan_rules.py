"""What the plan knobs armed (``_plan_knobs``): the API consults it when a create comes in, under the
fake's lock."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

from ._project_store import ProjectStore

__all__ = ["CONCURRENCY_MESSAGE", "PlanRules"]

CONCURRENCY_MESSAGE = "Too many concurrent jobs: your plan allows {limit} at a time. Wait for one to finish."
"""The message of the refusal (the API's description documents no answer for this; a rate limiter's
429 with the API's ``{"message": ...}`` shape is what a client has to handle)."""


@dataclass
class PlanRules:
    """What :class:`PlanKnobs` armed (plain state: the fake's lock is held around every use)."""

    limit: Optional[int] = None
    status: int = 429
    retry_after: Optional[str] = None
    fail_share: float = 0.0
    fail_outcome: str = "error"
    rng: Optional[random.Random] = None

    def refusal(self, projects: ProjectStore) -> Optional[Tuple[int, Dict[str, Any], Dict[str, str]]]:
        """``(status, body, headers)`` when a new project would exceed the limit, else ``None``."""
        if self.limit is None or projects.active() < self.limit:
            return None
        headers = {"Retry-After": self.retry_after} if self.retry_after is not None else {}
        return self.status, {"message": CONCURRENCY_MESSAGE.format(limit=self.limit)}, headers

    def outcome(self) -> Optional[str]:
        """How a new project ends when the share says it fails, else ``None``."""
        if self.rng is not None and self.fail_share > 0 and self.rng.random() < self.fail_share:
            return self.fail_outcome
        return None
