"""Compressing test bodies in every content coding httpx decodes when its package is installed (gzip;
br with brotli, zstd with zstandard: the dev extra installs both)."""

from __future__ import annotations

import functools
import zlib
from typing import Callable, Dict, List

import brotli  # type: ignore[import-untyped]
import zstandard

MB = 1024 * 1024


def _gzip(chunks: List[bytes]) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    return b"".join(c.compress(chunk) for chunk in chunks) + c.flush()


def _brotli(chunks: List[bytes]) -> bytes:
    c = brotli.Compressor(quality=5)
    return b"".join(c.process(chunk) for chunk in chunks) + c.finish()


def _zstd(chunks: List[bytes]) -> bytes:
    c = zstandard.ZstdCompressor(level=3).compressobj()
    return b"".join(c.compress(chunk) for chunk in chunks) + c.flush()


COMPRESS: Dict[str, Callable[[List[bytes]], bytes]] = {"gzip": _gzip, "br": _brotli, "zstd": _zstd}
CODINGS = list(COMPRESS)


def compress(coding: str, data: bytes) -> bytes:
    return COMPRESS[coding]([data])


@functools.cache  # compressing is most of these tests' time: once per shape
def bomb(coding: str = "gzip", inflated: int = 256 * MB) -> bytes:
    """``inflated`` zero bytes, compressed (gzip: about 1,000 times smaller; br, zstd: far more)."""
    zeros = bytes(MB)
    return COMPRESS[coding]([zeros] * (inflated // MB))
