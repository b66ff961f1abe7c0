"""What can be uploaded, and the checks run on every input before any request is sent."""

from __future__ import annotations

import contextlib
import io
import os
import stat
from dataclasses import dataclass
from typing import IO, Any, Optional, Union, cast

from .._exceptions import InvalidFileError, MissingFileError
from .._extensions import (
    ASSET_TYPES,
    EXTENSIONS,
    NOT_ACCEPTED,
    AssetType,
    describe_allowed,
    normalize_extension,
    type_for_extension,
)

FileInput = Union[str, "os.PathLike[str]", IO[bytes], Any]
"""A path string, an ``os.PathLike``, or a binary file object (``open(p, "rb")``, ``io.BytesIO``)."""


@dataclass(frozen=True)
class Passthrough:
    """An input that is already a URL or an ``api-assets/...`` path: returned unchanged, no request."""

    index: int
    value: str


@dataclass(frozen=True)
class Source:
    """One checked file to upload.

    Either ``path`` is set (re-opened for every attempt), or ``fileobj`` (sought back to ``start`` for every
    attempt when ``start`` is not ``None``; sent once otherwise). ``origin`` is where the caller left a
    seekable file object: it is sought back there once the upload is over, whatever its outcome.
    """

    index: int
    name: str
    size: int
    type_: AssetType
    extension: str
    path: Optional[str] = None
    fileobj: Optional[IO[bytes]] = None
    start: Optional[int] = None
    origin: Optional[int] = None

    @property
    def rewindable(self) -> bool:
        """Whether the body can be re-sent from its first byte (paths always, seekable objects)."""
        return self.path is not None or self.start is not None


def is_url(value: str) -> bool:
    lowered = value[:8].lower()
    return lowered.startswith(("http://", "https://")) and len(value.split("://", 1)[1]) > 0


def is_uploaded(value: str) -> bool:
    return value.startswith("api-assets/")


def _resolve_type(
    name: str, extension: Optional[str], type_: Optional[str], inferred_from: str
) -> tuple[AssetType, str]:
    if extension is None:
        suffix = os.path.splitext(inferred_from)[1]
        if not suffix:
            raise InvalidFileError(
                "file",
                name,
                f"a name ending in a known extension ({describe_allowed()}), or extension=",
                reason="its name has no extension",
            )
        extension = suffix
    elif not isinstance(extension, str):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise InvalidFileError(f"{name}: extension", extension, describe_allowed())
    ext = normalize_extension(extension)
    if type_ is not None:
        if type_ not in ASSET_TYPES:
            raise InvalidFileError(f"{name}: type_", type_, ", ".join(ASSET_TYPES))
        asset_type: AssetType = type_  # pyright: ignore[reportAssignmentType]
        if ext not in EXTENSIONS[asset_type]:
            raise InvalidFileError(
                f"{name}: extension",
                ext,
                describe_allowed(asset_type),
                reason=f"not {'an' if asset_type[0] in 'aeiou' else 'a'} {asset_type} extension",
            )
        return asset_type, ext
    inferred = type_for_extension(ext)
    if inferred is None:
        advice = NOT_ACCEPTED.get(ext)
        raise InvalidFileError(
            f"{name}: extension",
            ext,
            describe_allowed(),
            # The official SDK's words first.
            reason="Could not determine file type: " + (advice or "unknown file extension"),
        )
    return inferred, ext


def inspect_input(
    file: object,
    index: int,
    *,
    type_: Optional[str] = None,
    extension: Optional[str] = None,
    from_current_position: bool = False,
) -> Union[Passthrough, Source]:
    """Check one input and describe how to upload it; raise :class:`InvalidFileError` if it cannot be.

    A file object is uploaded from byte 0 (as the official SDK does), or from where it is now with
    ``from_current_position=True``, the only way to upload a stream that cannot seek.
    """
    if isinstance(file, str) and (is_url(file) or is_uploaded(file)):
        return Passthrough(index, file)
    if isinstance(file, (str, os.PathLike)):
        path: object = os.fspath(cast("os.PathLike[str]", file))
        if not isinstance(path, str):
            raise InvalidFileError("file", path, "a str path, os.PathLike[str] or binary file object")
        return _inspect_path(path, index, type_, extension)
    if isinstance(file, (bytes, bytearray, memoryview)):
        raise InvalidFileError(
            "file",
            f"<{type(cast(object, file)).__name__}>",
            "a path or a binary file object (wrap bytes in io.BytesIO)",
        )
    if _attribute(file, "read") is not None:
        return _inspect_fileobj(file, index, type_, extension, from_current_position)
    raise InvalidFileError(
        "file", file, "a path string, os.PathLike, or a binary file object (opened with 'rb')"
    )


