"""Response models (pydantic v2). Unknown extra fields from the API are kept, not fatal."""

from .v1_files_upload_urls_create_response import V1FilesUploadUrlsCreateResponse
from .v1_files_upload_urls_create_response_items_item import V1FilesUploadUrlsCreateResponseItemsItem

__all__ = ["V1FilesUploadUrlsCreateResponse", "V1FilesUploadUrlsCreateResponseItemsItem"]
