"""Content-Encoding decoders whose output per step is bounded (no I/O).

The SDK asks for, and decodes, only the codings the standard library can bound: ``gzip`` and
``deflate`` (``zlib``'s ``max_length``). httpx's decoders turn any input into all of its output at once,
so a few kilobytes of a compressed bomb would become gigabytes in memory; a :class:`Stage` here produces
at most ``budget`` bytes per call, keeping the rest of its input for the next call, so that callers can
count and refuse a bomb before it is made. Any other coding (``br``, ``zstd``, ...) is never asked for.

A ``gzip`` body may hold several members, one after the other (RFC 1952 2.2; ``cat a.gz b.gz``): all
are decoded, and zero bytes between or after them are padding, as the :mod:`gzip` module reads them
(httpx keeps the first member only). Anything else after the end of a stream is a decoding error: the
body is not what it says. At most :data:`MAX_CODINGS` codings are undone per body.

:data:`DECODABLE` lists the codings decoded here, :data:`ACCEPT_ENCODING` the header that asks for them.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Any, FrozenSet, List, Optional

if TYPE_CHECKING:
    import httpx

__all__ = ["ACCEPT_ENCODING", "DECODABLE", "MAX_CODINGS", "Inflater", "Stage", "stage_for"]

_ZLIB = {"gzip": zlib.MAX_WBITS | 16, "x-gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}

DECODABLE: FrozenSet[str] = frozenset(_ZLIB)
"""Content codings a :class:`Stage` exists for."""

ACCEPT_ENCODING = "gzip, deflate"
"""The ``Accept-Encoding`` for API requests: what can be decoded within bounds, nothing else."""

MAX_CODINGS = 5
"""Content codings undone at most for one body (not counting ``identity``), as curl and urllib3 bound
them: a proxy may compress a compressed body again, nothing needs more. A header listing more is a
decoding error (1,500 layers hit the recursion limit)."""


class Stage:
    """One ``gzip`` or ``deflate`` coding undone, at most ``budget`` bytes per call."""

    def __init__(self, coding: str) -> None:
        self._coding = coding
        self._gzip = coding != "deflate"
        self._d: Any = zlib.decompressobj(_ZLIB[coding])
        self._fed = False  # some input was taken without an error
        self._after = b""  # bytes after the end of a gzip member: padding, or the next member

    def decompress(self, data: bytes, budget: int) -> bytes:
        """Take ``data`` (only when :meth:`busy` is false, else ``b""``) and return at most ``budget``
        bytes of output."""
        limit = max(budget, 1)  # 0 would mean "no limit"
        if self._d.eof:
            self._after += data
            data = b""
        else:
            data = self._d.unconsumed_tail + data
        parts: List[bytes] = []
        made = 0
        while True:
            if not self._d.eof:
                out = self._inflate(data, limit - made)
                data = b""
                parts.append(out)
                made += len(out)
                if self._d.eof:  # what follows belongs to no stream yet
                    self._after += self._d.unused_data
                if not self._d.eof or made >= limit:
                    break
            after = self._after.lstrip(b"\0") if self._gzip else self._after
            if not after:
                self._after = b""  # padding only, so far
                break
            if not self._gzip:
                raise zlib.error(f"{len(after)} bytes after the end of the deflate stream")
            # The next gzip member (an invalid header raises zlib's own error).
            self._d, self._after, data = zlib.decompressobj(_ZLIB[self._coding]), b"", after
        return b"".join(parts)

    def _inflate(self, data: bytes, limit: int) -> bytes:
        try:
            out = bytes(self._d.decompress(data, limit))
        except zlib.error:
            if self._gzip or self._fed:  # deflate may come raw, without its zlib header
                raise
            self._d = zlib.decompressobj(-zlib.MAX_WBITS)
            out = bytes(self._d.decompress(data, limit))
        self._fed = self._fed or bool(data)
        return out

    def busy(self) -> bool:
        """Whether output is left from input already taken: call again with ``b""`` before new data."""
        if self._d.eof:
            return bool(self._after.lstrip(b"\0") if self._gzip else self._after)
        return bool(self._d.unconsumed_tail)

    def complete(self) -> bool:
        """Whether the stream reached its end (a body cut short did not)."""
        return bool(self._d.eof)


def stage_for(coding: str) -> Optional[Stage]:
    """The decoder of ``coding`` (lower case), ``None`` if it is not in :data:`DECODABLE`."""
    return Stage(coding) if coding in _ZLIB else None


class Inflater:
    """A body's Content-Encoding stages undone in order, each producing at most ``budget`` bytes per
    step. A coding no stage exists for is skipped, as httpx does; with more than :data:`MAX_CODINGS`
    codings, :attr:`refused` says so and :meth:`feed` raises ``zlib.error``."""

    def __init__(self, response: httpx.Response) -> None:
        self._stages: List[Stage] = []
        self._held: List[bytes] = []  # input taken for each stage, not yet given to it
        self.refused = ""
        """Why the body cannot be decoded at all (``""``: it can be)."""
        if "content-encoding" not in response.headers:  # the common case: nothing to undo
            return
        codings = [
            c.strip().lower() for c in response.headers.get_list("content-encoding", split_commas=True)
        ]
        codings = [c for c in codings if c and c != "identity"]
        if len(codings) > MAX_CODINGS:
            self.refused = f"{len(codings)} content codings (at most {MAX_CODINGS} are decoded)"
            return
        stages = (stage_for(c) for c in reversed(codings))
        self._stages = [s for s in stages if s is not None]
        self._held = [b""] * len(self._stages)

    @property
    def identity(self) -> bool:
        """Nothing to undo: every piece is the body as it came."""
        return not self._stages and not self.refused

    def feed(self, data: bytes, budget: int) -> bytes:
        if self.refused:
            raise zlib.error(self.refused)
        if not self._stages:
            return data
        self._held[0] += data
        return self._pull(len(self._stages) - 1, max(budget, 1))

    def _pull(self, i: int, budget: int) -> bytes:
        # The last stage first: an earlier one runs only for a stage that has nothing left to work
        # on, so no stage holds more than one step of its predecessor's output.
        stage = self._stages[i]
        if stage.busy():
            return stage.decompress(b"", budget)
        if i > 0 and not self._held[i]:
            self._held[i] = self._pull(i - 1, budget)
        data, self._held[i] = self._held[i], b""
        return stage.decompress(data, budget)

    def pending(self) -> bool:
        return any(self._held) or any(stage.busy() for stage in self._stages)

    def flush(self) -> bytes:
        return b""  # every stage gives all it has once it is no longer busy

    def complete(self) -> bool:
        """Whether every stage reached the end of its stream (a body cut short did not)."""
        return not self.refused and all(stage.complete() for stage in self._stages)
