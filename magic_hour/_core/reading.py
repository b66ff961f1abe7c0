"""Reading response bodies with bounds: size, decompression, charset and JSON nesting.

A server (or a storage, or whatever sits in between) decides what a body contains; none of it may take
the process down. Bodies are read from the stream, never whole first:

- at most :data:`ERROR_BODY_LIMIT` bytes of an error body are kept (the rest is not read: the
  connection is closed), and :data:`SUCCESS_BODY_LIMIT` of a successful one (beyond, the response is
  marked and parsing refuses it);
- ``gzip``/``deflate`` (the only codings asked for) are inflated here, a bounded amount per step
  (:mod:`.codings`), so a bomb (2 MB on the wire, 2 GiB inflated) costs at most the limit;
- text is decoded with the declared charset only when it is a text codec (``charset=hex`` is not);
- JSON nested deeper than Python's recursion limit is text, not a ``RecursionError``.
"""

from __future__ import annotations

import codecs
import json
import time
import zlib
from typing import Any, AsyncGenerator, Generator, List, Optional

import httpx

from .codings import Inflater

ERROR_BODY_LIMIT = 1024 * 1024
"""Bytes of an error body (decoded) that are read and kept; the rest is dropped."""

SUCCESS_BODY_LIMIT = 64 * 1024 * 1024
"""Bytes of a successful body (decoded) that are accepted; a larger one is refused."""

TRUNCATED = "magic_hour.truncated"
"""Set in ``response.extensions`` when the body was cut at its limit."""

_RAW_CHUNK = 16 * 1024
_STEP = 1024 * 1024  # bytes decoded at most per step: a large limit is not a large allocation


def _limit_for(response: httpx.Response) -> int:
    return SUCCESS_BODY_LIMIT if response.is_success else ERROR_BODY_LIMIT


def _already_read(response: httpx.Response) -> Optional[httpx.Response]:
    """A transport that is not a network (a mock, the fake's) may hand back a body already in memory:
    only the limit is applied to it. ``None`` when the body is still to be read."""
    try:
        content = response.content
    except httpx.ResponseNotRead:
        return None
    limit = _limit_for(response)
    if len(content) > limit:
        response.extensions[TRUNCATED] = True
        return _with_body(response, content[:limit], decoded=False)
    return response


def _fits(response: httpx.Response) -> bool:
    """Nothing to decode and a ``Content-Length`` within the limit: httpx's own read is bounded by it
    (the connection delivers no byte past the announced length)."""
    headers = response.headers
    if "content-encoding" in headers:
        return False
    length = headers.get("content-length", "")
    return length.isdigit() and int(length) <= _limit_for(response)


def _with_body(response: httpx.Response, content: bytes, *, decoded: bool) -> httpx.Response:
    """``response`` with ``content`` as its body: httpx's public way to give a response a body it did
    not read itself is a new response. A body read here through its ``Content-Encoding`` loses the
    headers that described the wire's bytes (``Content-Encoding``, ``Content-Length``), or httpx would
    decode it again, without a bound."""
    headers = response.headers
    if decoded:
        headers = httpx.Headers(
            [
                (k, v)
                for k, v in headers.multi_items()
                if k.lower() not in ("content-encoding", "content-length")
            ]
        )
    out = httpx.Response(
        response.status_code,
        headers=headers,
        content=content,
        request=response.request,
        extensions=response.extensions,
    )
    if response.is_closed:
        out.elapsed = response.elapsed
    return out


class _Collector:
    def __init__(self, response: httpx.Response, deadline: Optional[float]) -> None:
        self.response = response
        self.limit = _limit_for(response)
        self.deadline = deadline
        self.inflater = Inflater(response)
        self.identity = self.inflater.identity
        self.parts: List[bytes] = []
        self.size = 0

    def add(self, raw: bytes) -> bool:
        """Take one piece of wire data; False once the limit is reached (stop reading)."""
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise httpx.ReadTimeout(
                "the response took longer than its deadline", request=self.response.request
            )
        if self.identity:  # nothing to decode: the piece as it came (the common case)
            return self._take(raw)
        try:
            for start in range(0, max(len(raw), 1), _RAW_CHUNK):
                if not self._take(self.inflater.feed(raw[start : start + _RAW_CHUNK], self._budget())):
                    return False
                while self.inflater.pending():
                    if not self._take(self.inflater.feed(b"", self._budget())):
                        return False
        except zlib.error as exc:
            raise httpx.DecodingError(
                f"the response body could not be decoded: {exc}", request=self.response.request
            ) from None
        return True

    def _budget(self) -> int:
        return min(self.limit - self.size + 1, _STEP)

    def _take(self, data: bytes) -> bool:
        if self.size + len(data) > self.limit:
            self.parts.append(data[: self.limit - self.size])
            self.size = self.limit
            self.response.extensions[TRUNCATED] = True
            return False
        self.parts.append(data)
        self.size += len(data)
        return True

    def finish(self) -> bytes:
        if not self.response.extensions.get(TRUNCATED):
            tail = self.inflater.flush()
            self._take(tail)
        return b"".join(self.parts)


def read_body(response: httpx.Response, deadline: Optional[float] = None) -> httpx.Response:
    """Read a streamed response's body within its limit (and ``deadline``, checked between pieces, for
    a connection that does not keep it itself), then close it; returns the response to use."""
    done = _already_read(response)
    if done is not None:
        return done
    if deadline is None and _fits(response):  # the common case: httpx reads and keeps it
        try:
            response.read()
        finally:
            response.close()
        return response
    collector = _Collector(response, deadline)
    raw: Generator[bytes, None, None] = response.iter_raw()  # type: ignore[assignment]
    try:
        for piece in raw:
            if not collector.add(piece):
                break
        content = collector.finish()
    finally:
        raw.close()
        response.close()
    return _with_body(response, content, decoded="content-encoding" in response.headers)


async def aread_body(response: httpx.Response, deadline: Optional[float] = None) -> httpx.Response:
    """:func:`read_body` for an async response."""
    done = _already_read(response)
    if done is not None:
        return done
    if deadline is None and _fits(response):
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response
    collector = _Collector(response, deadline)
    raw: AsyncGenerator[bytes, None] = response.aiter_raw()  # type: ignore[assignment]
    try:
        async for piece in raw:
            if not collector.add(piece):
                # Stopping early: close the connection, then let the iteration end by itself. An
                # unfinished async generator (httpx nests several) left to the garbage collector is
                # an error under trio; one that ran into an exception is finished.
                await response.aclose()
                try:
                    async for _ in raw:
                        pass
                except Exception:
                    pass
                break
        content = collector.finish()
    finally:
        await response.aclose()
    return _with_body(response, content, decoded="content-encoding" in response.headers)


def body_text(response: httpx.Response, content: bytes) -> str:
    """``content`` as text: the declared charset if it is a text codec, else UTF-8; never raises."""
    charset = response.charset_encoding
    if charset:
        try:
            if codecs.lookup(charset)._is_text_encoding:  # pyright: ignore[reportPrivateUsage]
                return content.decode(charset, errors="replace")
        except (LookupError, ValueError, TypeError):
            pass
    return content.decode("utf-8", errors="replace")


def parse_json(content: bytes) -> Any:
    """``json.loads``, raising ``ValueError`` for anything that is not JSON a program can use: invalid,
    or nested deeper than the interpreter can recurse."""
    try:
        return json.loads(content)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
