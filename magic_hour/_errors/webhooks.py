"""Errors of webhook verification: which check a request to your endpoint failed, or no secret to check it.

Messages and attributes never hold the secret or a signature (a valid one would let anyone who reads the
log forge that request within the tolerance). Import them from :mod:`magic_hour.webhooks`,
:mod:`magic_hour._exceptions` or :mod:`magic_hour`.
"""

from __future__ import annotations

from typing import Optional

from .base import MagicHourError, publish


class WebhookVerificationError(MagicHourError, ValueError):
    """A webhook request failed verification: answer it with a 4xx and do not act on it.

    ``reason`` names the check, a stable code for logs and metrics: ``missing_header``,
    ``invalid_header``, ``signature_mismatch``, ``timestamp_too_old``, ``timestamp_too_new``,
    ``invalid_json`` or ``invalid_event``. Each check also has its own subclass.
    """

    reason: str = "invalid"

    def __init__(self, message: str, *, reason: Optional[str] = None) -> None:
        if reason is not None:
            self.reason = reason
        super().__init__(message)


class WebhookMissingHeaderError(WebhookVerificationError):
    """A header Magic Hour signs every request with is absent; ``header`` names it."""

    reason = "missing_header"

    def __init__(self, header: str, message: str) -> None:
        self.header = header
        super().__init__(message)


class WebhookInvalidHeaderError(WebhookVerificationError):
    """A signing header is present but malformed (a timestamp that is not Unix seconds, a signature that
    is not 64 hex digits, one header sent twice with different values); ``header`` names it."""

    reason = "invalid_header"

    def __init__(self, header: str, message: str) -> None:
        self.header = header
        super().__init__(message)


class WebhookSignatureError(WebhookVerificationError):
    """No secret produces the request's signature: a wrong secret, or a body, timestamp or signature
    changed on the way (a body re-serialised by a framework counts: pass the raw body)."""

    reason = "signature_mismatch"


class WebhookTimestampError(WebhookVerificationError):
    """The signature is valid but its timestamp is further than ``tolerance`` seconds from ``now``, in the
    past (``reason="timestamp_too_old"``: a replay, or a server clock behind) or in the future
    (``"timestamp_too_new"``: a clock ahead)."""

    def __init__(self, *, timestamp: int, now: float, tolerance: float) -> None:
        self.timestamp = timestamp
        self.now = now
        self.tolerance = tolerance
        age = now - timestamp
        when = f"{age:.0f} s old" if age > 0 else f"{-age:.0f} s in the future"
        super().__init__(
            f"webhook timestamp {timestamp} is {when}; tolerance: {tolerance:g} s "
            "(a replayed request, or a clock that is off)",
            reason="timestamp_too_old" if age > 0 else "timestamp_too_new",
        )


class WebhookPayloadError(WebhookVerificationError):
    """The request is authentic but its body is not JSON (``reason="invalid_json"``) or not an event of
    the shape the webhook description gives (``"invalid_event"``)."""


class MissingWebhookSecretError(MagicHourError):
    """No webhook secret: pass ``secret=``, ``Client(webhook_secret=...)`` or set
    ``MAGIC_HOUR_WEBHOOK_SECRET``."""

    def __init__(self) -> None:
        super().__init__(
            "no webhook secret: pass secret=..., Client(webhook_secret=...), or set the "
            "MAGIC_HOUR_WEBHOOK_SECRET environment variable (the secret of your webhook in the developer hub)"
        )


publish(
    WebhookVerificationError,
    WebhookMissingHeaderError,
    WebhookInvalidHeaderError,
    WebhookSignatureError,
    WebhookTimestampError,
    WebhookPayloadError,
    MissingWebhookSecretError,
)
