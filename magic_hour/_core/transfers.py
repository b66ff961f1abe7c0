"""The client-wide bound on file transfers in flight: upload PUTs and output downloads together.

Each call has its own ``max_concurrency``; this bounds a client as a whole, so that memory (each
transfer's read or write buffers) stays flat however many calls run at once. Every transfer takes one of
the client's ``max_concurrent_transfers`` slots (default :data:`DEFAULT_MAX_TRANSFERS`; ``None``: no
bound) for one attempt, and gives it back when the attempt ends, however it ends (success, error,
cancellation).

Deadlock-free by construction: a slot is only ever held around one attempt of one transfer (never
around a call, a batch or a wait), and nothing inside an attempt waits for another slot. A transfer
started from inside an attempt on the same thread or task (a progress callback that uploads something)
runs on the slot already held, instead of waiting for one that may never come.

:class:`ThreadSlots` serves a :class:`~magic_hour.Client` (threads; a waiting worker gives up within
:data:`_POLL` seconds when its batch is interrupted, since a thread cannot be cancelled);
:class:`TaskSlots` an :class:`~magic_hour.AsyncClient` (anyio, on asyncio and trio; a cancelled wait or
attempt gives its slot back). They are not twins: only threads need the interruption event.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import threading
import weakref
from typing import Any, Callable, Generator, Optional, Tuple

from .config import DEFAULT_MAX_TRANSFERS
from .pool import current_loop, generation

__all__ = [
    "DEFAULT_MAX_TRANSFERS",
    "Interrupted",
    "TaskAttempt",
    "TaskSlots",
    "ThreadAttempt",
    "ThreadSlots",
]

_POLL = 0.05
"""Seconds between two looks at the interruption event, for a thread waiting for a slot."""

_HELD: contextvars.ContextVar[Tuple[object, ...]] = contextvars.ContextVar("magic_hour_slots", default=())
"""The slots held by the current thread or task (a transfer inside one of them does not wait)."""


class Interrupted(Exception):
    """Raised in a thread waiting for a slot when its batch was interrupted (Ctrl-C, a failure)."""


def _holding(slots: object) -> bool:
    return slots in _HELD.get()


class ThreadSlots:
    """At most ``limit`` transfers in flight across the threads of one sync client (``None``: no bound)."""

    def __init__(self, limit: Optional[int]) -> None:
        self.limit = limit
        self._generation = generation()
        self._free = threading.Condition(threading.Lock())
        self._used = 0

    @property
    def in_use(self) -> int:
        """Slots held right now (for tests and logs)."""
        return self._used

    def _state(self) -> threading.Condition:
        if self._generation != generation():
            # A forked child: the threads that held slots in the parent do not exist here. One fresh
            # state, made under the module lock: two made at once would reset the count of a slot held
            # (the bound exceeded) or strand a waiter on a condition nobody notifies.
            with _lock:
                if self._generation != generation():
                    self._free, self._used = threading.Condition(threading.Lock()), 0
                    self._generation = generation()
        return self._free

    def acquire(self, cancel: Optional[threading.Event] = None) -> bool:
        """Wait for a slot; false when none was needed (no bound, or one already held by this thread).

        Raises :class:`Interrupted` once ``cancel`` is set (checked every :data:`_POLL` seconds)."""
        if self.limit is None or _holding(self):
            return False
        free = self._state()
        with free:
            while True:
                if cancel is not None and cancel.is_set():  # also with a slot free: queued work never starts
                    free.notify()  # a release may have woken this thread: pass it on to the next one
                    raise Interrupted()
                if self._used < self.limit:
                    break
                free.wait(_POLL if cancel is not None else None)
            self._used += 1
        return True

    def release(self) -> None:
        free = self._state()
        with free:
            self._used = max(0, self._used - 1)
            free.notify()

    def hold(self, cancel: Optional[threading.Event] = None) -> ThreadAttempt:
        """``with slots.hold():`` one attempt of one transfer (see :meth:`acquire`)."""
        return _ThreadHold(self, cancel)

    def attempt(self, cancel: Optional[threading.Event] = None) -> ThreadAttempt:
        """For a transfer whose attempts are not one block of code (a download: open, then write)."""
        return ThreadAttempt(self, cancel)


class _Attempt:
    """The slot of one transfer across its attempts: ``start()`` before each attempt (a no-op while one
    is held), :meth:`end` after it; leaving the ``with`` block gives back a slot still held."""

    def __init__(self) -> None:
        self._token: Optional[contextvars.Token[Tuple[object, ...]]] = None
        self._release: Optional[Callable[[], None]] = None
        self._held = False

    def _took(self, slots: object, release: Optional[Callable[[], None]]) -> None:
        self._held, self._release = True, release
        if release is not None:
            self._token = _HELD.set((*_HELD.get(), slots))

    def end(self) -> None:
        if not self._held:
            return
        self._held = False
        token, release, self._token, self._release = self._token, self._release, None, None
        if token is not None:
            _HELD.reset(token)
        if release is not None:
            release()

    @contextlib.contextmanager
    def ended_by_errors(self) -> Generator[None, None, None]:
        """Ends the attempt when the block raises (a GET that failed: the retry waits without a slot)."""
        try:
            yield
        except BaseException:
            self.end()
            raise

    @contextlib.contextmanager
    def ended_after(self) -> Generator[None, None, None]:
        """Ends the attempt after the block, however it ends (the body written, or discarded)."""
        try:
            yield
        finally:
            self.end()


class ThreadAttempt(_Attempt):
    """:class:`_Attempt` in a thread: ``start()`` raises :class:`Interrupted` once ``cancel`` is set."""

    def __init__(self, slots: ThreadSlots, cancel: Optional[threading.Event]) -> None:
        super().__init__()
        self._slots, self._cancel = slots, cancel

    def start(self) -> None:
        if not self._held:
            slots = self._slots
            self._took(slots, slots.release if slots.acquire(self._cancel) else None)

    def __enter__(self) -> ThreadAttempt:
        return self

    def __exit__(self, *exc: object) -> None:
        self.end()


class _ThreadHold(ThreadAttempt):
    # A class, not a @contextmanager generator: it runs once per file of a batch.
    def __enter__(self) -> ThreadAttempt:
        self.start()
        return self


class TaskSlots:
    """At most ``limit`` transfers in flight across the tasks of one async client (``None``: no bound),
    in each event loop that uses it.

    A semaphore belongs to the event loop it was made in (its waiters are that loop's). A client used
    from several loops, one after the other (a second ``asyncio.run``, trio after asyncio) or at once
    (one per thread), has one per loop, each with the whole bound, as its connection pool does; one
    shared by all of them would let the loops replace each other's semaphore (exceeding the bound) and
    release each other's waiters from the wrong thread. A loop's semaphore goes when the loop goes; a
    forked child makes new ones."""

    def __init__(self, limit: Optional[int]) -> None:
        self.limit = limit
        # The loop (asyncio loop, or trio run) -> (process generation, anyio.Semaphore). Only the
        # loop's own thread reads or writes its entry: no lock.
        self._loops: weakref.WeakKeyDictionary[object, Tuple[int, Any]] = weakref.WeakKeyDictionary()

    @property
    def in_use(self) -> int:
        """Slots held right now in the current event loop (for tests and logs)."""
        entry = self._loops.get(current_loop() or self)
        if entry is None or self.limit is None or entry[0] != generation():
            return 0
        return self.limit - int(entry[1].value)

    def _loop_semaphore(self) -> Any:
        loop, now = current_loop() or self, generation()
        entry = self._loops.get(loop)
        if entry is None or entry[0] != now:
            import anyio

            entry = self._loops[loop] = (now, anyio.Semaphore(self.limit or 1))
        return entry[1]

    async def acquire(self) -> Any:
        """Wait for a slot; return the semaphore to release, or ``None`` when none was needed (no bound,
        or one already held by this task). A cancelled wait takes no slot."""
        if self.limit is None or _holding(self):
            return None
        semaphore = self._loop_semaphore()
        await semaphore.acquire()
        return semaphore

    def hold(self) -> TaskAttempt:
        """``async with slots.hold():`` one attempt of one transfer (see :meth:`acquire`)."""
        return _TaskHold(self)

    def attempt(self) -> TaskAttempt:
        """For a transfer whose attempts are not one block of code (a download: open, then write)."""
        return TaskAttempt(self)


class TaskAttempt(_Attempt):
    """:class:`_Attempt` in a task: a cancelled ``start()`` takes no slot."""

    def __init__(self, slots: TaskSlots) -> None:
        super().__init__()
        self._slots = slots

    async def start(self) -> None:
        if not self._held:
            semaphore = await self._slots.acquire()
            self._took(self._slots, semaphore.release if semaphore is not None else None)

    async def __aenter__(self) -> TaskAttempt:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.end()


class _TaskHold(TaskAttempt):
    async def __aenter__(self) -> TaskAttempt:
        await self.start()
        return self


_lock = threading.Lock()
"""Guards a :class:`ThreadSlots`' fresh start in a forked child (never held while waiting for a slot)."""


def _new_lock_in_child() -> None:
    # Another thread may have held the lock at fork(): in the child that thread is gone and the lock
    # would stay taken, so the child's first transfer would wait for it forever. The slots themselves
    # start afresh in the child by generation() (ThreadSlots._state, TaskSlots._loop_semaphore).
    global _lock
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_new_lock_in_child)
