from __future__ import annotations

from typing import List

import pydantic
from typing_extensions import Required, TypedDict

from .v1_files_upload_urls_create_body_items_item import V1FilesUploadUrlsCreateBodyItemsItem


class V1FilesUploadUrlsCreateBody(TypedDict):
    """The body of ``POST /v1/files/upload-urls``."""

    items: Required[List[V1FilesUploadUrlsCreateBodyItemsItem]]
    """
    The list of assets to upload. The response array will match the order of items in the request body.
    """


# What `@pydantic.with_config` would set (it needs pydantic >= 2.7; we support 2.5): validating also
# accepts the Python names (``type_``), not only the wire names.
V1FilesUploadUrlsCreateBody.__pydantic_config__ = pydantic.ConfigDict(populate_by_name=True)  # type: ignore[attr-defined]
