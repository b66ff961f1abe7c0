"""Object storage: signed URLs (``POST /v1/files/upload-urls`` issues them), uploads (``PUT``) streamed
to a sink and checked the way S3 checks them, and what is stored."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO, Callable, Dict, List, Optional, Tuple, Union, cast
from urllib.parse import quote

from .._extensions import ASSET_TYPES, EXTENSIONS, describe_allowed
from ._exchange import (
    EXPIRED_MESSAGE,
    Exchange,
    Reply,
    content_length,
    json_reply,
    reply,
    rfc3339,
    utc,
    xml_error,
)
from ._faults import Faults, failure_reply
from ._records import IssuedUrl, RecordedRequest, StoredFile

MAX_API_BODY = 1024 * 1024


class ApiBodySink:
    """Collects a (small) API request body, then answers it with ``answer(body)``."""

    def __init__(self, record: RecordedRequest, answer: Callable[[bytes], Reply]) -> None:
        self._record = record
        self._answer = answer
        self._chunks: List[bytes] = []
        self._size = 0

    def write(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size <= MAX_API_BODY:
            self._chunks.append(chunk)

    def end(self) -> Reply:
        record = self._record
        if self._size > MAX_API_BODY:
            return json_reply(413, {"message": "Request body too large"}, record.request_id)
        body = b"".join(self._chunks)
        record.body = body
        return self._answer(body)

    def abort(self) -> None:
        self._chunks.clear()


class StorageSink:
    """Streams an upload to memory, to a spool file, or nowhere; always hashes it."""

    def __init__(
        self,
        store: Callable[[StoredFile], None],
        spool: Optional[Path],
        keep_content: bool,
        record: RecordedRequest,
        file_path: str,
        expected: int,
    ) -> None:
        self._store = store
        self._spool = spool
        self._record = record
        self._file_path = file_path
        self._expected = expected
        self._content_type = record.headers.get("content-type")
        self._hash = hashlib.sha256()
        self._size = 0
        self._buffer: Optional[bytearray] = None
        self._file: Optional[BinaryIO] = None
        self._tmp: Optional[str] = None
        if spool is not None:
            fd, self._tmp = tempfile.mkstemp(dir=spool, prefix=".partial-")
            self._file = os.fdopen(fd, "wb")
        elif keep_content:
            self._buffer = bytearray()

    def write(self, chunk: bytes) -> None:
        self._size += len(chunk)
        self._hash.update(chunk)
        if self._file is not None:
            self._file.write(chunk)
        elif self._buffer is not None:
            self._buffer += chunk

    def end(self) -> Reply:
        rid = self._record.request_id
        if self._size != self._expected:
            self.abort()
            return xml_error(
                400,
                "IncompleteBody",
                "You did not provide the number of bytes specified by the Content-Length HTTP header",
                rid,
            )
        path: Optional[Path] = None
        if self._file is not None and self._tmp is not None:
            self._file.close()
            assert self._spool is not None
            path = self._spool / self._file_path
            path.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self._tmp, path)
            self._tmp = None
        digest = self._hash.hexdigest()
        self._store(
            StoredFile(
                file_path=self._file_path,
                size=self._size,
                sha256=digest,
                content=bytes(self._buffer) if self._buffer is not None else None,
                path=path,
                content_type=self._content_type,
                stored_at=time.time(),
            )
        )
        self._buffer = None
        return reply(200, b"", "application/xml", [("ETag", f'"{digest[:32]}"'), ("x-amz-request-id", rid)])

    def abort(self) -> None:
        self._buffer = None
        if self._file is not None:
            self._file.close()
        if self._tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._tmp)
            self._tmp = None


class Storage:
    """The stored files and the URLs signed for them; shares the fake's lock, faults and clock."""

    def __init__(
        self,
        lock: threading.Lock,
        faults: Callable[[], Faults],
        now: Callable[[], float],
        *,
        spool_dir: Optional[Path],
        keep_content: bool,
        max_upload_size: int,
        url_ttl: float,
    ) -> None:
        self._lock = lock
        self._faults = faults
        self.now = now
        self.spool_dir = spool_dir
        self.keep_content = keep_content
        self.max_upload_size = max_upload_size
        self.url_ttl = url_ttl
        self.files: Dict[str, StoredFile] = {}
        self.issued: List[IssuedUrl] = []
        self.outputs: Dict[str, Tuple[bytes, str]] = {}  # what projects rendered: path -> (bytes, type)
        self.ranges = True
        self._secret = secrets.token_bytes(32)

    # ---- signing

    def signature(self, method: str, file_path: str, expires: int) -> str:
        message = f"{method}\n{file_path}\n{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def sign(self, method: str, storage_prefix: str, file_path: str, expires: int) -> str:
        """``<prefix><file_path>?X-Expires=...&X-Signature=...``, valid for ``method`` until ``expires``."""
        sig = self.signature(method, file_path, expires)
        return f"{storage_prefix}{quote(file_path)}?X-Expires={expires}&X-Signature={sig}"

    def check_signature(self, record: RecordedRequest, method: str, file_path: str) -> Optional[Reply]:
        """The 403 for a missing, tampered or expired signature, or ``None`` when it is valid."""
        rid = record.request_id
        expires_raw, signature = record.query.get("X-Expires"), record.query.get("X-Signature")
        if expires_raw is None or signature is None:
            return xml_error(
                403,
                "AccessDenied",
                "Query-string authentication requires the X-Expires and X-Signature parameters",
                rid,
            )
        try:
            expires = int(expires_raw)
        except ValueError:
            expires = -1
        expected = self.signature(method, file_path, expires)
        if expires < 0 or not hmac.compare_digest(expected.encode(), signature.encode()):
            return xml_error(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
                rid,
            )
        now = self.now()
        if now > expires:
            return xml_error(
                403, "AccessDenied", EXPIRED_MESSAGE, rid, Expires=rfc3339(expires), ServerTime=rfc3339(now)
            )
        return None

    # ---- PUT <storage>/<file_path>

    def begin_put(self, exchange: Exchange, file_path: str) -> None:
        """Decide what a storage ``PUT`` gets: a fault, a refusal, or a sink that stores the body."""
        record = exchange.record
        with self._lock:
            faults = self._faults()
            failure = faults.take_failure(("storage",), file_path)
            drop, drop_after = (False, None) if failure is not None else faults.take_drop(file_path)
        if failure is not None:
            record.fault = "fail"
            exchange.reply = failure_reply(failure, True, record.request_id)
            return
        length = content_length(record.headers)
        if drop:
            exchange.drop_after = drop_after if drop_after is not None else (length or 0) // 2
            return
        exchange.reply = self._refusal(record, file_path, length)
        if exchange.reply is None:
            assert length is not None
            exchange.sink = StorageSink(
                self.store, self.spool_dir, self.keep_content, record, file_path, length
            )

    def _refusal(self, record: RecordedRequest, file_path: str, length: Optional[int]) -> Optional[Reply]:
        headers, rid = record.headers, record.request_id
        if "authorization" in headers:
            return xml_error(
                400,
                "InvalidArgument",
                "Only one auth mechanism allowed; only the signed query string or the Authorization "
                "header should be specified",
                rid,
                ArgumentName="Authorization",
            )
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return xml_error(
                501,
                "NotImplemented",
                "A header you provided implies functionality that is not implemented",
                rid,
                Header="Transfer-Encoding",
            )
        if length is None:
            return xml_error(
                411, "MissingContentLength", "You must provide the Content-Length HTTP header.", rid
            )
        refused = self.check_signature(record, "PUT", file_path)
        if refused is not None:
            return refused
        if length > self.max_upload_size:
            return xml_error(
                413,
                "EntityTooLarge",
                "Your proposed upload exceeds the maximum allowed size",
                rid,
                ProposedSize=str(length),
                MaxSizeAllowed=str(self.max_upload_size),
            )
        return None

    def store(self, stored: StoredFile) -> None:
        with self._lock:
            self.files[stored.file_path] = stored

    # ---- GET / HEAD <storage>/<file_path> (downloads)

    def begin_get(self, exchange: Exchange, file_path: str) -> None:
        """Serve a rendered output (or an uploaded file) at a signed URL, with ``Range`` support."""
        record = exchange.record
        with self._lock:
            failure = self._faults().take_failure(("downloads",))
            found = self.outputs.get(file_path)
            stored = self.files.get(file_path) if found is None else None
        if failure is not None:
            record.fault = "fail"
            exchange.reply = failure_reply(failure, True, record.request_id)
            return
        exchange.reply = self.check_signature(record, "GET", file_path)
        if exchange.reply is not None:
            return
        if found is None and stored is not None:
            found = (stored.read_bytes(), stored.content_type or "application/octet-stream")
        if found is None:
            exchange.reply = xml_error(
                404, "NoSuchKey", "The specified key does not exist.", record.request_id, Key=file_path
            )
            return
        answer = self._content(record, *found)
        with self._lock:
            faults = self._faults()
            served = answer.status in (200, 206) and record.method == "GET"
            drop, after = faults.take_download_drop(file_path) if served else (False, None)
        if drop:
            record.fault = "drop"
            cut = min(after if after is not None else len(answer.body) // 2, len(answer.body))
            answer = Reply(answer.status, answer.headers, answer.body, cut_after=cut)
        exchange.reply = answer

    def _content(self, record: RecordedRequest, content: bytes, content_type: str) -> Reply:
        rid, size = record.request_id, len(content)
        headers = [("x-amz-request-id", rid), ("ETag", f'"{hashlib.sha256(content).hexdigest()[:32]}"')]
        wanted = record.headers.get("range")
        if not self.ranges:
            return reply(200, content, content_type, headers)
        headers.append(("Accept-Ranges", "bytes"))
        match = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", wanted or "")
        if wanted is None or match is None or match.group(1) + match.group(2) == "":
            return reply(200, content, content_type, headers)
        first, last = match.group(1), match.group(2)
        if first == "":  # the last N bytes
            start, end = max(0, size - int(last)), size - 1
        else:
            start, end = int(first), min(int(last), size - 1) if last else size - 1
        if start >= size or start > end:
            return xml_error(
                416, "InvalidRange", "The requested range is not satisfiable", rid, RangeRequested=wanted
            )
        headers.append(("Content-Range", f"bytes {start}-{end}/{size}"))
        return reply(206, content[start : end + 1], content_type, headers)

    def method_not_allowed(self, record: RecordedRequest) -> Reply:
        return xml_error(
            405,
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
            record.request_id,
            Method=record.method,
        )


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


__all__ = ["MAX_API_BODY", "ApiBodySink", "Storage", "StorageSink", "UploadUrls", "check_items"]
