"""Webhooks: verify a request Magic Hour sent to your endpoint and get its typed event.

import magic_hour.webhooks

event = magic_hour.webhooks.unwrap(raw_body, headers)   # secret from $MAGIC_HOUR_WEBHOOK_SECRET
if isinstance(event, magic_hour.webhooks.VideoCompletedWebhookEvent):
    print(event.payload.id, event.payload.downloads[0].url)

``unwrap`` checks the signature (HMAC-SHA256 of ``"{timestamp}.{raw body}"``, compared in constant
time, any of several secrets while rotating) and the timestamp (5 minutes either way by default), then
parses the body; each failed check raises its own :class:`WebhookVerificationError`. ``client.webhooks``
offers the same with the client's ``webhook_secret``. See ``docs/webhooks.md``.
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any
from typing import List as _List

from .._errors.webhooks import (
    MissingWebhookSecretError,
    WebhookInvalidHeaderError,
    WebhookMissingHeaderError,
    WebhookPayloadError,
    WebhookSignatureError,
    WebhookTimestampError,
    WebhookVerificationError,
)
from ._api import Webhooks, unwrap, verify_signature
from ._verify import DEFAULT_TOLERANCE, SECRET_ENV, SIGNATURE_HEADER, TIMESTAMP_HEADER

if _TYPE_CHECKING:
    from ..types.webhook_events import (
        EVENT_TYPES,
        AudioCompletedWebhookEvent,
        AudioErroredWebhookEvent,
        AudioStartedWebhookEvent,
        ImageCompletedWebhookEvent,
        ImageErroredWebhookEvent,
        ImageStartedWebhookEvent,
        UnknownWebhookEvent,
        VideoCompletedWebhookEvent,
        VideoErroredWebhookEvent,
        VideoStartedWebhookEvent,
        WebhookEvent,
        WebhookEventType,
    )

# The event models (and pydantic) load on first access: verify_signature alone needs neither.
_EVENTS = "magic_hour.types.webhook_events"


def __getattr__(name: str) -> _Any:
    import importlib

    module = importlib.import_module(_EVENTS)
    if name not in module.__all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> _List[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "DEFAULT_TOLERANCE",
    "EVENT_TYPES",
    "SECRET_ENV",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "AudioCompletedWebhookEvent",
    "AudioErroredWebhookEvent",
    "AudioStartedWebhookEvent",
    "ImageCompletedWebhookEvent",
    "ImageErroredWebhookEvent",
    "ImageStartedWebhookEvent",
    "MissingWebhookSecretError",
    "UnknownWebhookEvent",
    "VideoCompletedWebhookEvent",
    "VideoErroredWebhookEvent",
    "VideoStartedWebhookEvent",
    "WebhookEvent",
    "WebhookEventType",
    "WebhookInvalidHeaderError",
    "WebhookMissingHeaderError",
    "WebhookPayloadError",
    "WebhookSignatureError",
    "WebhookTimestampError",
    "WebhookVerificationError",
    "Webhooks",
    "unwrap",
    "verify_signature",
]
