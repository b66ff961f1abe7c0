"""Loading what a first async call needs without stalling the event loop.

The first call of an async method imports its response model (pydantic, then the model class) and
anyio's event-loop backend (httpcore's networking and our semaphores use it): CPU work that would block
every other task of the loop. Generated async methods await :func:`aload` first: the imports run in a
worker thread the first time (through the loop's own executor, not anyio, whose backend is among them),
and cost one ``sys.modules`` lookup afterwards. Sync methods import directly: there is no loop to stall.
"""

from __future__ import annotations

import importlib
import sys
from typing import Callable, List, TypeVar

T = TypeVar("T")

_PACKAGE = __name__.rsplit(".", 2)[0]  # magic_hour


def _loaded(name: str) -> bool:
    module = sys.modules.get(name)
    if module is None:
        return False
    # A module another thread is still importing is in sys.modules already: importing it here would wait
    # for that thread's import lock on the loop.
    spec = getattr(module, "__spec__", None)
    return not getattr(spec, "_initializing", False)


async def in_thread(fn: Callable[[], T]) -> T:
    """``fn()`` in a worker thread without anyio (whose event-loop backend may not be loaded yet)."""
    import sniffio

    library = sniffio.current_async_library()
    if library == "asyncio":
        import asyncio

        return await asyncio.get_running_loop().run_in_executor(None, fn)
    if library == "trio":
        import trio

        return await trio.to_thread.run_sync(fn)
    return fn()  # another loop anyio does not know: here


def _import(names: List[str]) -> None:
    for name in names:
        importlib.import_module(name)


async def aload(module: str) -> None:
    """Import ``magic_hour.<module>`` (e.g. ``types.models.x``) in a worker thread unless it is loaded,
    with anyio's backend for the running event loop."""
    name = f"{_PACKAGE}.{module}"
    if _loaded(name):
        return
    import sniffio

    library = sniffio.current_async_library()
    names = [f"anyio._backends._{library}", name] if library in ("asyncio", "trio") else [name]
    await in_thread(lambda: _import(names))
