"""The sync downloads' thread pool, driven from a coordinator thread (see :func:`run_threads`)."""

from __future__ import annotations

import contextvars
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Callable, List, Sequence

from .._upload.threads import Interrupt


def run_threads(jobs: Sequence[Callable[[], None]], workers: int, cancel: Interrupt) -> None:
    """Run ``jobs`` in a thread pool driven from a coordinator thread, so that Ctrl-C in the calling
    thread never lands half-way through starting a worker; on an interruption or a failure the others
    stop at once (``cancel`` cuts the reads they are blocked in) and the exception is raised once every
    worker has stopped."""
    failure: List[BaseException] = []
    done = threading.Event()
    # Each job runs in a copy of the caller's context (as anyio tasks do): downloads started from a
    # progress callback inside a transfer then run on that transfer's slot instead of waiting for it.
    contexts = [contextvars.copy_context() for _ in jobs]

    def coordinate() -> None:
        try:
            if cancel.is_set():
                return
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="magic-hour-download") as pool:
                futures = [pool.submit(ctx.run, job) for ctx, job in zip(contexts, jobs)]
                try:
                    for future in as_completed(futures):
                        future.result()
                except BaseException as exc:
                    cancel.set()
                    failure.append(exc)
                    for future in futures:
                        future.cancel()
        finally:
            done.set()

    coordinator = threading.Thread(target=coordinate, name="magic-hour-download-batch", daemon=True)
    try:
        coordinator.start()
        done.wait()  # an Event, not join(): see the upload engine (bpo-45274)
    except BaseException:
        cancel.set()
        if coordinator.is_alive():
            done.wait()
        raise
    if failure:
        raise failure[0]
