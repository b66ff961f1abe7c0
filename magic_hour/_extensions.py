"""The one table of file extensions the API accepts, per asset type (pure, no I/O).

Source: the description of ``POST /v1/files/upload-urls`` in the API's OpenAPI document
(``spec/openapi.json``, "Valid file extensions per asset type"); ``tests/test_extensions.py`` parses that
list and fails when it and :data:`API_EXTENSIONS` disagree. The type of a file is inferred from its
extension with this table, not :mod:`mimetypes` (which differs between machines and does not know
``amr`` or ``heic`` everywhere).
"""

from __future__ import annotations

from typing import Dict, Literal, Mapping, Optional, Tuple

AssetType = Literal["video", "audio", "image"]

ASSET_TYPES: Tuple[AssetType, ...] = ("video", "audio", "image")

API_EXTENSIONS: Mapping[str, Tuple[str, ...]] = {
    "video": ("mp4", "m4v", "mov", "webm"),
    "audio": ("mp3", "wav", "aac", "flac", "webm", "weba", "m4a", "opus", "ogg", "oga", "aiff", "amr"),
    "image": ("png", "jpg", "jpeg", "jfif", "heic", "heif", "webp", "avif", "jp2", "tiff", "tif", "bmp"),
    # Not a `type` of the request (its enum is video, audio, image): the API says these are accepted only
    # for face swap's `video_file_path`, and not which `type` to presign them with, so we accept them
    # with `video` (the field they go to) or `image` (what the official SDK sends for gif).
    "gif": ("gif", "webp", "webm"),
}
"""The API's list, group by group, in its order (``gif`` is the group of animated inputs)."""

EXTENSIONS: Mapping[AssetType, Tuple[str, ...]] = {
    "video": API_EXTENSIONS["video"] + ("gif", "webp"),
    "audio": API_EXTENSIONS["audio"],
    "image": API_EXTENSIONS["image"] + ("gif", "webm"),
}
"""The extensions accepted with each ``type_`` (what ``type_=`` may override an inference to)."""

# The type inferred for an extension the API lists under more than one type; ``type_=`` overrides it.
_PREFERRED: Mapping[str, AssetType] = {
    # A .webm is far more often a screen or camera recording than an audio-only file (those are usually
    # .weba, also accepted): video.
    "webm": "video",
    # A .webp is a still image unless it is animated; the animated ones are the face swap exception.
    "webp": "image",
    # The official SDK infers image (mimetypes: image/gif) and the API does not say which type a gif is
    # presigned as: we follow the official SDK. For face swap's `video_file_path`, pass type_="video".
    "gif": "image",
}

_TYPE_OF: Dict[str, AssetType] = {}
for _type, _exts in EXTENSIONS.items():
    for _ext in _exts:
        _TYPE_OF.setdefault(_ext, _type)
_TYPE_OF.update(_PREFERRED)

NOT_ACCEPTED: Mapping[str, str] = {
    # The official SDK sends .mpeg as video (mimetypes: video/mpeg); the API's list has it under no
    # type, so it is refused before any request.
    "mpeg": "not in the API's list of extensions (rename an MPEG audio file .mp3, or convert the video)",
}
"""Extensions users may expect to work but the API's list does not have, with advice."""


def normalize_extension(extension: str) -> str:
    """``".MP4"`` -> ``"mp4"``: drop one leading dot, strip whitespace, lower-case."""
    ext = extension.strip()
    if ext.startswith("."):
        ext = ext[1:]
    return ext.lower()


def type_for_extension(extension: str) -> Optional[AssetType]:
    """The asset type inferred for a normalized extension, or ``None`` if the API does not accept it."""
    return _TYPE_OF.get(extension)


def describe_allowed(asset_type: Optional[AssetType] = None) -> str:
    """Human text listing the allowed extensions (all types, or one)."""
    if asset_type is not None:
        return f"{asset_type}: {', '.join(EXTENSIONS[asset_type])}"
    return "; ".join(f"{_GROUP_LABELS.get(t, t)}: {', '.join(exts)}" for t, exts in API_EXTENSIONS.items())


_GROUP_LABELS = {"gif": "animated (type_ video or image)"}
