"""``client.v1.files.upload_urls``: pre-signed upload URLs."""

from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional

from ...._core.request import ApiRequest, RequestOptions
from ...._serialize import to_wire_each
from ...._validation import check_upload_items

if TYPE_CHECKING:
    from ...._core.transport import AsyncHTTP, SyncHTTP
    from ....types.models import V1FilesUploadUrlsCreateResponse
    from ....types.params import V1FilesUploadUrlsCreateBodyItemsItem


def _create_request(items: object) -> ApiRequest:
    from ....types.params import V1FilesUploadUrlsCreateBodyItemsItem

    # V1FilesUploadUrlsCreateBody is {"items": [...]}: its items go through the (memoised) generic path.
    body = {"items": to_wire_each(V1FilesUploadUrlsCreateBodyItemsItem, check_upload_items(items))}
    return ApiRequest("POST", "/v1/files/upload-urls", json=body)


class UploadUrls:
    """Pre-signed URLs to upload files to Magic Hour's storage."""

    def __init__(self, http: SyncHTTP) -> None:
        self._http = http

    def create(
        self,
        *,
        items: List[V1FilesUploadUrlsCreateBodyItemsItem],
        request_options: Optional[RequestOptions] = None,
    ) -> V1FilesUploadUrlsCreateResponse:
        """Generate asset upload URLs: ``POST /v1/files/upload-urls``.

        Returns one pre-signed ``PUT`` URL per item, in the order of ``items``. Most users want
        ``client.v1.files.upload_file(path)``, which calls this and uploads the bytes.

        Args:
            items: the assets to upload, e.g. ``[{"extension": "mp4", "type_": "video"}]``.
                Extensions are normalised (``".MP4"`` -> ``"mp4"``) and checked against the type.
            request_options: ``timeout``, ``additional_headers``, ``additional_params``, ``max_retries``.

        Raises:
            InvalidParameterError: an item is invalid (before any request is sent).
            ApiError: the API answered with an error (a subclass per status code).
            ApiConnectionError: no response (``ApiTimeoutError`` if it timed out).

        Example::

            res = client.v1.files.upload_urls.create(items=[{"extension": "mp4", "type_": "video"}])
            res.items[0].upload_url
        """
        from ....types.models import V1FilesUploadUrlsCreateResponse

        return self._http.request(_create_request(items), V1FilesUploadUrlsCreateResponse, request_options)


class AsyncUploadUrls:
    """Pre-signed URLs to upload files to Magic Hour's storage."""

    def __init__(self, http: AsyncHTTP) -> None:
        self._http = http

    async def create(
        self,
        *,
        items: List[V1FilesUploadUrlsCreateBodyItemsItem],
        request_options: Optional[RequestOptions] = None,
    ) -> V1FilesUploadUrlsCreateResponse:
        """Generate asset upload URLs: ``POST /v1/files/upload-urls``.

        Returns one pre-signed ``PUT`` URL per item, in the order of ``items``. Most users want
        ``client.v1.files.upload_file(path)``, which calls this and uploads the bytes.

        Args:
            items: the assets to upload, e.g. ``[{"extension": "mp4", "type_": "video"}]``.
                Extensions are normalised (``".MP4"`` -> ``"mp4"``) and checked against the type.
            request_options: ``timeout``, ``additional_headers``, ``additional_params``, ``max_retries``.

        Raises:
            InvalidParameterError: an item is invalid (before any request is sent).
            ApiError: the API answered with an error (a subclass per status code).
            ApiConnectionError: no response (``ApiTimeoutError`` if it timed out).

        Example::

            res = client.v1.files.upload_urls.create(items=[{"extension": "mp4", "type_": "video"}])
            res.items[0].upload_url
        """
        from ....types.models import V1FilesUploadUrlsCreateResponse

        return await self._http.request(
            _create_request(items), V1FilesUploadUrlsCreateResponse, request_options
        )
