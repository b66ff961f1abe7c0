"""Tiny but valid media files, made in code: what the fake's projects render."""

from __future__ import annotations

import functools
import struct
import zlib
from typing import Dict, Optional, Tuple

__all__ = ["MEDIA", "media"]


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


@functools.cache
def png() -> bytes:
    """An 8x8 RGB PNG (a gradient)."""
    width = height = 8
    rows = b"".join(
        b"\x00" + b"".join(bytes((x * 32, y * 32, 128)) for x in range(width)) for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(rows))
        + _png_chunk(b"IEND", b"")
    )


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


@functools.cache
def mp4() -> bytes:
    """An ISO base media file: ``ftyp``, a ``moov`` with a movie header (1 s, no tracks), ``mdat``."""
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2mp41")
    matrix = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    mvhd = _box(
        b"mvhd",
        struct.pack(">IIIII", 0, 0, 0, 1000, 1000)  # version/flags, times, timescale, duration
        + struct.pack(">IH", 0x10000, 0x100)  # rate 1.0, volume 1.0
        + b"\x00" * 10
        + matrix
        + b"\x00" * 24
        + struct.pack(">I", 1),  # next track id
    )
    return ftyp + _box(b"moov", mvhd) + _box(b"mdat", b"")


@functools.cache
def mp3() -> bytes:
    """Ten silent MPEG-1 Layer III frames (128 kbit/s, 44.1 kHz, mono): about a quarter second."""
    header = bytes((0xFF, 0xFB, 0x90, 0xC4))  # sync, MPEG-1 L3 no CRC, 128k, 44.1k, no padding, mono
    frame = header + b"\x00" * (417 - len(header))
    return frame * 10


MEDIA: Dict[str, Tuple[str, str]] = {
    "image": ("png", "image/png"),
    "video": ("mp4", "video/mp4"),
    "audio": ("mp3", "audio/mpeg"),
}


@functools.lru_cache(maxsize=8)
def _sized(ext: str, size: int) -> bytes:
    """The file of ``ext`` grown to exactly ``size`` bytes and still valid: a private PNG chunk before
    ``IEND``, a bigger MP4 ``mdat``, more MP3 frames (then zero padding)."""
    if ext == "png":
        base = png()
        pad = size - len(base) - 12
        if pad < 0:
            return base
        iend = base.rindex(b"IEND") - 4
        return base[:iend] + _png_chunk(b"fkPd", b"\x00" * pad) + base[iend:]
    if ext == "mp4":
        base = mp4()
        pad = size - len(base)
        return base if pad < 0 else base[:-8] + _box(b"mdat", b"\x00" * pad)
    frame = mp3()[:417]
    count, rest = divmod(max(size, len(frame)), len(frame))
    return frame * count + b"\x00" * rest


def media(kind: str, size: Optional[int] = None) -> Tuple[bytes, str, str]:
    """``(bytes, extension, content type)`` of an output of a project of ``kind`` (default: image),
    tiny, or of exactly ``size`` bytes (when that is at least the tiny file's size)."""
    ext, content_type = MEDIA.get(kind, MEDIA["image"])
    content = {"png": png, "mp4": mp4, "mp3": mp3}[ext]()
    if size is not None and size > len(content):
        content = _sized(ext, size)
    return content, ext, content_type
