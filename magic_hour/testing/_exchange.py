"""One request/response exchange between a front-end (transport or server) and the fake.

The fake decides everything; a front-end only moves bytes: it asks :meth:`FakeMagicHour.begin_request`
for an :class:`Exchange`, waits ``delay`` seconds, feeds the request body in chunks (or stops after
``drop_after`` bytes and drops the connection), then sends :meth:`Exchange.finish`'s :class:`Reply`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from typing_extensions import Protocol

from ._records import RecordedRequest

__all__ = ["BodySink", "Exchange", "Reply"]


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

    def finish(self) -> Reply: ...

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
            reply = self.sink.finish()
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
