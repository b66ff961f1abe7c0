"""The bookkeeping of an upload batch, shared by the sync and async drivers (no I/O): the checks of the
arguments and inputs, how a presign answer becomes upload targets, how each file's outcome is recorded,
and what ``upload_file(s)`` return or raise from those outcomes."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Sequence, Tuple, Union

import httpx

from .._core.hosts import host_problem
from .._errors.files import UploadResult as UploadResult  # lives with UploadError, which holds them
from .._exceptions import (
    ApiConnectionError,
    ApiError,
    ClientClosedError,
    InsecureTransportError,
    InvalidFileError,
    InvalidParameterError,
    MagicHourError,
    MissingTokenError,
    UploadError,
    UploadUrlsMismatchError,
)
from .._redact import request_of, safe_url
from .flow import UploadTarget, parse_expires_at
from .inputs import Passthrough, Source, inspect_input

if TYPE_CHECKING:
    from ..types.models import V1FilesUploadUrlsCreateResponse

logger = logging.getLogger("magic_hour")


def check_concurrency(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidParameterError("max_concurrency", value, "an integer >= 1")
    return value


def check_files(files: object) -> List[object]:
    if isinstance(files, (str, bytes)) or not isinstance(files, (list, tuple)):
        raise InvalidParameterError("files", files, "a list of paths or binary file objects")
    return list(files)  # pyright: ignore[reportUnknownArgumentType]


def check_flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidParameterError(name, value, "True or False")
    return value


def plan_batch(
    files: Sequence[object], type_: Optional[str], extension: Optional[str], from_current_position: bool
) -> Tuple[List[Optional[UploadResult]], List[Source]]:
    """Check every input before any request; pass URLs and api-assets paths straight through."""
    results: List[Optional[UploadResult]] = [None] * len(files)
    sources: List[Source] = []
    objects: Dict[int, int] = {}  # id(file object) -> first index
    for i, file in enumerate(files):
        checked = inspect_input(
            file, i, type_=type_, extension=extension, from_current_position=from_current_position
        )
        if isinstance(checked, Passthrough):
            results[i] = UploadResult(i, checked.value, file_path=checked.value)
            continue
        if checked.fileobj is not None:
            # Two uploads would share one file position and interleave their reads: wrong bytes.
            first = objects.setdefault(id(checked.fileobj), i)
            if first != i:
                raise InvalidFileError(
                    f"files[{i}]",
                    checked.name,
                    "each file object once (pass a path, or open the file again, to upload it twice)",
                    reason=f"it is the same file object as files[{first}]",
                )
        sources.append(checked)
    return results, sources


def log_uploaded(source: Source, start: float, path: str) -> None:
    logger.info(
        "%s: uploaded %d bytes in %.2fs as %s", source.name, source.size, time.perf_counter() - start, path
    )


def completed(results: List[Optional[UploadResult]]) -> List[UploadResult]:
    """Every file's result, once each file has one."""
    done = [r for r in results if r is not None]
    assert len(done) == len(results)
    return done


def file_error(source: Source, exc: OSError) -> InvalidFileError:
    """A file that was fine when checked and cannot be read now (deleted, permissions changed)."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    error = InvalidFileError(
        "file", source.name, "a file that stays readable until it is uploaded", reason=reason
    )
    error.__cause__ = exc
    return error


def failed(source: Source, exc: Union[MagicHourError, OSError]) -> UploadResult:
    """The result of a file whose upload failed: the typed error (an ``OSError`` reading it becomes
    :func:`file_error`)."""
    error = exc if isinstance(exc, MagicHourError) else file_error(source, exc)
    logger.info("%s: upload failed: %s", source.name, error)
    return UploadResult(source.index, source.name, error=error)


def file_outcome(source: Source, run: Callable[[], str]) -> UploadResult:
    """The result of one file: its ``file_path``, or the typed error that failed it. The progress
    callback's own exceptions pass through (wrapped, for the engine to re-raise as themselves)."""
    try:
        path = run()
    except (MagicHourError, OSError) as exc:
        return failed(source, exc)
    return UploadResult(source.index, source.name, file_path=path)


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def check_presigned(sources: Sequence[Source], targets: Sequence[UploadTarget]) -> None:
    """Refuse an answer that cannot be used as is, before any byte is sent (a retry would not help)."""
    if not targets and sources:  # the official SDK's words for this case
        raise UploadUrlsMismatchError(
            f"No upload URL was returned from the server (for {_count(len(sources), 'file')}); "
            "nothing was uploaded"
        )
    if len(targets) != len(sources):
        raise UploadUrlsMismatchError(
            f"the API returned {_count(len(targets), 'upload URL')} for {_count(len(sources), 'file')}; "
            "nothing was uploaded"
        )
    for source, target in zip(sources, targets):
        problem = _url_problem(target.url or parse_upload_url(target.upload_url))
        if problem is not None:
            raise UploadUrlsMismatchError(
                f"the API returned an upload URL for {source.name} that cannot be used ({problem}): "
                f"{safe_url(target.upload_url, mark_query=False)!r}; nothing was uploaded"
            )
    _check_unique(targets)


