"""The workflow runner: local inputs -> one upload batch -> create -> adaptive wait -> concurrent downloads.

Pure parts: ``events`` (the progress events), ``inputs`` (a body's local inputs, the upload cache),
``polling`` (the wait), ``steps`` (a call's checks and its end), ``names`` (where outputs go) and
``download_flow`` (one download, and its body's decoding). I/O: ``runner`` (the sync and async job
runners), ``downloads`` (their download drivers) and ``disk`` (the output file). Generated resources
call :func:`sync_jobs` / :func:`async_jobs`.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Callable, Union

from .runner import AsyncJobs, SyncJobs

if TYPE_CHECKING:
    from .._core.transport import AsyncHTTP, SyncHTTP

__all__ = ["AsyncJobs", "SyncJobs", "async_jobs", "sync_jobs"]

_LOCK = threading.Lock()  # two threads' first jobs on one client make one runner


def _held(http: Union[SyncHTTP, AsyncHTTP], make: Callable[[Any], object]) -> object:
    runner = http.jobs
    if runner is None:
        with _LOCK:
            runner = http.jobs
            if runner is None:
                runner = http.jobs = make(http)
    return runner


def sync_jobs(http: SyncHTTP) -> SyncJobs:
    """The runner of the client that owns ``http`` (one per client, held by its driver: it holds the
    client's upload engine and upload cache)."""
    runner = _held(http, SyncJobs)
    assert isinstance(runner, SyncJobs)
    return runner


def async_jobs(http: AsyncHTTP) -> AsyncJobs:
    """The runner of the client that owns ``http`` (one per client, held by its driver: it holds the
    client's upload engine and upload cache)."""
    runner = _held(http, AsyncJobs)
    assert isinstance(runner, AsyncJobs)
    return runner
