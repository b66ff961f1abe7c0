"""Reading a small file on the event loop, only when the kernel guarantees the read cannot block.

A small file's upload is dominated by what it costs to read it in a worker thread: the hand-off there
and back (and the loop wake-up it needs) cost the loop more than the file's read and its PUT together
(1,000 files of 10 KiB: 1.38x raw httpx's time with the thread, raw's time without it,
``tests/benchmarks/bench_upload.py``). Reading on the loop is only safe when the read cannot wait for a
disk or a network file system, so the read asks the kernel for exactly that: ``preadv(RWF_NOWAIT)``
(Linux 4.14+) reads from the page cache and fails with ``EAGAIN`` instead of waiting for the device. A
file that is wholly in the page cache (the usual case: it was just written, or read, or is read again
on a retry) is read on the loop in a few microseconds; any other (not cached, not all of it cached, a
file system or platform without ``RWF_NOWAIT``) goes to the worker thread as before, so the loop never
waits for a disk.

Opening and closing run on the loop: they are metadata operations like the ``os.stat`` and
``os.access`` the planner (``inputs.py``) already runs on the loop for every path. A file system that
cannot serve ``RWF_NOWAIT`` reads (``EOPNOTSUPP``: network and FUSE file systems, where even an open may
ask a server) is remembered by device, and its files are not opened on the loop again.
"""

from __future__ import annotations

import contextlib
import errno
import os
import platform
import stat
import sys
import threading
from typing import Any, List, Optional, Set, Tuple

from .inputs import Source

LOOP_READ_MAX = 256 * 1024
"""Largest file read on the loop. Above it the copy out of the read buffer (a ``bytearray``: Python
has no non-blocking read into ``bytes``) costs about what the worker-thread hand-off does."""

_NOWAIT: int = getattr(os, "RWF_NOWAIT", 0)
_SUPPORTED = _NOWAIT != 0 and hasattr(os, "preadv")
_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
"""``O_NONBLOCK``: a path swapped for a FIFO since it was checked would wait for a writer in ``open``; a
regular file ignores the flag."""
_unsupported_devices: Set[int] = set()


def open_here(path: str, *, probe: bool = False) -> Optional[int]:
    """``path`` opened for reading on the loop, if it is (still) a regular file; ``None`` otherwise (the
    worker thread opens it again, and reports what is wrong). With ``probe``, also ``None`` unless its
    file system serves ``RWF_NOWAIT`` reads (:func:`serves_nowait`)."""
    try:
        # On a file system known not to serve nowait reads (where even an open may ask a server), not
        # even opened here; the stat is skipped while none is known (the usual case: no cost).
        if _unsupported_devices and os.stat(path).st_dev in _unsupported_devices:
            return None
        fd = os.open(path, _FLAGS)
    except (OSError, ValueError):
        return None
    try:
        st = os.fstat(fd)
        if stat.S_ISREG(st.st_mode) and (not probe or serves_nowait(fd, st.st_dev)):
            return fd
    except OSError:
        pass
    os.close(fd)
    return None


def serves_nowait(fd: int, device: int) -> bool:
    """Whether the file system of ``fd`` serves ``RWF_NOWAIT`` reads (a one-byte read that may answer
    EAGAIN: then it does). Network and FUSE file systems do not (EOPNOTSUPP): there, even reading pages
    the cache holds may ask the server first (NFS revalidates), so their files are read in worker
    threads, and the device is remembered so that its files are not even opened on the loop again."""
    if not _SUPPORTED:
        return False
    try:
        os.preadv(fd, [bytearray(1)], 0, _NOWAIT)
    except OSError as exc:
        if exc.errno in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
            _unsupported_devices.add(device)
            return False
    return True


def read_cached(source: Source) -> Optional[List[bytes]]:
    """The reads the upload body makes of ``source`` (its bytes, then the one-byte probe past its end:
    ``ThreadReader``'s ``read_all``), done here if every byte is in the page cache; ``None`` otherwise
    (the caller reads it in a worker thread, which also reports any error: none is raised here)."""
    path = source.path
    size = source.size
    if not _SUPPORTED or path is None or size > LOOP_READ_MAX:
        return None
    fd = open_here(path)
    if fd is None:
        return None
    try:
        st = os.fstat(fd)
        if st.st_dev in _unsupported_devices:
            return None
        buffer = bytearray(size + 1)  # one byte more: a file that grew shows it
        try:
            got = os.preadv(fd, [buffer], 0, _NOWAIT)
        except OSError as exc:
            if exc.errno in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
                _unsupported_devices.add(st.st_dev)
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


