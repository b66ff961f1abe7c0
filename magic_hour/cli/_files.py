"""``files upload`` and ``files upload-urls``: the commands over the SDK's upload engine."""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Union, cast

from ._output import (
    EXIT_FAILURE,
    EXIT_OK,
    TOKEN_ENV,
    Reporter,
    error_json,
    human_size,
    one_line,
    plural,
    print_json,
    say,
    write_fields,
)
from ._progress import make_reporter, passed_note
from ._session import open_client
from ._signals import Run

if TYPE_CHECKING:
    from .. import Client
    from .._upload.batch import UploadResult
    from .._upload.inputs import Passthrough, Source


def check_inputs(
    paths: Sequence[str], type_: Optional[str], extension: Optional[str]
) -> List[Union[Passthrough, Source]]:
    """Every path checked before any request (exists, a readable file, an extension of ``type_``)."""
    from .._exceptions import InvalidFileError
    from .._extensions import describe_allowed
    from .._upload.inputs import inspect_input, is_uploaded, is_url

    checked: List[Union[Passthrough, Source]] = []
    for i, path in enumerate(paths):
        try:
            checked.append(inspect_input(path, i, type_=type_, extension=extension))
        except InvalidFileError:
            no_suffix = not (is_url(path) or is_uploaded(path)) and not os.path.splitext(path)[1]
            if extension is None and no_suffix and os.path.isfile(path):
                # The SDK's message names its Python keyword (extension=); here it is an option.
                raise InvalidFileError(
                    "file",
                    path,
                    f"a name ending in a known extension ({describe_allowed()}), "
                    "or give one with --extension EXT (e.g. --extension mp4)",
                    reason="its name has no extension",
                ) from None
            raise
    return checked


def _upload(
    client: Client, args: argparse.Namespace, reporter: Reporter, paths: List[str]
) -> List[UploadResult]:
    # The engine itself (not upload_files) so that --type and --extension reach it, and every file's
    # outcome comes back whether or not some failed: what a command reports, not what a program wants
    # (upload_files raises UploadError with the same results), so it stays off the public API.
    from .._client import http_of
    from .._jobs import sync_jobs

    uploader = sync_jobs(http_of(client)).uploader
    return uploader.upload(
        paths,
        type_=args.type_,
        extension=args.extension,
        max_concurrency=args.concurrency,
        on_progress=reporter.on_progress,
    )


def _at_once(client: Client, concurrency: int) -> int:
    """How many files upload at once: ``--concurrency``, within ``--max-concurrent-transfers``."""
    from .._client import http_of

    bound = http_of(client).config.max_concurrent_transfers
    return concurrency if bound is None else min(concurrency, bound)


def cmd_upload(args: argparse.Namespace, run: Run) -> int:
    paths: List[str] = args.paths
    checked = check_inputs(paths, args.type_, args.extension)
    from .._upload.inputs import Source

    sources = [c for c in checked if isinstance(c, Source)]
    passed = len(checked) - len(sources)
    with open_client(args) as client:
        reporter = make_reporter(args.quiet) if sources else Reporter()
        run.reporter = reporter
        start = time.perf_counter()
        reporter.start(sources, _at_once(client, args.concurrency), passed)
        try:
            results = _upload(client, args, reporter, paths)
            reporter.finish(results)
        finally:
            reporter.stop()
        elapsed = time.perf_counter() - start
    sizes = {s.index: s.size for s in sources}
    failed = [r for r in results if not r.ok]
    if args.json:
        print_json(
            {
                "ok": not failed,
                "files": [
                    {
                        "path": paths[r.index],
                        "file_path": r.file_path,
                        "size": sizes.get(r.index),
                        "error": error_json(r.error) if r.error is not None else None,
                    }
                    for r in results
                ],
            }
        )
    else:
        for r in results:
            if r.file_path is not None:
                write_fields(r.file_path)
        sys.stdout.flush()
    uploaded = [r for r in results if r.ok and r.index in sizes]
    sent = sum(sizes[r.index] for r in uploaded)
    if not failed:
        if sources and not args.quiet:
            say(
                f"uploaded {plural(len(uploaded), 'file')} ({human_size(sent)}) in {elapsed:.2f} s"
                f"{passed_note(passed)}"
            )
        return EXIT_OK
    for r in failed:
        say(f"error: {paths[r.index]}: {_reason(r)}")
    hint = _hint([r.error for r in failed])
    say(
        f"{len(failed)} of {plural(len(sources), 'upload')} failed"
        + (f" ({plural(len(uploaded), 'file')} uploaded)" if uploaded else "")
        + (f"; {hint}" if hint else "")
    )
    return EXIT_FAILURE


def _reason(result: UploadResult) -> str:
    """Why one file failed, without repeating its name (the line starts with it)."""
    text = one_line(str(result.error))
    prefix = f"uploading {result.name} failed: "
    return text[len(prefix) :] if text.startswith(prefix) else text


def _hint(errors: Sequence[Optional[BaseException]]) -> Optional[str]:
    from .._exceptions import ApiConnectionError, AuthenticationError

    if any(isinstance(e, AuthenticationError) for e in errors):
        return f"check the token (--token or ${TOKEN_ENV})"
    if any(isinstance(e, ApiConnectionError) for e in errors):
        return "check the network and --base-url, or try --mock"
    return None


def cmd_upload_urls(args: argparse.Namespace, run: Run) -> int:
    from ._session import post_json

    body = {"items": [{"extension": i["extension"], "type": i["type_"]} for i in args.items]}
    with open_client(args) as client:
        document = post_json(client, "/v1/files/upload-urls", body)
    if args.json:
        print_json(document)
        return EXIT_OK
    # Printed as the API sent them (expires_at included: no re-formatting of its date-time).
    items = cast("Dict[str, Any]", document).get("items") if isinstance(document, dict) else None
    for item in cast("List[Dict[str, Any]]", items if isinstance(items, list) else []):
        write_fields(item.get("file_path"), item.get("upload_url"), item.get("expires_at"))
    sys.stdout.flush()
    return EXIT_OK
