"""Reading a file for an async PUT without blocking the event loop, and without leaving it idle.

Disk reads run in worker threads (asyncio and trio alike, through anyio), and each hand-off to a
thread and back costs the loop about 0.1-0.3 ms, so:

- a file of at most one chunk is opened, read (with the one-byte probe past its end) and closed in a
  single worker-thread call, instead of one call each for open, read, probe and close;
- a larger file is read by a task one chunk ahead of the connection: the next chunk's read runs in its
  thread while the current chunk is written to the socket (without it the loop waited for every read).
  Memory stays flat: at most the chunk being sent and the one read ahead.

The body (``bodies.StreamedBody``) asks for the reads it always did, in order: ``read(n)`` of
``min(CHUNK_SIZE, left)`` bytes until the announced size, then ``read(1)``, which must find nothing;
the reader performs exactly those reads, ahead of time. A file opened here is closed by the thread that
reads its end (so before the last chunk even reaches the connection), or when the attempt ends.
"""

from __future__ import annotations

from collections import deque
from typing import IO, Deque, List, Optional, Union

import anyio
import anyio.abc
import anyio.to_thread
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from .flow import CHUNK_SIZE
from .inputs import Source

_Item = Union[List[bytes], Exception]


class _File:
    """The file of one attempt, as the worker threads see it."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.file: Optional[IO[bytes]] = None
        self.sent = 0  # bytes read so far, before the probe
        self.done = False  # the last read is done (the probe, or a read that found the end)

    def open(self) -> IO[bytes]:
        if self.file is None:
            source = self.source
            if source.path is not None:
                self.file = open(source.path, "rb")  # noqa: SIM115 (closed by close())
            else:
                assert source.fileobj is not None
                if source.start is not None:  # retries rewind from byte 0
                    source.fileobj.seek(source.start)
                self.file = source.fileobj
        return self.file

    def close(self) -> None:
        """Closes a file opened from a path (a caller's file object stays open)."""
        f, self.file = self.file, None
        if f is not None and self.source.path is not None:
            f.close()

    def step(self) -> List[bytes]:
        """In a worker thread: the body's next read, and the probe with it when it ends the file."""
        f = self.open()
        size = self.source.size
        if self.sent >= size:  # an empty file: only the probe
            self.done = True
            out = [f.read(1)]
        else:
            chunk = f.read(min(CHUNK_SIZE, size - self.sent))
            self.sent += len(chunk)
            if not chunk:  # the file shrank: the body reports it
                self.done = True
                out = [chunk]
            elif self.sent == size:
                self.done = True
                out = [chunk, f.read(1)]
            else:
                out = [chunk]
        if self.done:
            self.close()  # before the last chunk goes out: no file stays open while the answer comes
        return out

    def read_all(self) -> List[bytes]:
        """In a worker thread: every read of a small file, then close it."""
        try:
            out: List[bytes] = []
            while not self.done:
                out += self.step()
            return out
        finally:
            self.close()


class ThreadReader:
    """Serves the body's reads from reads done ahead in worker threads (see the module doc)."""

    def __init__(self, source: Source) -> None:
        self._file = _File(source)
        self._ready: Deque[bytes] = deque()
        self._receive: Optional[MemoryObjectReceiveStream[_Item]] = None

    async def start(self, tg: Optional[anyio.abc.TaskGroup]) -> None:
        """Reads a small file at once; starts the read-ahead task of a larger one in ``tg``."""
        if tg is None or self._file.source.size <= CHUNK_SIZE:
            self._ready.extend(await anyio.to_thread.run_sync(self._file.read_all))
            return
        send, self._receive = anyio.create_memory_object_stream[_Item](0)
        tg.start_soon(self._read_ahead, send)

    async def read(self, n: int) -> bytes:
        if not self._ready:
            assert self._receive is not None, "read past the reads the body makes"
            item = await self._receive.receive()
            if isinstance(item, Exception):
                raise item
            self._ready.extend(item)
        return self._ready.popleft()

    def close(self) -> None:
        """When the attempt ends: stops the read-ahead (its task is cancelled with the task group)."""
        if self._receive is not None:
            self._receive.close()
        self._file.close()  # after the task group has exited: no thread uses it any more

    async def _read_ahead(self, send: MemoryObjectSendStream[_Item]) -> None:
        with send:
            try:
                while not self._file.done:
                    try:
                        item: _Item = await anyio.to_thread.run_sync(self._file.step)
                    except Exception as exc:  # an OSError reading the file: the body raises it
                        item = exc
                    await send.send(item)
                    if isinstance(item, Exception):
                        return
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                return  # the attempt ended before its body did (an early answer, an error)
