"""``client.v1.files.upload_urls``: pre-signed upload URLs."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Dict, List, Optional, Tuple

from ...._core.request import ApiRequest, RequestOptions
from ...._serialize import to_wire
from ...._validation import check_upload_items

if TYPE_CHECKING:
    from ...._core.transport import AsyncHTTP, SyncHTTP
    from ....types.models import V1FilesUploadUrlsCreateResponse
    from ....types.params import V1FilesUploadUrlsCreateBodyItemsItem


# (extension, type_) as the user wrote them -> the item's JSON on the wire, for pairs already checked
# and serialised once (at most one entry per valid pair of the extension table).
_WIRE: Dict[Tuple[object, object], bytes] = {}


def _encode(item: Dict[str, str]) -> bytes:
    from ....types.params import V1FilesUploadUrlsCreateBodyItemsItem

    wire = to_wire(V1FilesUploadUrlsCreateBodyItemsItem, item)
    return json.dumps(wire, separators=(",", ":"), ensure_ascii=False).encode()


def _wire_items(items: object) -> List[bytes]:
    """Check and encode ``items``: the full checks and the generic serializer run once per distinct
    item; a list of items already seen costs one dict lookup each (the hot path of batches)."""
    if type(items) is list:
        out: List[bytes] = []
        for item in items:  # pyright: ignore[reportUnknownVariableType]
            if type(item) is not dict or len(item) != 2:  # pyright: ignore[reportUnknownArgumentType]
                break
            try:
                wire = _WIRE.get((item.get("extension"), item.get("type_")))  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]
            except TypeError:  # an unhashable value: let the full check explain it
                break
            if wire is None:
                break
            out.append(wire)
        else:
            if out:
                return out
    result: List[bytes] = []
    for item in check_upload_items(items):  # pyright: ignore[reportUnknownArgumentType]
        key = (item["extension"], item["type_"])
        wire = _WIRE.get(key)
        if wire is None:
            wire = _WIRE[key] = _encode(item)
        result.append(wire)
    return result


def _create_request(items: object) -> ApiRequest:
    # The body, V1FilesUploadUrlsCreateBody, is {"items": [...]}, assembled from the encoded items.
    body = b'{"items":[' + b",".join(_wire_items(items)) + b"]}"
    return ApiRequest("POST", "/v1/files/upload-urls", json_bytes=body)


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
