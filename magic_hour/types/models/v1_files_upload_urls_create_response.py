from __future__ import annotations

from typing import List

import pydantic

from .v1_files_upload_urls_create_response_items_item import (
    V1FilesUploadUrlsCreateResponseItemsItem,
    assume_utc,
)


class V1FilesUploadUrlsCreateResponse(pydantic.BaseModel):
    """The response of ``POST /v1/files/upload-urls``."""

    model_config = pydantic.ConfigDict(extra="allow", populate_by_name=True)

    items: List[V1FilesUploadUrlsCreateResponseItemsItem]
    """
    The upload URLs and file paths, in the order of the request's items.
    """

    @pydantic.model_validator(mode="after")
    def _aware_expiry(self) -> V1FilesUploadUrlsCreateResponse:
        # One pass here instead of a validator per item: the hot path stays in pydantic-core.
        for item in self.items:
            if item.expires_at.tzinfo is None:
                item.expires_at = assume_utc(item.expires_at)
        return self
