"""Pure response handling: an :class:`httpx.Response` becomes a model or the matching exception."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Optional, Type, TypeVar, cast

import httpx

from .._exceptions import (
    ApiError,
    ApiResponseValidationError,
    InvalidParameterError,
    ProjectMayExistResponseError,
    ProjectMayExistServerError,
    ProjectMayExistStatusError,
    error_class_for_status,
)
from .._redact import bearer_token, redact, request_of
from .reading import SUCCESS_BODY_LIMIT, TRUNCATED, body_text, parse_json
from .request import path_segment

if TYPE_CHECKING:
    from pydantic import BaseModel

M = TypeVar("M", bound="BaseModel")


def decode_body(response: httpx.Response) -> Any:
    """The body as JSON if it parses (and is not nested too deeply), else as text, or ``None`` when
    empty. An error body was cut at ``ERROR_BODY_LIMIT`` bytes when read."""
    content = response.content
    if not content:
        return None
    try:
        return parse_json(content)
    except ValueError:
        return body_text(response, content)


def error_message(response: httpx.Response, body: Any) -> str:
    """The API's ``{"message": ...}``, else a short, safe summary of the body."""
    if isinstance(body, dict):
        fields = cast("Mapping[str, Any]", body)
        message = fields.get("message") or fields.get("error") or fields.get("detail")
        if isinstance(message, str) and message:
            return message
    if isinstance(body, str) and body.strip():
        text = " ".join(body.split())
        if not text.lstrip().startswith("<"):
            return text
    return response.reason_phrase or "error"


def _redact_token(message: str, response: httpx.Response) -> str:
    # Some servers echo the credential they refused ("invalid token sk-..."); it must not reach the
    # message, which ends up in logs and tracebacks. The body keeps what was received. Redacted before
    # the cut, and a tail that starts the token is redacted too.
    request = request_of(response)
    return redact(message, [bearer_token(request)])


def _operation(response: httpx.Response) -> str:
    request = request_of(response)
    return f"{request.method} {request.url.path}" if request is not None else "the create"


def refused(status_code: int) -> bool:
    """Whether an error status proves that the request was not acted on: a ``4xx`` or a redirect refuses
    it, except ``408`` (Envoy, in front of many APIs, answers ``408`` when its stream idle timeout fires
    after it passed the whole request on and before the answer's headers came back) and ``303`` (what a
    processed POST answers, its result elsewhere). A ``5xx`` proves nothing: the API, or a gateway after
    passing the request on, may have acted on it before failing."""
    return 300 <= status_code < 500 and status_code not in (303, 408)


def status_error(response: httpx.Response, creates: Optional[str] = None) -> ApiError:
    """The typed :class:`ApiError` for a non-2xx response; to a call that starts a project of kind
    ``creates``, an answer that does not prove that nothing started (a 5xx, 408, 303: not
    :func:`refused`) is a :class:`ProjectMayExistServerError` or, below 500,
    :class:`ProjectMayExistStatusError` (the project may have started)."""
    body = decode_body(response)
    message = _redact_token(error_message(response, body), response)
    if creates is not None and not refused(response.status_code):
        operation = _operation(response)
        if response.status_code >= 500:
            return ProjectMayExistServerError(
                message, operation=operation, kind=creates, response=response, body=body
            )
        return ProjectMayExistStatusError(
            message, operation=operation, kind=creates, response=response, body=body
        )
    cls = error_class_for_status(response.status_code)
    return cls(message, response=response, body=body)


def _invalid(response: httpx.Response, message: str, body: Any, creates: Optional[str]) -> ApiError:
    # A 2xx to a create: the project started, and its id may be lost with the answer.
    if creates is not None:
        operation = _operation(response)
        return ProjectMayExistResponseError(
            message, operation=operation, kind=creates, response=response, body=body
        )
    return ApiResponseValidationError(message, response=response, body=body)


def parse_response(response: httpx.Response, cast_to: Type[M], creates: Optional[str] = None) -> M:
    """Return the parsed model for a 2xx response, or raise the matching :class:`ApiError`. ``creates``:
    the kind of project the call starts (see :func:`status_error`)."""
    if not response.is_success:
        raise status_error(response, creates)
    from pydantic import ValidationError

    if response.extensions.get(TRUNCATED):
        limit = SUCCESS_BODY_LIMIT // (1024 * 1024)
        raise _invalid(response, f"the response body is larger than {limit} MiB; refused", None, creates)
    try:
        model = cast_to.model_validate_json(response.content)
    except (ValidationError, RecursionError) as exc:
        if isinstance(exc, RecursionError):
            message = f"the response does not match {cast_to.__name__}: JSON nested too deeply"
            raise _invalid(response, message, decode_body(response), creates) from None
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<body>'}: {err['msg']}" for err in exc.errors()[:5]
        )
        message = f"the response does not match {cast_to.__name__}: {problems}"
        raise _invalid(response, message, decode_body(response), creates) from None
    if creates is not None:
        # The id goes into the path of every later GET: one that would leave its segment (".", "..",
        # "") is the API's fault, not the caller's, and the project it names has started.
        root = getattr(model, "root", None)  # the command's raw answers: a RootModel of the JSON
        created = root.get("id") if isinstance(root, dict) else getattr(model, "id", None)  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
        try:
            if isinstance(created, str):
                path_segment("id", created)
        except InvalidParameterError as exc:
            detail = f" ({exc.reason})" if exc.reason else ""
            message = f"the response's id {created!r} cannot be used to look the project up{detail}"
            raise _invalid(response, message, decode_body(response), creates) from None
    return model
