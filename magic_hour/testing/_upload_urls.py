"""``POST /v1/files/upload-urls``: checks the items and issues signed upload URLs from storage."""

from __future__ import annotations

import json
import secrets
import threading
from typing import Any, Callable, Dict, List, Optional, Tuple, Union, cast

from .._extensions import ASSET_TYPES, EXTENSIONS, describe_allowed
from ._exchange import Reply
from ._faults import Faults
from ._records import IssuedUrl, RecordedRequest
from ._storage import Storage
from ._wire import json_reply, reply, rfc3339, utc

__all__ = ["UploadUrls", "check_items"]


def check_items(items: object, max_items: Optional[int]) -> Union[str, List[Tuple[str, str]]]:
    """The items as ``(type, extension)`` pairs, or the 422 message."""
    if not isinstance(items, list) or not items:
        return "Invalid request body: items must be a non-empty array"
    seq = cast("List[object]", items)
    if max_items is not None and len(seq) > max_items:
        return f"Invalid request body: items has {len(seq)} entries; at most {max_items} are allowed"
    checked: List[Tuple[str, str]] = []
    for i, item in enumerate(seq):
        if not isinstance(item, dict):
            return f"Invalid request body: items[{i}] must be an object with extension and type"
        fields = cast("Dict[str, object]", item)
        asset_type, ext = fields.get("type"), fields.get("extension")
        if asset_type not in ASSET_TYPES:
            return (
                f"Invalid request body: items[{i}].type must be one of {', '.join(ASSET_TYPES)}, "
                f"got {json.dumps(asset_type)}"
            )
        if not isinstance(ext, str) or ext not in EXTENSIONS[cast("Any", asset_type)]:
            return (
                f"Invalid request body: items[{i}].extension {json.dumps(ext)} is not allowed for "
                f"{describe_allowed(cast('Any', asset_type))}"
            )
        checked.append((cast(str, asset_type), ext))
    return checked


class UploadUrls:
    """The answer of ``upload-urls`` to a complete, authorized body."""

    def __init__(
        self, storage: Storage, lock: threading.Lock, faults: Callable[[], Faults], max_items: Optional[int]
    ) -> None:
        self._storage = storage
        self._lock = lock
        self._faults = faults
        self.max_items = max_items

    def answer(self, record: RecordedRequest, body: bytes, storage_prefix: str) -> Reply:
        rid = record.request_id
        if not body.strip():
            return json_reply(400, {"message": "Invalid request body: the body is empty"}, rid)
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            return json_reply(400, {"message": "Invalid request body: not valid JSON"}, rid)
        if not isinstance(data, dict) or "items" not in data:
            return json_reply(
                400, {"message": 'Invalid request body: expected an object with an "items" array'}, rid
            )
        checked = check_items(cast("Dict[str, Any]", data)["items"], self.max_items)
        if isinstance(checked, str):
            return json_reply(422, {"message": checked}, rid)
        return self._issue(record, checked, storage_prefix)

    def _issue(self, record: RecordedRequest, items: List[Tuple[str, str]], storage_prefix: str) -> Reply:
        storage, rid = self._storage, record.request_id
        now, ttl = storage.now(), storage.url_ttl
        issued: List[IssuedUrl] = []
        with self._lock:
            faults = self._faults()
            malformed = faults.malformed.consume()
            delta = faults.wrong_count.value if faults.wrong_count.consume() else 0
            for asset_type, ext in items:
                if faults.expire.consume():
                    expires = int(now) - 1
                    advertised = int(now + ttl) if faults.advertise_valid else expires
                else:
                    expires = advertised = int(now + ttl)
                file_path = f"api-assets/{secrets.token_hex(8)}/{asset_type}.{ext}"
                issued.append(
                    IssuedUrl(
                        file_path=file_path,
                        upload_url=storage.sign("PUT", storage_prefix, file_path, expires),
                        expires_at=utc(expires),
                        advertised_expires_at=utc(advertised),
                        type=asset_type,
                        extension=ext,
                    )
                )
            storage.issued.extend(issued)
        if any(i.expires_at.timestamp() < now for i in issued):
            record.fault = "expired_url"
        payload: List[Dict[str, str]] = [
            {
                "expires_at": rfc3339(i.advertised_expires_at.timestamp()),
                "file_path": i.file_path,
                "upload_url": i.upload_url,
            }
            for i in issued
        ]
        if delta < 0:
            payload = payload[: max(0, len(payload) + delta)]
        elif delta > 0:
            extra = f"api-assets/{secrets.token_hex(8)}/extra.bin"
            url = storage.sign("PUT", storage_prefix, extra, int(now + ttl))
            payload += [{"expires_at": rfc3339(now + ttl), "file_path": extra, "upload_url": url}] * delta
        if delta:
            record.fault = "wrong_item_count"
        if malformed:
            record.fault = "malformed_json"
            text = json.dumps({"items": payload})
            return reply(200, text[: len(text) // 2].encode(), "application/json", [("x-request-id", rid)])
        return json_reply(200, {"items": payload}, rid)
