"""``client.v1.files``: upload URLs and uploads (``FilesClient`` lives in ``.client``, as in the official SDK)."""

from .client import AsyncFiles, AsyncFilesClient, Files, FilesClient
from .upload_urls import AsyncUploadUrls, UploadUrls

__all__ = ["AsyncFiles", "AsyncFilesClient", "AsyncUploadUrls", "Files", "FilesClient", "UploadUrls"]
