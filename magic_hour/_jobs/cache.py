"""Which uploads a client may reuse: a file is uploaded again unless it is surely the one uploaded.

A file is known by its :class:`FileKey`: resolved path, device, inode, size, modification and change
times (``st_ctime``). The change time is what makes the key safe: ``cp -p``, ``shutil.copy2`` and
``os.utime`` can put back any modification time, but every write, ``utime`` and rename sets the change
time to the present, and nothing can set it back; a file renamed over the path is another inode. A
different file copied over with its times kept, rewritten in place with its times restored, or renamed
over the path, is therefore a new key.

Two guards make "same key" mean "same bytes":

- A key is remembered only once it has *settled*: taken at least :func:`settle_ns` after the change
  time. File systems stamp times from a clock that moves in steps (a kernel tick, 1-10 ms; a second on
  ext3, HFS+ and small-inode ext4; two on FAT), so a file written again within the step of its last
  change can keep the same change time. The step is read from the time itself: one that ends in ``n``
  zeros may have been rounded to ``10**n`` ns, and the key waits twice that (at least 20 ms, two ticks
  at the slowest kernel clock). A file written moments before a call is uploaded, not remembered.
- A key is compared whole, and taken before its file is read for the upload: if the file changes
  after that, its key changes too and what was uploaded can never be reused for the new bytes.

Hashing the content instead would cost a read of the whole file per call (1 GiB: 0.6-1.1 s of CPU with
SHA-1/SHA-256/BLAKE2b here, plus the disk when it is not cached); a ``stat`` costs 2.5 us.

On Windows ``st_ctime`` is the creation time, which a copy over an existing file keeps: nothing is
remembered there (every call uploads its files, as the official package does; the same file given
twice in one call is still uploaded once). Nor on Linux file systems that do not keep a change time
(:func:`ctime_kept`: FUSE mounts such as rclone, gcsfuse or sshfs report the modification time as the
change time, and FAT's is its creation time once the inode is read from the disk again).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Dict, Optional

_MIN_SETTLE_NS = 20_000_000
"""Twice the longest kernel clock tick (HZ=100): the least a key waits after its file's change time."""


@dataclass(frozen=True)
class FileKey:
    """One version of one file on disk (see the module doc). ``settled``: it may be remembered."""

    realpath: str
    device: int
    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int
    settled: bool = field(compare=False)


def settle_ns(ctime_ns: int) -> int:
    """How long after ``ctime_ns`` a key must be taken for any later change to show in the change time:
    twice the step the time may have been rounded to (read from its trailing zeros), at least 20 ms."""
    step = 1
    while step < 1_000_000_000 and ctime_ns % (step * 10) == 0:
        step *= 10
    return max(_MIN_SETTLE_NS, 2 * step)


MOUNTINFO = "/proc/self/mountinfo"
_NO_CTIME = ("fuse", "vfat", "msdos", "exfat")
"""File system types (and ``fuse.*``, ``fuseblk``) whose change time a write does not surely move."""
_kept: Dict[int, bool] = {}


def _mount_types(path: str) -> Dict[int, str]:
    """Device number -> file system type, from a ``mountinfo`` file (``{}`` where there is none)."""
    types: Dict[int, str] = {}
    try:
        with open(path, encoding="utf-8", errors="replace") as lines:
            for line in lines:
                fields = line.split()
                if "-" not in fields[6:] or len(fields) < 3:
                    continue
                major, _, minor = fields[2].partition(":")
                with contextlib.suppress(ValueError):
                    types[os.makedev(int(major), int(minor))] = fields[fields.index("-", 6) + 1]
    except (OSError, IndexError, ValueError):
        return {}
    return types


def ctime_kept(device: int) -> bool:
    """Whether the file system of ``device`` keeps a change time that every write and ``utime`` moves.
    Not FUSE (many report the modification time, which ``cp -p`` puts back, as the change time) nor
    FAT-family ones; read from ``/proc/self/mountinfo`` once per device (elsewhere, and for a device it
    does not list, assumed kept). A device not seen yet rereads it: mounts come and go."""
    known = _kept.get(device)
    if known is None:
        fstype = _mount_types(MOUNTINFO).get(device, "")
        known = not fstype.startswith(_NO_CTIME)
        _kept[device] = known
    return known


def file_key(path: str) -> Optional[FileKey]:
    """The key of the file at ``path`` now, or ``None`` when it cannot be known (the upload engine's own
    checks then explain the problem). Never settled where ``st_ctime`` is not the change time (Windows):
    the key then only finds the same file given twice in one call."""
    try:
        st = os.stat(path)
        real = os.path.realpath(path)
    except (OSError, ValueError):
        return None
    now = time.time_ns()
    ctime, mtime = st.st_ctime_ns, st.st_mtime_ns
    # A change time of 0, or before the modification time, is not one the file system keeps up to date.
    settled = (
        os.name == "posix"
        and ctime > 0
        and mtime <= ctime
        and now - ctime >= settle_ns(ctime)
        and ctime_kept(st.st_dev)
    )
    return FileKey(real, st.st_dev, st.st_ino, st.st_size, mtime, ctime, settled)


class UploadCache:
    """``file_path`` of files a client already uploaded, by :class:`FileKey`: a file is uploaded again
    unless it is surely the same. Only settled keys are kept. Thread-safe; one per client."""

    def __init__(self, max_entries: int = 1024) -> None:
        self._paths: Dict[FileKey, str] = {}
        self._lock = threading.Lock()
        self._max = max_entries

    def get(self, key: Optional[FileKey]) -> Optional[str]:
        if key is None or not key.settled:
            return None
        with self._lock:
            return self._paths.get(key)

    def put(self, key: Optional[FileKey], file_path: str) -> None:
        if key is None or not key.settled:
            return
        with self._lock:
            if len(self._paths) >= self._max:
                self._paths.pop(next(iter(self._paths)))
            self._paths[key] = file_path
