"""Errors of batches (``client.batches``): the journal a batch keeps its state in.

Import them from :mod:`magic_hour._exceptions` (or :mod:`magic_hour`).
"""

from __future__ import annotations

from typing import Optional

from .base import MagicHourError, publish


class JournalError(MagicHourError):
    """A batch journal cannot be used: not a journal of this SDK, written by a newer version, or it
    belongs to another output folder. ``.path`` is the journal's file."""

    def __init__(self, message: str, *, path: str) -> None:
        self.path = path
        super().__init__(message)


class JournalInUseError(JournalError):
    """Another run holds the batch journal (in this process or another). Two runs on one journal would
    both start its items and pay twice, so the second refuses to start.

    ``.owner`` says who holds it when that run wrote it (``"pid 4242 on host, since 2026-12-07 08:46:03
    UTC"``), else ``None``. The hold ends with that run, however it ends (``kill -9`` included): the
    operating system releases it."""

    def __init__(self, message: str, *, path: str, owner: Optional[str] = None) -> None:
        self.owner = owner
        super().__init__(message, path=path)


publish(
    JournalError,
    JournalInUseError,
)
