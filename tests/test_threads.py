"""run_pool, the thread pool of sync uploads and downloads (``magic_hour/_upload/threads.py``): results in
the items' order, one item's failure stops the others, and nothing of the pool outlives the call. Ctrl-C
itself is tested end to end: test_cancellation.py (uploads) and test_jobs_cancel.py (downloads)."""

from __future__ import annotations

import threading
from typing import List, Set

import pytest

from magic_hour._upload.threads import Cancelled, Interrupt, run_pool

NAME = "magic-hour-test-pool"


def _pool_threads() -> List[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(NAME)]


def test_results_come_in_the_items_order_whatever_order_they_finish_in() -> None:
    finished = [threading.Event() for _ in range(4)]
    names: Set[str] = set()

    def work(i: int) -> int:
        if i < 3:  # each item waits for the next one: they finish 3, 2, 1, 0
            assert finished[i + 1].wait(5)
        names.add(threading.current_thread().name)
        finished[i].set()
        return i * 10

    assert run_pool(work, [0, 1, 2, 3], 4, Interrupt(), NAME) == [0, 10, 20, 30]
    assert names and all(n.startswith(NAME) for n in names)
    assert _pool_threads() == []


@pytest.mark.parametrize(("items", "bound"), [([1], 4), ([1, 2, 3], 1), ([], 4)])
def test_one_item_or_a_bound_of_one_runs_in_the_calling_thread(items: List[int], bound: int) -> None:
    seen: List[threading.Thread] = []

    def work(i: int) -> int:
        seen.append(threading.current_thread())
        return -i

    assert run_pool(work, items, bound, Interrupt(), NAME) == [-i for i in items]
    assert seen == [threading.current_thread()] * len(items)


def test_a_failing_item_stops_the_others_and_is_raised_once_they_have_stopped() -> None:
    # Its error is raised, not the Cancelled of the items it stopped.
    cancel = Interrupt()
    started: List[int] = []
    running = threading.Event()
    stopped: List[int] = []

    def work(i: int) -> int:
        started.append(i)
        if i == 0:
            assert running.wait(5)
            raise ValueError("item 0")
        running.set()
        assert cancel.event.wait(5)  # in flight: stops when the batch is cancelled, as a body does
        stopped.append(i)
        raise Cancelled()

    with pytest.raises(ValueError, match="item 0"):
        run_pool(work, list(range(6)), 2, cancel, NAME)
    assert cancel.is_set()
    assert sorted(started) == [0, 1], "queued items must never start"
    assert stopped == [1]
    assert _pool_threads() == []


def test_a_cancel_from_another_thread_is_raised_even_when_no_item_failed() -> None:
    # A batch stopping a download from its own thread (batches/_sync.py, through downloads.CANCEL): the
    # items in flight end well, the queued ones never run, and the call must not return as if they had.
    cancel = Interrupt()
    in_flight = threading.Barrier(3)
    release = threading.Event()
    started: List[int] = []

    def work(i: int) -> int:
        started.append(i)
        in_flight.wait(5)
        assert release.wait(5)
        return i

    def stop() -> None:
        in_flight.wait(5)
        cancel.set()
        release.set()

    stopper = threading.Thread(target=stop)
    stopper.start()
    with pytest.raises(Cancelled):
        run_pool(work, [0, 1, 2, 3], 2, cancel, NAME)
    stopper.join()
    assert sorted(started) == [0, 1]
    assert _pool_threads() == []
