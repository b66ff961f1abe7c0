"""Waiting for a project, written once as a generator flow (no I/O), run by the sync and async drivers.

The flow yields :data:`POLL` (fetch the project; the driver sends back the parsed model) or a
:class:`~magic_hour._core.retry.Sleep`. It polls fast at first and backs off as the wait grows, so a
finished project is noticed within ``max(0.5 s, 10%)`` of the time waited, without hammering the API
during long renders. API errors and ``Retry-After`` are the core's business: each poll is an ordinary
request, with its retries.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any, Callable, FrozenSet, Generator, List, Mapping, Optional, Sequence, Union, cast

from .._core.config import FOREVER
from .._core.request import ApiRequest, path_segment
from .._core.retry import Sleep
from .._exceptions import ApiError, InvalidParameterError, ProjectFailedError, ProjectTimeoutError
from .events import Emitter, ProjectStatus, check_callback

POLL_INTERVAL_ENV = "MAGIC_HOUR_POLL_INTERVAL"
FIRST_POLL_DELAY = 0.25
"""Seconds between the first polls."""
BACKOFF_FRACTION = 0.08
"""The interval grows to this fraction of the time waited (under 10%, leaving room for the poll itself)."""
MAX_POLL_INTERVAL = 15.0
"""The interval never exceeds this (a 10-minute render is noticed within 15 s of completing)."""
MIN_FIXED_INTERVAL = 0.01
"""The shortest fixed ``poll_interval``: 100 polls a second, a local fake's pace (against the API,
anything under the adaptive first 0.25 s only spends requests)."""
MAX_FIXED_INTERVAL = 86400.0
"""The longest fixed ``poll_interval``: a day (a wait's ``timeout`` cuts any interval short anyway)."""
INTERVAL_ALLOWED = f"a number of seconds from {MIN_FIXED_INTERVAL:g} to {MAX_FIXED_INTERVAL:g} (a day)"
ENV_INTERVAL_ALLOWED = f"a number of seconds from 0 to {MAX_FIXED_INTERVAL:g} (a day)"


@dataclass(frozen=True)
class ProjectKind:
    """How a kind of project is polled and what it produced."""

    name: str
    get_path: str
    """``GET`` path template with ``{id}``."""
    terminal: FrozenSet[str]
    failed: FrozenSet[str]
    outputs: Callable[[Any], List[str]]
    """The project's download URLs, once complete."""


def _urls(items: object) -> List[str]:
    listed: Sequence[object] = cast("Sequence[object]", items) if isinstance(items, (list, tuple)) else ()
    return [str(getattr(item, "url", "")) for item in listed]


def _downloads(project: Any) -> List[str]:
    return _urls(getattr(project, "downloads", None))


def _faces(project: Any) -> List[str]:
    return _urls(getattr(project, "faces", None))


_PROJECT_END = frozenset({"complete", "error", "canceled"})
_FAILED = frozenset({"error", "canceled"})

KINDS: Mapping[str, ProjectKind] = {
    "video": ProjectKind("video", "/v1/video-projects/{id}", _PROJECT_END, _FAILED, _downloads),
    "image": ProjectKind("image", "/v1/image-projects/{id}", _PROJECT_END, _FAILED, _downloads),
    "audio": ProjectKind("audio", "/v1/audio-projects/{id}", _PROJECT_END, _FAILED, _downloads),
    "face_detection": ProjectKind(
        "face_detection",
        "/v1/face-detection/{id}",
        frozenset({"complete", "error"}),
        frozenset({"error"}),
        _faces,
    ),
}


def project_request(kind: ProjectKind, id: str) -> ApiRequest:
    """The ``GET`` of one project (the id stays in its path segment: it cannot reach another path)."""
    return ApiRequest("GET", kind.get_path.format(id=path_segment("id", id)))


def interval_or_env(poll_interval: Optional[float]) -> Optional[float]:
    """The interval asked for, else ``$MAGIC_HOUR_POLL_INTERVAL``, else ``None`` (adaptive)."""
    return check_interval(poll_interval) if poll_interval is not None else env_interval()


def kind_of(name: str) -> ProjectKind:
    try:
        return KINDS[name]
    except KeyError:
        raise InvalidParameterError("kind", name, ", ".join(KINDS)) from None


class _Poll:
    def __repr__(self) -> str:
        return "POLL"


POLL = _Poll()
"""Fetch the project once and send the parsed model back into the flow (or :class:`TimedOut`)."""


@dataclass(frozen=True)
class TimedOut:
    """Sent back for a poll that the wait's deadline ended (or that had no time left to start)."""

    cause: Optional[BaseException] = None


LAST_POLL_ROOM = 1.0
"""Seconds (at most a tenth of the timeout) left before the deadline for the last poll, which must end
by it: a wait never runs past its timeout, its polls included."""


def wait_deadline(timeout: Optional[float], clock: Callable[[], float] = time.monotonic) -> Optional[float]:
    """When a wait of ``timeout`` seconds starting now must end (``None``: never)."""
    return None if timeout is None else clock() + timeout


WaitFlow = Generator[Union[_Poll, Sleep], Any, Any]


def check_timeout(value: object, param: str = "wait_timeout") -> Optional[float]:
    """A wait's timeout; ``None``, ``inf`` and anything from ``FOREVER`` (31 years) up mean no limit
    (the deadline bounds the polls' sockets, and the OS cannot represent much more)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value < 0:
        raise InvalidParameterError(param, value, "a number of seconds >= 0, or None to wait without limit")
    return None if value >= FOREVER else float(value)


def _interval(value: object) -> Optional[float]:
    """``value`` as a fixed interval, if it is one within the bounds."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if MIN_FIXED_INTERVAL <= value <= MAX_FIXED_INTERVAL else None


def check_interval(value: object, param: str = "poll_interval") -> Optional[float]:
    if value is None:
        return None
    seconds = _interval(value)
    if seconds is None:
        raise InvalidParameterError(param, value, INTERVAL_ALLOWED + ", or None (adaptive)")
    return seconds


def env_interval(env: Mapping[str, str] = os.environ) -> Optional[float]:
    """``$MAGIC_HOUR_POLL_INTERVAL`` (the official SDK's knob), when set: within the bounds of
    ``poll_interval``, or 0."""
    raw = env.get(POLL_INTERVAL_ENV)
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    # The official SDK's knob keeps its meaning below the bound of poll_interval=: 0 polls without a
    # pause and 0.001 pauses a millisecond, as there (a test suite against a mock sets such values).
    if 0 <= value < MIN_FIXED_INTERVAL:
        return value + 0.0  # -0.0 is 0
    seconds = _interval(value)
    if seconds is None:
        raise InvalidParameterError(POLL_INTERVAL_ENV, raw, ENV_INTERVAL_ALLOWED)
    return seconds


def next_delay(elapsed: float, fixed: Optional[float]) -> float:
    """Seconds until the next poll: ``fixed`` if given, else adaptive."""
    if fixed is not None:
        return fixed
    return min(MAX_POLL_INTERVAL, max(FIRST_POLL_DELAY, BACKOFF_FRACTION * elapsed))


def wait_flow(
    kind: ProjectKind,
    *,
    timeout: Optional[float],
    poll_interval: Optional[float],
    raise_on_failure: bool,
    emit: Callable[[ProjectStatus], None],
    first: Any = None,
    clock: Callable[[], float] = time.monotonic,
    id: str = "",
) -> WaitFlow:
    """Poll until the project reaches a terminal status and return it.

    ``first`` is a project already fetched (no poll needed for it). Raises :class:`ProjectTimeoutError`
    at the end of ``timeout`` seconds: the last poll starts :data:`LAST_POLL_ROOM` (at most a tenth of
    the timeout) before it, so that it ends by it; a poll the deadline cuts (or whose retry would end
    after it) is sent back as :class:`TimedOut` and ends the wait at once. Raises
    :class:`ProjectFailedError` for a failed status when ``raise_on_failure``.
    """
    start = clock()
    project = first if first is not None else (yield POLL)
    previous: Optional[str] = None
    last: Any = None
    while True:
        if isinstance(project, TimedOut):
            answer = getattr(project.cause, "__cause__", None)  # an error status the deadline left unretried
            reason = str(answer) if isinstance(answer, ApiError) else None
            raise ProjectTimeoutError(last, timeout or 0.0, id=id, reason=reason) from project.cause
        if isinstance(project, BaseException):
            # The drivers send back raw httpx errors as outcomes (ours they re-raise); a poll goes
            # through the core, which maps them, so this only guards against a raw one slipping by.
            raise project
        status = str(getattr(project, "status", ""))
        elapsed = clock() - start
        emit(ProjectStatus(str(getattr(project, "id", "")), status, elapsed, status != previous))
        previous, last = status, project
        if status in kind.terminal:
            if raise_on_failure and status in kind.failed:
                raise ProjectFailedError(project)
            return project
        delay = next_delay(elapsed, poll_interval)
        if timeout is not None:
            room = timeout - elapsed - min(LAST_POLL_ROOM, timeout / 10)
            if room <= 0:  # no time left for a poll that ends by the deadline: give up at the deadline
                if timeout > elapsed:
                    yield Sleep(timeout - elapsed)
                raise ProjectTimeoutError(project, timeout, id=id)
            delay = min(delay, room)
        yield Sleep(delay)
        project = yield POLL


@dataclass(frozen=True)
class WaitCall:
    """A checked wait: its flow, the ``GET`` it polls with, and when it must end."""

    flow: WaitFlow
    request: ApiRequest
    deadline: Optional[float]


def setup_wait(
    kind: str,
    id: str,
    timeout: Optional[float],
    poll_interval: Optional[float],
    raise_on_failure: bool,
    on_progress: Optional[Callable[[ProjectStatus], object]],
    emit: Optional[Emitter],
) -> WaitCall:
    """The wait's flow (:func:`wait_flow`), the ``GET`` it polls with and its deadline, which bounds
    the polls too (their attempts, retries and ``Retry-After`` waits)."""
    check_callback(on_progress)
    spec = kind_of(kind)
    seconds = check_timeout(timeout)
    flow = wait_flow(
        spec,
        timeout=seconds,
        poll_interval=interval_or_env(poll_interval),
        raise_on_failure=raise_on_failure,
        emit=emit or Emitter(on_progress),
        id=id,
    )
    return WaitCall(flow, project_request(spec, id), wait_deadline(seconds))
