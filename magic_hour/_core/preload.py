"""Loading what a first async call needs without stalling the event loop.

The first call of an async method imports its response model (pydantic, then the model class) and
anyio's event-loop backend (httpcore's networking and our semaphores use it): CPU work that would block
every other task of the loop. Generated async methods await :func:`aload` first: the imports run in a
worker thread the first time (through the loop's own executor, not anyio, whose backend is among them),
and cost one set lookup afterwards. Sync methods import directly: there is no loop to stall.
"""

from __future__ import annotations

import importlib
from typing import Callable, Optional, Set, TypeVar

T = TypeVar("T")

_PACKAGE = __name__.rsplit(".", 2)[0]  # magic_hour


# What aload imported completely (in its worker thread): a name in sys.modules may still be half-imported
# by another thread, and importing it on the loop would wait there for that thread's import lock.
_LOADED: Set[str] = set()


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


async def _noop() -> None:
    pass


def _import(name: str, library: Optional[str]) -> None:
    if library is not None and library not in _LOADED:
        # anyio imports its backend for a library on first use, and offers no public way to ask for that
        # import alone: a run of its own (a new, empty event loop in this worker thread) makes it.
        import anyio

        anyio.run(_noop, backend=library)
        _LOADED.add(library)
    importlib.import_module(name)


async def aload(module: str) -> None:
    """Import ``magic_hour.<module>`` (e.g. ``types.models.x``) in a worker thread the first time, with
    anyio's backend for the running event loop."""
    name = f"{_PACKAGE}.{module}"
    if name in _LOADED:
        return
    import sniffio

    library = sniffio.current_async_library()
    await in_thread(lambda: _import(name, library if library in ("asyncio", "trio") else None))
    _LOADED.add(name)
