from __future__ import annotations

from typing import Literal

import pydantic
from typing_extensions import Annotated, Required, TypedDict


class V1FilesUploadUrlsCreateBodyItemsItem(TypedDict):
    """One asset to upload: ``{"extension": "mp4", "type_": "video"}``."""

    extension: Required[str]
    """
    The extension of the file to upload, without the dot: video mp4, m4v, mov, webm, gif;
    audio mp3, mpeg, wav, aac, aiff, flac; image png, jpg, jpeg, webp, avif, jp2, tiff, bmp.
    A leading dot and upper case are accepted and normalised (``".MP4"`` -> ``"mp4"``).
    """

    type_: Required[Annotated[Literal["video", "audio", "image"], pydantic.Field(alias="type")]]
    """
    The type of asset to upload: ``video``, ``audio`` or ``image``. Sent on the wire as ``type``.
    """


# What `@pydantic.with_config` would set (it needs pydantic >= 2.7; we support 2.5): validating also
# accepts the Python names (``type_``), not only the wire names.
V1FilesUploadUrlsCreateBodyItemsItem.__pydantic_config__ = pydantic.ConfigDict(populate_by_name=True)  # type: ignore[attr-defined]