def _inspect_path(path: str, index: int, type_: Optional[str], extension: Optional[str]) -> Source:
    name = path
    if not path:
        raise InvalidFileError("file", path, "a path to an existing file")
    try:
        st = os.stat(path)
    except FileNotFoundError:  # also a symlink to nothing
        raise MissingFileError(path) from None
    except OSError as exc:
        raise InvalidFileError("file", path, "a readable file", reason=exc.strerror or str(exc)) from None
    except ValueError as exc:  # a NUL byte, or a lone surrogate the file system cannot encode
        raise InvalidFileError("file", path, "a valid file path", reason=str(exc)) from None
    if stat.S_ISDIR(st.st_mode):
        raise InvalidFileError("file", path, "a file", reason="it is a directory")
    if not stat.S_ISREG(st.st_mode):
        raise InvalidFileError(
            "file", path, "a regular file", reason="not a regular file (a pipe or device?)"
        )
    if not os.access(path, os.R_OK):
        raise InvalidFileError("file", path, "a readable file", reason="permission denied")
    asset_type, ext = _resolve_type(name, extension, type_, path)
    return Source(index=index, name=name, size=st.st_size, type_=asset_type, extension=ext, path=path)


def _inspect_fileobj(
    f: Any, index: int, type_: Optional[str], extension: Optional[str], from_current_position: bool
) -> Source:
    raw_name = _attribute(f, "name")
    name = raw_name if isinstance(raw_name, str) else f"<{type(f).__name__} #{index}>"
    if _attribute(f, "closed"):
        raise InvalidFileError("file", name, "an open binary file object", reason="the file is closed")
    # Text mode is known from the class when it is io's; any other object's read(0) tells (_probe). A
    # mode string is no proof: zipfile's members say mode="r" and read bytes.
    if isinstance(f, io.TextIOBase):
        raise InvalidFileError(
            "file", name, "a file opened in binary mode ('rb')", reason="it is in text mode"
        )
    if not callable(_attribute(f, "read")):
        raise InvalidFileError(
            "file", name, "a binary file object with a read(size) method", reason="read is not callable"
        )
    try:
        readable = getattr(f, "readable", None)
        unreadable = callable(readable) and not readable()
    except Exception as exc:  # the caller's object: anything may come out of it
        raise InvalidFileError(
            "file", name, "a readable binary file object", reason=_raised("readable()", exc)
        ) from None
    if unreadable:
        raise InvalidFileError("file", name, "a readable binary file object", reason="not open for reading")
    if extension is None and not isinstance(raw_name, str):
        raise InvalidFileError(
            "file",
            name,
            "a file object with a .name ending in a known extension, or pass extension=",
            reason="File-like object must have a 'name' attribute of type str",  # as the official SDK says
        )
    asset_type, ext = _resolve_type(name, extension, type_, raw_name if isinstance(raw_name, str) else "")
    try:
        origin = _position(f)
        if origin is not None:
            start = origin if from_current_position else 0
            end = f.seek(0, os.SEEK_END)
            if not isinstance(end, int) or isinstance(end, bool):  # seek() returning None (codecs.open)
                end = f.tell()
                if not isinstance(end, int) or isinstance(end, bool):
                    raise ValueError(f"tell() returned {end!r}, not a position")
            f.seek(origin)
            try:
                _probe(f, name)  # once the size is known: a probe of an odd object must not change it
            except InvalidFileError:
                f.seek(origin)  # the caller's position, as after an upload
                raise
            return Source(
                index=index,
                name=name,
                size=max(0, end - start),
                type_=asset_type,
                extension=ext,
                fileobj=f,
                start=start,
                origin=origin,
            )
    except InvalidFileError:
        raise
    except (OSError, ValueError) as exc:
        raise InvalidFileError("file", name, "a readable binary file object", reason=str(exc)) from None
    except Exception as exc:  # the caller's seek(), tell() or seekable() raised anything else
        raise InvalidFileError(
            "file", name, "a readable binary file object", reason=_raised("seek() or tell()", exc)
        ) from None
    if not from_current_position:
        # Uploading from wherever a stream happens to be could store a truncated file without a word: a
        # stream that cannot be rewound is only taken when the caller vouches for it.
        raise InvalidFileError(
            "file",
            name,
            "a path, a seekable binary file object, or from_current_position=True for a stream that is "
            "at the start of what should be uploaded",
            reason="it is not seekable, so it cannot be rewound to its first byte",
        )
    _probe(f, name)
    size = _known_length(f)
    if size is None:
        raise InvalidFileError(
            "file",
            name,
            "a path, a seekable binary file, or a stream whose length is known (len())",
            reason="pre-signed uploads need the size up front and this stream is not seekable",
        )
    return Source(index=index, name=name, size=size, type_=asset_type, extension=ext, fileobj=f)


