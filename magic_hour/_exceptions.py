"""Every error the SDK raises derives from :class:`MagicHourError`.

The tree::

    MagicHourError
    ├── InvalidParameterError (also a ValueError)  bad input, raised before any request is sent
    │   └── InvalidFileError                       a file that cannot be uploaded (bad extension, no name...)
    │       └── MissingFileError (also a FileNotFoundError)  no such path (or a dangling symlink)
    ├── MissingTokenError                          no token given and $MAGIC_HOUR_API_TOKEN is unset
    ├── InsecureTransportError                     refusing to send the token over plain http
    ├── ClientClosedError (also a RuntimeError)    the client was used after close()/aclose()
    ├── ApiError                                   the API answered; .status_code .body .response .request_id
    │   ├── BadRequestError              400
    │   ├── AuthenticationError          401
    │   ├── PaymentRequiredError         402
    │   ├── PermissionDeniedError        403
    │   ├── NotFoundError                404
    │   ├── ConflictError                409
    │   ├── UnprocessableEntityError     422
    │   ├── RateLimitError               429
    │   ├── InternalServerError          5xx
    │   └── ApiResponseValidationError   a 2xx whose body is not JSON or does not fit the model
    ├── ApiConnectionError (also an httpx.TransportError)  no response: DNS, refused, reset...
    │   └── ApiTimeoutError (also an httpx.TimeoutException) ...or the timeout ran out
    ├── StorageError (also an httpx.HTTPStatusError)  the storage refused an upload PUT; .status_code
    │                                              .response .request
    ├── UploadUrlsMismatchError (also a ValueError)  upload-urls answered with unusable URLs (count, scheme)
    ├── UploadError                                some uploads of a batch failed; .results per file
    ├── ProjectFailedError                         a project ended in error or canceled; .project .code
    ├── ProjectTimeoutError (also a TimeoutError)  wait() gave up; .project holds the last status seen
    └── DownloadError                              an output could not be downloaded; .url (no query)
        └── DownloadWriteError (also an OSError)   ...or not written: disk full, directory not writable

Other status codes (405, 418, ...) raise a plain :class:`ApiError`. Messages never include the token
or the signed query of an upload URL.

The second base classes are what the official ``magic-hour`` package raises in the same situation, so
that an ``except FileNotFoundError`` / ``ValueError`` / ``httpx.HTTPStatusError`` / ``httpx.HTTPError``
written for it still catches ours (``docs/migrating.md`` has the table).
"""

from __future__ import annotations

from json import JSONDecodeError
from typing import TYPE_CHECKING, Any, Dict, Optional, Sequence, Tuple, Type

import httpx

from ._redact import bearer_token, redact, safe_request, safe_response, sanitized_state, short_repr

if TYPE_CHECKING:
    from ._upload.results import UploadResult

__all__ = [
    "ApiConnectionError",
    "ApiError",
    "ApiResponseValidationError",
    "ApiTimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConflictError",
    "DownloadError",
    "DownloadWriteError",
    "InsecureTransportError",
    "InternalServerError",
    "InvalidFileError",
    "InvalidParameterError",
    "MagicHourError",
    "MissingFileError",
    "MissingTokenError",
    "NotFoundError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "ProjectFailedError",
    "ProjectTimeoutError",
    "RateLimitError",
    "StorageError",
    "UnprocessableEntityError",
    "UploadError",
    "UploadUrlsMismatchError",
]


class MagicHourError(Exception):
    """Base class of every error raised by this SDK."""

    def __reduce__(self) -> Tuple[Any, ...]:
        # Subclasses take keyword-only or no arguments, so the default (``cls(*args)``) cannot rebuild
        # them: an error crossing a process boundary (ProcessPoolExecutor, multiprocessing) would turn
        # into a TypeError. Rebuild from the message and attributes instead, without ``__init__``.
        # Requests and responses are replaced by copies without credentials (the Authorization header,
        # a signed query): a pickle goes to other processes, queues and disks.
        return (_rebuild_error, (type(self), self.args, sanitized_state(self.__dict__)))


def _rebuild_error(cls: Type[MagicHourError], args: Tuple[Any, ...], state: Dict[str, Any]) -> MagicHourError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class InvalidParameterError(MagicHourError, ValueError):
    """A parameter has a value the API does not accept. Raised before any request is sent.

    ``param`` names the parameter (``"items[1].extension"``), ``value`` is what was given and
    ``allowed`` describes what is accepted.
    """

    def __init__(self, param: str, value: object, allowed: str, *, reason: Optional[str] = None) -> None:
        self.param = param
        self.value = value
        self.allowed = allowed
        self.reason = reason
        why = f" ({reason})" if reason else ""
        super().__init__(f"invalid {param}: {short_repr(value)}{why}; allowed: {allowed}")


