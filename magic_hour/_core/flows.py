"""The drivers of the pure flows (retries, uploads, downloads, jobs): sleep on :class:`Sleep`, else perform
the action and send its outcome back. ``sleep``/``async_sleep`` are module attributes so that tests can fake
the clock without patching the standard library.
"""

from __future__ import annotations

import time
from typing import Any, Awaitable, Callable, Generator, Optional, TypeVar, Union

import httpx

from .._exceptions import MagicHourError
from .retry import Sleep

A = TypeVar("A")
R = TypeVar("R")

sleep: Callable[[float], None] = time.sleep


async def async_sleep(seconds: float) -> None:
    import anyio  # not at import time: `import magic_hour` stays cheap

    await anyio.sleep(seconds)


def run_flow(
    flow: Generator[Union[A, Sleep], Any, R],
    perform: Callable[[A], Any],
    wait: Optional[Callable[[float], None]] = None,
) -> R:
    """Drive a flow synchronously: sleep on :class:`Sleep`, else ``perform`` the action and send back its
    outcome (a transport error is sent back as the outcome, for the flow to decide). ``wait`` replaces
    the module's ``sleep`` (the upload engine's wakes up when its batch is interrupted)."""
    action = next(flow)
    while True:
        try:
            if isinstance(action, Sleep):
                (wait or sleep)(action.seconds)
                action = flow.send(None)
            else:
                try:
                    outcome: Any = perform(action)
                except httpx.RequestError as exc:  # transport errors, and a body that fails to decode
                    if isinstance(exc, MagicHourError):
                        raise  # ours (also httpx errors, for official users' excepts): already decided
                    outcome = exc
                action = flow.send(outcome)
        except StopIteration as stop:
            result: R = stop.value
            return result


async def arun_flow(flow: Generator[Union[A, Sleep], Any, R], perform: Callable[[A], Awaitable[Any]]) -> R:
    """Drive a flow asynchronously (asyncio or trio, through anyio); see :func:`run_flow`."""
    action = next(flow)
    while True:
        try:
            if isinstance(action, Sleep):
                await async_sleep(action.seconds)
                action = flow.send(None)
            else:
                try:
                    outcome: Any = await perform(action)
                except httpx.RequestError as exc:  # transport errors, and a body that fails to decode
                    if isinstance(exc, MagicHourError):
                        raise  # ours (also httpx errors, for official users' excepts): already decided
                    outcome = exc
                action = flow.send(outcome)
        except StopIteration as stop:
            result: R = stop.value
            return result