def _attribute(f: Any, name: str) -> Any:
    """``f.<name>``, or ``None`` when the object has none or its property raises (an odd object is then
    judged by what its ``read(0)`` does)."""
    try:
        return getattr(f, name, None)
    except Exception:
        return None


def _raised(what: str, exc: BaseException) -> str:
    return f"{what} raised {type(exc).__name__}: {exc}" if str(exc) else f"{what} raised {type(exc).__name__}"


def _probe(f: Any, name: str) -> None:
    """Refuse, before any request, a file object whose ``read`` cannot give the upload bytes: one in text
    mode that the mode checks missed (``codecs.open(path, "r", "utf-8")`` says ``mode="rb"``), or a
    hand-written one whose ``read`` returns something else. ``read(0)`` reads nothing from a stream
    that honours its size argument."""
    try:
        data: object = f.read(0)
    except Exception as exc:
        raise InvalidFileError(
            "file",
            name,
            "a binary file object whose read(size) returns bytes",
            reason=_raised("read(0)", exc),
        ) from None
    if isinstance(data, str):
        raise InvalidFileError(
            "file",
            name,
            "a file opened in binary mode ('rb')",
            reason="it is in text mode: its read() returns str",
        )
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InvalidFileError(
            "file",
            name,
            "a binary file object whose read(size) returns bytes",
            reason=f"read(0) returned {type(data).__name__}",
        )
    size = data.nbytes if isinstance(data, memoryview) else len(data)  # pyright: ignore[reportUnknownMemberType]
    if size:
        raise InvalidFileError(
            "file",
            name,
            "a binary file object whose read(size) returns at most size bytes",
            reason=f"read(0) returned {size} bytes",
        )


def _position(f: Any) -> Optional[int]:
    """The current position of a seekable file object, or ``None`` if it cannot seek.

    ``seekable()`` decides when the object has one; an object without it but with ``seek`` and ``tell``
    (a hand-written wrapper) is taken as seekable, as the official SDK does.
    """
    seekable = getattr(f, "seekable", None)
    if callable(seekable):
        if not seekable():
            return None
    elif not (callable(getattr(f, "seek", None)) and callable(getattr(f, "tell", None))):
        return None
    position = f.tell()
    if not isinstance(position, int) or isinstance(position, bool) or position < 0:
        raise ValueError(f"tell() returned {position!r}, not a position")
    return position


def restore_position(source: Source) -> None:
    """Put a file object back where the caller left it (after the upload, whatever its outcome)."""
    if source.fileobj is None or source.origin is None:
        return
    with contextlib.suppress(OSError, ValueError):  # e.g. closed meanwhile by the caller: nothing to do
        source.fileobj.seek(source.origin)


def _known_length(f: Any) -> Optional[int]:
    try:
        length = len(f)
    except Exception:  # TypeError: no len(); anything else from the caller's __len__
        return None
    return length if isinstance(length, int) and length >= 0 else None
