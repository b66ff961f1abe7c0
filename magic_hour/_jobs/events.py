"""The typed progress events of a job, and the callback that receives them.

One callback follows a whole ``generate()``: :class:`~magic_hour.UploadProgress` while inputs upload
(bytes per file), :class:`ProjectStatus` at every poll (queued, rendering, ... with the time elapsed),
:class:`DownloadProgress` while outputs download (bytes per file), and :class:`JobDone` once at the end.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Tuple, Union

from .._exceptions import InvalidParameterError
from .._upload.bodies import is_coroutine_function
from .._upload.flow import UploadProgress


@dataclass(frozen=True)
class ProjectStatus:
    """The project's status at one poll.

    Attributes:
        id: the project's id.
        status: ``"queued"``, ``"rendering"``, ``"complete"``, ``"error"``, ``"canceled"``...
        elapsed: seconds since the wait started.
        changed: whether the status differs from the previous poll's (always true for the first).
    """

    id: str
    status: str
    elapsed: float
    changed: bool


@dataclass(frozen=True)
class DownloadProgress:
    """``bytes_received`` of ``total`` (``None`` when the server does not say) for output ``index``,
    written to ``path``. ``bytes_received`` goes back to 0 when a server that ignores ``Range`` forces a
    download to restart."""

    index: int
    path: str
    bytes_received: int
    total: Optional[int]


@dataclass(frozen=True)
class JobDone:
    """The job is over: the project's final ``status`` and the files written (empty if none)."""

    id: str
    status: str
    elapsed: float
    downloaded_paths: Tuple[str, ...] = field(default=())


JobEvent = Union[UploadProgress, ProjectStatus, DownloadProgress, JobDone]
"""Any event a job's ``on_progress`` callback receives."""

JobProgressCallback = Callable[[JobEvent], object]
"""``generate``'s ``on_progress``."""
StatusCallback = Callable[[ProjectStatus], object]
"""``wait``'s ``on_progress``."""
DownloadProgressCallback = Callable[[DownloadProgress], object]
"""``download``'s ``on_progress``."""


def check_callback(on_progress: object) -> None:
    if on_progress is not None and not callable(on_progress):
        raise InvalidParameterError("on_progress", on_progress, "a callable taking a progress event, or None")
    if is_coroutine_function(on_progress):
        # It would never be awaited (the job runner calls it synchronously, from worker threads too).
        raise InvalidParameterError(
            "on_progress", on_progress, "a plain function (async def callbacks are not awaited here)"
        )


class Emitter:
    """Calls the user's callback from one thread at a time (downloads run in several)."""

    def __init__(self, callback: Optional[Callable[[Any], object]]) -> None:
        self._callback = callback
        self._lock = threading.Lock()

    def __call__(self, event: JobEvent) -> None:
        if self._callback is not None:
            with self._lock:
                self._callback(event)

    @property
    def active(self) -> bool:
        return self._callback is not None
