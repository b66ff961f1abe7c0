"""Checking that a request to your webhook endpoint comes from Magic Hour: pure functions over the raw
body, the headers and the secrets (no I/O, no pydantic).

Magic Hour signs ``"{timestamp}.{raw body}"`` with HMAC-SHA256 keyed by the webhook secret, and sends the
hex digest and the timestamp (Unix seconds) in two headers. The body must be the bytes as received: JSON
parsed and serialised again does not verify.
"""

from __future__ import annotations

import hmac
import math
import os
import time
from datetime import timedelta
from typing import Any, Iterable, List, Mapping, NoReturn, Optional, Sequence, Tuple, Union, cast

from .._errors.base import InvalidParameterError
from .._errors.webhooks import (
    MissingWebhookSecretError,
    WebhookInvalidHeaderError,
    WebhookMissingHeaderError,
    WebhookSignatureError,
    WebhookTimestampError,
)

SIGNATURE_HEADER = "magic-hour-event-signature"
TIMESTAMP_HEADER = "magic-hour-event-timestamp"
DEFAULT_TOLERANCE = 300.0
"""Seconds a timestamp may be from now, either way: Magic Hour's recommended replay window."""
SECRET_ENV = "MAGIC_HOUR_WEBHOOK_SECRET"

Body = Union[bytes, bytearray, memoryview, str]
"""The request body exactly as received."""
HeaderValue = Union[str, bytes, Sequence[Union[str, bytes]]]
Headers = Union[Mapping[str, Any], Mapping[bytes, Any], Iterable[Tuple[Union[str, bytes], Any]]]
"""Any mapping of header names to values (names in any case), or (name, value) pairs as ASGI gives them."""
Secret = Union[str, bytes, Sequence[Union[str, bytes]]]
"""One secret, or several while rotating (a request signed with any of them verifies)."""
Tolerance = Union[float, timedelta]

_HEADERS_ALLOWED = "a mapping of header names to values, or (name, value) pairs"
_SECRET_ALLOWED = "a non-empty str or bytes secret, or a non-empty list of them (rotation)"


class Keys:
    """HMAC-SHA256 keyed by each secret, ready to sign; the secrets themselves are not kept.

    Its repr shows no secret and it refuses to be pickled: it may sit in a client that is logged or
    in a traceback's locals.
    """

    __slots__ = ("_macs",)

    def __init__(self, secrets: Secret) -> None:
        self._macs: Tuple[Any, ...] = ()
        keys, problem = _key_bytes(secrets)
        del secrets  # a refused list may hold good secrets: not in the traceback's locals
        if problem is not None:
            raise InvalidParameterError("secret", problem, _SECRET_ALLOWED)
        # A digest name (not hashlib.sha256) selects OpenSSL's HMAC, twice as fast as the generic one.
        self._macs = tuple(hmac.new(key, digestmod="sha256") for key in keys)

    def digests(self, timestamp: bytes, body: bytes) -> List[bytes]:
        out: List[bytes] = []
        for base in self._macs:
            mac = base.copy()
            mac.update(timestamp)
            mac.update(b".")
            mac.update(body)
            out.append(mac.digest())
        return out

    def matches(self, timestamp: bytes, body: bytes, signature: bytes) -> bool:
        # Every key is tried whatever the first gave, each compared in constant time.
        found = False
        for digest in self.digests(timestamp, body):
            found |= hmac.compare_digest(digest, signature)
        return found

    def __repr__(self) -> str:
        return f"<webhook secrets: {len(self._macs)}>"

    def __reduce__(self) -> NoReturn:
        raise TypeError("webhook secrets are not pickled")


def _key_bytes(secrets: Secret) -> Tuple[List[bytes], Optional[str]]:
    """The keys, or what is wrong with ``secrets`` described without their values (which may be
    secrets); returned, not raised, so that no frame holding them is in an error's traceback."""
    if isinstance(secrets, (str, bytes)):
        listed: List[object] = [secrets]
    elif isinstance(secrets, (bytearray, memoryview)) or not isinstance(secrets, Iterable):  # pyright: ignore[reportUnnecessaryIsInstance]
        return [], f"<{type(secrets).__name__}>"
    else:
        listed = list(secrets)
    keys: List[bytes] = []
    for one in listed:
        if isinstance(one, str):
            one = one.encode("utf-8")
        if not isinstance(one, bytes):
            return [], f"<{type(one).__name__}>"
        if not one:
            return [], "<empty>"
        keys.append(one)
    return keys, None if keys else "<empty list>"


def keys_from(secret: Union[Secret, Keys, None], fallback: Optional[Keys] = None) -> Keys:
    """``secret`` if given, else ``fallback`` (a client's), else ``$MAGIC_HOUR_WEBHOOK_SECRET``."""
    try:
        if isinstance(secret, Keys):
            return secret
        if secret is not None:
            return Keys(secret)
    finally:
        del secret  # see Keys.__init__
    if fallback is not None:
        return fallback
    env = os.environ.get(SECRET_ENV, "").strip()
    if not env:
        raise MissingWebhookSecretError()
    return Keys(env)


def body_bytes(body: Body) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        try:
            return body.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            raise InvalidParameterError(
                "body", "<str>", "the raw body as bytes, or as str decoded from UTF-8", reason="not UTF-8"
            ) from None
    if isinstance(body, (bytearray, memoryview)):  # pyright: ignore[reportUnnecessaryIsInstance]
        return bytes(body)
    raise InvalidParameterError(
        "body",
        f"<{type(body).__name__}>",
        "the raw request body as received, bytes or str (JSON parsed and serialised again does not verify)",
    )


