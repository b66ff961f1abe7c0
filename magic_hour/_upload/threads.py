"""The thread pool of sync uploads and downloads, and how a batch is interrupted (Ctrl-C) within a moment."""

from __future__ import annotations

import contextlib
import contextvars
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, ContextManager, List, Optional, Sequence, Set, Type, TypeVar

from .._core.deadline import Budget

T = TypeVar("T")
R = TypeVar("R")

_NOT_RUN: Any = object()  # an item a cancelled batch never started


class Cancelled(Exception):
    """Raised in a worker thread (a body, a wait between retries) when its batch was interrupted."""


class Interrupt:
    """The cancel event of one batch, and the attempts in flight that it must cut short.

    Setting it stops bodies at their next chunk and waits between retries at once, and shuts down
    the sockets of PUTs waiting for an answer (a thread blocked in ``recv`` cannot be interrupted
    otherwise; the SDK's own pool records which socket each attempt uses).
    """

    def __init__(self) -> None:
        self.event = threading.Event()
        self._lock = threading.Lock()
        self._active: Set[Budget] = set()

    def is_set(self) -> bool:
        return self.event.is_set()

    def set(self) -> None:
        self.event.set()
        with self._lock:
            active = list(self._active)
        for budget in active:
            stream: Any = budget.stream
            sock: Optional[socket.socket] = stream.get_extra_info("socket") if stream is not None else None
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def sleep(self, seconds: float) -> None:
        """The wait before a retry: it ends at once when the batch is interrupted."""
        from .._core import flows

        if flows.sleep is not time.sleep:  # the core's clock is faked (tests): keep to it
            flows.sleep(seconds)
        elif self.event.wait(seconds):
            raise Cancelled()
        if self.event.is_set():
            raise Cancelled()

    def tracking(self, budget: Budget) -> ContextManager[None]:
        """Around one attempt: :meth:`set` shuts down its socket meanwhile; :class:`Cancelled` when the
        batch was interrupted before it, or by the time it ends without an error."""
        return _Tracking(self, budget)

    def watch(self, budget: Budget) -> None:
        if self.event.is_set():
            raise Cancelled()
        with self._lock:
            self._active.add(budget)

    def unwatch(self, budget: Budget) -> None:
        with self._lock:
            self._active.discard(budget)

    @contextlib.contextmanager
    def cutting(self, budget: Budget) -> Any:
        """:meth:`tracking` around an attempt of an API call (``_core.deadline.ATTEMPT``): an attempt that
        fails once the batch is interrupted (its socket shut down) raises :class:`Cancelled`, not the
        transport error its call would retry."""
        try:
            with self.tracking(budget):
                yield
        except Exception:
            if self.event.is_set():
                raise Cancelled() from None
            raise


class _Tracking:
    # A class, not a @contextmanager generator: it runs once per file of a batch.
    __slots__ = ("_budget", "_interrupt")

    def __init__(self, interrupt: Interrupt, budget: Budget) -> None:
        self._interrupt, self._budget = interrupt, budget

    def __enter__(self) -> None:
        self._interrupt.watch(self._budget)

    def __exit__(self, error: Optional[Type[BaseException]], *rest: object) -> None:
        self._interrupt.unwatch(self._budget)
        if error is None and self._interrupt.is_set():
            raise Cancelled()


CANCEL: contextvars.ContextVar[Optional[Interrupt]] = contextvars.ContextVar(
    "magic_hour_cancel", default=None
)
"""The :class:`Interrupt` of the sync uploads and downloads started in this context, for a caller that
stops them from another thread (a batch's workers see no Ctrl-C); by default each call makes its own."""


def run_pool(
    work: Callable[[T], R],
    items: Sequence[T],
    max_concurrency: int,
    cancel: Interrupt,
    name: str,
) -> List[R]:
    """``work`` over each of ``items``, at most ``max_concurrency`` at a time; the results in order.

    One item, or a bound of 1, runs in the calling thread. Otherwise a thread pool (threads named
    ``name``) is driven from a coordinator thread, and the calling thread only waits: a
    KeyboardInterrupt (Ctrl-C) or SystemExit lands there, wherever it was, never half-way through
    starting a worker (``ThreadPoolExecutor.submit`` interrupted inside ``Thread.start()`` would leave
    a worker the pool does not know of, still running). On such an interruption, or when an item
    raises, ``cancel`` stops the work in flight at once (:class:`Interrupt`), items not started never
    start, and the exception is raised once every worker has stopped; :class:`Cancelled` when
    ``cancel`` was set from elsewhere and some item never ran.

    Each worker stores its item's result itself, and a failure sets ``cancel`` from the worker that met
    it: nothing wakes the coordinator per item (waiting for each future to complete cost a wake-up and a
    GIL hand-off per item, a tenth of the CPU time of a batch of small uploads), which sleeps until the
    pool is shut down.
    """
    workers = min(max_concurrency, len(items))
    if workers <= 1:
        return [work(item) for item in items]
    results: List[Any] = [_NOT_RUN] * len(items)
    failure: List[BaseException] = []
    done = threading.Event()
    # Each item runs in a copy of the caller's context (as anyio tasks do): a batch started from a
    # progress callback inside a transfer then runs on that transfer's slot instead of waiting for it.
    contexts = [contextvars.copy_context() for _ in items]

    def run(index: int, context: contextvars.Context, item: T) -> None:
        if cancel.is_set():  # interrupted, or another item failed: queued items never start
            return
        try:
            results[index] = context.run(work, item)
        except BaseException as exc:  # e.g. a progress callback raised: stop the others, re-raise
            failure.append(exc)  # before the others' Cancelled: this is the error the caller gets
            cancel.set()

    def coordinate() -> None:
        try:
            if cancel.is_set():  # interrupted while this thread was being started
                return
            pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
            try:
                for index, (context, item) in enumerate(zip(contexts, items)):
                    pool.submit(run, index, context, item)
            except BaseException as exc:  # a worker thread that could not start
                cancel.set()
                failure.append(exc)
            finally:
                pool.shutdown(wait=True)
        finally:
            done.set()

    coordinator = threading.Thread(target=coordinate, name=f"{name}-batch", daemon=True)
    try:
        coordinator.start()
        # An Event, not join(): a join() interrupted by Ctrl-C may mark a running thread as stopped
        # (CPython bpo-45274), and the second join() would then return at once.
        done.wait()
    except BaseException:
        cancel.set()
        if coordinator.is_alive():  # if start() itself was interrupted, the thread returns at once
            done.wait()
        raise
    if failure:
        raise failure[0]
    if any(result is _NOT_RUN for result in results):  # ``cancel`` was set by another thread
        raise Cancelled()
    return results
