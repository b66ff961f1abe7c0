"""An :class:`httpx.Response`, from its body on the wire to a model or the matching exception.

A server (or a storage, or whatever sits in between) decides what a body contains; none of it may take
the process down. Bodies are read from the stream, never whole first:

- at most :data:`ERROR_BODY_LIMIT` bytes of an error body are kept (the rest is not read: the
  connection is closed), and :data:`SUCCESS_BODY_LIMIT` of a successful one (beyond, the response is
  marked and parsing refuses it);
- ``gzip``/``deflate`` (the only codings asked for) are inflated here, a bounded amount per step
  (:mod:`.codings`), so a compression bomb costs at most the limit;
- text is decoded with the declared charset only when it is a text codec (``charset=hex`` is not);
- JSON nested deeper than Python's recursion limit is text, not a ``RecursionError``.

Parsing is pure: a success becomes the operation's model, anything else the exception for its status.
"""

from __future__ import annotations

import json
import time
import zlib
from typing import TYPE_CHECKING, Any, AsyncGenerator, Generator, List, Mapping, Optional, Type, TypeVar, cast

import httpx

from .._exceptions import (
    ApiError,
    ApiResponseValidationError,
    InvalidParameterError,
    error_class_for_status,
)
from .._redact import bearer_token, redact, request_of
from .codings import Inflater
from .request import path_segment

if TYPE_CHECKING:
    from pydantic import BaseModel

M = TypeVar("M", bound="BaseModel")


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
    if not response.is_stream_consumed:  # the network's answer: no exception raised and caught per call
        return None
    try:
        content = response.content
    except httpx.ResponseNotRead:  # consumed by the caller without keeping it
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

    def content(self) -> bytes:
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
        content = collector.content()
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
        content = collector.content()
    finally:
        await response.aclose()
    return _with_body(response, content, decoded="content-encoding" in response.headers)


def body_text(response: httpx.Response, content: bytes) -> str:
    """``content`` as text: the declared charset if it is a text codec, else UTF-8; never raises."""
    charset = response.charset_encoding
    if charset:
        try:
            # bytes.decode takes text encodings only: a binary transform (hex, base64, zlib, rot13) or
            # an unknown name raises LookupError, a codec that cannot replace (idna) UnicodeError.
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


def decode_body(response: httpx.Response) -> Any:
    """The body as JSON if it parses (and is not nested too deeply), else as text, or ``None`` when
    empty. An error body was cut at ``ERROR_BODY_LIMIT`` bytes when read."""
    content = response.content
    if not content:
        return None
    try:
        return parse_json(content)
    except ValueError:
        return body_text(response, content)


def error_message(response: httpx.Response, body: Any) -> str:
    """The API's ``{"message": ...}``, else a short, safe summary of the body."""
    if isinstance(body, dict):
        fields = cast("Mapping[str, Any]", body)
        message = fields.get("message") or fields.get("error") or fields.get("detail")
        if isinstance(message, str) and message:
            return message
    if isinstance(body, str) and body.strip():
        text = " ".join(body.split())
        if not text.lstrip().startswith("<"):
            return text
    return response.reason_phrase or "error"


def _redact_token(message: str, response: httpx.Response) -> str:
    # Some servers echo the credential they refused ("invalid token sk-..."); it must not reach the
    # message, which ends up in logs and tracebacks. The body keeps what was received. Redacted before
    # the cut, and a tail that starts the token is redacted too.
    request = request_of(response)
    return redact(message, [bearer_token(request)])


def _operation(response: httpx.Response) -> str:
    request = request_of(response)
    return f"{request.method} {request.url.path}" if request is not None else "the create"


def not_acted_on(status_code: int) -> bool:
    """Whether an error status proves that the request was not acted on: a ``4xx`` or a redirect refuses
    it, except ``408`` (Envoy, in front of many APIs, answers ``408`` when its stream idle timeout fires
    after it passed the whole request on and before the answer's headers came back) and ``303`` (what a
    processed POST answers, its result elsewhere). A ``5xx`` proves nothing: the API, or a gateway after
    passing the request on, may have acted on it before failing."""
    return 300 <= status_code < 500 and status_code not in (303, 408)


def status_error(response: httpx.Response, creates: Optional[str] = None) -> ApiError:
    """The typed :class:`ApiError` for a non-2xx response; to a call that starts a project of kind
    ``creates``, an answer that does not prove that nothing started (a 5xx, 408, 303: not
    :func:`not_acted_on`) is a :class:`ProjectMayExistServerError` or, below 500,
    :class:`ProjectMayExistStatusError` (the project may have started)."""
    body = decode_body(response)
    message = _redact_token(error_message(response, body), response)
    if creates is not None and not not_acted_on(response.status_code):
        # Imported here: loaded only by a create that failed (a first request needs none of them).
        from .._exceptions import ProjectMayExistServerError, ProjectMayExistStatusError

        operation = _operation(response)
        if response.status_code >= 500:
            return ProjectMayExistServerError(
                message, operation=operation, kind=creates, response=response, body=body
            )
        return ProjectMayExistStatusError(
            message, operation=operation, kind=creates, response=response, body=body
        )
    cls = error_class_for_status(response.status_code)
    return cls(message, response=response, body=body)


def _invalid(response: httpx.Response, message: str, body: Any, creates: Optional[str]) -> ApiError:
    # A 2xx to a create: the project started, and its id may be lost with the answer.
    if creates is not None:
        from .._exceptions import ProjectMayExistResponseError  # (as in status_error)

        operation = _operation(response)
        return ProjectMayExistResponseError(
            message, operation=operation, kind=creates, response=response, body=body
        )
    return ApiResponseValidationError(message, response=response, body=body)


def parse_response(response: httpx.Response, cast_to: Type[M], creates: Optional[str] = None) -> M:
    """Return the parsed model for a 2xx response, or raise the matching :class:`ApiError`. ``creates``:
    the kind of project the call starts (see :func:`status_error`)."""
    if not response.is_success:
        raise status_error(response, creates)
    from pydantic import ValidationError

    if response.extensions.get(TRUNCATED):
        limit = SUCCESS_BODY_LIMIT // (1024 * 1024)
        raise _invalid(response, f"the response body is larger than {limit} MiB; refused", None, creates)
    try:
        model = cast_to.model_validate_json(response.content)
    except (ValidationError, RecursionError) as exc:
        if isinstance(exc, RecursionError):
            message = f"the response does not match {cast_to.__name__}: JSON nested too deeply"
            raise _invalid(response, message, decode_body(response), creates) from None
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<body>'}: {err['msg']}" for err in exc.errors()[:5]
        )
        message = f"the response does not match {cast_to.__name__}: {problems}"
        raise _invalid(response, message, decode_body(response), creates) from None
    if creates is not None:
        # The id goes into the path of every later GET: one that would leave its segment (".", "..",
        # "") is the API's fault, not the caller's, and the project it names has started.
        root = getattr(model, "root", None)  # the command's raw answers: a RootModel of the JSON
        created = root.get("id") if isinstance(root, dict) else getattr(model, "id", None)  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
        try:
            if isinstance(created, str):
                path_segment("id", created)
        except InvalidParameterError as exc:
            detail = f" ({exc.reason})" if exc.reason else ""
            message = f"the response's id {created!r} cannot be used to look the project up{detail}"
            raise _invalid(response, message, decode_body(response), creates) from None
    return model
