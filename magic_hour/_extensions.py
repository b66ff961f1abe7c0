"""The one table of file extensions the API accepts, per asset type (pure, no I/O).

Source: the `upload-urls` reference page. ``gif`` is listed under video because the API accepts it
only for face swap's ``video_file_path``. Every extension maps to exactly one type, so a file's type
can be inferred from its name without :mod:`mimetypes` (which differs between machines).
"""

from __future__ import annotations

from typing import Literal, Mapping, Optional, Tuple

AssetType = Literal["video", "audio", "image"]

ASSET_TYPES: Tuple[AssetType, ...] = ("video", "audio", "image")

EXTENSIONS: Mapping[AssetType, Tuple[str, ...]] = {
    "video": ("mp4", "m4v", "mov", "webm", "gif"),
    "audio": ("mp3", "mpeg", "wav", "aac", "aiff", "flac"),
    "image": ("png", "jpg", "jpeg", "webp", "avif", "jp2", "tiff", "bmp"),
}

_TYPE_OF: Mapping[str, AssetType] = {ext: t for t, exts in EXTENSIONS.items() for ext in exts}


def normalize_extension(extension: str) -> str:
    """``".MP4"`` -> ``"mp4"``: drop one leading dot, strip whitespace, lower-case."""
    ext = extension.strip()
    if ext.startswith("."):
        ext = ext[1:]
    return ext.lower()


def type_for_extension(extension: str) -> Optional[AssetType]:
    """The asset type of a normalized extension, or ``None`` if the API does not accept it."""
    return _TYPE_OF.get(extension)


def describe_allowed(asset_type: Optional[AssetType] = None) -> str:
    """Human text listing the allowed extensions (all types, or one)."""
    if asset_type is not None:
        return f"{asset_type}: {', '.join(EXTENSIONS[asset_type])}"
    return "; ".join(f"{t}: {', '.join(exts)}" for t, exts in EXTENSIONS.items())
