"""Request parameter types (TypedDicts): pass plain dicts, type checkers check them."""

from .v1_files_upload_urls_create_body import V1FilesUploadUrlsCreateBody
from .v1_files_upload_urls_create_body_items_item import V1FilesUploadUrlsCreateBodyItemsItem

__all__ = ["V1FilesUploadUrlsCreateBody", "V1FilesUploadUrlsCreateBodyItemsItem"]
