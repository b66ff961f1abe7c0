"""Errors of an API call: the API answered with an error (:class:`ApiError` and one class per status),
or did not answer at all (:class:`ApiConnectionError`, :class:`ApiTimeoutError`)."""

from __future__ import annotations

from json import JSONDecodeError
from typing import Any, Dict, Optional, Type

import httpx

from .._redact import bearer_token, redact, request_of, safe_request
from .base import MagicHourError, publish


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
            token = bearer_token(request_of(response))
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


publish(
    ApiError,
    BadRequestError,
    AuthenticationError,
    PaymentRequiredError,
    PermissionDeniedError,
    NotFoundError,
    ConflictError,
    UnprocessableEntityError,
    RateLimitError,
    InternalServerError,
    ApiResponseValidationError,
    ApiConnectionError,
    ApiTimeoutError,
)