class InvalidFileError(InvalidParameterError):
    """A file given to ``upload_file``/``upload_files`` cannot be uploaded (named in the message)."""


class MissingFileError(InvalidFileError, FileNotFoundError):
    """The path given to ``upload_file``/``upload_files`` does not exist (or is a symlink to nothing).

    Also a :class:`FileNotFoundError` whose message starts as the official SDK's (``File not found:
    <path>``). ``errno`` and ``filename`` stay ``None``, as there, so that ``str()`` is that message.
    """

    def __init__(self, path: str, *, param: str = "file") -> None:
        super().__init__(param, path, "a path to an existing file", reason="no such file")
        shown = path if path.isprintable() else repr(path)
        self.args = (f"File not found: {shown}; allowed: a path to an existing file",)

    def __reduce__(self) -> Tuple[Any, ...]:
        # Rebuilt by its constructor: an OSError subclass cannot be made by the generic rebuild's
        # ``cls.__new__(cls)``. Its state is the path and plain strings, nothing secret.
        return (type(self), (self.value,), dict(self.__dict__))


class MissingTokenError(MagicHourError):
    """No API token: pass ``token=`` or set ``MAGIC_HOUR_API_TOKEN``."""

    def __init__(self) -> None:
        super().__init__(
            "no API token: pass Client(token=...) or set the MAGIC_HOUR_API_TOKEN environment variable"
        )


class InsecureTransportError(MagicHourError):
    """The token would travel in clear text over ``http://`` to a host that is not loopback."""


class ClientClosedError(MagicHourError, RuntimeError):
    """The client (or the ``httpx_client`` it was lent) was used after it was closed."""

    def __init__(self, message: str = "") -> None:
        super().__init__(
            message
            or "this client is closed: make a new Client, or keep using it inside `with Client() as client:`"
        )


class _FromResponse:
    """The default of ``ApiError(body=...)``: parse the response, as the official constructor does."""

    def __repr__(self) -> str:
        return "<the response's JSON>"


_FROM_RESPONSE: Any = _FromResponse()


class ApiError(MagicHourError):
    """The API answered with an error status (or a 2xx body that could not be parsed).

    Attributes:
        status_code: the HTTP status code.
        body: the parsed JSON body, or the text if it is not JSON, or ``None`` if empty.
        response: the :class:`httpx.Response`.
        request_id: the ``x-request-id`` response header, if any (quote it to support).
    """

    status_code: Optional[int]
    body: Any
    response: httpx.Response
    request_id: Optional[str]

    def __init__(
        self, message: Optional[str] = None, *, response: httpx.Response, body: Any = _FROM_RESPONSE
    ) -> None:
        """``ApiError(message, response=..., body=...)``, or the official SDK's ``ApiError(response=...)``:
        then ``body`` is the response's JSON (``None`` if it is not JSON) and the message comes from it."""
        if body is _FROM_RESPONSE:
            try:
                body = response.json()
            except (JSONDecodeError, UnicodeDecodeError, httpx.ResponseNotRead, RecursionError):
                body = None
        if message is None:
            # Bounded, and without the token should the server have echoed it.
            token = bearer_token(response._request)  # pyright: ignore[reportPrivateUsage]
            message = redact(_message_of(body) or response.reason_phrase or "error", [token])
        self.status_code = response.status_code
        self.body = body
        self.response = response
        self.request_id = response.headers.get("x-request-id")
        self.message = message
        super().__init__(message)

    def __str__(self) -> str:
        rid = f" (request id {self.request_id})" if self.request_id else ""
        return f"{self.status_code}: {self.message}{rid}"


class BadRequestError(ApiError):
    """400: the request was malformed."""


class AuthenticationError(ApiError):
    """401: the token is missing, invalid or revoked."""


class PaymentRequiredError(ApiError):
    """402: the account has no credits left for this request."""


class PermissionDeniedError(ApiError):
    """403: the token may not do this."""


class NotFoundError(ApiError):
    """404: no such resource."""


class ConflictError(ApiError):
    """409: conflicts with the current state (retried by default)."""


class UnprocessableEntityError(ApiError):
    """422: the API rejected a parameter's value."""


class RateLimitError(ApiError):
    """429: too many requests (retried by default, honouring Retry-After)."""


class InternalServerError(ApiError):
    """5xx: the API failed (retried by default)."""


class ApiResponseValidationError(ApiError):
    """A 2xx response whose body is not valid JSON or does not match the documented model.

    ``body`` keeps what was received (parsed JSON, or the raw text) so no data is lost.
    """


