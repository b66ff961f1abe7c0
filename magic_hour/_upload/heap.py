"""Keeping glibc from giving chunk memory back to the kernel between one chunk and the next.

An upload reads its file ``CHUNK_SIZE`` (1 MiB) bytes at a time, each read a new ``bytes`` freed once
the connection has taken it (it must be a ``bytes``: h11 sends one as is, and copies anything else).
glibc's malloc serves blocks that large from its heap once it has seen one freed (its dynamic mmap
threshold rises to the block's size), and gives the top of the heap back to the kernel whenever more
than twice that is free there (its trim threshold): with a few uploads in flight, every time the two
chunks at the top happen to be free at once. The next chunks are then faulted in again a page at a
time (256 page faults per MiB, each page zeroed by the kernel). Measured with 20 files of 5 MiB at
concurrency 8 (``tests/benchmarks/bench_upload.py``; page faults from ``getrusage``, the heap's moves
from a malloc trace): the heap grew and shrank by 10 MiB per 0.12 s batch in raw httpx, 17-22 MiB in
the SDK (which of the two trims more depends on the order in which connections finish their chunks,
and varied from one process to the next: 1 to 6,000 page faults per batch), a tenth of the upload's
CPU, and all of the SDK's gap to raw httpx: with the heap kept, the SDK took 0.79-0.86x raw's CPU.

glibc raises both thresholds by itself when a program frees a larger block it had to map, up to 32
MiB, precisely so that a program that reuses big blocks stops paying for the kernel round trip.
:func:`prime` does that once per process, with one block of ``BLOCK`` bytes that is mapped and
unmapped without a page of it being touched (``bytes(n)`` is calloc'd, and mapped memory is already
zero): the mmap threshold becomes 8 MiB and the trim threshold 16 MiB. The price, stated: both
thresholds are the whole process's, so every glibc heap (arena) keeps up to 16 MiB of freed memory at
its top for reuse instead of returning it at once: the main heap, and that of each thread that
allocates (an upload's reading thread, the program's own threads; ``tests/test_upload_heap.py``);
and blocks up to 8 MiB (from glibc's default 128 KiB, which 1 MiB chunks alone raise to 1 MiB) come
from a heap rather than from their own mapping. A program that set a threshold itself (``mallopt``,
the ``MALLOC_TRIM_THRESHOLD_``/``MALLOC_MMAP_THRESHOLD_``/``MALLOC_TOP_PAD_`` environment variables, or
their ``GLIBC_TUNABLES``) keeps its settings: glibc then stops adjusting them. Other C libraries (musl,
macOS, Windows; a 32-bit glibc caps the dynamic threshold at 512 KiB, so there it changes nothing):
nothing is done.

Only async uploads prime: most of their chunks are read on the event loop's thread. Sync uploads read
in worker threads, whose heaps would each keep up to the trim threshold: there, the default keeps
memory lower (``bench_jobs.py``'s 20 sync jobs), and sync uploads already beat raw httpx's time. (In a
process that has made an async upload, sync uploads' threads keep theirs too.)
"""

from __future__ import annotations

import os

BLOCK = 8 * 1024 * 1024
"""The block freed once: the mmap threshold becomes this, the trim threshold twice this. Eight chunks in
flight (the client's default ``max_concurrent_transfers``) each hold at most two chunks at once."""

_primed = False


def is_glibc() -> bool:
    try:
        version = os.confstr("CS_GNU_LIBC_VERSION")
    except (ValueError, OSError, AttributeError):  # no such name (not glibc), or no confstr (Windows)
        return False
    return bool(version) and str(version).startswith("glibc")


def prime() -> bool:
    """Raises glibc's dynamic mmap and trim thresholds once per process (see the module doc); returns
    whether this call did it."""
    global _primed
    if _primed:
        return False
    _primed = True
    if not is_glibc():
        return False
    block = bytes(BLOCK)  # mapped by calloc (above the threshold: no page is touched), freed at once
    del block
    return True
