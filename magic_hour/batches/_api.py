"""``client.batches``: run many jobs, resumable after any crash, never paying twice; read a journal."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Iterator, Optional, Union, cast

from .._exceptions import InvalidParameterError

if TYPE_CHECKING:
    from .. import AsyncClient, Client
    from .._core.transport import AsyncHTTP, SyncHTTP
    from ._run import BatchProgressCallback, Jobs
    from ._types import BatchItem, BatchSummary

DEFAULT_MAX_JOBS = 3
"""Jobs rendering at once by default: the smallest paid plan's limit of concurrent generations."""

PathArg = Union[str, "os.PathLike[str]"]


def _journal_path(journal: object) -> str:
    if isinstance(journal, os.PathLike):
        journal = os.fspath(cast("os.PathLike[str]", journal))
    if not isinstance(journal, str) or not journal or "\x00" in journal:
        raise InvalidParameterError("journal", journal, "the path of a batch journal")
    return journal


def status(journal: PathArg) -> BatchSummary:
    """Where the batch of ``journal`` stands: items per state and credits (no network; works while a run
    writes it)."""
    from ._journal import Journal
    from ._run import summary_of

    opened = Journal.for_reading(_journal_path(journal))
    try:
        return summary_of(opened)
    finally:
        opened.close()


def items(journal: PathArg, *, state: Optional[str] = None) -> Iterator[BatchItem]:
    """Every item of the batch of ``journal`` (only those in ``state`` if given), in order, read a page
    at a time (no network)."""
    from ._journal import Journal
    from ._types import STATES

    if state is not None and state not in STATES:
        raise InvalidParameterError("state", state, ", ".join(STATES))
    opened = Journal.for_reading(_journal_path(journal))
    try:
        for row in opened.rows([state] if state else None):
            yield row.item
    finally:
        opened.close()


def resolve(journal: PathArg, key: str, *, project_id: Optional[str]) -> BatchItem:
    """Settle an ``unknown`` item (its create may have started a project whose id never came back) once
    you looked for that project: ``project_id=<id>`` if you found it (the next run waits for it and
    downloads its outputs), ``project_id=None`` if it does not exist (the next run creates it).

    Takes the journal's lock: not while a run uses it (:class:`JournalInUseError`)."""
    from ._journal import Journal

    if project_id is not None and (not isinstance(project_id, str) or not project_id.strip()):
        raise InvalidParameterError("project_id", project_id, "the project's id, or None (it does not exist)")
    opened = Journal.for_run(_journal_path(journal))
    try:
        try:
            return opened.resolve(key, project_id)
        except KeyError:
            raise InvalidParameterError("key", key, "the key of an item of this batch") from None
        except ValueError as exc:
            raise InvalidParameterError(
                "key", key, "an item in state 'unknown'", reason=f"it is {exc.args[0]!r}"
            ) from None
    finally:
        opened.close()


def _options(**kwargs: Any) -> Any:
    from ._run import check_options

    return check_options(**kwargs)


class Batches:
    """``client.batches``: many jobs, one journal; see ``docs/batches.md``.

    Example::

        from magic_hour import Client, batches

        with Client() as client:
            summary = client.batches.run(
                batches.each_file("image_background_remover", "photos/"),
                output_dir="out",
            )
            print(summary.done, summary.credits_charged)
    """

    def __init__(self, client: Client, http: SyncHTTP) -> None:
        # Made by ``client.batches``, which hands over its HTTP driver: batches sit above the client and
        # never reach into it for the driver.
        self._client = client
        self._http = http

    def run(
        self,
        jobs: Optional[Jobs] = None,
        *,
        journal: Optional[PathArg] = None,
        output_dir: Optional[PathArg] = None,
        max_concurrent_jobs: int = DEFAULT_MAX_JOBS,
        max_credits: Optional[int] = None,
        retry_failed: bool = False,
        download_outputs: bool = True,
        wait_timeout: Optional[float] = None,
        poll_interval: Optional[float] = None,
        on_progress: Optional[BatchProgressCallback] = None,
    ) -> BatchSummary:
        """Run ``jobs`` (new ones are added to the journal; ``None``: resume the journal's) and return
        where the batch stands.

        Every step of every item is recorded in the journal before the next one starts, so calling
        ``run`` again with the same journal (after a crash, Ctrl-C, ``kill -9``) resumes each item where
        it was and never creates one twice: items whose project exists are waited for and downloaded,
        finished ones are skipped, failed ones are tried again only with ``retry_failed=True``.

        Args:
            jobs: :class:`BatchJob` s (or dicts with ``tool``, ``params``, ``key``, ``output``), e.g.
                from :func:`magic_hour.batches.each_file`; checked before anything is sent.
            journal: the journal's path (default: ``magic-hour-batch.sqlite`` in ``output_dir``).
            output_dir: where outputs are written (default: the journal's folder, or the folder it
                recorded).
            max_concurrent_jobs: projects rendering at once (default 3, the smallest paid plan's
                limit; raise it to your plan's). Lowered by half after a 429, raised back slowly.
            max_credits: once the credits charged (over every run of this journal) reach it, no job
                starts; jobs started finish. ``None``: no budget.
            retry_failed: try failed items again (a project that failed is created anew).
            download_outputs: download the outputs (default); else items end ``finished``.
            wait_timeout: seconds to wait for each project at most (default: no limit); one that
                takes longer stays ``created`` and a rerun waits again.
            poll_interval: fixed seconds between polls (default: adaptive, as ``wait()``).
            on_progress: called with a :class:`BatchUpdate` each time an item changes state (from the
                worker threads with ``Client``, on the event loop with ``AsyncClient``; one call at a time).

        Raises:
            InvalidParameterError: a bad argument or job (before anything is sent).
            JournalInUseError: another run uses the journal.
            JournalError: the journal cannot be used.
            KeyboardInterrupt: after a clean stop (the journal says where each item is). Ctrl-C, or
                cancelling the task that awaits an ``AsyncClient``'s run, stops the batch cleanly: no
                create starts, those in flight have their answer recorded, uploads, waits and downloads
                stop; the journal is released and the interruption goes on. Run again to resume.
        """
        from ._run import Run
        from ._sync import run_sync

        options = _options(
            journal=journal,
            output_dir=output_dir,
            max_concurrent_jobs=max_concurrent_jobs,
            max_credits=max_credits,
            retry_failed=retry_failed,
            download_outputs=download_outputs,
            wait_timeout=wait_timeout,
            poll_interval=poll_interval,
            on_progress=on_progress,
        )
        return run_sync(self._client, self._http, Run.open(options, jobs))

    def status(self, journal: PathArg) -> BatchSummary:
        """See :func:`magic_hour.batches.status`."""
        return status(journal)

    def items(self, journal: PathArg, *, state: Optional[str] = None) -> Iterator[BatchItem]:
        """See :func:`magic_hour.batches.items`."""
        return items(journal, state=state)

    def resolve(self, journal: PathArg, key: str, *, project_id: Optional[str]) -> BatchItem:
        """See :func:`magic_hour.batches.resolve`."""
        return resolve(journal, key, project_id=project_id)


