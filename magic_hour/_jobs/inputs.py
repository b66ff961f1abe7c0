"""A job's local inputs: which request fields hold files to upload, and which of those a client may
reuse from an earlier upload.

The API's metadata names the file fields of each operation as dotted paths, ``[]`` meaning every item of
an array (``assets.face_mappings[].new_face``). :func:`collect` walks a body along them: a URL or an
``api-assets/...`` path passes through, a path or a binary file object is a local input.
:func:`substitute` returns a copy of the body with the uploaded ``file_path`` values in place; the
caller's dicts and lists are never modified.

A file is uploaded again unless it is surely the one uploaded before. It is known by its
:class:`FileKey`: resolved path, device, inode, size, modification and change times. The change time
(``st_ctime``) is what makes the key safe: ``cp -p``, ``shutil.copy2`` and ``os.utime`` can put back a
modification time, but every write, ``utime`` and rename sets the change time to the present, and a file
renamed over the path is another inode. Two guards make "same key" mean "same bytes":

- A key is remembered only once it has *settled*, taken at least :func:`settle_ns` after its change
  time: file systems stamp times from a clock that moves in steps (a kernel tick; a second on ext3,
  HFS+ and small-inode ext4; two on FAT), so a file written again within one step can keep its change
  time. A file written moments before a call is uploaded, not remembered.
- A key is taken before its file is read for the upload, and compared whole: a file that changes
  afterwards has another key.

Hashing the content instead would read the whole file on every call; a ``stat`` is nearly free. Nothing
is remembered where the change time cannot be trusted: on Windows (``st_ctime`` is the creation time,
which a copy over an existing file keeps) and on file systems that do not keep one (:func:`ctime_kept`).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union, cast

from .._core.config import NotGiven
from .._exceptions import InvalidFileError, MissingFileError
from .._upload.inputs import Passthrough, inspect_input, is_uploaded, is_url

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


Location = Tuple[Union[str, int], ...]
"""Where a value sits in a body: keys and list indexes (``("assets", "face_mappings", 0, "new_face")``)."""


@dataclass(frozen=True)
class LocalInput:
    """One local input found in a body.

    ``key`` identifies the same file across fields and calls (see the module docstring) so it is uploaded
    once; it is ``None`` for file objects, which are uploaded every time they are given.
    """

    location: Location
    value: Any
    asset_types: Tuple[str, ...]
    key: Optional[FileKey]


def field_name(location: Location) -> str:
    """``assets.face_mappings[0].new_face``: a location as users write it, for messages."""
    out = ""
    for part in location:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _split(path: str) -> List[str]:
    parts: List[str] = []
    for piece in path.split("."):
        if piece.endswith("[]"):
            parts.extend((piece[:-2], "[]"))
        else:
            parts.append(piece)
    return parts


def _walk(node: Any, parts: Sequence[str], at: Location) -> Iterator[Tuple[Location, Any]]:
    if not parts:
        yield at, node
        return
    head, rest = parts[0], parts[1:]
    if head == "[]":
        if isinstance(node, (list, tuple)):
            for i, item in enumerate(cast("Sequence[Any]", node)):
                yield from _walk(item, rest, (*at, i))
        return
    if isinstance(node, Mapping):
        mapping = cast("Mapping[str, Any]", node)
        if head in mapping:
            yield from _walk(mapping[head], rest, (*at, head))


def collect(body: Mapping[str, Any], files: Mapping[str, Tuple[str, ...]]) -> List[LocalInput]:
    """The local inputs of ``body`` along the file-field paths ``files`` (path -> asset types).

    Absent, ``None`` and ``NOT_GIVEN`` values are skipped; URLs and ``api-assets/...`` paths pass through.
    Every local input is checked now, before any request (``InvalidFileError`` names the field).
    """
    found: List[LocalInput] = []
    for path, asset_types in files.items():
        for location, value in _walk(body, _split(path), ()):
            if value is None or isinstance(value, NotGiven):
                continue
            if isinstance(value, str) and (is_url(value) or is_uploaded(value)):
                continue
            name = field_name(location)
            try:
                checked = inspect_input(value, len(found))
            except MissingFileError as exc:  # also a FileNotFoundError, as the official SDK raises
                raise MissingFileError(str(exc.value), param=name) from None
            except InvalidFileError as exc:
                raise InvalidFileError(name, exc.value, exc.allowed, reason=exc.reason) from None
            if isinstance(checked, Passthrough):  # pragma: no cover - strings were sorted above
                continue
            key = file_key(checked.path) if checked.path is not None else None
            found.append(LocalInput(location, value, asset_types, key))
    return found


def _replace(node: Any, location: Location, value: str) -> Any:
    """A copy of ``node`` with ``value`` at ``location``: only the containers on the way are copied."""
    if not location:
        return value
    head, rest = location[0], location[1:]
    if isinstance(head, int):
        items = list(cast("Sequence[Any]", node))
        items[head] = _replace(items[head], rest, value)
        return items
    mapping = dict(cast("Mapping[str, Any]", node))
    mapping[head] = _replace(mapping[head], rest, value)
    return mapping


def substitute(body: Mapping[str, Any], file_paths: Mapping[Location, str]) -> Dict[str, Any]:
    """A copy of ``body`` with each location's value replaced by its uploaded ``file_path``."""
    out: Dict[str, Any] = dict(body)
    for location, file_path in file_paths.items():
        out = _replace(out, location, file_path)
    return out


@dataclass(frozen=True)
class UploadPlan:
    """What to upload (each distinct file once) and how the results map back to body locations."""

    uploads: List[Any]
    """The values to hand to ``upload_files``, in order."""
    slots: List[List[Location]]
    """For each upload, the body locations that take its ``file_path``."""
    keys: List[Optional[FileKey]]
    cached: Dict[Location, str]
    """Locations already uploaded by this client."""


def plan_uploads(inputs: Sequence[LocalInput], cache: UploadCache) -> UploadPlan:
    """Group inputs: cached files need no upload, the same file in two fields is uploaded once."""
    uploads: List[Any] = []
    slots: List[List[Location]] = []
    keys: List[Optional[FileKey]] = []
    cached: Dict[Location, str] = {}
    by_key: Dict[FileKey, int] = {}
    for item in inputs:
        hit = cache.get(item.key)
        if hit is not None:
            cached[item.location] = hit
            continue
        if item.key is not None and item.key in by_key:
            slots[by_key[item.key]].append(item.location)
            continue
        if item.key is not None:
            by_key[item.key] = len(uploads)
        uploads.append(item.value)
        slots.append([item.location])
        keys.append(item.key)
    return UploadPlan(uploads, slots, keys, cached)


def plan_body(
    body: Mapping[str, Any], files: Mapping[str, Tuple[str, ...]], cache: UploadCache
) -> Optional[UploadPlan]:
    """The upload plan of ``body``, or ``None`` when it has no local input."""
    inputs = collect(body, files)
    return plan_uploads(inputs, cache) if inputs else None


def resolve(plan: UploadPlan, file_paths: Sequence[str], cache: UploadCache) -> Dict[Location, str]:
    """Map ``upload_files``'s results back to locations, remembering them in ``cache``."""
    out = dict(plan.cached)
    for locations, key, file_path in zip(plan.slots, plan.keys, file_paths):
        cache.put(key, file_path)
        for location in locations:
            out[location] = file_path
    return out
