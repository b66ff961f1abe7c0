"""Which connection pool a request may use: never one made in another process or another event loop.

After ``os.fork()`` the child inherits the parent's keep-alive connections; if both use them, each
reads answers meant for the other. An async pool's connections belong to the event loop that opened
them; used from a second loop (a second ``asyncio.run``, or trio after asyncio) they fail. So the
drivers in ``transport.py`` note where their pool was made, and replace a pool the SDK created when it
is used elsewhere. A lent ``httpx_client`` is the caller's: it is never replaced.
"""

from __future__ import annotations

import os
from typing import Optional

_generation = 0  # bumped in every forked child


def _forked() -> None:
    global _generation
    _generation += 1


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_forked)


def generation() -> int:
    """Changes in a forked child: a pool made under another value belongs to the parent."""
    return _generation


def current_loop() -> Optional[object]:
    """An object identifying the running event loop (asyncio loop, or trio run), or None outside one."""
    import sniffio

    try:
        library = sniffio.current_async_library()
    except sniffio.AsyncLibraryNotFoundError:
        return None
    if library == "asyncio":
        import asyncio

        return asyncio.get_running_loop()
    if library == "trio":
        import trio

        root: object = trio.lowlevel.current_root_task()
        return root
    return None
