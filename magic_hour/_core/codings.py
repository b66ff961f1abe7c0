"""Content-Encoding decoders whose output per step is bounded (no I/O).

The SDK asks for, and decodes, only the codings the standard library can bound: ``gzip`` and
``deflate`` (``zlib``'s ``max_length``). httpx's decoders turn any input into all of its output at once,
so a few kilobytes of a compressed bomb would become gigabytes in memory; a :class:`Stage` here produces
at most ``budget`` bytes per call, keeping the rest of its input for the next call, so that callers can
count and refuse a bomb before it is made. Any other coding (``br``, ``zstd``, ...) is never asked for.

:data:`DECODABLE` lists the codings decoded here, :data:`ACCEPT_ENCODING` the header that asks for them.
"""

from __future__ import annotations

import zlib
from typing import Any, FrozenSet, Optional

__all__ = ["ACCEPT_ENCODING", "DECODABLE", "Stage", "stage_for"]

_ZLIB = {"gzip": zlib.MAX_WBITS | 16, "x-gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}

DECODABLE: FrozenSet[str] = frozenset(_ZLIB)
"""Content codings a :class:`Stage` exists for."""

ACCEPT_ENCODING = "gzip, deflate"
"""The ``Accept-Encoding`` for API requests: what can be decoded within bounds, nothing else."""


class Stage:
    """One ``gzip`` or ``deflate`` coding undone, at most ``budget`` bytes per call."""

    def __init__(self, coding: str) -> None:
        self._coding = coding
        self._d: Any = zlib.decompressobj(_ZLIB[coding])
        self._fed = False  # some input was taken without an error

    def decompress(self, data: bytes, budget: int) -> bytes:
        """Take ``data`` (only when :meth:`busy` is false, else ``b""``) and return at most ``budget``
        bytes of output."""
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
        """Whether output is left from input already taken: call again with ``b""`` before new data."""
        return bool(self._d.unconsumed_tail)

    def complete(self) -> bool:
        """Whether the stream reached its end (a body cut short did not)."""
        return bool(self._d.eof)


def stage_for(coding: str) -> Optional[Stage]:
    """The decoder of ``coding`` (lower case), ``None`` if it is not in :data:`DECODABLE`."""
    return Stage(coding) if coding in _ZLIB else None
