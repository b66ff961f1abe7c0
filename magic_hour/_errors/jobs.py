"""Errors of projects and their outputs: a project failed or did not finish in time, an output could
not be downloaded or written."""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple, Type

import httpx

from .._redact import redact, request_of, safe_request, safe_response
from .base import MagicHourError, publish, rebuild_error


class ProjectFailedError(MagicHourError):
    """A project (or face detection) ended in ``error`` or ``canceled``.

    Raised by ``wait()`` and by ``generate(..., raise_on_failure=True)``; ``check_result`` and
    ``generate`` return the project instead by default, as the official SDK does.

    Attributes:
        project: the project as last fetched (its ``error`` field has the details).
        id: the project's id.
        status: ``"error"`` or ``"canceled"``.
        code: the project's ``error.code``, if any.
        error_message: the project's ``error.message``, if any.
    """

    def __init__(self, project: Any) -> None:
        self.project = project
        self.id = str(getattr(project, "id", ""))
        self.status = str(getattr(project, "status", ""))
        error = getattr(project, "error", None)
        code = getattr(error, "code", None)
        message = getattr(error, "message", None)
        self.code: Optional[str] = code if isinstance(code, str) else None
        self.error_message: Optional[str] = message if isinstance(message, str) else None
        detail = redact(": ".join(x for x in (self.code, self.error_message) if x), [])  # bounded
        super().__init__(
            f"project {self.id} ended with status {self.status!r}" + (f" ({detail})" if detail else "")
        )


class ProjectTimeoutError(MagicHourError, TimeoutError):
    """``wait()`` gave up after ``timeout`` seconds; the project may still finish later.

    Attributes:
        project: the project as last fetched (``None`` when no poll answered in time).
        id: the project's id.
        status: its last status seen (``"queued"``, ``"rendering"``...; ``""`` when none was).
        timeout: the seconds waited.
    """

    def __init__(self, project: Any, timeout: float, *, id: str = "", reason: Optional[str] = None) -> None:
        self.project = project
        self.id = str(getattr(project, "id", "") or id)
        self.status = str(getattr(project, "status", ""))
        self.timeout = timeout
        if project is not None:
            seen = f"project {self.id} is still {self.status!r} after {timeout:g} s"
        else:
            seen = f"no status of project {self.id} could be read within {timeout:g} s"
        why = f" (the last poll: {redact(reason, [])})" if reason else ""
        super().__init__(f"{seen}{why}; wait again, or pass a larger timeout=")


class DownloadError(MagicHourError):
    """An output could not be downloaded (after retries and resumes). Nothing is left under its name.

    Attributes:
        url: the download URL without its query (the signature is a credential).
        path: where it was to be written.
        status_code: the HTTP status when the server refused it, else ``None``.
    """

    def __init__(self, message: str, *, url: str, path: str, status_code: Optional[int] = None) -> None:
        self.url = url
        self.path = path
        self.status_code = status_code
        super().__init__(message)


class DownloadStatusError(DownloadError, httpx.HTTPStatusError):
    """The download host answered an error status (after retries), or redirected more than the SDK
    follows.

    Also an :class:`httpx.HTTPStatusError`, what the official SDK raises here (its
    ``response.raise_for_status()``): ``.response`` is the answer (status and headers; its body is never
    read, so ``.response.content`` is empty) and ``.request`` the ``GET`` it answered, both without the
    URL's signed query or any cookie.
    """

    response: httpx.Response

    def __init__(self, message: str, *, url: str, path: str, response: httpx.Response) -> None:
        httpx.HTTPError.__init__(self, message)
        self.url = url
        self.path = path
        self.status_code = response.status_code
        self.response = safe_response(response, scrub_urls=True)
        request = request_of(self.response)
        if request is not None:
            self.request = request


class DownloadConnectionError(DownloadError, httpx.TransportError):
    """No usable answer from the download host (after retries and resumes): the connection was refused,
    reset or dropped mid-body.

    Also an :class:`httpx.TransportError`, as what the official SDK raises here (``httpx.ConnectError``,
    ``httpx.RemoteProtocolError``...); ``.request`` is the ``GET``, without the URL's signed query.
    """

    def __init__(self, message: str, *, url: str, path: str, request: Optional[httpx.Request] = None) -> None:
        httpx.TransportError.__init__(
            self, message, request=safe_request(request) if request is not None else None
        )
        self.url = url
        self.path = path
        self.status_code = None


class DownloadTimeoutError(DownloadConnectionError, httpx.TimeoutException):
    """...or it timed out (connect, read, write or pool timeout); also an :class:`httpx.TimeoutException`."""


class DownloadDecodingError(DownloadError, httpx.DecodingError):
    """The download host sent the file in a ``Content-Encoding`` that could not be decoded within bounds:
    a corrupt stream, a decompression bomb, an unknown or too deep coding.

    Also an :class:`httpx.DecodingError`, what the official SDK raises for a body that does not decode;
    ``.request`` is the ``GET``, without the URL's signed query.
    """

    def __init__(self, message: str, *, url: str, path: str, request: Optional[httpx.Request] = None) -> None:
        httpx.DecodingError.__init__(
            self, message, request=safe_request(request) if request is not None else None
        )
        self.url = url
        self.path = path
        self.status_code = None


class DownloadWriteError(DownloadError, OSError):
    """An output could not be written: the disk is full, the directory is not writable... The partial
    file is removed; ``errno`` is the operating system's."""

    def __init__(self, message: str, *, url: str, path: str, errno: Optional[int] = None) -> None:
        super().__init__(message, url=url, path=path)
        self.errno = errno

    def __reduce__(self) -> Tuple[Any, ...]:
        # errno lives in OSError's own slot, not in __dict__: carry it across pickling explicitly.
        return (rebuild_write_error, (type(self), self.args, self.__dict__, self.errno))


def rebuild_write_error(
    cls: Type[DownloadWriteError], args: Tuple[Any, ...], state: Dict[str, Any], errno: Optional[int]
) -> MagicHourError:
    error = rebuild_error(cls, args, state)
    error.errno = errno  # type: ignore[attr-defined]
    return error


rebuild_write_error.__qualname__ = (
    "_rebuild_write_error"  # pickles name magic_hour._exceptions._rebuild_write_error
)


publish(
    rebuild_write_error,
    ProjectFailedError,
    ProjectTimeoutError,
    DownloadError,
    DownloadStatusError,
    DownloadConnectionError,
    DownloadTimeoutError,
    DownloadDecodingError,
    DownloadWriteError,
)
