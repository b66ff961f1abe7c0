"""Parsing a verified body into its typed event (the generated models of
:mod:`magic_hour.types.webhook_events`), or the typed error of a body that is not one."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from .._errors.webhooks import WebhookPayloadError
from .._redact import redact

if TYPE_CHECKING:
    import pydantic

    from ..types.webhook_events import WebhookEvent


@functools.cache
def _adapter() -> pydantic.TypeAdapter[Any]:
    # Built on first use: building the validator costs milliseconds, and verify_signature alone needs none.
    import pydantic

    from ..types.webhook_events import WebhookEvent

    return pydantic.TypeAdapter(WebhookEvent)


def parse_event(body: bytes) -> WebhookEvent:
    import pydantic

    try:
        event: WebhookEvent = _adapter().validate_json(body)
    except pydantic.ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        if first["type"] == "json_invalid":
            raise WebhookPayloadError(
                f"webhook body is not JSON: {redact(str(first['msg']), [], 200)}", reason="invalid_json"
            ) from None
        where = ".".join(str(p) for p in first["loc"] if not _is_tag(p))
        raise WebhookPayloadError(
            "webhook body is not a Magic Hour event: "
            + redact(f"{where or 'body'}: {first['msg']} ({exc.error_count()} error(s))", [], 200),
            reason="invalid_event",
        ) from None
    return event


def _is_tag(part: object) -> bool:
    # pydantic puts the union member's tag first in an error's location: "video.completed".payload.fps
    return isinstance(part, str) and ("." in part or part == "unknown")
