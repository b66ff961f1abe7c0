"""Transfers started from a progress callback while its own transfer holds a slot of the client-wide
bound (``_core/transfers.py``): a batch of several files (worker threads in a sync client, tasks in an
async one) runs on the slot already held instead of waiting for it forever. Sync, asyncio, trio."""

from __future__ import annotations

import pathlib
from typing import Any, List

import _modes
import pytest
from conftest import Flavor
from test_transfers import _all_at_once, _generate, _setup, _slots

from magic_hour import UploadProgress

pytestmark = [pytest.mark.anyio, pytest.mark.full]
mode, anyio_backend, sdk = _modes.mode, _modes.anyio_backend, _modes.sdk


def _png(tmp_path: pathlib.Path, name: str) -> str:
    path = tmp_path / name
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + name.encode() * 100)
    return str(path)


@pytest.mark.parametrize("nested_call", ["upload_files", "download"])
async def test_a_batch_started_from_a_progress_callback_runs_on_the_held_slot(
    sdk: Flavor, tmp_path: pathlib.Path, nested_call: str
) -> None:
    """With one slot, an upload whose progress callback uploads two files (or downloads two outputs):
    both finish (before the fix, the sync batch's worker threads waited for the slot its caller held)."""
    _, counted, client = _setup(sdk, max_concurrent_transfers=1)
    done = await _all_at_once(sdk, [_generate(client, tmp_path, 0)])
    urls = [done[0].downloads[0].url] * 2
    extras = [_png(tmp_path, "a.png"), _png(tmp_path, "b.png")]
    nested: List[Any] = []

    def call() -> Any:
        if nested_call == "upload_files":
            return client.v1.files.upload_files(extras)
        return client.v1.files.download(urls, directory=str(tmp_path / "nested"))

    def sync_callback(event: Any) -> None:
        if isinstance(event, UploadProgress) and not nested:
            nested.append(None)
            nested.append(call())

    async def async_callback(event: Any) -> None:
        if isinstance(event, UploadProgress) and not nested:
            nested.append(None)
            nested.append(await call())

    callback = async_callback if sdk.is_async else sync_callback
    first = _png(tmp_path, "first.png")
    results = await _all_at_once(sdk, [lambda: client.v1.files.upload_file(first, on_progress=callback)])
    assert results[0].startswith("api-assets/")
    assert len(nested[1]) == 2
    assert _slots(client).in_use == 0 and counted.now == 0