class ApiConnectionError(MagicHourError, httpx.TransportError):
    """No response was received: the connection failed, was refused or was reset.

    Also an :class:`httpx.TransportError` (so an ``httpx.HTTPError`` handler catches it, as it catches the
    official SDK's ``httpx.ConnectError``); ``.request`` is the request that failed, as in httpx.
    """

    def __init__(self, message: str, *, request: Optional[httpx.Request] = None) -> None:
        # A copy without credentials (a storage PUT's URL is signed); the body is not kept.
        httpx.TransportError.__init__(
            self, message, request=safe_request(request) if request is not None else None
        )


class ApiTimeoutError(ApiConnectionError, httpx.TimeoutException):
    """The request timed out (connect, read, write or pool timeout); also an :class:`httpx.TimeoutException`."""


class StorageError(MagicHourError, httpx.HTTPStatusError):
    """The storage answered an upload ``PUT`` with an error (after retries, and one re-presign if the
    URL had expired). The signed query of the URL never appears in the message.

    Also an :class:`httpx.HTTPStatusError`, what the official SDK raises here: ``.response`` is the
    storage's answer and ``.request`` the ``PUT`` it answered.
    """

    status_code: int
    response: httpx.Response

    def __init__(self, message: str, *, response: httpx.Response) -> None:
        httpx.HTTPError.__init__(self, message)
        self.status_code = response.status_code
        # A copy whose request has no signed query (`repr(e.response.request)` must not show it), and
        # whose body is scrubbed the same way (storage errors may quote the signed URL).
        self.response = safe_response(response, scrub_urls=True)
        request = self.response._request  # pyright: ignore[reportPrivateUsage]  # .request raises when unset
        if request is not None:
            self.request = request


class UploadUrlsMismatchError(MagicHourError, ValueError):
    """The API's ``upload-urls`` answer cannot be used for the files asked for: a different number of
    upload URLs, or an upload URL that is not an absolute http(s) URL. Nothing was uploaded, and the
    call is not retried (the same answer would come back). Also a ``ValueError``, as in the official SDK."""


class UploadError(MagicHourError):
    """One or more files could not be uploaded.

    ``results`` holds one :class:`~magic_hour.UploadResult` per input file, in input order:
    the ones that succeeded (with their ``file_path``) and the ones that failed (with ``error``).
    """

    def __init__(self, results: Sequence[UploadResult]) -> None:
        self.results = list(results)
        failed = self.failed
        lines = [f"{len(failed)} of {len(self.results)} uploads failed:"]
        lines.extend(f"  {r.name}: {r.error}" for r in failed)
        super().__init__("\n".join(lines))

    @property
    def succeeded(self) -> list[UploadResult]:
        """The results of the files that were uploaded (``file_path`` is set)."""
        return [r for r in self.results if r.error is None]

    @property
    def failed(self) -> list[UploadResult]:
        """The results of the files that were not uploaded (``error`` is set)."""
        return [r for r in self.results if r.error is not None]


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
        project: the project as last fetched.
        id: the project's id.
        status: its last status seen (``"queued"``, ``"rendering"``...).
        timeout: the seconds waited.
    """

    def __init__(self, project: Any, timeout: float) -> None:
        self.project = project
        self.id = str(getattr(project, "id", ""))
        self.status = str(getattr(project, "status", ""))
        self.timeout = timeout
        super().__init__(
            f"project {self.id} is still {self.status!r} after {timeout:g} s; "
            "wait again, or pass a larger timeout="
        )


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


class DownloadWriteError(DownloadError, OSError):
    """An output could not be written: the disk is full, the directory is not writable... The partial
    file is removed; ``errno`` is the operating system's."""

    def __init__(self, message: str, *, url: str, path: str, errno: Optional[int] = None) -> None:
        super().__init__(message, url=url, path=path)
        self.errno = errno

    def __reduce__(self) -> Tuple[Any, ...]:
        # errno lives in OSError's own slot, not in __dict__: carry it across pickling explicitly.
        return (_rebuild_write_error, (type(self), self.args, self.__dict__, self.errno))


def _rebuild_write_error(
    cls: Type[DownloadWriteError], args: Tuple[Any, ...], state: Dict[str, Any], errno: Optional[int]
) -> MagicHourError:
    error = _rebuild_error(cls, args, state)
    error.errno = errno  # type: ignore[attr-defined]
    return error


_STATUS_ERRORS: Dict[int, Type[ApiError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: PaymentRequiredError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def error_class_for_status(status_code: int) -> Type[ApiError]:
    """The :class:`ApiError` subclass raised for an HTTP status code."""
    if status_code >= 500:
        return InternalServerError
    return _STATUS_ERRORS.get(status_code, ApiError)


def _message_of(body: Any) -> Optional[str]:
    """The ``message`` (else ``error`` or ``detail``) string of a JSON error body."""
    if isinstance(body, dict):
        for key in ("message", "error", "detail"):
            found: object = body.get(key)  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
            if isinstance(found, str) and found:
                return found
    return None