class AsyncBatches:
    """``client.batches`` of an :class:`~magic_hour.AsyncClient`: :meth:`run` is awaited; reading a
    journal is as in :class:`Batches` (local, quick)."""

    def __init__(self, client: AsyncClient, http: AsyncHTTP) -> None:
        # Made by ``client.batches``, which hands over its HTTP driver (see :class:`Batches`).
        self._client = client
        self._http = http

    async def run(
        self,
        jobs: Optional[Jobs] = None,
        *,
        journal: Optional[PathArg] = None,
        output_dir: Optional[PathArg] = None,
        max_concurrent_jobs: int = DEFAULT_MAX_JOBS,
        max_credits: Optional[int] = None,
        retry_failed: bool = False,
        download_outputs: bool = True,
        wait_timeout: Optional[float] = None,
        poll_interval: Optional[float] = None,
        on_progress: Optional[BatchProgressCallback] = None,
    ) -> BatchSummary:
        """Run ``jobs`` (new ones are added to the journal; ``None``: resume the journal's) and return
        where the batch stands.

        Every step of every item is recorded in the journal before the next one starts, so calling
        ``run`` again with the same journal (after a crash, Ctrl-C, ``kill -9``) resumes each item where
        it was and never creates one twice: items whose project exists are waited for and downloaded,
        finished ones are skipped, failed ones are tried again only with ``retry_failed=True``.

        Args:
            jobs: :class:`BatchJob` s (or dicts with ``tool``, ``params``, ``key``, ``output``), e.g.
                from :func:`magic_hour.batches.each_file`; checked before anything is sent.
            journal: the journal's path (default: ``magic-hour-batch.sqlite`` in ``output_dir``).
            output_dir: where outputs are written (default: the journal's folder, or the folder it
                recorded).
            max_concurrent_jobs: projects rendering at once (default 3, the smallest paid plan's
                limit; raise it to your plan's). Lowered by half after a 429, raised back slowly.
            max_credits: once the credits charged (over every run of this journal) reach it, no job
                starts; jobs started finish. ``None``: no budget.
            retry_failed: try failed items again (a project that failed is created anew).
            download_outputs: download the outputs (default); else items end ``finished``.
            wait_timeout: seconds to wait for each project at most (default: no limit); one that
                takes longer stays ``created`` and a rerun waits again.
            poll_interval: fixed seconds between polls (default: adaptive, as ``wait()``).
            on_progress: called with a :class:`BatchUpdate` each time an item changes state (from the
                worker threads with ``Client``, on the event loop with ``AsyncClient``; one call at a time).

        Raises:
            InvalidParameterError: a bad argument or job (before anything is sent).
            JournalInUseError: another run uses the journal.
            JournalError: the journal cannot be used.
            KeyboardInterrupt: after a clean stop (the journal says where each item is). Ctrl-C, or
                cancelling the task that awaits an ``AsyncClient``'s run, stops the batch cleanly: no
                create starts, those in flight have their answer recorded, uploads, waits and downloads
                stop; the journal is released and the interruption goes on. Run again to resume.
        """
        from .._core.preload import aload

        # The batch engine, the job steps and sqlite3: imported in a worker thread the first time, not on
        # the event loop (tens of modules: every other task of the loop would wait for them).
        await aload("batches._async")
        import anyio.to_thread

        from ._async import run_async
        from ._run import Run

        options = _options(
            journal=journal,
            output_dir=output_dir,
            max_concurrent_jobs=max_concurrent_jobs,
            max_credits=max_credits,
            retry_failed=retry_failed,
            download_outputs=download_outputs,
            wait_timeout=wait_timeout,
            poll_interval=poll_interval,
            on_progress=on_progress,
        )
        opened = await anyio.to_thread.run_sync(Run.open, options, jobs)
        return await run_async(self._client, self._http, opened)

    def status(self, journal: PathArg) -> BatchSummary:
        """See :func:`magic_hour.batches.status`."""
        return status(journal)

    def items(self, journal: PathArg, *, state: Optional[str] = None) -> Iterator[BatchItem]:
        """See :func:`magic_hour.batches.items`."""
        return items(journal, state=state)

    def resolve(self, journal: PathArg, key: str, *, project_id: Optional[str]) -> BatchItem:
        """See :func:`magic_hour.batches.resolve`."""
        return resolve(journal, key, project_id=project_id)
