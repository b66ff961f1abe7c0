"""The output file on disk: free names, the temporary file, its writes, and the move into place.

An output is written to a temporary file in its target directory (``.<name>.<random>.part``), flushed
and synced, then moved to its final name: a reader never sees a partial file under that name. An existing
file is never replaced unless the caller asked (``overwrite``): a name the SDK chose moves on to
``<name>-1<ext>``, ``-2``... (chosen free before the download, and again at the end should another
process have taken it meanwhile, without a moment where both could win: a hard link, which fails on an
existing name); a name the caller chose is an error. Any failure or cancellation removes the temporary
file.
"""

from __future__ import annotations

import contextlib
import errno as errno_codes
import os
import secrets
from typing import IO, Any, List, Sequence, Tuple

from .._exceptions import DownloadWriteError
from .download_flow import Write
from .events import DownloadProgress
from .names import OutputFile

WRITE_SIZE = 512 * 1024
"""Bytes collected before a write (and a progress event): a download holds a few of them at most,
whatever the file's size."""


def _exists(target: OutputFile) -> DownloadWriteError:
    return DownloadWriteError(
        f"{target.path} exists and was not replaced (pass overwrite=True, or --overwrite, to replace it)",
        url=target.shown,
        path=target.path,
        errno=errno_codes.EEXIST,
    )


def claim(planned: Sequence[OutputFile]) -> List[OutputFile]:
    """The targets under names no existing file has (none is replaced unless ``overwrite``): a name the
    SDK chose moves on to ``-1``, ``-2``...; one the caller chose raises :class:`DownloadWriteError`
    (``EEXIST``), before anything is downloaded."""
    taken = {t.name.casefold() for t in planned}
    claimed: List[OutputFile] = []
    for target in planned:
        if target.overwrite:
            claimed.append(target)
            continue
        if target.exact:
            if os.path.lexists(target.path):
                raise _exists(target)
            claimed.append(target)
            continue
        free, n = target, 0
        while os.path.lexists(free.path) or (n and free.name.casefold() in taken):
            n += 1
            free = target.numbered(n)
        taken.add(free.name.casefold())
        claimed.append(free)
    return claimed


def write_error(target: OutputFile, exc: OSError, doing: str) -> DownloadWriteError:
    reason = exc.strerror or str(exc)
    if exc.errno == errno_codes.ENOSPC:
        reason = "no space left on the device"
    return DownloadWriteError(
        f"cannot {doing} {target.path}: {reason}; nothing was left under that name",
        url=target.shown,
        path=target.path,
        errno=exc.errno,
    )


def make_directory(target: OutputFile) -> None:
    try:
        os.makedirs(target.directory, exist_ok=True)
    except OSError as exc:
        raise write_error(target, exc, "create the directory of") from None
    if not os.path.isdir(target.directory):
        raise write_error(target, NotADirectoryError(errno_codes.ENOTDIR, "not a directory"), "write")


class WriteBuffer:
    """Collects received bytes into writes of about ``WRITE_SIZE`` (few thread hops and progress events,
    memory bounded), counting what was handed to the file for progress events and resumes.

    A write is the pieces as received (:func:`write_parts`), never joined: a join would copy every byte
    once more and hold both copies for a moment."""

    def __init__(self, target: OutputFile, action: Write) -> None:
        self._target, self._action = target, action
        self._parts: List[bytes] = []
        self.pending = 0
        self.count = 0  # bytes taken for writing

    def add(self, chunk: bytes) -> bool:
        """Keep ``chunk``; true when a write is due."""
        self._parts.append(chunk)
        self.pending += len(chunk)
        return self.pending >= WRITE_SIZE

    def take(self) -> List[bytes]:
        data, self._parts = self._parts, []
        self.count += self.pending
        self.pending = 0
        return data

    def event(self) -> DownloadProgress:
        action = self._action
        return DownloadProgress(
            self._target.index, self._target.path, action.offset + self.count, action.total
        )


_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)


