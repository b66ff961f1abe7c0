"""Reading a file for an async PUT without blocking the event loop, and without leaving it idle.

A read that may wait for a disk runs in a worker thread (asyncio and trio alike); one the page cache
serves runs on the loop, because each hand-off to a thread and back costs more than the read (the
loop's wake-ups, the GIL going back and forth: 1.4x raw httpx's time for 1,000 small files, 1.15-1.5x
its CPU for large ones, ``tests/benchmarks/bench_upload.py``), so:

- a file of at most one chunk is read on the loop when all of it is in the page cache, with a read
  the kernel guarantees cannot block (``nowait.read_cached``); otherwise it is opened, read (with the
  one-byte probe past its end) and closed in a single worker-thread call;
- a larger file (from a path) is read on the loop a chunk at a time, on demand, while the kernel says
  the next chunk is in the page cache (``nowait.chunk_cached``). From the first chunk that is not (or
  always, for a file object, or where the kernel cannot tell), one worker thread reads the rest of the
  attempt ahead of the connection: the next chunks are read while the current one is written to the
  socket, and handed over through a locked queue of at most ``_HIGH`` chunks, refilled two at a time.
  The loop takes a chunk that is ready without any hand-off (it only notifies the thread when the queue
  runs low); it waits (and the thread wakes it) only when the disk is slower than the network. Memory
  stays flat: at most ``_HIGH`` chunks ready and the one being sent. The file's last chunk, and the
  probe past its end, are read only once the body has taken every chunk before it, so a file that
  grows or shrinks is caught as late as before.

The body (``bodies.StreamedBody``) asks for the reads it always did, in order: ``read(n)`` of
``min(CHUNK_SIZE, left)`` bytes until the announced size, then ``read(1)``, which must find nothing;
the reader performs exactly those reads, ahead of time. A file opened here is closed by the thread that
reads its end (so before the last chunk even reaches the connection), or when the attempt ends.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any, Deque, List, Optional, Union

import anyio
import anyio.abc
import anyio.to_thread

from . import heap, nowait
from .afile import AttemptFile, run_in_thread, waker
from .flow import CHUNK_SIZE
from .inputs import Source
from .nowait import read_cached

_Item = Union[List[bytes], Exception]

_HIGH = 3
"""Chunks a reading thread holds ready for the body, at most (plus the one being sent)."""
_ASK_AHEAD = 8 * CHUNK_SIZE
"""How far ahead the page cache is asked about at once, for chunks read on the loop."""
_ASK_FOR = 0.02
"""How long (seconds) that answer is trusted: a chunk read later asks again."""
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
        self._on_loop = False  # a larger file's chunks are read on the loop while they are cached
        self._cached_to = 0  # the page cache held the file up to here when last asked
        self._asked_at = 0.0  # when (time.monotonic())
        self._tg: Optional[anyio.abc.TaskGroup] = None
        self._filling = True  # the thread reads until _HIGH chunks are ready

    async def start(self, tg: Optional[anyio.abc.TaskGroup]) -> None:
        """Reads a small file at once; starts the reading thread of a larger one in ``tg``."""
        source = self._file.source
        if source.size > nowait.LOOP_READ_MAX:
            heap.prime()  # once per process: chunk memory stays in the heap (see heap.py)
        if tg is None or source.size <= CHUNK_SIZE:
            cached = read_cached(source)  # on the loop, only from the page cache (up to 256 KiB)
            if cached is None and source.size > nowait.LOOP_READ_MAX and await self._page_cache():
                cached = self._read_all_on_loop()
            self._ready.extend(await run_in_thread(self._file.read_all) if cached is None else cached)
            return
        self._tg = tg
        self._on_loop = await self._page_cache()
        if not self._on_loop:  # a file object, or a kernel that cannot tell: the thread reads it all
            self._start_thread()

    async def _page_cache(self) -> bool:
        """Whether the kernel can tell what of this file is cached (a path, and ``cachestat``)."""
        if self._file.source.path is None:
            return False
        if not nowait.page_cache_known():
            await run_in_thread(nowait.prepare_page_cache)  # once per process, off the loop
        return nowait.page_cache_known() and nowait.prepare_page_cache()

    def _read_all_on_loop(self) -> Optional[List[bytes]]:
        """A one-chunk file above ``nowait.LOOP_READ_MAX``, read on the loop if it is all cached."""
        f = self._file.open_here()
        if f is None or not nowait.chunk_cached(f.fileno(), 0, self._file.source.size):
            return None  # the thread reads it (with the file opened here, if it was)
        return self._file.read_all()

    def _start_thread(self) -> None:
        assert self._tg is not None
        self._on_loop = False
        self._threaded = True
        self._wake = waker()
        self._tg.start_soon(self._run)

    def _read_on_loop(self) -> bool:
        """The body's next read, on the loop, if the page cache holds it (``nowait.chunk_cached``).

        The kernel is asked about the next ``_ASK_AHEAD`` bytes at once (then about the chunk alone, if
        not all of them are cached): one system call per 8 chunks rather than per chunk. The answer is
        trusted for ``_ASK_FOR`` seconds at most (a slow link takes longer over 8 chunks), so a page
        evicted meanwhile is seen, except in the instant between a question and its read."""
        file = self._file
        want = min(CHUNK_SIZE, file.source.size - file.sent)
        now = time.monotonic()
        if file.sent + want > self._cached_to or now - self._asked_at > _ASK_FOR:
            self._asked_at = now
            f = file.open_here()  # a metadata call, as the planner's stat of the same path
            if f is None:
                return False
            ahead = min(_ASK_AHEAD, file.source.size - file.sent)
            if nowait.chunk_cached(f.fileno(), file.sent, ahead):
                self._cached_to = file.sent + ahead
            elif ahead > want and nowait.chunk_cached(f.fileno(), file.sent, want):
                self._cached_to = file.sent + want
            else:
                return False
        self._ready.extend(file.step())
        return True

    async def read(self, n: int) -> bytes:
        while not self._ready:
            if self._on_loop:
                if not self._read_on_loop():
                    self._start_thread()  # for the rest of the attempt, from where the loop stopped
                continue
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
