from __future__ import annotations

import datetime
from typing import Any

import pydantic


def assume_utc(value: datetime.datetime) -> datetime.datetime:
    """The API sends RFC 3339 date-times (with an offset); one without an offset is taken as UTC."""
    return value.replace(tzinfo=datetime.timezone.utc) if value.tzinfo is None else value


class V1FilesUploadUrlsCreateResponseItemsItem(pydantic.BaseModel):
    """One pre-signed upload URL, in the order of the request's items."""

    model_config = pydantic.ConfigDict(extra="allow", populate_by_name=True)

    expires_at: datetime.datetime
    """
    When the upload URL expires (an aware datetime); after that, request a new one.
    """

    file_path: str
    """
    The value to pass to APIs that take assets, such as ``image_file_path``, ``video_file_path``
    and ``audio_file_path``.
    """

    upload_url: str
    """
    Send a ``PUT`` request with the file as the body to this URL to upload it.
    """

    def __repr_args__(self) -> Any:
        # The signed query is a credential for this upload: keep it out of reprs and logs.
        for name, value in super().__repr_args__():
            if name == "upload_url" and isinstance(value, str) and "?" in value:
                value = value.split("?", 1)[0] + "?<redacted>"
            yield name, value
