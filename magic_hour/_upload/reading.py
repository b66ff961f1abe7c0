"""Reading a file for an async PUT without blocking the event loop (asyncio and trio alike).

A read that may wait for a disk runs in a worker thread: a file of at most one chunk in one call (or on
the loop, when the page cache holds all of it: ``nowait.py``), a larger one by a thread reading ahead of
the connection, so that reading overlaps sending while memory stays flat (at most ``_HIGH`` chunks
ready). The reader performs exactly the reads the body (``bodies.StreamedBody``) asks for, in order,
and the last chunk with the probe past the end only once the body has taken every chunk before it, so
a file that grows or shrinks meanwhile is still caught.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import IO, Any, Callable, Deque, List, Optional, TypeVar, Union

import anyio
import anyio.abc
import anyio.to_thread

from .bodies import read_chunk
from .flow import CHUNK_SIZE
from .inputs import Source
from .nowait import read_cached

T = TypeVar("T")


class AttemptFile:
    """The file of one attempt, read the way the body asks for it, in a worker thread."""

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
            out = [read_chunk(self.source, f, 1)]
        else:
            chunk = read_chunk(self.source, f, min(CHUNK_SIZE, size - self.sent))
            self.sent += len(chunk)
            if not chunk:  # the file shrank: the body reports it
                self.done = True
                out = [chunk]
            elif self.sent == size:
                self.done = True
                out = [chunk, read_chunk(self.source, f, 1)]
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


async def run_in_thread(fn: Callable[[], T]) -> T:
    """``fn()`` in a worker thread, waited for even when the task is cancelled meanwhile (as
    ``anyio.to_thread.run_sync`` does). Under asyncio through the loop's own executor, which costs a
    fraction of anyio's worker threads per call (``tests/benchmarks/README.md``)."""
    import sniffio

    if sniffio.current_async_library() != "asyncio":
        return await anyio.to_thread.run_sync(fn)
    import asyncio
    import contextlib

    future = asyncio.get_running_loop().run_in_executor(None, fn)
    out: List[T] = []  # (a value set inside the scope: type checkers take the scope for one that may swallow)
    with anyio.CancelScope(shield=True):
        try:
            # shield(): a native cancellation (asyncio.wait_for, task.cancel()) passes anyio's shield, and
            # would return while the thread still uses the caller's file object.
            out.append(await asyncio.shield(future))
        except asyncio.CancelledError:
            while not future.done():
                with contextlib.suppress(asyncio.CancelledError):  # cancelled again: still not before
                    await asyncio.wait((future,))
            raise
    return out[0]


def waker() -> Callable[[Callable[[], object]], object]:
    """A thread-safe "run this callback in the running event loop soon" (asyncio or trio)."""
    import sniffio

    if sniffio.current_async_library() == "trio":
        import trio

        return trio.lowlevel.current_trio_token().run_sync_soon
    import asyncio

    return asyncio.get_running_loop().call_soon_threadsafe


_Item = Union[List[bytes], Exception]

_HIGH = 3
"""Chunks a reading thread holds ready for the body, at most (plus the one being sent)."""
_LOW = 1
"""The thread reads again once the body has left this many: two chunks per wake-up of the thread, and
one ready while it reads them (the file's last chunk waits for the body instead: see ``_blocked``)."""


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
            cached = read_cached(
                source.path, source.size
            )  # on the loop, only from the page cache (up to 256 KiB)
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
