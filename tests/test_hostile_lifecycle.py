"""Regression tests of the hostile review (issue 12), lifecycle part: closing with calls queued, one
``AsyncClient`` across event loops, ``fork()``. Real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import gc
import os
import threading
import time
from typing import Iterator, List

import anyio
import httpx
import pytest
import trio
from _forking import fork_and_wait
from _servers import Hang, RawServer, Respond
from conftest import SEED_ITEMS, TOKEN

from magic_hour import AsyncClient, Client, ClientClosedError, MagicHourError

pytestmark = pytest.mark.full

OK = Respond(200, [("Content-Type", "application/json")], b'{"items": []}')


@pytest.fixture
def server() -> Iterator[RawServer]:
    with RawServer(then=OK) as srv:
        yield srv


def _connections(server: RawServer) -> int:
    """Connections the server accepted so far."""
    return len(server._threads)  # pyright: ignore[reportPrivateUsage]


# ------------------------------------------------------------------ 15: close() with calls queued


@pytest.fixture
def one_slot(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("magic_hour._client._LIMITS", httpx.Limits(max_connections=1))


@pytest.mark.usefixtures("one_slot")
def test_sync_close_with_calls_waiting_for_a_slot() -> None:
    with RawServer([Hang(0.6)], then=OK) as srv:
        client = Client(token=TOKEN, base_url=srv.url, max_retries=0, timeout=5)
        errors: List[BaseException] = []

        def call() -> None:
            try:
                client.v1.files.upload_urls.create(items=SEED_ITEMS)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=call) for _ in range(3)]
        for t in threads:
            t.start()
            time.sleep(0.05)
        time.sleep(0.1)  # one call in the pool, two waiting for its slot
        client.close()
        for t in threads:
            t.join(5)
    assert len(errors) == 3
    assert all(isinstance(e, MagicHourError) for e in errors), errors
    assert sum(isinstance(e, ClientClosedError) for e in errors) >= 2, errors


@pytest.mark.usefixtures("one_slot")
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_async_close_with_calls_waiting_for_a_slot(backend: str) -> None:
    async def main() -> List[BaseException]:
        errors: List[BaseException] = []
        with RawServer([Hang(0.6)], then=OK) as srv:
            client = AsyncClient(token=TOKEN, base_url=srv.url, max_retries=0, timeout=5)

            async def call() -> None:
                try:
                    await client.v1.files.upload_urls.create(items=SEED_ITEMS)
                except MagicHourError as exc:
                    errors.append(exc)

            async with anyio.create_task_group() as tg:
                for _ in range(3):
                    tg.start_soon(call)
                await anyio.sleep(0.2)
                await client.aclose()
        return errors

    errors = anyio.run(main, backend=backend)
    assert sum(isinstance(e, ClientClosedError) for e in errors) >= 2, errors


# ------------------------------------------------------------------ 16: one AsyncClient, several loops


@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_async_client_works_in_a_second_event_loop(server: RawServer) -> None:
    client = AsyncClient(token=TOKEN, base_url=server.url)

    async def calls() -> int:
        done = 0
        for _ in range(3):
            await client.v1.files.upload_urls.create(items=SEED_ITEMS)
            done += 1
        return done

    assert asyncio.run(calls()) == 3
    assert asyncio.run(calls()) == 3  # used to fail: "Event loop is closed"
    assert trio.run(calls) == 3  # used to fail every call
    assert asyncio.run(calls()) == 3

    async def close() -> None:
        await client.aclose()

    asyncio.run(close())  # from yet another loop: the last pool is dropped, not closed
    with pytest.raises(ClientClosedError):
        asyncio.run(calls())
    # The connections left in loops that ended without aclose() are reclaimed (with the
    # ResourceWarnings asyncio gives any transport it did not close) here, not in another test.
    gc.collect()


# ------------------------------------------------------------------ 2: fork


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork() on this platform")
def test_a_forked_child_never_uses_the_parents_connections(server: RawServer) -> None:
    client = Client(token=TOKEN, base_url=server.url)
    client.v1.files.upload_urls.create(items=SEED_ITEMS)  # one keep-alive connection in the pool
    assert _connections(server) == 1

    def child() -> bool:
        client.v1.files.upload_urls.create(items=SEED_ITEMS)
        client.v1.files.upload_urls.create(items=SEED_ITEMS)
        return True

    assert fork_and_wait(child) == 0
    assert _connections(server) == 2  # the child opened its own, and reused it
    client.v1.files.upload_urls.create(items=SEED_ITEMS)  # the parent's still works
    assert _connections(server) == 2
    client.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork() on this platform")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_forked_child_with_an_async_client(server: RawServer) -> None:
    client = AsyncClient(token=TOKEN, base_url=server.url)

    async def call() -> bool:
        await client.v1.files.upload_urls.create(items=SEED_ITEMS)
        return True

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(call())
        assert _connections(server) == 1
        # The same loop object, continued in the child: only the fork tells the pools apart.
        assert fork_and_wait(lambda: loop.run_until_complete(call())) == 0
        assert _connections(server) == 2
        loop.run_until_complete(call())
        assert _connections(server) == 2
        loop.run_until_complete(client.aclose())
    finally:
        loop.close()
        gc.collect()
