"""A download's body as the file's bytes, whatever encoding the server chose, within bounds (no I/O).

Downloads ask for ``Accept-Encoding: identity``; a server may compress anyway. Such a body is inflated
here, at most :data:`INFLATE_STEP` bytes per step (memory stays flat), and refused as a decompression
bomb once the file grows past :data:`MAX_INFLATE_RATIO` times the bytes received (after the first
:data:`INFLATE_ALLOWANCE`): a gzip bomb of 2 MB would otherwise fill the disk with 2 GiB of zeros, and
no media output compresses anywhere near that ratio. Writing the compressed bytes as served instead
would leave a gzip stream under a ``.png`` name. ``gzip`` and ``deflate`` are decoded so
(:mod:`.._core.codings`); any other coding (``br``, ``zstd``, ...) is a :class:`DownloadDecodingError`, never
written as the file.
"""

from __future__ import annotations

import zlib
from typing import AsyncGenerator, Generator, Iterator, Optional

import httpx

from .._core.codings import DECODABLE, Inflater
from .._exceptions import DownloadDecodingError
from .._redact import request_of
from .files import CHUNK_SIZE, Target

MAX_INFLATE_RATIO = 100
"""An encoded body may inflate to at most this many times the bytes received (Apache POI's zip-bomb
check uses the same ratio); real media outputs (video, images, audio) compress to about 1:1."""

INFLATE_ALLOWANCE = 16 * 1024 * 1024
"""Bytes of file an encoded body may always inflate to, whatever the ratio (small, very compressible
outputs)."""

INFLATE_STEP = CHUNK_SIZE
"""Bytes inflated at most per step: one disk write."""

_RAW_PIECE = 16 * 1024


def _encoded(response: httpx.Response) -> bool:
    codings = response.headers.get_list("content-encoding", split_commas=True)
    return any(c.strip().lower() not in ("", "identity") for c in codings)


def _undecodable(response: httpx.Response) -> str:
    """The first content coding that cannot be decoded within bounds here (``""``: none)."""
    for coding in response.headers.get_list("content-encoding", split_commas=True):
        coding = coding.strip().lower()
        if coding and coding != "identity" and coding not in DECODABLE:
            return coding
    return ""


def _content(response: httpx.Response) -> Optional[bytes]:
    """The body, when a transport that is not a network (a mock, the fake's) handed it back already
    read, and so already decoded by httpx; else ``None``."""
    try:
        return response.content
    except httpx.ResponseNotRead:
        return None


def body_pieces(response: httpx.Response) -> Generator[bytes, None, None]:
    """The body's pieces as received (compressed, when it is), for :meth:`BodyDecoder.feed`."""
    content = _content(response)
    if content is not None:
        yield content
        return
    yield from response.iter_raw()


async def abody_pieces(response: httpx.Response) -> AsyncGenerator[bytes, None]:
    """:func:`body_pieces` for an async response."""
    content = _content(response)
    if content is not None:
        yield content
        return
    async for piece in response.aiter_raw():
        yield piece


class BodyDecoder:
    """Turns the raw pieces of a download's body into pieces of the file (see the module docstring)."""

    def __init__(self, response: httpx.Response, target: Target) -> None:
        encoded = _encoded(response) and _content(response) is None
        # For messages only: the header is the server's text, kept short.
        self._coding = " ".join(response.headers.get("content-encoding", "").split())[:40]
        self._target = target
        self._request = request_of(response)
        if encoded:
            unknown = _undecodable(response)
            if unknown:
                # httpx skips an encoding it has no decoder for: the compressed bytes would be
                # written as the file, under its name, as if complete.
                raise self._error(
                    f"the server sent it compressed ({self._coding}) although asked not to, and the SDK "
                    f"does not decode {unknown[:20]!r} (only gzip and deflate, within bounds)"
                )
        self._inflater: Optional[Inflater] = Inflater(response) if encoded else None
        if self._inflater is not None and self._inflater.refused:
            raise self._error(f"the body could not be decoded ({self._inflater.refused})")
        self.received = 0
        """Bytes of the body received (compressed, when it is)."""
        self.produced = 0
        """Bytes of the file they made."""

    def feed(self, raw: bytes) -> Iterator[bytes]:
        """The file's bytes in ``raw``, at most :data:`INFLATE_STEP` at a time.

        Raises :class:`DownloadDecodingError` when the body inflates past the limit or cannot be decoded."""
        self.received += len(raw)
        inflater = self._inflater
        if inflater is None:
            self.produced += len(raw)
            yield raw
            return
        try:
            for start in range(0, len(raw), _RAW_PIECE):
                data = self._count(inflater.feed(raw[start : start + _RAW_PIECE], INFLATE_STEP))
                while True:
                    if data:
                        yield data
                    if not inflater.pending():
                        break
                    data = self._count(inflater.feed(b"", INFLATE_STEP))
        except (zlib.error, httpx.DecodingError) as exc:
            raise self._error(f"the {self._coding} body could not be decoded ({exc})") from None

    def flush(self) -> bytes:
        """What a decoder kept back until the end of the body.

        Raises :class:`httpx.RemoteProtocolError` when the compressed stream was cut short (a body that
        ends with the connection has no length to check): the download is retried like a dropped one."""
        if self._inflater is None:
            return b""
        try:
            data = self._count(self._inflater.flush())
        except (zlib.error, httpx.DecodingError) as exc:
            raise self._error(f"the {self._coding} body could not be decoded ({exc})") from None
        if not self._inflater.complete():
            raise httpx.RemoteProtocolError(f"the {self._coding} body ended before its compressed stream did")
        return data

    def _count(self, data: bytes) -> bytes:
        self.produced += len(data)
        limit = max(INFLATE_ALLOWANCE, MAX_INFLATE_RATIO * self.received)
        if self.produced > limit:
            raise self._error(
                f"the server sent it compressed ({self._coding}) although asked not to, and "
                f"{self.received} bytes inflated past {limit} bytes (more than {MAX_INFLATE_RATIO} times "
                "the bytes received): refused as a decompression bomb"
            )
        return data

    def _error(self, detail: str) -> DownloadDecodingError:
        target = self._target
        return DownloadDecodingError(
            f"downloading {target.shown} to {target.path} failed: {detail}; nothing was left under that name",
            url=target.shown,
            path=target.path,
            request=self._request,
        )
