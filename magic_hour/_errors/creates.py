"""A create whose outcome is unknown: the call that starts a project (and spends credits) was sent, and
what came back does not prove that nothing started.

The API takes no idempotency key, so such a call is not retried: a retry could start, and bill, a second
project. :class:`ProjectMayExistError` is the one class to catch; the error raised is one of its five
subclasses, each also the class the same failure raises for any other call (a 5xx:
:class:`InternalServerError`; a 408 or 303: :class:`ApiError`; no answer: :class:`ApiConnectionError`
or :class:`ApiTimeoutError`; a 2xx that cannot be read: :class:`ApiResponseValidationError`), so that
``except`` clauses written without it (the official package's ``except ApiError``, ``except
httpx.HTTPError``) still catch it.
"""

from __future__ import annotations

from typing import Any, Optional

import httpx

from .api import (
    ApiConnectionError,
    ApiError,
    ApiResponseValidationError,
    ApiTimeoutError,
    InternalServerError,
)
from .base import MagicHourError, publish

_WEBHOOK_KINDS = ("video", "image", "audio")  # face detections send no webhook event


def _advice(operation: str, kind: Optional[str], started: bool) -> str:
    """What may have happened, and how to find out (the message after the failure's own)."""
    if kind == "face_detection":
        what = "a face detection"
    else:
        what = f"{'an' if kind in ('image', 'audio') else 'a'} {kind or 'new'} project"
    if started:
        head = f"{operation} started {what} (and spent its credits), but its id cannot be read"
    else:
        head = f"{operation} may have started {what} (and spent its credits), and its id never came back"
    webhook = f", or in its '{kind}.started' webhook event" if kind in _WEBHOOK_KINDS else ""
    return (
        f"{head}. Before trying again (a second call starts and bills a second one), look for it in "
        f"your Magic Hour dashboard (https://magichour.ai){webhook}"
    )


class ProjectMayExistError(MagicHourError):
    """A create (a call that starts a project and spends credits) was sent, and what came back does not
    prove that nothing started: a 5xx, a 408 or 303, no answer in time, a connection closed before the
    answer, a 2xx that cannot be read. The project may exist, and be billed, with an id we never received.

    Not retried (``docs/reliability.md`` has the table): find out before trying again. Raised as one of
    its subclasses, each also the error the same failure raises for other calls.

    Attributes:
        operation: the call, e.g. ``"POST /v1/face-swap-photo"``.
        kind: the kind of project it starts (``"video"``, ``"image"``, ``"audio"``, ``"face_detection"``).
    """

    operation: str
    kind: Optional[str]


class ProjectMayExistServerError(ProjectMayExistError, InternalServerError):
    """A create was answered with a 5xx: the API, or a gateway in front of it, may have started the
    project before failing. Also an :class:`InternalServerError` (``.status_code``, ``.body``...)."""

    def __init__(
        self, message: str, *, operation: str, kind: Optional[str], response: httpx.Response, body: Any
    ) -> None:
        self.operation, self.kind = operation, kind
        super().__init__(f"{message}. {_advice(operation, kind, False)}", response=response, body=body)


class ProjectMayExistStatusError(ProjectMayExistError, ApiError):
    """A create was answered with a status below 500 that does not prove that nothing started: a ``408``
    (a gateway such as Envoy answers it when its idle timeout fires after it passed the request on) or a
    ``303`` (what a processed POST answers). Also an :class:`ApiError` (``.status_code``, ``.body``...)."""

    def __init__(
        self, message: str, *, operation: str, kind: Optional[str], response: httpx.Response, body: Any
    ) -> None:
        self.operation, self.kind = operation, kind
        super().__init__(f"{message}. {_advice(operation, kind, False)}", response=response, body=body)


class ProjectMayExistResponseError(ProjectMayExistError, ApiResponseValidationError):
    """A create was answered with a 2xx, so the project started, but the answer cannot be read; ``.body``
    keeps what came (the id, if it is there). Also an :class:`ApiResponseValidationError`."""

    def __init__(
        self, message: str, *, operation: str, kind: Optional[str], response: httpx.Response, body: Any
    ) -> None:
        self.operation, self.kind = operation, kind
        super().__init__(f"{message}. {_advice(operation, kind, True)}", response=response, body=body)


class ProjectMayExistConnectionError(ProjectMayExistError, ApiConnectionError):
    """A create was sent, and the connection failed before its answer came: the API may have received
    it. Also an :class:`ApiConnectionError` (an ``httpx.TransportError``)."""

    def __init__(
        self, message: str, *, operation: str, kind: Optional[str], request: Optional[httpx.Request] = None
    ) -> None:
        self.operation, self.kind = operation, kind
        super().__init__(f"{message}. {_advice(operation, kind, False)}", request=request)


class ProjectMayExistTimeoutError(ProjectMayExistConnectionError, ApiTimeoutError):
    """A create was sent, and its answer did not come in time. Also an :class:`ApiTimeoutError` (an
    ``httpx.TimeoutException``)."""


publish(
    ProjectMayExistError,
    ProjectMayExistServerError,
    ProjectMayExistStatusError,
    ProjectMayExistResponseError,
    ProjectMayExistConnectionError,
    ProjectMayExistTimeoutError,
)