class _PageCache:
    """``cachestat(2)`` (Linux 6.5+) through ctypes: how many of a range's pages are in the page cache.

    A larger file cannot use ``RWF_NOWAIT``: it reads into a ``bytearray``, and the copy into the
    ``bytes`` httpx sends would cost a quarter of the upload's CPU. So the loop asks first whether the
    next chunk is cached (a microseconds-long call that never waits for the disk), and reads it with a
    plain read only if it is. Every chunk that is not is read by the worker thread. Two races remain,
    each costing one read a wait for the disk: a page evicted between the question and the read, and a
    page another reader (or the kernel's read-ahead) is bringing in at that moment, which cachestat
    counts as cached before its data arrives (1-5 ms measured on this machine's disk, far under the
    20 ms the loop may be held). ``mincore(2)`` on a mapping of the range would see the second (it
    checks each page is up to date), but costs 181 µs per 8 MiB question against cachestat's 2.7 µs
    (measured here: it looks pages up one at a time), 4% of a 1 GiB upload's time; and it answers
    "cached" for every page of a file the process neither owns nor may write, where cachestat refuses.
    """

    _SYSCALL = 451  # on the architectures of _CACHESTAT_451 (alpha and MIPS number it otherwise)

    def __init__(self) -> None:
        import ctypes

        class Range(ctypes.Structure):
            _fields_ = [("off", ctypes.c_uint64), ("len", ctypes.c_uint64)]

        class Stat(ctypes.Structure):
            _fields_ = [
                (name, ctypes.c_uint64)
                for name in ("nr_cache", "nr_dirty", "nr_writeback", "nr_evicted", "nr_recently_evicted")
            ]

        syscall = ctypes.CDLL(None, use_errno=True).syscall
        syscall.restype = ctypes.c_long
        syscall.argtypes = [ctypes.c_long, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint]
        self._types = (Range, Stat, ctypes.addressof)
        # The range asked about and the answer, one pair per thread: the call releases the GIL, and an
        # AsyncClient may upload from event loops in several threads at once (one shared pair let a
        # thread read another's answer: a chunk on disk taken for cached, and read on the loop).
        self._local = threading.local()
        self._syscall = syscall
        self._get_errno = ctypes.get_errno
        self._page = os.sysconf("SC_PAGE_SIZE")

    def _buffers(self) -> Tuple[Any, Any, int, int]:
        """This thread's range and answer, and their addresses."""
        try:
            buffers: Tuple[Any, Any, int, int] = self._local.buffers
        except AttributeError:
            range_type, stat_type, address = self._types
            range_, stat_ = range_type(), stat_type()
            buffers = self._local.buffers = (range_, stat_, address(range_), address(stat_))
        return buffers

    def exists(self) -> bool:
        """Whether the kernel has ``cachestat`` (and lets us call it): asked about no file (fd -1), it
        answers EBADF; a kernel without it ENOSYS (a seccomp filter: EPERM or ENOSYS)."""
        _, _, range_p, stat_p = self._buffers()
        if self._syscall(self._SYSCALL, -1, range_p, stat_p, 0) == 0:
            return False  # cannot be: nothing sane answers for no file
        return self._get_errno() == errno.EBADF

    def cached(self, fd: int, offset: int, length: int) -> Optional[bool]:
        """Whether every page of ``length`` bytes from ``offset`` is cached; ``None`` when the kernel
        has no ``cachestat`` (``ENOSYS``: the caller stops asking); raises ``OSError`` when it cannot
        tell for this file (see :func:`chunk_cached`)."""
        if length <= 0:
            return True
        range_, stat_, range_p, stat_p = self._buffers()
        range_.off = offset
        range_.len = length
        if self._syscall(self._SYSCALL, fd, range_p, stat_p, 0) != 0:
            code = self._get_errno()
            if code == errno.ENOSYS:
                return None
            raise OSError(code, os.strerror(code))
        pages = (offset + length - 1) // self._page - offset // self._page + 1
        return int(stat_.nr_cache) >= pages


_CACHESTAT_451 = frozenset(
    (
        *("x86_64", "amd64", "i386", "i486", "i586", "i686", "aarch64", "arm64"),
        *("armv6l", "armv7l", "armv8l", "riscv64", "ppc64", "ppc64le", "ppc", "s390x", "loongarch64"),
    )
)
"""Machines (``platform.machine()``) whose Linux system-call table numbers ``cachestat`` 451: the common
table (x86, arm, powerpc, s390) and asm-generic (arm64, riscv, loongarch). Elsewhere nothing is asked."""

_page_cache: Optional[_PageCache] = None
_prepared = False


def page_cache_known() -> bool:
    """Whether :func:`prepare_page_cache` ran (so :func:`chunk_cached` costs one system call)."""
    return _prepared


def prepare_page_cache() -> bool:
    """Loads ctypes and libc for ``cachestat`` (5 ms of CPU, once per process: callers on an event loop
    run it in a worker thread); returns whether the kernel can answer :func:`chunk_cached`."""
    global _page_cache, _prepared
    if not _prepared:
        page_cache: Optional[_PageCache] = None
        if sys.platform == "linux" and platform.machine() in _CACHESTAT_451:
            try:
                page_cache = _PageCache()
                if not page_cache.exists():
                    page_cache = None
            except (OSError, AttributeError, ImportError):
                page_cache = None
        _page_cache, _prepared = page_cache, True
    return _page_cache is not None


def chunk_cached(fd: int, offset: int, length: int) -> bool:
    """Whether reading ``length`` bytes at ``offset`` of ``fd`` is served from the page cache (so can
    run on the loop); ``False`` whenever that cannot be known. Called on event loop threads (one client
    may run in several loops, each in its thread, at once), after :func:`prepare_page_cache`.

    What the kernel cannot answer is remembered as narrowly as it applies: no ``cachestat`` at all
    (``ENOSYS``), for the process; a file system that cannot tell (``EOPNOTSUPP``: hugetlbfs), for its
    device; a file the process may read but neither owns nor may write (``EPERM``: recent kernels keep
    the page cache of such files private, as ``mincore`` does; seen on Linux 6.18), for that file only:
    its chunks are read in the worker thread, and the next file is asked again."""
    global _page_cache
    page_cache = _page_cache
    if page_cache is None:
        return False
    try:
        got = page_cache.cached(fd, offset, length)
    except OSError as exc:
        if exc.errno == errno.EOPNOTSUPP:
            with contextlib.suppress(OSError):
                _unsupported_devices.add(os.fstat(fd).st_dev)
        return False
    if got is None:
        _page_cache = None
        return False
    return got
