"""Where request bodies go: an API body collected in memory, or an upload streamed to storage."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import time
from pathlib import Path
from typing import BinaryIO, Callable, List, Optional

from ._exchange import Reply
from ._records import RecordedRequest, StoredFile
from ._wire import json_reply, reply, xml_error

__all__ = ["MAX_API_BODY", "ApiBodySink", "StorageSink"]

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

    def finish(self) -> Reply:
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

    def finish(self) -> Reply:
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
