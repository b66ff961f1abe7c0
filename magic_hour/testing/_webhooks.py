"""Webhook requests for tests that need no fake: a body as Magic Hour sends it, and its signed headers."""

from __future__ import annotations

import math
import time
from typing import Any, Dict, Optional, Union

from .._exceptions import InvalidParameterError
from ..webhooks._examples import example_body
from ..webhooks._verify import SIGNATURE_HEADER, TIMESTAMP_HEADER, Body, Secret, keys_from, sign


def sign_webhook(
    body: Body, *, secret: Optional[Secret] = None, timestamp: Optional[Union[int, float]] = None
) -> Dict[str, str]:
    """The headers Magic Hour sends with ``body``: the hex HMAC-SHA256 of ``"{timestamp}.{body}"`` keyed
    by ``secret`` (the first, given a list; default ``$MAGIC_HOUR_WEBHOOK_SECRET``), and the timestamp
    (Unix seconds; default now).

    Example::

        body = webhook_body("video.completed", id="cm2fphlo3000dmfhu8m0dh63z")
        headers = sign_webhook(body, secret="whsec_test")
        response = test_client.post("/webhooks/magic-hour", content=body, headers=headers)
    """
    try:
        keys = keys_from(secret)
    finally:
        del secret  # see magic_hour.webhooks.unwrap
    if timestamp is not None and not (
        isinstance(timestamp, (int, float))
        and not isinstance(timestamp, bool)
        and math.isfinite(timestamp)
        and timestamp >= 0
    ):
        raise InvalidParameterError("timestamp", timestamp, "Unix seconds >= 0 (a number), or None for now")
    seconds = int(time.time() if timestamp is None else timestamp)
    return {SIGNATURE_HEADER: sign(keys, body, seconds), TIMESTAMP_HEADER: str(seconds)}


def webhook_body(event_type: str, **payload: Any) -> bytes:
    """A body Magic Hour would send for ``event_type`` (``"video.completed"``...): the webhook
    description's example payload with the status that sends the event (outputs only once complete,
    an error only when errored), and the fields given here (wire names: ``id="..."``, ``type="..."``)
    replaced or added. Compact JSON, UTF-8."""
    return example_body(event_type, payload)
