"""Object storage: signed URLs, uploads (``PUT``) checked the way S3 checks them, and what is stored."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple
from urllib.parse import quote

from ._exchange import Exchange, Reply
from ._faults import Faults, failure_reply
from ._records import IssuedUrl, RecordedRequest, StoredFile
from ._sinks import StorageSink
from ._wire import EXPIRED_MESSAGE, content_length, reply, rfc3339, xml_error

__all__ = ["Storage"]


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
