"""Per-file outcomes of an upload batch, and what an upload call returns or raises from them."""

from __future__ import annotations

from typing import List, Sequence

from .._errors.files import UploadResult as UploadResult  # lives with UploadError, which holds them
from .._exceptions import (
    ApiConnectionError,
    ApiError,
    ClientClosedError,
    InsecureTransportError,
    MissingTokenError,
    UploadError,
    UploadUrlsMismatchError,
)
from .._redact import request_of


def one_path(results: List[UploadResult]) -> str:
    """What ``upload_file`` returns: the one file's ``file_path``, or its error raised."""
    result = results[0]
    if result.error is not None:
        raise result.error
    assert result.file_path is not None
    return result.file_path


def all_paths(results: List[UploadResult]) -> List[str]:
    """What ``upload_files`` returns: every ``file_path`` in input order, or :func:`batch_failure`."""
    if any(r.error is not None for r in results):
        raise batch_failure(results)
    return [r.file_path for r in results if r.file_path is not None]


def batch_failure(results: Sequence[UploadResult]) -> BaseException:
    """What ``upload_files`` (and so ``generate``) raises when some files were not uploaded.

    When the ``upload-urls`` call of the batch failed for every file to upload (a bad token, a 5xx after
    retries, no connection, an answer that cannot be used), every one of them carries that one error:
    it is raised itself, as ``upload_file`` raises it for one file and ``create()`` for the same request,
    and as an official user's ``except ApiError`` expects. Failures of the files themselves (storage,
    reading) stay an :class:`UploadError` with the per-file results, and so does a batch where some
    files made it: their ``file_path`` values must not be lost.
    """
    # A string given as its own file_path (a URL, an api-assets/... path) was passed through, not uploaded.
    uploads = [r for r in results if not (r.error is None and r.file_path == r.name)]
    first = uploads[0].error if uploads else None
    if first is not None and all(r.error is first for r in uploads) and _presign_level(first):
        return first
    return UploadError(results)


def _presign_level(error: BaseException) -> bool:
    if isinstance(error, ApiConnectionError):  # also a storage PUT's, for a batch of one file
        request = request_of(error)
        return request is None or request.method != "PUT"
    return isinstance(
        error,
        (ApiError, MissingTokenError, InsecureTransportError, ClientClosedError, UploadUrlsMismatchError),
    )