def tolerance_seconds(tolerance: Tolerance) -> float:
    seconds = tolerance.total_seconds() if isinstance(tolerance, timedelta) else tolerance
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds < math.inf:  # pyright: ignore[reportUnnecessaryIsInstance]
        raise InvalidParameterError("tolerance", tolerance, "seconds >= 0 (a number or a timedelta)")
    return float(seconds)


def now_seconds(now: Optional[float]) -> Optional[float]:
    """``now`` checked: a NaN would pass every timestamp (no comparison with it is true)."""
    if now is None:
        return None
    if isinstance(now, bool) or not isinstance(now, (int, float)) or not math.isfinite(now):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise InvalidParameterError(
            "now", now, "Unix seconds (a finite number), or None for the current time"
        )
    return float(now)


def header_values(headers: Headers) -> Tuple[List[str], List[str]]:
    """Every value of the signature and timestamp headers, whatever the case of their names."""
    items = getattr(headers, "items", None)  # a Mapping, or werkzeug's Headers (no Mapping, has items())
    pairs = cast(Iterable[Tuple[object, object]], items() if callable(items) else headers)
    signature: List[str] = []
    timestamp: List[str] = []
    try:
        for name, value in pairs:
            if isinstance(name, bytes):
                name = name.decode("latin-1")
            if not isinstance(name, str):
                raise TypeError(name)
            key = name.lower()
            if key == SIGNATURE_HEADER:
                signature += _texts(value)
            elif key == TIMESTAMP_HEADER:
                timestamp += _texts(value)
    except (TypeError, ValueError, AttributeError):
        raise InvalidParameterError("headers", f"<{type(headers).__name__}>", _HEADERS_ALLOWED) from None
    return signature, timestamp


def _texts(value: object) -> List[str]:
    if isinstance(value, bytes):
        return [value.decode("latin-1")]
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):  # a multi-dict's lists: {"name": ["v1", "v2"]}
        return [v for one in cast(Sequence[object], value) for v in _texts(one)]
    raise TypeError(value)


def _one(values: List[str], header: str) -> str:
    if len(values) == 1:
        return values[0].strip()
    distinct = {v.strip() for v in values}
    if len(distinct) > 1:
        raise WebhookInvalidHeaderError(
            header, f"webhook header {header!r} appears {len(values)} times with different values"
        )
    return distinct.pop()


def signed_parts(headers: Headers) -> Tuple[str, bytes]:
    """The timestamp (as sent) and the signature (decoded), or the error of the first header missing
    or malformed (the signature's value is never quoted)."""
    signature_values, timestamp_values = header_values(headers)
    missing = [
        h for h, v in ((SIGNATURE_HEADER, signature_values), (TIMESTAMP_HEADER, timestamp_values)) if not v
    ]
    if missing:
        raise WebhookMissingHeaderError(
            missing[0], "missing webhook header" + ("s " if len(missing) > 1 else " ") + ", ".join(missing)
        )
    signature = _one([v.lower() for v in signature_values], SIGNATURE_HEADER)  # hex: either case
    timestamp = _one(timestamp_values, TIMESTAMP_HEADER)
    try:
        digest = bytes.fromhex(signature) if len(signature) == 64 else b""
    except ValueError:
        digest = b""
    if len(digest) != 32:  # fromhex skips spaces: 64 characters with one in them give fewer bytes
        raise WebhookInvalidHeaderError(
            SIGNATURE_HEADER,
            f"webhook header {SIGNATURE_HEADER!r} is not a hex HMAC-SHA256 (64 hex digits; "
            f"got {len(signature)} characters)",
        )
    if not (0 < len(timestamp) <= 15 and timestamp.isascii() and timestamp.isdigit()):
        from .._redact import short_repr

        raise WebhookInvalidHeaderError(
            TIMESTAMP_HEADER,
            f"webhook header {TIMESTAMP_HEADER!r} is not Unix seconds: {short_repr(timestamp, 40)}",
        )
    return timestamp, digest


def verify(body: bytes, headers: Headers, keys: Keys, *, tolerance: float, now: Optional[float]) -> None:
    """Raise the error of the first check that fails: headers present, well formed, a signature one of
    ``keys`` made, then a timestamp within ``tolerance`` seconds of ``now``."""
    timestamp, signature = signed_parts(headers)
    authentic = keys.matches(timestamp.encode("ascii"), body, signature)
    del signature  # error trackers record a traceback's locals: no valid signature among them
    if not authentic:
        raise WebhookSignatureError(
            "webhook signature does not match: a wrong secret, or a body, timestamp or signature changed "
            "on the way (verify the raw body exactly as received)"
        )
    seconds = int(timestamp)
    current = time.time() if now is None else now
    if abs(current - seconds) > tolerance:
        raise WebhookTimestampError(timestamp=seconds, now=current, tolerance=tolerance)


def sign(keys: Keys, body: Body, timestamp: int) -> str:
    """The hex signature Magic Hour would send for ``body`` at ``timestamp`` (the first secret's)."""
    return keys.digests(str(timestamp).encode("ascii"), body_bytes(body))[0].hex()
