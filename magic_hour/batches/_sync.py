"""The sync driver: worker threads run item flows (:mod:`._flow`), reusing the client's job steps.

``2 x max_concurrent_jobs`` workers take items from a small queue the calling thread fills a page at a
time from the journal: memory holds the items in hand, not the batch. Upload, wait and download are
the steps ``generate()`` is made of (``magic_hour._jobs``); the create is the resource's own, sent once.

Ctrl-C (``KeyboardInterrupt`` in the calling thread) stops the batch: no create starts, creates in
flight get their answer recorded, uploads, waits and downloads stop at their next chunk or poll (an
upload, download, poll or fetch blocked in a read has its socket shut down: the workers see no Ctrl-C
of their own; a create is never cut); once every worker has ended, the journal is released and the
``KeyboardInterrupt`` re-raised. Any other exception in the calling thread (a ``SystemExit`` from an
app's signal handler) stops the batch the same way: the journal is never released under a worker. The
batch resumes with the same call.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from typing import TYPE_CHECKING, Any, Dict, Generator, List, Optional

from .._core.deadline import ATTEMPT
from .._core.retry import Sleep
from .._core.transfers import Interrupted
from .._exceptions import MagicHourError
from .._jobs import sync_jobs
from .._jobs.inputs import collect, substitute
from .._jobs.polling import kind_of, project_request, setup_wait
from .._jobs.runner import sync_wait
from .._upload.threads import CANCEL, Cancelled, Interrupt
from ._flow import (
    NETWORK,
    Acquire,
    Create,
    Created,
    Download,
    Fetch,
    Finish,
    Hold,
    MayStart,
    NotCreated,
    Record,
    Refused,
    Release,
    Stop,
    Throttle,
    TryAcquire,
    Upload,
    Wait,
    item_flow,
)
from ._journal import Row
from ._run import Run, Stopped
from ._shared import SharedUploads, found, settle_wait, shareable, uploaded_paths

if TYPE_CHECKING:
    from .. import Client
    from .._core.transport import SyncHTTP
    from ._types import BatchSummary

_CREATE_OPTIONS: Any = {"max_retries": 0}  # the flow decides what is sent again


class ThreadRunner:
    def __init__(self, client: Client, http: SyncHTTP, run: Run) -> None:
        self._client = client
        self._http = http
        self._jobs = sync_jobs(self._http)
        self._run = run
        self._shared = SharedUploads(threading.Event)
        self._failure: List[BaseException] = []

    # ------------------------------------------------------------------ the batch

    def run(self) -> BatchSummary:
        run = self._run
        work: queue.Queue[Optional[Row]] = queue.Queue(maxsize=run.workers)
        ended = [threading.Event() for _ in range(run.workers)]
        threads = [
            threading.Thread(
                target=self._worker, args=(work, ended[i]), name=f"magic-hour-batch-{i}", daemon=True
            )
            for i in range(run.workers)
        ]
        for thread in threads:
            thread.start()
        try:
            for row in run.rows():
                while not self._put(work, row):
                    if self._failure:
                        break
                if self._failure:
                    break
            for _ in threads:
                while not self._put(work, None):
                    if all(e.is_set() for e in ended):  # none left to take it (each failed)
                        break
            _wait_for(ended)
        except BaseException:  # Ctrl-C, or any other (an app's SystemExit, the journal's own error)
            self._interrupt(work, threads, ended)
            raise
        if self._failure:
            raise self._failure[0]
        return run.summary()

    @staticmethod
    def _put(work: queue.Queue[Optional[Row]], row: Optional[Row]) -> bool:
        try:
            work.put(row, timeout=0.1)  # a timed wait: Ctrl-C reaches the calling thread
        except queue.Full:
            return False
        return True

    def _interrupt(
        self, work: queue.Queue[Optional[Row]], threads: List[threading.Thread], ended: List[threading.Event]
    ) -> None:
        run = self._run
        run.interrupt()
        while True:  # the workers see the stop at their next step; creates in flight are recorded
            try:
                work.get_nowait()
            except queue.Empty:
                break
        for _ in threads:
            try:
                work.put_nowait(None)
            except queue.Full:
                break
        _wait_for(ended)

    def _worker(self, work: queue.Queue[Optional[Row]], ended: threading.Event) -> None:
        try:
            while True:
                row = work.get()
                if row is None:
                    return
                try:
                    self._item(row)
                except Stopped:
                    continue
                except BaseException as exc:  # a bug, or the callback's own error: stop the batch with it
                    self._failure.append(exc)
                    self._run.interrupt()
                    return
        finally:
            ended.set()

    # ------------------------------------------------------------------ one item

    def _item(self, row: Row) -> None:
        run = self._run
        tool = run.tool(row)
        flow = item_flow(row, tool, run.options.flow)
        holding = False
        try:
            action: Any = next(flow)
            while True:
                if isinstance(action, (Acquire, TryAcquire, Hold)):
                    holding = self._acquire(action)
                    result: Any = holding
                elif isinstance(action, Refused):
                    holding = False
                    result = self._judge(action)
                elif isinstance(action, (Release, NotCreated, Throttle)):
                    holding = False
                    self._schedule(action)
                    result = None
                elif isinstance(action, NETWORK):
                    try:
                        result = self._perform(row, action)
                    except MagicHourError as exc:  # the flow decides (other errors stop the batch)
                        action = flow.throw(exc)
                        continue
                else:
                    result = self._perform(row, action)
                action = flow.send(result)
        except StopIteration:
            pass
        finally:
            flow.close()
            if holding:  # stopped while its project renders: the place at the API is not free
                self._schedule(Release(ended=False))

    def _acquire(self, action: Any) -> bool:
        run = self._run
        with run.cond:
            if isinstance(action, Hold):
                run.scheduler.hold()
                return True
            while True:
                wait = run.scheduler.admit(action.tool)
                if wait is None:
                    return False
                if wait == 0:
                    return True
                if isinstance(action, TryAcquire):
                    return False
                run.cond.wait(wait)

    def _judge(self, action: Refused) -> bool:
        """Whether a refused create may try again, once the run's creates in flight have their answers
        (see ``Scheduler.verdict``)."""
        run = self._run
        with run.cond:
            run.scheduler.refused(action.tool)
            while True:
                retry = run.scheduler.verdict()
                if retry is not None:
                    run.cond.notify_all()
                    return retry
                run.cond.wait(0.1)

    def _schedule(self, action: Any) -> None:
        run = self._run
        with run.cond:
            scheduler = run.scheduler
            if isinstance(action, Release):
                scheduler.release(action.ended)
            elif isinstance(action, NotCreated):
                scheduler.not_created(action.tool)
            elif isinstance(action, Throttle):
                scheduler.throttled(action.tool, action.retry_after)
            elif isinstance(action, Created):
                scheduler.created(action.tool, action.credits)
            elif isinstance(action, Stop):
                scheduler.stop(action.reason)
            run.cond.notify_all()

    def _sleep(self, seconds: float) -> None:
        if self._run.interrupted.wait(seconds):
            raise Stopped()

    def _perform(self, row: Row, action: Any) -> Any:
        run = self._run
        if isinstance(action, Record):
            return run.emit(run.record(row, action))
        if isinstance(action, (Created, Stop)):
            self._schedule(action)
            return None
        if isinstance(action, MayStart):
            with run.cond:
                return run.scheduler.may_start() and not run.interrupted.is_set()
        if isinstance(action, Sleep):
            return self._sleep(action.seconds)
        if isinstance(action, Create):  # never stopped once its "creating" is recorded: it is sent
            resource = getattr(self._client.v1, action.tool)
            return resource.create(**action.body, request_options=_CREATE_OPTIONS)
        run.check_interrupted()
        if isinstance(action, Upload):
            return self._upload(action)
        if isinstance(action, Wait):
            options = run.options
            call = setup_wait(
                action.kind, action.id, options.wait_timeout, options.poll_interval, False, None, None
            )
            with self._cut_on_stop():
                return sync_wait(self._http, call, run.tool(row).model(), None, self._sleep)
        if isinstance(action, Fetch):
            model = run.tool(row).model()
            with self._cut_on_stop():
                return self._http.request(project_request(kind_of(action.kind), action.id), model, None)
        if isinstance(action, Finish):
            names, update = run.finish(row, action)
            run.emit(update)
            return names
        if isinstance(action, Download):
            for item, path in run.download_targets(action.project, action.names, action.resumed):
                with self._cut_on_stop():
                    # Names the journal reserved for this item: a file under one is this item's own.
                    self._jobs.download(
                        [item], output=path, overwrite=True, on_progress=run.progress_stopper()
                    )
            return None
        raise AssertionError(f"unknown action {action!r}")

    @contextlib.contextmanager
    def _cut_on_stop(self) -> Generator[None, None, None]:
        """Around a transfer, a poll or a fetch (never a create): a stop (the workers see no Ctrl-C of
        their own) sets the step's own :class:`Interrupt`, which also shuts down the socket of a read
        blocked on a stalled server, its transfers' (``CANCEL``) and its API calls' (``ATTEMPT``)."""
        cancel = Interrupt()
        token = CANCEL.set(cancel)
        attempts = ATTEMPT.set(cancel.cutting)
        try:
            with self._run.stopping(cancel.set):
                yield
        except (Cancelled, Interrupted):  # stopped in its step, or while waiting for a transfer slot
            raise Stopped() from None
        finally:
            ATTEMPT.reset(attempts)
            CANCEL.reset(token)

    def _upload(self, action: Upload) -> Any:
        """The item's files uploaded, each file the run shares with other items once (see ``_shared``)."""
        run = self._run
        pause = settle_wait(collect(action.params, action.files))
        if pause:
            self._sleep(pause)
        while True:
            inputs = collect(action.params, action.files)
            known, waits, mine = self._shared.claim(shareable(inputs))
            if not waits:
                break
            for event in waits:
                while not event.wait(0.1):  # its uploader always ends it (Ctrl-C stops it at a chunk)
                    run.check_interrupted()
            run.check_interrupted()
        paths: Dict[Any, str] = {}
        try:
            body = substitute(action.params, found(inputs, known))
            with self._cut_on_stop():
                result = self._jobs.upload_inputs(body, action.files, _emitter(run))
            paths = uploaded_paths(result, inputs, mine)
            return result
        finally:
            self._shared.release(mine, paths)


def _wait_for(ended: List[threading.Event]) -> None:
    """Until every worker has ended. Events, not ``Thread.join()``: a join interrupted by Ctrl-C marks a
    thread that still runs as stopped (CPython bpo-45274), and the run would return under a worker still
    writing to its journal."""
    for event in ended:
        while not event.wait(0.1):
            pass


def _emitter(run: Run) -> Any:
    from .._jobs.events import Emitter

    return Emitter(run.progress_stopper())


def run_sync(client: Client, http: SyncHTTP, run: Run) -> BatchSummary:
    """Run ``run`` with ``client``'s resources and ``http``, its driver (the client hands it over)."""
    try:
        return ThreadRunner(client, http, run).run()
    finally:
        run.close()
