"""Content-Encoding decoders whose output per step is bounded (no I/O).

httpx decodes ``gzip``/``deflate`` always, ``br`` when ``brotli`` or ``brotlicffi`` is installed and
``zstd`` when ``zstandard`` is; its decoders turn any input into all of its output at once, so a few
kilobytes of a compressed bomb become gigabytes in memory. Each :class:`Stage` here produces about
``budget`` bytes per call at most (never more than twice that plus one 128 KiB zstd block), keeping the
rest of its input for the next call, so that callers can count and refuse a bomb before it is made:

- ``gzip``/``deflate``: ``zlib``'s ``max_length``;
- ``br``: the ``output_buffer_limit`` of ``brotli`` >= 1.2 / ``brotlicffi`` >= 1.2 (older versions
  cannot be bounded: ``br`` is then neither asked for nor decoded);
- ``zstd``: ``zstandard`` has no output limit, so the frame structure is followed (:class:`_ZstdWalk`)
  and the decoder is fed only as many bytes as can make ``budget`` bytes (a block makes at most
  128 KiB; a 4-byte RLE block makes 128 KiB of one byte). Windows are limited to 8 MiB, as RFC 9659
  asks of HTTP decoders. Only ``zstandard`` >= 0.19 (older ones can leak at each step: ``zstd`` is
  then neither asked for nor decoded).

:data:`DECODABLE` lists the codings decoded here, :data:`ACCEPT_ENCODING` the header that asks for them.
"""

from __future__ import annotations

import importlib
import zlib
from typing import Any, FrozenSet, List, Optional, Protocol

__all__ = ["ACCEPT_ENCODING", "DECODABLE", "Stage", "bounded_brotli", "lasting_zstd", "stage_for"]


def _module(*names: str) -> Any:
    for name in names:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None


def bounded_brotli(module: Any) -> Any:
    """``module`` if its decoder takes an output limit (brotli, brotlicffi >= 1.2), else ``None``:
    older ones (and brotlipy) make all the output of their input at once, so ``br`` is not decoded."""
    decompressor = getattr(module, "Decompressor", None)
    return module if hasattr(decompressor, "can_accept_more_data") else None


def lasting_zstd(module: Any) -> Any:
    """``module`` if it is ``zstandard`` 0.19 or later, else ``None``: before 0.19 a decompressor called
    more than once (as :class:`_Zstd` calls it, a step at a time) could leak memory at each call, so
    ``zstd`` is then neither asked for nor decoded."""
    try:
        version = tuple(int(part) for part in str(getattr(module, "__version__", "")).split(".")[:2])
    except ValueError:
        return None
    return module if version >= (0, 19) else None


# The same modules, in the same order, as httpx's decoders pick.
_brotli: Any = bounded_brotli(_module("brotli", "brotlicffi"))
_zstd: Any = lasting_zstd(_module("zstandard"))

DECODABLE: FrozenSet[str] = frozenset(
    ["gzip", "x-gzip", "deflate"] + (["br"] if _brotli is not None else []) + (["zstd"] if _zstd else [])
)
"""Content codings a :class:`Stage` exists for in this Python."""

ACCEPT_ENCODING = ", ".join(c for c in ("gzip", "deflate", "br", "zstd") if c in DECODABLE)
"""The ``Accept-Encoding`` for API requests: what can be decoded within bounds, nothing else."""

