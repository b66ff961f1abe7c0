"""What the fake says on the wire: constants, date-times, and JSON / S3-style XML replies."""

from __future__ import annotations

import datetime
import json
from typing import Any, Iterable, Mapping, Optional, Sequence, Tuple, Union
from xml.sax.saxutils import escape

import httpx

from ._exchange import Reply

__all__ = [
    "DEFAULT_TOKEN",
    "EXPIRED_MESSAGE",
    "TRANSPORT_BASE_URL",
    "TRANSPORT_STORAGE_URL",
    "content_length",
    "header_items",
    "json_reply",
    "reply",
    "rfc3339",
    "utc",
    "xml_error",
]

DEFAULT_TOKEN = "test-token"
TRANSPORT_BASE_URL = "https://api.magichour.test"
TRANSPORT_STORAGE_URL = "https://storage.magichour.test"
EXPIRED_MESSAGE = "Request has expired"


def utc(epoch: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(epoch, tz=datetime.timezone.utc)


def rfc3339(epoch: float) -> str:
    """``2024-07-25T16:56:21.932Z``: the API's date-time format."""
    dt = utc(epoch)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def json_reply(status: int, payload: Any, request_id: str, headers: Mapping[str, str] = {}) -> Reply:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return reply(status, body, "application/json", [("x-request-id", request_id), *headers.items()])


def reply(status: int, body: bytes, content_type: str, headers: Sequence[Tuple[str, str]]) -> Reply:
    all_headers = [("Content-Type", content_type), ("Content-Length", str(len(body))), *headers]
    return Reply(status, all_headers, body)


def xml_error(status: int, code: str, message: str, request_id: str, **extra: str) -> Reply:
    """An S3-style error document (what a pre-signed storage URL answers)."""
    fields = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in extra.items())
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{escape(message)}</Message>{fields}"
        f"<RequestId>{request_id}</RequestId></Error>"
    ).encode()
    return reply(status, body, "application/xml", [("x-amz-request-id", request_id)])


def header_items(headers: Union[httpx.Headers, Iterable[Tuple[str, str]]]) -> httpx.Headers:
    return headers if isinstance(headers, httpx.Headers) else httpx.Headers(list(headers))


def content_length(headers: httpx.Headers) -> Optional[int]:
    raw = headers.get("content-length")
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if value >= 0 else None
