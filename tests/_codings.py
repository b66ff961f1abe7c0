"""Compressing test bodies in every content coding the SDK decodes (gzip and deflate, within bounds)."""

from __future__ import annotations

import functools
import zlib
from typing import Callable, Dict, List

MB = 1024 * 1024


def _zlib(wbits: int) -> Callable[[List[bytes]], bytes]:
    def compress(chunks: List[bytes]) -> bytes:
        c = zlib.compressobj(9, zlib.DEFLATED, wbits)
        return b"".join(c.compress(chunk) for chunk in chunks) + c.flush()

    return compress


COMPRESS: Dict[str, Callable[[List[bytes]], bytes]] = {
    "gzip": _zlib(zlib.MAX_WBITS | 16),
    "deflate": _zlib(zlib.MAX_WBITS),
}
CODINGS = list(COMPRESS)


def compress(coding: str, data: bytes) -> bytes:
    return COMPRESS[coding]([data])


@functools.cache  # compressing is most of these tests' time: once per shape
def bomb(coding: str = "gzip", inflated: int = 256 * MB) -> bytes:
    """``inflated`` zero bytes, compressed (about 1,000 times smaller)."""
    zeros = bytes(MB)
    return COMPRESS[coding]([zeros] * (inflated // MB))
