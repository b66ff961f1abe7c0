from __future__ import annotations

from typing import List

import pydantic
from typing_extensions import Required, TypedDict

from .v1_files_upload_urls_create_body_items_item import V1FilesUploadUrlsCreateBodyItemsItem


@pydantic.with_config(pydantic.ConfigDict(populate_by_name=True))
class V1FilesUploadUrlsCreateBody(TypedDict):
    """The body of ``POST /v1/files/upload-urls``."""

    items: Required[List[V1FilesUploadUrlsCreateBodyItemsItem]]
    """
    The list of assets to upload. The response array will match the order of items in the request body.
    """