def _check_unique(targets: Sequence[UploadTarget], taken: Sequence[UploadTarget] = ()) -> None:
    """Two files sent to one URL (or given one ``file_path``) would leave one object in storage and
    report both uploaded."""
    urls = {t.upload_url for t in taken}
    paths = {t.file_path for t in taken}
    for target in targets:
        if target.upload_url in urls or target.file_path in paths:
            kind, value = (
                ("upload URL", safe_url(target.upload_url, mark_query=False))
                if target.upload_url in urls
                else ("file_path", target.file_path)
            )
            raise UploadUrlsMismatchError(
                f"the API returned the same {kind} for two files ({value!r}); nothing was uploaded"
            )
        urls.add(target.upload_url)
        paths.add(target.file_path)


def check_unique_across(targets: Sequence[UploadTarget], taken: Sequence[UploadTarget]) -> None:
    """:func:`check_presigned`'s uniqueness check against the targets of earlier batches."""
    _check_unique(targets, taken)


def parse_upload_url(url: str) -> Optional[httpx.URL]:
    """``url`` parsed by httpx, or ``None`` when httpx cannot parse it."""
    try:
        return httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError):  # IDNAError is a ValueError
        return None


# What a host name (in its ASCII form: IDNA labels as xn--) or an IP literal is made of; httpx takes a
# space or a "%" and leaves the failure to the name lookup, after the upload has begun.
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:[]")


def _url_problem(parsed: Optional[httpx.URL]) -> Optional[str]:
    # raw_host, never .host: .host decodes xn-- labels and raises a bare idna error for a broken one.
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.raw_host:
        return "not an absolute http(s) URL"
    host = parsed.raw_host.decode("ascii")
    problem = host_problem(host)
    if problem is None and not _HOST_CHARS.issuperset(host):
        return "the host name has characters no host name has"
    return problem


def _targets(response: V1FilesUploadUrlsCreateResponse) -> List[UploadTarget]:
    return [
        UploadTarget(
            it.file_path, it.upload_url, parse_expires_at(it.expires_at), parse_upload_url(it.upload_url)
        )
        for it in response.items
    ]


def accept_batch(
    batch: List[Source],
    outcome: V1FilesUploadUrlsCreateResponse | MagicHourError,
    results: List[Optional[UploadResult]],
    targets: Dict[int, UploadTarget],
) -> None:
    """Record the presign of one batch: its targets, or the error that fails all of its files."""
    if not isinstance(outcome, MagicHourError):
        found = _targets(outcome)
        try:
            check_presigned(batch, found)
            check_unique_across(found, list(targets.values()))
        except MagicHourError as exc:
            outcome = exc
        else:
            targets.update(zip((s.index for s in batch), found))
            return
    for s in batch:
        results[s.index] = UploadResult(s.index, s.name, error=outcome)


def one_target(source: Source, response: V1FilesUploadUrlsCreateResponse) -> UploadTarget:
    """The new target of a file re-presigned alone."""
    found = _targets(response)
    check_presigned([source], found)
    return found[0]


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
