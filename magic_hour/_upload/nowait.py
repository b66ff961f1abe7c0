"""Reading a small file on the event loop, only when the kernel guarantees the read cannot block.

A small file's upload costs less to read on the loop than to hand to a worker thread and back, but a read
on the loop is only safe when it cannot wait for a disk or a network file system. ``preadv`` with
``RWF_NOWAIT`` (Linux 4.14+) asks the kernel for exactly that: it reads from the page cache and fails
with ``EAGAIN`` instead of waiting for the device. Whatever this cannot serve (not cached, not all
cached, a platform or file system without ``RWF_NOWAIT``, any error) answers ``None``, and the caller
reads the file in a worker thread as it would anyway: this module only ever saves a hand-off.

Opening runs on the loop, a metadata operation like the ``os.stat`` the planner already runs there. A
file system that refuses ``RWF_NOWAIT`` (``EOPNOTSUPP``: network and FUSE file systems, where even an
open may ask a server) is remembered by device, and its files are not opened on the loop again.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import List, Optional, Set

LOOP_READ_MAX = 256 * 1024
"""Largest file read on the loop. Above it the copy out of the read buffer (a ``bytearray``: Python
has no non-blocking read into ``bytes``) costs about what the worker-thread hand-off does."""

_NOWAIT: int = getattr(os, "RWF_NOWAIT", 0)
_SUPPORTED = _NOWAIT != 0 and hasattr(os, "preadv")
_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
"""``O_NONBLOCK``: a path swapped for a FIFO since it was checked would wait for a writer in ``open``; a
regular file ignores the flag."""
_REFUSED = (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS)
"""What a file system (or kernel) that cannot serve ``RWF_NOWAIT`` reads answers."""
_unsupported_devices: Set[int] = set()


def open_here(path: str) -> Optional[int]:
    """``path`` opened for reading without waiting, if it is (still) a regular file on a file system
    not known to refuse nowait reads; ``None`` otherwise (the worker thread opens it again, and reports
    what is wrong)."""
    try:
        # The stat is skipped while no file system is known to refuse (the usual case: no cost).
        if _unsupported_devices and os.stat(path).st_dev in _unsupported_devices:
            return None
        fd = os.open(path, _FLAGS)
    except (OSError, ValueError):
        return None
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            return fd
    except OSError:
        pass
    os.close(fd)
    return None


def read_cached(path: Optional[str], size: int) -> Optional[List[bytes]]:
    """The reads the upload body makes of the file at ``path``, announced as ``size`` bytes (its bytes,
    then the one-byte probe past its end: ``AttemptFile.read_all``), done here if every byte is in the
    page cache; ``None`` otherwise (the caller reads it in a worker thread, which also reports any error:
    none is raised here). A file object has no ``path``: ``None``."""
    if not _SUPPORTED or path is None or size > LOOP_READ_MAX:
        return None
    fd = open_here(path)
    if fd is None:
        return None
    try:
        buffer = bytearray(size + 1)  # one byte more: a file that grew shows it
        try:
            got = os.preadv(fd, [buffer], 0, _NOWAIT)
        except OSError as exc:
            if exc.errno in _REFUSED:
                _unsupported_devices.add(os.fstat(fd).st_dev)
            return None  # EAGAIN: not in the page cache; anything else: the thread reports it
        if got == size + 1:  # the file grew: the probe's byte makes the body report it
            probe = bytes(memoryview(buffer)[size:])
        elif got == size and os.fstat(fd).st_size == size:
            probe = b""
        else:
            return None  # part of it is not cached (or it shrank, or grew on a page boundary)
        return [probe] if size == 0 else [bytes(memoryview(buffer)[:size]), probe]
    except OSError:
        return None
    finally:
        os.close(fd)
