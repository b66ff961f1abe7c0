"""A run's input files shared by several items (one face swapped into every poster): each uploaded once.

The client's upload cache (``magic_hour._jobs.inputs``) finds a file uploaded by an earlier call, but the
items of a batch upload at the same time, so each found nothing yet and uploaded the file again. Here
the first item to need a file uploads it, the others wait for that upload and take its ``file_path``.

A file is known by the cache's key, which is safe to share only once *settled* (taken long enough after
the file's last change that any later change shows in the key): an item whose file changed moments ago
waits for that (at most twice its file system's clock step, 20 ms on most) before it looks. A key that
never settles (a file system without a change time) is not shared: that item uploads its own copy.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from .._jobs.inputs import FileKey, LocalInput, Location, settle_ns

MAX_SETTLE = 2.1
"""Seconds an item waits at most for its files to settle (FAT's two-second clock step, and a little)."""
REMEMBERED = 1024
"""Uploaded files a run remembers (the most recently used): memory stays flat however many items."""


def settle_wait(inputs: Sequence[LocalInput], now_ns: Optional[int] = None) -> float:
    """Seconds until the keys of ``inputs`` that are not settled yet may be (0: none to wait for)."""
    now = time.time_ns() if now_ns is None else now_ns
    wait = 0
    for item in inputs:
        key = item.key
        if key is not None and not key.settled:
            wait = max(wait, key.ctime_ns + settle_ns(key.ctime_ns) - now)
    seconds = wait / 1e9
    return seconds if 0 < seconds <= MAX_SETTLE else 0.0


def shareable(inputs: Sequence[LocalInput]) -> List[FileKey]:
    return list(dict.fromkeys(i.key for i in inputs if i.key is not None and i.key.settled))


def value_at(body: Any, location: Location) -> Any:
    for part in location:
        body = body[part]
    return body


class SharedUploads:
    """The files of one run: uploaded (``file_path`` by key, the most recent :data:`REMEMBERED`), or being
    uploaded by an item (an event set when it ends). ``event`` makes the events: ``threading.Event`` for
    the sync driver, ``anyio.Event`` for the async one. Thread-safe."""

    def __init__(self, event: Callable[[], Any]) -> None:
        self._event = event
        self._lock = threading.Lock()
        self._done: OrderedDict[FileKey, str] = OrderedDict()
        self._busy: Dict[FileKey, Any] = {}

    def claim(self, keys: Sequence[FileKey]) -> Tuple[Dict[FileKey, str], List[Any], List[FileKey]]:
        """``(uploaded, to wait for, mine to upload)`` for ``keys``. With anything to wait for, nothing is
        claimed (an item never holds a file while it waits for another: no deadlock): wait, then claim
        again."""
        known: Dict[FileKey, str] = {}
        waits: List[Any] = []
        mine: List[FileKey] = []
        with self._lock:
            for key in keys:
                path = self._done.get(key)
                if path is not None:
                    self._done.move_to_end(key)
                    known[key] = path
                elif key in self._busy:
                    waits.append(self._busy[key])
                elif not waits:
                    self._busy[key] = self._event()
                    mine.append(key)
        if waits:
            self.release(mine, {})
            return known, waits, []
        return known, [], mine

    def release(self, keys: Sequence[FileKey], paths: Mapping[FileKey, str]) -> None:
        """The uploads of ``keys`` ended: with their ``paths`` where they succeeded."""
        with self._lock:
            for key in keys:
                path = paths.get(key)
                if path is not None:
                    self._done[key] = path
                    self._done.move_to_end(key)
                    if len(self._done) > REMEMBERED:
                        self._done.popitem(last=False)
                self._busy.pop(key).set()


def found(inputs: Sequence[LocalInput], known: Mapping[FileKey, str]) -> Dict[Location, str]:
    """Where the files another item uploaded go in the body (for ``substitute``)."""
    return {i.location: known[i.key] for i in inputs if i.key is not None and i.key in known}


def uploaded_paths(
    result: Mapping[str, Any], inputs: Sequence[LocalInput], mine: Sequence[FileKey]
) -> Dict[FileKey, str]:
    """The ``file_path`` each of ``mine`` got, read from the uploaded body."""
    paths: Dict[FileKey, str] = {}
    for item in inputs:
        if item.key is not None and item.key in mine and item.key not in paths:
            value = value_at(result, item.location)
            if isinstance(value, str):
                paths[item.key] = value
    return paths
