"""Errors of uploads: the storage refused a ``PUT``, ``upload-urls`` answered with unusable URLs, or
some files of a batch could not be uploaded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import httpx

from .._redact import request_of, safe_response
from .base import MagicHourError, publish


@dataclass(frozen=True)
class UploadResult:
    """What happened to one input file of ``upload_files``.

    Attributes:
        index: its position in the input list.
        name: the path or file object name it was given as (for messages).
        file_path: the ``api-assets/...`` path when it was uploaded, else ``None``.
        error: why it failed, else ``None``.
    """

    index: int
    name: str
    file_path: Optional[str] = None
    error: Optional[BaseException] = None

    @property
    def ok(self) -> bool:
        """True when the file was uploaded."""
        return self.error is None


class StorageError(MagicHourError, httpx.HTTPStatusError):
    """The storage answered an upload ``PUT`` with an error (after retries, and one re-presign if the
    URL had expired). The signed query of the URL never appears in the message.

    Also an :class:`httpx.HTTPStatusError`, what the official SDK raises here: ``.response`` is the
    storage's answer and ``.request`` the ``PUT`` it answered.
    """

    status_code: int
    response: httpx.Response

    def __init__(self, message: str, *, response: httpx.Response) -> None:
        httpx.HTTPError.__init__(self, message)
        self.status_code = response.status_code
        # A copy whose request has no signed query (`repr(e.response.request)` must not show it), and
        # whose body is scrubbed the same way (storage errors may quote the signed URL).
        self.response = safe_response(response, scrub_urls=True)
        request = request_of(self.response)
        if request is not None:
            self.request = request


class UploadUrlsMismatchError(MagicHourError, ValueError):
    """The API's ``upload-urls`` answer cannot be used for the files asked for: a different number of
    upload URLs, or an upload URL that is not an absolute http(s) URL. Nothing was uploaded, and the
    call is not retried (the same answer would come back). Also a ``ValueError``, as in the official SDK."""


class UploadError(MagicHourError):
    """One or more files could not be uploaded.

    ``results`` holds one :class:`~magic_hour.UploadResult` per input file, in input order:
    the ones that succeeded (with their ``file_path``) and the ones that failed (with ``error``).
    """

    def __init__(self, results: Sequence[UploadResult]) -> None:
        self.results = list(results)
        failed = self.failed
        lines = [f"{len(failed)} of {len(self.results)} uploads failed:"]
        lines.extend(f"  {r.name}: {r.error}" for r in failed)
        super().__init__("\n".join(lines))

    @property
    def succeeded(self) -> list[UploadResult]:
        """The results of the files that were uploaded (``file_path`` is set)."""
        return [r for r in self.results if r.error is None]

    @property
    def failed(self) -> list[UploadResult]:
        """The results of the files that were not uploaded (``error`` is set)."""
        return [r for r in self.results if r.error is not None]


publish(
    StorageError,
    UploadUrlsMismatchError,
    UploadError,
)
