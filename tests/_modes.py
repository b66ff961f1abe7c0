"""Fixtures that run a test module's tests three times: with ``Client``, and with ``AsyncClient`` on
asyncio and on trio (the conftest's ``sdk`` runs sync and asyncio only). A module takes them with
``mode, anyio_backend, sdk = _modes.mode, _modes.anyio_backend, _modes.sdk`` (an assignment, not an
import of the names: test parameters named ``sdk`` would shadow an import, which ruff flags)."""

from __future__ import annotations

from typing import AsyncIterator

import pytest
from conftest import Flavor


@pytest.fixture(params=["sync", "asyncio", "trio"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def anyio_backend(mode: str) -> str:
    return "asyncio" if mode == "sync" else mode


@pytest.fixture
async def sdk(mode: str) -> AsyncIterator[Flavor]:
    """Client, or AsyncClient on asyncio and on trio."""
    flavor = Flavor(mode != "sync")
    try:
        yield flavor
    finally:
        await flavor.cleanup()
