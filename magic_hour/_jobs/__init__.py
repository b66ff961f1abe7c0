"""The workflow runner: local inputs -> one upload batch -> create -> adaptive wait -> concurrent downloads.

Pure flows (``inputs``, ``polling``, ``download_flow``, ``names``) and thin sync/async drivers
(``downloads``, ``runner``). Generated resources call :func:`sync_jobs` / :func:`async_jobs`.
"""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING

from .runner import AsyncJobs, SyncJobs

if TYPE_CHECKING:
    from .._core.transport import AsyncHTTP, SyncHTTP

__all__ = ["AsyncJobs", "SyncJobs", "async_jobs", "sync_jobs"]

_LOCK = threading.Lock()
_SYNC: weakref.WeakKeyDictionary[SyncHTTP, SyncJobs] = weakref.WeakKeyDictionary()
_ASYNC: weakref.WeakKeyDictionary[AsyncHTTP, AsyncJobs] = weakref.WeakKeyDictionary()


def sync_jobs(http: SyncHTTP) -> SyncJobs:
    """The runner of the client that owns ``http`` (one per client: it holds the upload cache)."""
    with _LOCK:
        runner = _SYNC.get(http)
        if runner is None:
            runner = _SYNC[http] = SyncJobs(http)
        return runner


def async_jobs(http: AsyncHTTP) -> AsyncJobs:
    """The runner of the client that owns ``http`` (one per client: it holds the upload cache)."""
    with _LOCK:
        runner = _ASYNC.get(http)
        if runner is None:
            runner = _ASYNC[http] = AsyncJobs(http)
        return runner
