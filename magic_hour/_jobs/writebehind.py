"""Async downloads write behind the network: a worker thread writes one chunk while the next is received.

Awaiting each disk write before reading on stalls the connection for a thread round trip per chunk (on
a busy machine, a wait for a free core each time: an async 50 MB download took up to twice the wall
time of a script writing on the loop). With one write in flight at a time, memory stays bounded (one
chunk being written, one being collected: each the pieces as received, never joined into a copy) and
progress events still follow the file, in order.
"""

from __future__ import annotations

from typing import Callable, List, Optional

import anyio
import anyio.abc
import anyio.to_thread

from .events import DownloadProgress, Emitter

__all__ = ["WriteBehind"]


class WriteBehind:
    """At most one write in flight; :meth:`wait` before the file is rewound, closed or reported on.

    Never raises into the task group it starts writes in (anyio would wrap the error in an
    ``ExceptionGroup``): a failed write is raised by the next :meth:`start` or :meth:`wait`.
    """

    def __init__(self, write: Callable[[List[bytes]], None], emit: Emitter) -> None:
        self._write, self._emit = write, emit
        self._done: Optional[anyio.Event] = None
        self._event: Optional[DownloadProgress] = None
        self._error: Optional[Exception] = None

    async def _run(self, data: List[bytes], done: anyio.Event) -> None:
        try:
            await anyio.to_thread.run_sync(self._write, data)  # not abandoned on cancel: the file stays ours
        except Exception as exc:
            self._error = exc
        finally:
            done.set()

    async def start(self, tg: anyio.abc.TaskGroup, data: List[bytes], event: DownloadProgress) -> None:
        """Write ``data`` in a worker thread once the write in flight is done; ``event`` is emitted when
        it is written."""
        await self.wait()
        self._done, self._event = anyio.Event(), event
        tg.start_soon(self._run, data, self._done)

    async def wait(self) -> None:
        """Wait for the write in flight: emit its progress event, or raise its error."""
        done, event = self._done, self._event
        if done is None or event is None:
            return
        await done.wait()
        self._done = self._event = None
        error, self._error = self._error, None
        if error is not None:
            raise error
        self._emit(event)
