"""What the fake remembers: the requests it received, the URLs it issued and the files it stored."""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional

import httpx

from .._redact import safe_url

__all__ = ["IssuedUrl", "RecordedRequest", "StoredFile"]


@dataclass(repr=False)
class RecordedRequest:
    """One request the fake received (API or storage), recorded when it arrived.

    Attributes:
        method: ``"POST"``, ``"PUT"``...
        url: the full URL, query included (the signed query of an upload URL too).
        path: the URL path, e.g. ``"/v1/files/upload-urls"``; for storage ``"/storage/api-assets/..."``
            (real server) or ``"/api-assets/..."`` (transport, whose storage has its own host).
        query: the query parameters (last value wins).
        headers: the request headers, as received (``Authorization`` included: inspect it, don't print it).
        route: ``"upload_urls"``, ``"storage"`` (upload PUTs), ``"downloads"`` (GETs of storage), the
            operation's ``"<resource>.<method>"`` (``"image_projects.get"``), or ``None`` (unknown path).
        operation: the operation, ``"GET /v1/image-projects/{id}"``; ``None`` for storage.
        body_size: bytes of body received so far (final once ``status`` is set or the request was dropped).
        body: the body of an API request (``None`` for storage PUTs, whose bytes go to :attr:`StoredFile`).
        status: the status answered, or ``None`` while in flight or when no response was sent
            (connection dropped on purpose, client gone, simulated timeout).
        fault: the fault knob that shaped the answer, if any: ``"fail"``, ``"drop"``, ``"timeout"``,
            ``"malformed_json"``, ``"wrong_item_count"``, ``"expired_url"``.
        request_id: the ``x-request-id`` (API) or ``x-amz-request-id`` (storage) header of the answer.
        time: when it arrived (``time.time()``).
    """

    method: str
    url: str
    path: str
    query: Dict[str, str]
    headers: httpx.Headers
    route: Optional[str]
    request_id: str
    time: float
    body_size: int = 0
    body: Optional[bytes] = None
    status: Optional[int] = None
    fault: Optional[str] = None
    operation: Optional[str] = None

    @property
    def json(self) -> Any:
        """The body parsed as JSON (``None`` if there is no body or it is not JSON)."""
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError):
            return None

    def __repr__(self) -> str:
        # Never show the Authorization header or the signed query of an upload URL.
        url = safe_url(self.url)
        fault = f", fault={self.fault!r}" if self.fault else ""
        return (
            f"RecordedRequest({self.method} {url}, status={self.status}, body_size={self.body_size}{fault})"
        )


@dataclass(frozen=True, repr=False)
class StoredFile:
    """A file stored by a successful storage ``PUT``.

    Attributes:
        file_path: ``"api-assets/<id>/<name>.<ext>"``, as returned by ``upload-urls``.
        size: its size in bytes.
        sha256: hex SHA-256 of its bytes (always recorded, even when the bytes are not kept).
        content: the bytes, when kept in memory (the default); ``None`` when spooled or discarded.
        path: where the bytes are on disk, when the fake was built with ``spool_dir``.
        content_type: the ``Content-Type`` header of the PUT, if any.
    """

    file_path: str
    size: int
    sha256: str
    content: Optional[bytes] = None
    path: Optional[Path] = None
    content_type: Optional[str] = None
    stored_at: float = field(default=0.0, compare=False)

    def read_bytes(self) -> bytes:
        """The stored bytes, from memory or from the spool file.

        Raises:
            LookupError: the fake was built with ``keep_content=False`` and no ``spool_dir``.
        """
        if self.content is not None:
            return self.content
        if self.path is not None:
            return self.path.read_bytes()
        raise LookupError(f"the bytes of {self.file_path} were not kept (keep_content=False); use .sha256")

    def __repr__(self) -> str:
        where = f", path={str(self.path)!r}" if self.path is not None else ""
        return f"StoredFile({self.file_path!r}, size={self.size}, sha256={self.sha256[:12]}...{where})"


@dataclass(frozen=True, repr=False)
class IssuedUrl:
    """An upload URL handed out by ``POST /v1/files/upload-urls``.

    Attributes:
        file_path: the storage path, ``"api-assets/<id>/<name>.<ext>"``.
        upload_url: the pre-signed URL (a credential: don't log it).
        expires_at: when the signature expires (aware, UTC).
        advertised_expires_at: the ``expires_at`` sent in the response (differs from ``expires_at`` only
            for URLs made by ``expire_next_urls(..., advertise_valid=True)``).
        type: ``"video"``, ``"audio"`` or ``"image"``.
        extension: e.g. ``"mp4"``.
    """

    file_path: str
    upload_url: str
    expires_at: datetime.datetime
    advertised_expires_at: datetime.datetime
    type: str
    extension: str

    def __repr__(self) -> str:
        return f"IssuedUrl({self.file_path!r}, expires_at={self.expires_at.isoformat()})"