_ZLIB = {"gzip": zlib.MAX_WBITS | 16, "x-gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}


class Stage(Protocol):
    """One content coding undone."""

    def decompress(self, data: bytes, budget: int) -> bytes:
        """Take ``data`` (only when :meth:`busy` is false, else ``b""``) and return about ``budget``
        bytes of output at most."""
        ...

    def busy(self) -> bool:
        """Whether output is left from input already taken: call again with ``b""`` before new data."""
        ...

    def complete(self) -> bool:
        """Whether the stream reached its end (a body cut short did not)."""
        ...


class _Zlib:
    def __init__(self, coding: str) -> None:
        self._coding = coding
        self._d: Any = zlib.decompressobj(_ZLIB[coding])
        self._fed = False  # some input was taken without an error

    def decompress(self, data: bytes, budget: int) -> bytes:
        data = self._d.unconsumed_tail + data
        limit = max(budget, 1)  # 0 would mean "no limit"
        try:
            out = bytes(self._d.decompress(data, limit))
        except zlib.error:
            if self._coding != "deflate" or self._fed:  # raw deflate, without a zlib header
                raise
            self._d = zlib.decompressobj(-zlib.MAX_WBITS)
            out = bytes(self._d.decompress(data, limit))
        self._fed = self._fed or bool(data)
        return out

    def busy(self) -> bool:
        return bool(self._d.unconsumed_tail)

    def complete(self) -> bool:
        return bool(self._d.eof)


class _Brotli:
    def __init__(self) -> None:
        self._d: Any = _brotli.Decompressor()
        self._seen = False
        self._full = False  # the last call stopped at its limit: more output may be waiting

    def decompress(self, data: bytes, budget: int) -> bytes:
        self._seen = self._seen or bool(data)
        if not self._seen:
            return b""
        limit = max(budget, 1)
        try:
            out = bytes(self._d.process(data, output_buffer_limit=limit))
        except _brotli.error as exc:
            raise zlib.error(f"brotli: {exc}") from None
        self._full = len(out) >= limit
        return out

    def busy(self) -> bool:
        # can_accept_more_data() only says the input was all taken; output may still be waiting.
        if not self._seen or self._d.is_finished():
            return False
        return self._full or not self._d.can_accept_more_data()

    def complete(self) -> bool:
        # An empty body is no brotli stream (even empty content compresses to one byte), as gzip's
        # stage says of an empty gzip body.
        return bool(self._d.is_finished())


_ZSTD_BLOCK = 128 * 1024  # the most one block can make (RFC 8878, Block_Maximum_Size)
_ZSTD_WINDOW = 8 * 1024 * 1024  # RFC 9659: HTTP decoders need not accept larger windows
_ZSTD_MAGIC = 0xFD2FB528
_READ = ("magic", "descriptor", "skip-size", "block")  # states whose bytes are read here


class _ZstdWalk:
    """Follows the frames of the bytes given to the decoder, to tell how many more can be given with
    at most ``budget`` bytes coming out (RFC 8878: frames, skippable frames, blocks, checksums)."""

    def __init__(self) -> None:
        self._state, self._need = "magic", 4  # bytes left in the current part of the stream
        self._read = bytearray()  # what was given of the part, for the parts read here
        self._cost = 0  # output the part makes once its last byte is given
        self._last = self._checksum = False

    def plan(self, data: bytes, budget: int) -> int:
        """How many bytes of ``data`` to give now (at least one, whatever the budget)."""
        n, made = 0, 0
        while n < len(data):
            if self._state == "invalid":  # not zstd: the decoder refuses it
                return len(data)
            take = min(self._need, len(data) - n)
            if self._state == "raw":  # a stored block: each byte makes one byte, as it comes
                take = min(take, budget - made)
                if take <= 0:
                    break
                made += take
            elif self._cost and take == self._need:  # the part completes: its output comes
                if made and made + self._cost > budget:
                    break
                made += self._cost
            if self._state in _READ:
                self._read += data[n : n + take]
            n += take
            self._need -= take
            if not self._need:
                self._next(bytes(self._read))
                self._read.clear()
            if made >= budget:
                break
        return n

    def _go(self, state: str, need: int, cost: int = 0) -> None:
        self._state, self._need, self._cost = state, need, cost
        if not need:  # an empty part: done at once
            self._next(b"")

    def _next(self, read: bytes) -> None:
        state, value = self._state, int.from_bytes(read, "little")
        if state == "magic":
            if value == _ZSTD_MAGIC:
                self._go("descriptor", 1)
            elif value & 0xFFFFFFF0 == 0x184D2A50:
                self._go("skip-size", 4)
            else:
                self._go("invalid", 1)
        elif state == "descriptor":  # Frame_Header_Descriptor: the size of the rest of the header
            single, self._checksum = bool(value & 0x20), bool(value & 0x04)
            fcs = ((1 if single else 0), 2, 4, 8)[value >> 6]
            self._go("header", (0 if single else 1) + (0, 1, 2, 4)[value & 3] + fcs)
        elif state == "header":
            self._go("block", 3)
        elif state == "skip-size":
            self._go("skip", value)
        elif state == "block":
            self._last, kind, size = bool(value & 1), (value >> 1) & 3, value >> 3
            if kind == 0:
                self._go("raw", size)
            elif kind == 1:  # RLE: one byte, repeated size times
                self._go("content", 1, size)
            elif kind == 2:
                self._go("content", size, _ZSTD_BLOCK)
            else:
                self._go("invalid", 1)
        elif state in ("raw", "content"):
            if not self._last:
                self._go("block", 3)
            else:
                self._go("checksum", 4 if self._checksum else 0)
        else:  # "checksum", "skip": the next frame
            self._go("magic", 4)


class _Zstd:
    def __init__(self) -> None:
        self._d: Any = self._decoder()
        self._walk = _ZstdWalk()
        self._held = b""  # taken, not yet given to the decoder

    @staticmethod
    def _decoder() -> Any:
        return _zstd.ZstdDecompressor(max_window_size=_ZSTD_WINDOW).decompressobj()

    def decompress(self, data: bytes, budget: int) -> bytes:
        held, budget = self._held + data, max(budget, 1)
        parts: List[bytes] = []
        made = 0
        try:
            while held and made < budget:
                n = self._walk.plan(held, budget - made)
                piece, held = held[:n], held[n:]
                if self._d.eof:  # the last frame ended with the last piece: a new one starts
                    self._d = self._decoder()
                out = self._d.decompress(piece)
                while self._d.eof and self._d.unused_data:  # the next frame (as httpx does)
                    rest, self._d = self._d.unused_data, self._decoder()
                    out += self._d.decompress(rest)
                made += len(out)
                parts.append(out)
        except _zstd.ZstdError as exc:
            raise zlib.error(f"zstd: {exc}") from None
        finally:
            self._held = held
        return b"".join(parts)

    def busy(self) -> bool:
        return bool(self._held)

    def complete(self) -> bool:
        # An empty body is no zstd stream (one frame at least, RFC 8878; empty content is a 9-byte
        # frame), as gzip's stage says of an empty gzip body.
        return bool(self._d.eof)


def stage_for(coding: str) -> Optional[Stage]:
    """The decoder of ``coding`` (lower case), ``None`` if it is not in :data:`DECODABLE`."""
    if coding in _ZLIB:
        return _Zlib(coding)
    if coding == "br" and _brotli is not None:
        return _Brotli()
    if coding == "zstd" and _zstd is not None:
        return _Zstd()
    return None
