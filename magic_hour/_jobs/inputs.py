"""Pure input collection for ``generate()``: which request fields hold local files to upload.

The API's metadata names the file fields of each operation as dotted paths, ``[]`` meaning every item of
an array (``assets.face_mappings[].new_face``). :func:`collect` walks a body along them and sorts each
value: a URL or an ``api-assets/...`` path passes through, a path or a binary file object is a local
input. :func:`substitute` returns a copy of the body with the uploaded ``file_path`` values in place;
the caller's dicts and lists are never modified.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union, cast

from .._core.config import NotGiven
from .._exceptions import InvalidFileError, MissingFileError
from .._upload.inputs import Passthrough, inspect_input, is_uploaded, is_url
from .cache import FileKey, file_key
from .cache import UploadCache as UploadCache  # where the runners and tests import it from

Location = Tuple[Union[str, int], ...]
"""Where a value sits in a body: keys and list indexes (``("assets", "face_mappings", 0, "new_face")``)."""


@dataclass(frozen=True)
class LocalInput:
    """One local input found in a body.

    ``key`` identifies the same file across fields and calls (see :mod:`.cache`) so it is uploaded
    once; it is ``None`` for file objects, which are uploaded every time they are given.
    """

    location: Location
    value: Any
    asset_type: str
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


def collect(body: Mapping[str, Any], files: Mapping[str, str]) -> List[LocalInput]:
    """The local inputs of ``body`` along the file-field paths ``files`` (path -> asset type).

    Absent, ``None`` and ``NOT_GIVEN`` values are skipped; URLs and ``api-assets/...`` paths pass through.
    Every local input is checked now, before any request (``InvalidFileError`` names the field).
    """
    found: List[LocalInput] = []
    for path, asset_type in files.items():
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
            found.append(LocalInput(location, value, asset_type, key))
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


def plan_body(body: Mapping[str, Any], files: Mapping[str, str], cache: UploadCache) -> Optional[UploadPlan]:
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
