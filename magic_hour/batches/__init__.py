"""Batches: many jobs (one tool over a folder, or a list of jobs), resumable after any crash, never
paying twice.

import magic_hour
from magic_hour import batches

with magic_hour.Client() as client:
    summary = client.batches.run(batches.each_file("image_background_remover", "photos/"), output_dir="out")

A journal (an SQLite file, ``out/magic-hour-batch.sqlite`` here) records each step of each item before
the next one starts: running the same call again resumes every item where it was, and never creates one
twice. ``status``, ``items`` and ``resolve`` read and settle a journal without a client. See
``docs/batches.md``.
"""

from .._errors.batches import JournalError, JournalInUseError
from ._api import DEFAULT_MAX_JOBS, AsyncBatches, Batches, items, resolve, status
from ._plan import BatchJob, each_file
from ._types import STATES, BatchItem, BatchSummary, BatchUpdate, ItemFailure

__all__ = [
    "DEFAULT_MAX_JOBS",
    "STATES",
    "AsyncBatches",
    "BatchItem",
    "BatchJob",
    "BatchSummary",
    "BatchUpdate",
    "Batches",
    "ItemFailure",
    "JournalError",
    "JournalInUseError",
    "each_file",
    "items",
    "resolve",
    "status",
]
