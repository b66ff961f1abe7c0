"""``magic_hour._upload.heap``: async uploads keep glibc from giving chunk memory back to the kernel
between chunks (its dynamic mmap and trim thresholds raised once, by freeing one untouched 8 MiB block).

Measured in fresh interpreters, by the page faults of a loop that frees two 1 MiB chunks at the top of
the heap and allocates them again (what uploads in flight do): glibc's defaults trim the heap and fault
the pages in again every time, primed it keeps them. A program that set the thresholds itself keeps its
settings. Sync uploads do not prime (their worker threads' heaps would each keep the memory).
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import subprocess
import sys
from typing import Any, Dict, List

import _modes
import pytest
from conftest import Flavor

from magic_hour._upload import heap
from magic_hour.testing import FakeMagicHour

pytestmark = pytest.mark.anyio
mode, anyio_backend, sdk = _modes.mode, _modes.anyio_backend, _modes.sdk

CHURN = r"""
import resource, sys, threading
from magic_hour._upload import heap
primed = heap.prime() if sys.argv[1] == "prime" else False
chunks = int(sys.argv[2])
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
def churn(rounds):
    for _ in range(rounds):
        # written by bytearray(): each page it gets from the kernel is faulted in
        held = [bytearray(1 << 20) for _ in range(chunks)]
        del held  # all at the top of the heap: more than twice the threshold free there
def run():
    churn(5)  # the first chunk is mapped (glibc's threshold becomes 1 MiB), then the heap grows once
    before = faults()
    churn(50)
    print(primed, (faults() - before) / 50)
if sys.argv[3] == "thread":  # a thread's own heap (glibc arena), after priming in the main thread
    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
else:
    run()
"""


def _churn(prime: bool, env: Dict[str, str], *, thread: bool = False) -> List[str]:
    root = str(pathlib.Path(__file__).resolve().parents[1])
    environ = dict(os.environ, PYTHONPATH=root, **env)
    for name in ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_", "GLIBC_TUNABLES"):
        if name not in env:
            environ.pop(name, None)
    out = subprocess.run(
        # A thread's heap is trimmed less eagerly than the main one: four chunks show it.
        [
            sys.executable,
            "-c",
            CHURN,
            "prime" if prime else "no",
            "4" if thread else "2",
            "thread" if thread else "main",
        ],
        capture_output=True,
        text=True,
        env=environ,
        check=True,
    )
    return out.stdout.split()


def test_primed_glibc_keeps_freed_chunks_instead_of_faulting_them_in_again() -> None:
    if not heap.is_glibc():  # another C library: nothing is done, and prime() says so
        assert _churn(True, {})[0] == "False"
        return
    primed, per_round = _churn(True, {})
    unprimed, unprimed_per_round = _churn(False, {})
    assert (primed, unprimed) == ("True", "False")
    assert float(unprimed_per_round) >= 256  # glibc's default: 1 MiB given back and faulted in again
    assert float(per_round) < 4  # primed: the chunks are reused from the heap


def test_the_thresholds_are_the_whole_process_so_each_thread_heap_keeps_its_chunks_too() -> None:
    """What docs/v1/files.md says of the price: glibc's thresholds are process-wide, so once primed, the
    heap of every thread that allocates (an upload's reading thread, any other) keeps up to 16 MiB of
    freed memory too, not only the main heap."""
    if not heap.is_glibc():
        assert _churn(True, {}, thread=True)[0] == "False"
        return
    primed, per_round = _churn(True, {}, thread=True)
    unprimed, unprimed_per_round = _churn(False, {}, thread=True)
    assert (primed, unprimed) == ("True", "False")
    assert float(unprimed_per_round) >= 256  # glibc's default trims the thread's heap too
    assert float(per_round) < 4  # primed in the main thread, kept in the other thread's heap


@pytest.mark.parametrize(
    "env",
    [
        {"MALLOC_TRIM_THRESHOLD_": str(1 << 20)},
        # chunks from the heap (below the program's mmap threshold), trimmed at its own trim threshold
        {"MALLOC_MMAP_THRESHOLD_": str(4 << 20), "MALLOC_TRIM_THRESHOLD_": str(1 << 20)},
        {"MALLOC_TOP_PAD_": str(128 << 10)},
        {"GLIBC_TUNABLES": f"glibc.malloc.trim_threshold={1 << 20}"},
    ],
    ids=["trim", "mmap-and-trim", "top-pad", "tunables"],
)
def test_a_programs_own_malloc_settings_are_kept(env: Dict[str, str]) -> None:
    if not heap.is_glibc():
        assert _churn(True, env)[0] == "False"
        return
    # A setting of the program's: glibc stops adjusting its thresholds, and the freed block changes
    # nothing (the chunks are still given back and faulted in again).
    primed, per_round = _churn(True, env)
    assert primed == "True"
    assert float(per_round) >= 256


def test_prime_works_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heap, "_primed", False)
    assert heap.prime() is heap.is_glibc()
    assert heap.prime() is False


async def test_async_uploads_of_larger_files_prime_sync_ones_do_not(
    sdk: Flavor, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: List[int] = []
    monkeypatch.setattr(heap, "_primed", False)
    prime = heap.prime
    monkeypatch.setattr(heap, "prime", lambda: calls.append(1) or prime())
    small, large = tmp_path / "small.mp4", tmp_path / "large.mp4"
    small.write_bytes(b"s" * 1000)
    large.write_bytes(os.urandom(3 * (1 << 20) + 5))
    fake = FakeMagicHour()
    client: Any = sdk.client(
        base_url=fake.base_url, token=fake.token, httpx_client=sdk.httpx_client(transport=fake.transport())
    )
    await sdk.call(client.v1.files.upload_file, str(small))
    assert calls == []  # a small file: one read, nothing to keep
    for _ in range(2):
        path = await sdk.call(client.v1.files.upload_file, str(large))
        assert fake.file(path).sha256 == hashlib.sha256(large.read_bytes()).hexdigest()
    assert len(calls) == (2 if sdk.is_async else 0)  # asked on each larger upload, done once
    assert heap._primed is (sdk.is_async)  # pyright: ignore[reportPrivateUsage]
