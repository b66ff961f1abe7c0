"""One request/response exchange between a front-end (transport or server) and the fake, and what the
fake says on the wire (constants, date-times, JSON and S3-style XML replies).

The fake decides everything; a front-end only moves bytes: it asks :meth:`FakeMagicHour.begin_request`
for an :class:`Exchange`, waits ``delay`` seconds, feeds the request body in chunks (or stops after
``drop_after`` bytes and drops the connection), then sends :meth:`Exchange.finish`'s :class:`Reply`.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field
from typing import Any, Iterable, List, Mapping, Optional, Sequence, Tuple, Union
from xml.sax.saxutils import escape

import httpx
from typing_extensions import Protocol

from ._records import RecordedRequest


@dataclass(frozen=True)
class Reply:
    """A complete response: status, headers (``Content-Length`` included) and body.

    ``cut_after``: send only this many bytes of the body, then drop the connection (a download
    dropped mid-body).
    """

    status: int
    headers: List[Tuple[str, str]]
    body: bytes
    cut_after: Optional[int] = None

    @property
    def closes_connection(self) -> bool:
        return any(k.lower() == "connection" and v.lower() == "close" for k, v in self.headers)


class BodySink(Protocol):
    """Receives a request body chunk by chunk, then produces the reply."""

    def write(self, chunk: bytes) -> None: ...

    def end(self) -> Reply:
        """The body is complete: the reply to it."""
        ...

    def abort(self) -> None: ...


@dataclass
class Exchange:
    """What to do with one request.

    Attributes:
        record: the :class:`RecordedRequest` (already in ``fake.requests``).
        delay: seconds to wait before answering (the latency knob).
        reply: the answer, already decided before the body (the body is still read and discarded).
        sink: where the body goes when the answer depends on it; :meth:`finish` asks it for the reply.
        drop_after: when set, read this many body bytes, call :meth:`dropped`, then drop the connection.
    """

    record: RecordedRequest
    delay: float = 0.0
    reply: Optional[Reply] = None
    sink: Optional[BodySink] = None
    drop_after: Optional[int] = None
    _done: bool = field(default=False, repr=False)

    def feed(self, chunk: bytes) -> None:
        """Take the next chunk of the request body."""
        self.record.body_size += len(chunk)
        if self.sink is not None:
            self.sink.write(chunk)

    def finish(self) -> Reply:
        """The whole body was fed: the reply to send."""
        if self.sink is not None:
            reply = self.sink.end()
        else:
            assert self.reply is not None
            reply = self.reply
        self.record.status = reply.status
        self._done = True
        return reply

    def abort(self, fault: Optional[str] = None) -> None:
        """No reply will be sent (client went away, connection dropped, simulated timeout)."""
        if self._done:
            return
        self._done = True
        if fault is not None:
            self.record.fault = fault
        if self.sink is not None:
            self.sink.abort()

    def dropped(self) -> None:
        """The front-end dropped the connection on purpose (the ``drop_next_uploads`` knob)."""
        self.abort("drop")


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


__all__ = [
    "DEFAULT_TOKEN",
    "EXPIRED_MESSAGE",
    "TRANSPORT_BASE_URL",
    "TRANSPORT_STORAGE_URL",
    "BodySink",
    "Exchange",
    "Reply",
    "content_length",
    "header_items",
    "json_reply",
    "reply",
    "rfc3339",
    "utc",
    "xml_error",
]
