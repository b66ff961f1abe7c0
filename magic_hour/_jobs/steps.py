"""The pure steps of a job that the sync and async runners share (no I/O): checking what a call was
given before its first request, and ending it with the ``JobDone`` event. :mod:`.runner` adds only the
I/O (uploads, requests, downloads) around them, so that its two classes differ by ``await`` alone."""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Tuple, TypeVar, cast

from .._core.config import ClientConfig
from .._core.request import RequestOptions, resolve_options
from .._exceptions import InvalidParameterError, ProjectFailedError
from .._upload.batch import check_concurrency
from .events import DownloadProgress, Emitter, JobDone, check_callback
from .inputs import UploadPlan, substitute
from .names import check_directory, check_urls
from .polling import ProjectKind, check_interval, check_timeout, interval_or_env, kind_of

if TYPE_CHECKING:
    from pydantic import BaseModel

    from .events import JobProgressCallback

M = TypeVar("M", bound="BaseModel")


_RESOURCES = {"face_detection": "face_detection"}


def note_started(exc: BaseException, kind: str, project_id: object) -> None:
    """Say, on an error raised after ``generate()``'s create was answered (a poll or a download that
    failed, Ctrl-C, the caller's callback), which project started and how to pick it up: called again,
    ``generate()`` would start and bill a second one. A note (PEP 678): the error keeps its class and
    message; tracebacks show it (Python 3.11+, and anyio's ``exceptiongroup`` before). Not on a
    :class:`ProjectFailedError`: that project has ended, and the error holds it."""
    if isinstance(exc, ProjectFailedError):
        return
    resource = _RESOURCES.get(kind, f"{kind}_projects")
    what = "face detection" if kind == "face_detection" else f"{kind} project"
    note = (
        f"{what} {project_id!r} was started (its credits are spent) before this error; pick it up "
        f"without starting another: client.v1.{resource}.check_result(id={project_id!r}, "
        "wait_for_completion=True, download_outputs=True)"
    )
    notes: object = getattr(exc, "__notes__", None)
    if isinstance(notes, list):
        cast("List[str]", notes).append(note)
    else:  # what BaseException.add_note does, on every Python version; a type may refuse attributes
        with contextlib.suppress(AttributeError):
            setattr(exc, "__notes__", [note])  # noqa: B010


def upload_progress(emit: Optional[Emitter]) -> Optional[Emitter]:
    """The callback handed to the upload engine: none when nobody listens (no events to build)."""
    return emit if emit is not None and emit.active else None


PLACEHOLDER_PATH = "api-assets/not-uploaded-yet"
"""What a local input is checked as, before its upload: any uploaded ``file_path``."""


def check_job(
    on_progress: Optional[JobProgressCallback],
    download_directory: object,
    timeout: object,
    poll_interval: object,
    *,
    waits: bool,
    downloads: bool,
) -> None:
    """The checks of ``generate`` and ``check_result``, before their first request: every argument,
    used or not, and ``$MAGIC_HOUR_POLL_INTERVAL`` when the call waits (where it is read)."""
    check_callback(on_progress)
    directory = check_directory(download_directory)
    check_timeout(timeout)
    interval = check_interval(poll_interval)
    if waits:
        interval_or_env(interval)
    # A file there is found only once the outputs are ready, credits spent: refused now.
    if waits and downloads and directory is not None and os.path.isfile(directory):
        raise InvalidParameterError(
            "download_directory", directory, "a directory, or a path where one can be made", reason="a file"
        )


def start_generate(
    on_progress: Optional[JobProgressCallback],
    download_directory: object,
    timeout: object,
    poll_interval: object = None,
    *,
    waits: bool = True,
    downloads: bool = True,
) -> Tuple[float, Emitter]:
    """``generate``'s checks, before any request; its start time and emitter."""
    start, emit = time.monotonic(), Emitter(on_progress)
    check_job(on_progress, download_directory, timeout, poll_interval, waits=waits, downloads=downloads)
    return start, emit


def check_create(
    check: Optional[Callable[[Dict[str, Any]], object]],
    body: Mapping[str, Any],
    plan: Optional[UploadPlan],
    config: ClientConfig,
    request_options: Optional[RequestOptions],
) -> None:
    """The create's own checks of ``body`` (each local input in place as an uploaded path) and of its
    ``request_options``, so that what the create would refuse is refused before anything is uploaded."""
    resolve_options(config, request_options)
    if check is None:
        return
    if plan is None:
        check(dict(body))
        return
    uploaded = {location: PLACEHOLDER_PATH for locations in plan.slots for location in locations}
    check(substitute(body, {**uploaded, **plan.cached}))


@dataclass(frozen=True)
class DownloadCall:
    """A checked ``download`` call."""

    urls: List[str]
    directory: Optional[str]
    max_concurrency: int
    emit: Emitter


def check_download(
    urls: object,
    directory: object,
    max_concurrency: object,
    on_progress: Optional[Callable[[DownloadProgress], object]],
    emit: Optional[Emitter],
) -> DownloadCall:
    check_callback(on_progress)
    emit = emit or Emitter(on_progress)
    folder = check_directory(directory)
    return DownloadCall(check_urls(urls, folder), folder, check_concurrency(max_concurrency), emit)


@dataclass(frozen=True)
class ResultCall:
    """A checked ``check_result`` call."""

    spec: ProjectKind
    emit: Emitter
    start: float
    directory: Optional[str]


def start_check_result(
    kind: str,
    on_progress: Optional[JobProgressCallback],
    started: Optional[float],
    download_directory: object,
    timeout: object = None,
    poll_interval: object = None,
    *,
    waits: bool = True,
    downloads: bool = True,
) -> ResultCall:
    check_job(on_progress, download_directory, timeout, poll_interval, waits=waits, downloads=downloads)
    spec, emit = kind_of(kind), Emitter(on_progress)
    start = time.monotonic() if started is None else started
    return ResultCall(spec, emit, start, check_directory(download_directory))


def outputs_to_download(call: ResultCall, project: Any, download_outputs: bool) -> List[str]:
    """The download URLs of a ``complete`` project, when asked for; else none."""
    status = str(getattr(project, "status", ""))
    return call.spec.outputs(project) if download_outputs and status == "complete" else []


def end_job(call: ResultCall, project: M, id: str, paths: Optional[List[str]]) -> M:
    """Emit ``JobDone`` and return the project with its ``downloaded_paths`` (when the model has them)."""
    status = str(getattr(project, "status", ""))
    elapsed = time.monotonic() - call.start
    call.emit(JobDone(str(getattr(project, "id", id)), status, elapsed, tuple(paths or ())))
    if "downloaded_paths" in type(project).model_fields:
        return project.model_copy(update={"downloaded_paths": paths})
    return project