def open_temporary(target: OutputFile) -> Tuple[IO[bytes], str]:
    """A new temporary file next to the final one (same file system, so the rename is atomic).

    Created with mode ``0o666`` less the umask, as ``open()`` would: ``tempfile.mkstemp``'s ``0o600``
    would survive the rename and leave outputs unreadable to the group and others."""
    for _ in range(100):
        tmp = os.path.join(target.directory, f".{target.name[:100]}.{secrets.token_hex(4)}.part")
        try:
            fd = os.open(tmp, _TEMP_FLAGS, 0o666)
        except FileExistsError:
            continue
        except OSError as exc:
            raise write_error(target, exc, "write") from None
        return os.fdopen(fd, "wb", buffering=0), tmp  # unbuffered: see write_parts
    raise write_error(target, FileExistsError(errno_codes.EEXIST, "no free temporary name"), "write")


_IOV_MAX = 1024
"""Pieces per ``os.writev`` call (POSIX guarantees at least 16; Linux and macOS take 1024)."""


def write_parts(f: IO[bytes], parts: List[bytes]) -> None:
    """Write ``parts`` (a write's pieces, as received) in one system call where the OS allows it.

    No copy, and not one ``write`` per piece either (each one releases the GIL that an async download's
    event loop wants). The file is unbuffered (:func:`open_temporary`), so nothing is held back."""
    if not hasattr(os, "writev"):  # Windows: one write per piece, resumed after a partial write
        for part in parts:
            view = memoryview(part)
            while view:
                view = view[f.write(view) :]  # an unbuffered file may write less (writelines ignores it)
        return
    fd = f.fileno()
    for start in range(0, len(parts), _IOV_MAX):
        group: List[Any] = parts[start : start + _IOV_MAX]
        while group:
            written = os.writev(fd, group)
            skip = 0
            while skip < len(group) and written >= len(group[skip]):
                written -= len(group[skip])
                skip += 1
            group = group[skip:]
            if group and written:  # a partial write (rare: a signal, a nearly full disk)
                group[0] = memoryview(group[0])[written:]


def rewind(f: IO[bytes], offset: int) -> None:
    """Drop what follows ``offset`` (a restart, or the tail of a body that turned out too long)."""
    f.seek(offset)
    f.truncate()


def place(target: OutputFile, f: IO[bytes], tmp: str) -> str:
    """Flush, sync and close the temporary file, then move it to its final name; return that path
    (``<name>-<n><ext>`` when another process took the name meanwhile and the SDK chose it)."""
    try:
        f.flush()
        os.fsync(f.fileno())
        f.close()
        if target.overwrite:
            os.replace(tmp, target.path)
            return target.path
    except OSError as exc:
        raise write_error(target, exc, "write") from None
    placed, n = target, 0
    while True:
        try:
            _move_new(tmp, placed.path)
            return placed.path
        except FileExistsError:
            if target.exact:
                raise _exists(target) from None
        except OSError as exc:
            raise write_error(placed, exc, "write") from None
        n += 1
        placed = target.numbered(n)


_NO_LINKS = {
    getattr(errno_codes, name)
    for name in ("EPERM", "EACCES", "ENOTSUP", "EOPNOTSUPP", "EXDEV", "EMLINK", "ENOSYS")
    if hasattr(errno_codes, name)
}


def _move_new(tmp: str, path: str) -> None:
    """Move ``tmp`` to ``path`` only if nothing is there (``FileExistsError`` otherwise), atomically: a
    hard link fails on an existing name, where a rename would replace it. A file system without hard
    links gets a rename after a check instead (Windows' rename never replaces)."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise
    except (OSError, NotImplementedError) as exc:
        if isinstance(exc, OSError) and exc.errno not in _NO_LINKS:
            raise
        if os.name != "nt" and os.path.lexists(path):
            raise FileExistsError(errno_codes.EEXIST, "exists", path) from None
        os.rename(tmp, path)
        return
    with contextlib.suppress(OSError):
        os.unlink(tmp)


def remove_temporary(f: IO[bytes], tmp: str) -> None:
    """Close and remove the temporary file (after a failure or a cancellation)."""
    with contextlib.suppress(OSError):
        f.close()
    with contextlib.suppress(OSError):
        os.unlink(tmp)
