"""The async driver: anyio tasks run item flows (:mod:`._flow`), reusing the client's job steps.

The same shape as the sync driver (``2 x max_concurrent_jobs`` workers fed a page at a time from the
journal) with tasks instead of threads. Journal writes run in a worker thread (a commit may wait for
the disk) and are shielded from cancellation, as is a create in flight: cancelling the run (or Ctrl-C
under ``asyncio.run``) stops it with every answer recorded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional

import anyio
import anyio.to_thread

from .._core.preload import aload
from .._core.retry import Sleep
from .._exceptions import MagicHourError
from .._jobs import async_jobs
from .._jobs.events import Emitter
from .._jobs.inputs import collect, substitute
from .._jobs.polling import kind_of, project_request, setup_wait
from .._jobs.runner import async_wait
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
    from anyio.abc import ObjectReceiveStream

    from .. import AsyncClient
    from .._core.transport import AsyncHTTP
    from ._types import BatchSummary

_CREATE_OPTIONS: Any = {"max_retries": 0}  # the flow decides what is sent again


class TaskRunner:
    def __init__(self, client: AsyncClient, http: AsyncHTTP, run: Run) -> None:
        self._client = client
        self._http = http
        self._jobs = async_jobs(self._http)
        self._run = run
        self._shared = SharedUploads(anyio.Event)
        self._changed = anyio.Event()  # set (and replaced) whenever the scheduler's state changes
        self._failure: List[BaseException] = []
        self._scope: Optional[anyio.CancelScope] = None

    async def run(self) -> BatchSummary:
        run = self._run
        send, receive = anyio.create_memory_object_stream[Optional[Row]](run.workers)
        try:
            async with anyio.create_task_group() as tg:
                self._scope = tg.cancel_scope
                for _ in range(run.workers):
                    tg.start_soon(self._worker, receive.clone())
                receive.close()
                async with send:
                    rows = run.rows()
                    while True:
                        try:
                            row = await anyio.to_thread.run_sync(next, rows, None)
                        except Exception as exc:  # the journal's error: raised as such (not in a group),
                            self._fail(exc)  # after the workers stop, as the sync driver does
                            break
                        if row is None or self._failure:
                            break
                        await send.send(row)
        except BaseException:
            self._stop()
            raise
        if self._failure:
            raise self._failure[0]
        return run.summary()

    def _stop(self) -> None:
        self._run.interrupt()
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    async def _worker(self, receive: ObjectReceiveStream[Optional[Row]]) -> None:
        async with receive:
            async for row in receive:
                if row is None:
                    return
                try:
                    await self._item(row)
                except Stopped:
                    continue
                except Exception as exc:  # a bug, or the callback's own error: stop the batch with it
                    self._fail(exc)
                    return

    def _fail(self, exc: Exception) -> None:
        """Stop the batch with ``exc``, raised by :meth:`run` once every task has ended."""
        self._failure.append(exc)
        self._stop()
        if self._scope is not None:  # the others stop now (creates and records are shielded)
            self._scope.cancel()

    # ------------------------------------------------------------------ one item

    async def _item(self, row: Row) -> None:
        run = self._run
        tool = run.tool(row)
        flow = item_flow(row, tool, run.options.flow)
        holding = False
        try:
            action: Any = next(flow)
            while True:
                if isinstance(action, (Acquire, TryAcquire, Hold)):
                    holding = await self._acquire(action)
                    result: Any = holding
                elif isinstance(action, Refused):
                    holding = False
                    result = await self._judge(action)
                elif isinstance(action, (Release, NotCreated, Throttle)):
                    holding = False
                    self._schedule(action)
                    result = None
                elif isinstance(action, NETWORK):
                    try:
                        result = await self._perform(row, action)
                    except MagicHourError as exc:  # the flow decides (other errors stop the batch)
                        action = flow.throw(exc)
                        continue
                else:
                    result = await self._perform(row, action)
                action = flow.send(result)
        except StopIteration:
            pass
        finally:
            flow.close()
            if holding:  # stopped while its project renders: the place at the API is not free
                self._schedule(Release(ended=False))

    async def _acquire(self, action: Any) -> bool:
        run = self._run
        while True:
            with run.cond:
                if isinstance(action, Hold):
                    run.scheduler.hold()
                    return True
                wait = run.scheduler.admit(action.tool)
            if wait is None:
                return False
            if wait == 0:
                return True
            if isinstance(action, TryAcquire):
                return False
            changed = self._changed
            with anyio.move_on_after(wait):
                await changed.wait()

    async def _judge(self, action: Refused) -> bool:
        """Whether a refused create may try again, once the run's creates in flight have their answers
        (see ``Scheduler.verdict``)."""
        run = self._run
        with run.cond:
            run.scheduler.refused(action.tool)
        while True:
            with run.cond:
                retry = run.scheduler.verdict()
            if retry is not None:
                self._notify()
                return retry
            changed = self._changed
            with anyio.move_on_after(0.1):
                await changed.wait()

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
        self._notify()

    async def _model(self, row: Row) -> Any:
        """The model of the item's project, its module imported off the event loop the first time."""
        tool = self._run.tool(row)
        await aload(tool.model_module)
        return tool.model()

    async def _perform(self, row: Row, action: Any) -> Any:
        run = self._run
        if isinstance(action, Record):
            update = None
            with anyio.CancelScope(shield=True):  # a step that happened is always recorded
                update = await anyio.to_thread.run_sync(run.record, row, action)
            return run.emit(update)
        if isinstance(action, (Created, Stop)):
            self._schedule(action)
            return None
        if isinstance(action, MayStart):
            with run.cond:
                return run.scheduler.may_start() and not run.interrupted.is_set()
        if isinstance(action, Sleep):
            await anyio.sleep(action.seconds)
            return None
        if isinstance(action, Create):  # never stopped once its "creating" is recorded: it is sent
            resource = getattr(self._client.v1, action.tool)
            with anyio.CancelScope(shield=True):  # its answer is recorded, whatever happens meanwhile
                return await resource.create(**action.body, request_options=_CREATE_OPTIONS)
        run.check_interrupted()
        if isinstance(action, Upload):
            return await self._upload(action)
        if isinstance(action, Wait):
            options = run.options
            call = setup_wait(
                action.kind, action.id, options.wait_timeout, options.poll_interval, False, None, None
            )
            return await async_wait(self._http, call, await self._model(row), None)
        if isinstance(action, Fetch):
            model = await self._model(row)
            return await self._http.request(project_request(kind_of(action.kind), action.id), model, None)
        if isinstance(action, Finish):
            finished: Any = None
            with anyio.CancelScope(shield=True):  # a step that happened is always recorded
                finished = await anyio.to_thread.run_sync(run.finish, row, action)
            names, update = finished
            run.emit(update)
            return names
        if isinstance(action, Download):
            targets = await anyio.to_thread.run_sync(
                run.download_targets, action.project, action.names, action.resumed
            )
            for item, path in targets:
                # Names the journal reserved for this item: a file under one is this item's own.
                await self._jobs.download(
                    [item], output=path, overwrite=True, on_progress=run.progress_stopper()
                )
            return None
        raise AssertionError(f"unknown action {action!r}")

    async def _upload(self, action: Upload) -> Any:
        """The item's files uploaded, each file the run shares with other items once (see ``_shared``)."""
        run = self._run
        pause = settle_wait(collect(action.params, action.files))
        if pause:
            await anyio.sleep(pause)
        while True:
            inputs = collect(action.params, action.files)
            known, waits, mine = self._shared.claim(shareable(inputs))
            if not waits:
                break
            for event in waits:
                await event.wait()  # its uploader always ends it (a stop ends it at a chunk)
            run.check_interrupted()
        paths: Dict[Any, str] = {}
        try:
            body = substitute(action.params, found(inputs, known))
            result = await self._jobs.upload_inputs(body, action.files, Emitter(run.progress_stopper()))
            paths = uploaded_paths(result, inputs, mine)
            return result
        finally:
            self._shared.release(mine, paths)


async def run_async(client: AsyncClient, http: AsyncHTTP, run: Run) -> BatchSummary:
    """Run ``run`` with ``client``'s resources and ``http``, its driver (the client hands it over)."""
    try:
        return await TaskRunner(client, http, run).run()
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(run.close)
