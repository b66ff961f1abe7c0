"""``BinaryResponse``: raw bytes and headers of a non-JSON response, shaped as in the official SDK."""

from __future__ import annotations

import httpx

__all__ = ["BinaryResponse"]


class BinaryResponse:
    """The content and headers of a binary HTTP response (a downloaded file, for instance).

    The same shape as the official SDK's ``BinaryResponse``: ``.content`` (bytes) and ``.headers``
    (:class:`httpx.Headers`), both set by the constructor.

    Example::

        res = BinaryResponse(content=b"...", headers=httpx.Headers({"content-type": "image/png"}))
        Path("out.png").write_bytes(res.content)
    """

    content: bytes
    headers: httpx.Headers

    def __init__(self, content: bytes, headers: httpx.Headers) -> None:
        self.content = content
        self.headers = headers

    def __repr__(self) -> str:
        # Never the bytes themselves, nor headers (a download's headers may carry cookies).
        kind = self.headers.get("content-type", "unknown type")
        return f"BinaryResponse({len(self.content)} bytes, {kind})"
