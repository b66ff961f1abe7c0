"""Reading a file for an async PUT without blocking the event loop, and without leaving it idle.

A read that may wait for a disk runs in a worker thread (asyncio and trio alike), so:

- a file of at most one chunk is read on the loop when all of it is in the page cache, with a read
  the kernel guarantees cannot block (``nowait.read_cached``, files up to 256 KiB); otherwise it is
  opened, read (with the one-byte probe past its end) and closed in a single worker-thread call;
- a larger file is read by one worker thread ahead of the connection: the next chunks are read while
  the current one is written to the socket, and handed over through a locked queue of at most
  ``_HIGH`` chunks, refilled two at a time. The loop takes a chunk that is ready without any hand-off
  (it only notifies the thread when the queue runs low); it waits (and the thread wakes it) only when
  the disk is slower than the network. Memory stays flat: at most ``_HIGH`` chunks ready and the one
  being sent. The file's last chunk, and the probe past its end, are read only once the body has taken
  every chunk before it, so a file that grows or shrinks is caught as late as before.

The body (``bodies.StreamedBody``) asks for the reads it always did, in order: ``read(n)`` of
``min(CHUNK_SIZE, left)`` bytes until the announced size, then ``read(1)``, which must find nothing;
the reader performs exactly those reads, ahead of time. A file opened here is closed by the thread that
reads its end (so before the last chunk even reaches the connection), or when the attempt ends.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any, Deque, List, Optional, Union

import anyio
import anyio.abc
import anyio.to_thread

from .afile import AttemptFile, run_in_thread, waker
from .flow import CHUNK_SIZE
from .inputs import Source
from .nowait import read_cached

_Item = Union[List[bytes], Exception]

_HIGH = 3
"""Chunks a reading thread holds ready for the body, at most (plus the one being sent)."""
_LOW = 1
"""The thread reads again once the body has left this many: two chunks per wake-up of the thread, and
one ready while it reads them. Except for the file's last chunk: it is read (with the probe past the
end, which catches a file that grew) only once the body has taken every chunk before it, one chunk
ahead of the connection, as it always was."""


class ThreadReader:
    """Serves the body's reads from reads done ahead in a worker thread (see the module doc)."""

    def __init__(self, source: Source) -> None:
        self._file = AttemptFile(source)
        self._ready: Deque[bytes] = deque()  # the loop's side: pieces of the item taken last
        self._lock = threading.Lock()
        self._moved = threading.Condition(self._lock)  # the thread waits here for the slot to empty
        self._slot: Deque[_Item] = deque()  # items read ahead, not yet taken (at most _HIGH)
        self._stopped = False
        self._waiting: Optional[anyio.Event] = None  # the loop waits for the slot to fill
        self._wake: Any = None
        self._threaded = False
        self._filling = True  # the thread reads until _HIGH chunks are ready

    async def start(self, tg: Optional[anyio.abc.TaskGroup]) -> None:
        """Reads a small file at once; starts the reading thread of a larger one in ``tg``."""
        source = self._file.source
        if tg is None or source.size <= CHUNK_SIZE:
            cached = read_cached(source)  # on the loop, only from the page cache (up to 256 KiB)
            self._ready.extend(await run_in_thread(self._file.read_all) if cached is None else cached)
            return
        self._threaded = True
        self._wake = waker()
        tg.start_soon(self._run)

    async def read(self, n: int) -> bytes:
        while not self._ready:
            assert self._threaded, "read past the reads the body makes"
            event: Optional[anyio.Event] = None
            item: Optional[_Item] = None
            with self._lock:
                if self._slot:
                    item = self._slot.popleft()
                    if len(self._slot) <= _LOW:
                        self._moved.notify()
                else:
                    event = self._waiting = anyio.Event()
            if item is None:
                assert event is not None
                await event.wait()  # set by the thread once it has read the next chunk
                continue
            if isinstance(item, Exception):
                raise item
            self._ready.extend(item)
        return self._ready.popleft()

    def stop(self) -> None:
        """When the attempt ends: the reading thread stops (and its task ends) before its next read."""
        with self._lock:
            self._stopped = True
            self._moved.notify()

    def close(self) -> None:
        """Once the attempt's task group has exited (no thread uses the file any more)."""
        self.stop()
        self._file.close()

    async def _run(self) -> None:
        try:
            await anyio.to_thread.run_sync(self._read_ahead)
        finally:
            with self._lock:  # cancelled before the thread started (anyio then never runs it)
                self._stopped = True

    def _blocked(self) -> bool:
        """(Under the lock.) Whether the thread must wait before its next read: it has filled the queue
        (``_HIGH``) and the body has not brought it down to ``_LOW`` yet, or the next read is the file's
        last chunk and the body has not taken every chunk before it."""
        if self._stopped:
            return False
        ready = len(self._slot)
        if self._file.sent + CHUNK_SIZE >= self._file.source.size and ready:
            return True
        if ready >= _HIGH:
            self._filling = False
        elif ready <= _LOW:
            self._filling = True
        return not self._filling

    def _read_ahead(self) -> None:
        """The worker thread: reads until the file's end, an error, or the attempt stops it."""
        try:
            while True:
                with self._lock:
                    while self._blocked():
                        self._moved.wait()
                    if self._stopped:
                        return
                try:
                    item: _Item = self._file.step()
                except Exception as exc:  # an OSError reading the file: the body raises it
                    item = exc
                with self._lock:
                    if self._stopped:
                        return
                    self._slot.append(item)
                    event, self._waiting = self._waiting, None
                if event is not None:
                    try:
                        self._wake(event.set)
                    except RuntimeError:  # the event loop is closed (trio: RunFinishedError)
                        return
                if isinstance(item, Exception) or self._file.done:
                    return
        finally:
            self._file.close()
