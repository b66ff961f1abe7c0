"""``unwrap`` and ``verify_signature``, as module functions and as ``client.webhooks``, and the parse of
a verified body into its typed event (the generated models of :mod:`magic_hour.types.webhook_events`)
or the typed error of a body that is not one."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, NoReturn, Optional

from .._errors.webhooks import WebhookPayloadError
from .._redact import redact
from ._verify import (
    DEFAULT_TOLERANCE,
    Body,
    Headers,
    Keys,
    Secret,
    Tolerance,
    body_bytes,
    keys_from,
    now_seconds,
    tolerance_seconds,
    verify,
)

if TYPE_CHECKING:
    import pydantic

    from ..types.webhook_events import WebhookEvent


def _checked(body: Body, headers: Headers, keys: Keys, tolerance: Tolerance, now: Optional[float]) -> bytes:
    seconds, current = tolerance_seconds(tolerance), now_seconds(now)
    raw = body_bytes(body)
    verify(raw, headers, keys, tolerance=seconds, now=current)
    return raw


def verify_signature(
    body: Body,
    headers: Headers,
    *,
    secret: Optional[Secret] = None,
    tolerance: Tolerance = DEFAULT_TOLERANCE,
    now: Optional[float] = None,
) -> None:
    """Check that a request to your webhook endpoint comes from Magic Hour, without parsing it.

    Args:
        body: the request body exactly as received (bytes, or str decoded from UTF-8).
        headers: the request's headers: any mapping (names in any case) or (name, value) pairs.
        secret: the webhook's secret, or a list of secrets while rotating (any one verifies);
            defaults to ``$MAGIC_HOUR_WEBHOOK_SECRET``.
        tolerance: seconds (or a ``timedelta``) the signed timestamp may be from ``now``, either way.
        now: the current time in Unix seconds (for tests); defaults to ``time.time()``.

    Raises:
        WebhookVerificationError: a subclass per failed check (missing or malformed header, signature
            mismatch, timestamp outside the tolerance); ``.reason`` names it.
        MissingWebhookSecretError: no secret given and ``$MAGIC_HOUR_WEBHOOK_SECRET`` unset.
    """
    try:
        keys = keys_from(secret)
    finally:
        del secret  # only ``keys`` (which shows nothing) in this frame's locals, even on a refusal
    _checked(body, headers, keys, tolerance, now)


def unwrap(
    body: Body,
    headers: Headers,
    *,
    secret: Optional[Secret] = None,
    tolerance: Tolerance = DEFAULT_TOLERANCE,
    now: Optional[float] = None,
) -> WebhookEvent:
    """Verify a request to your webhook endpoint and return its typed event.

    Example::

        event = magic_hour.webhooks.unwrap(request_body, request_headers)
        if isinstance(event, magic_hour.webhooks.VideoCompletedWebhookEvent):
            print(event.payload.id, event.payload.downloads[0].url)

    Takes the arguments of :func:`verify_signature`; returns one of the ``*WebhookEvent`` models (an
    event type this version does not know yet: :class:`UnknownWebhookEvent`).

    Raises:
        WebhookVerificationError: as :func:`verify_signature`; also :class:`WebhookPayloadError` for
            an authentic body that is not JSON or not an event.
        MissingWebhookSecretError: no secret given and ``$MAGIC_HOUR_WEBHOOK_SECRET`` unset.
    """
    try:
        keys = keys_from(secret)
    finally:
        del secret  # see verify_signature
    return parse_event(_checked(body, headers, keys, tolerance, now))


class Webhooks:
    """``client.webhooks``: :func:`unwrap` and :func:`verify_signature` with the client's secret
    (``Client(webhook_secret=...)``) as the default. No network: the same methods on ``AsyncClient``
    are plain (not ``async``) calls."""

    def __init__(self, secret: Optional[Secret] = None) -> None:
        self._keys: Optional[Keys] = None
        try:
            if secret is not None:
                self._keys = Keys(secret)
        finally:
            del secret  # see verify_signature

    def verify_signature(
        self,
        body: Body,
        headers: Headers,
        *,
        secret: Optional[Secret] = None,
        tolerance: Tolerance = DEFAULT_TOLERANCE,
        now: Optional[float] = None,
    ) -> None:
        """:func:`magic_hour.webhooks.verify_signature`; ``secret`` defaults to the client's, then to
        ``$MAGIC_HOUR_WEBHOOK_SECRET``."""
        try:
            keys = keys_from(secret, self._keys)
        finally:
            del secret  # only ``keys`` (which shows nothing) in this frame's locals, even on a refusal
        _checked(body, headers, keys, tolerance, now)

    def unwrap(
        self,
        body: Body,
        headers: Headers,
        *,
        secret: Optional[Secret] = None,
        tolerance: Tolerance = DEFAULT_TOLERANCE,
        now: Optional[float] = None,
    ) -> WebhookEvent:
        """:func:`magic_hour.webhooks.unwrap`; ``secret`` defaults to the client's, then to
        ``$MAGIC_HOUR_WEBHOOK_SECRET``."""
        try:
            keys = keys_from(secret, self._keys)
        finally:
            del secret  # only ``keys`` (which shows nothing) in this frame's locals, even on a refusal
        return parse_event(_checked(body, headers, keys, tolerance, now))

    def __repr__(self) -> str:
        return (
            f"Webhooks(secret={'<set>' if self._keys is not None else '<from $MAGIC_HOUR_WEBHOOK_SECRET>'})"
        )

    def __reduce__(self) -> NoReturn:
        raise TypeError("client.webhooks holds webhook secrets; it is not pickled")


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
