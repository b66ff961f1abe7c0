"""Pure response handling: an :class:`httpx.Response` becomes a model or the matching exception."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Type, TypeVar, cast

import httpx

from .._exceptions import ApiError, ApiResponseValidationError, error_class_for_status
from .._redact import bearer_token, redact
from .reading import SUCCESS_BODY_LIMIT, TRUNCATED, body_text, parse_json

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
    request = response._request  # pyright: ignore[reportPrivateUsage]  # .request raises when unset
    return redact(message, [bearer_token(request)])


def status_error(response: httpx.Response) -> ApiError:
    """The typed :class:`ApiError` for a non-2xx response."""
    body = decode_body(response)
    cls = error_class_for_status(response.status_code)
    return cls(_redact_token(error_message(response, body), response), response=response, body=body)


def parse_response(response: httpx.Response, cast_to: Type[M]) -> M:
    """Return the parsed model for a 2xx response, or raise the matching :class:`ApiError`."""
    if not response.is_success:
        raise status_error(response)
    from pydantic import ValidationError

    if response.extensions.get(TRUNCATED):
        raise ApiResponseValidationError(
            f"the response body is larger than {SUCCESS_BODY_LIMIT // (1024 * 1024)} MiB; refused",
            response=response,
            body=None,
        )
    try:
        return cast_to.model_validate_json(response.content)
    except (ValidationError, RecursionError) as exc:
        if isinstance(exc, RecursionError):
            raise ApiResponseValidationError(
                f"the response does not match {cast_to.__name__}: JSON nested too deeply",
                response=response,
                body=decode_body(response),
            ) from None
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<body>'}: {err['msg']}" for err in exc.errors()[:5]
        )
        raise ApiResponseValidationError(
            f"the response does not match {cast_to.__name__}: {problems}",
            response=response,
            body=decode_body(response),
        ) from None
