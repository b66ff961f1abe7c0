"""The pure parts of batches: the scheduler (concurrency bound with AIMD, budget, stops), output names,
the jobs' keys and checks, and the journal's states and refusals (no network)."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Dict, List

import pytest

from magic_hour import InvalidParameterError, JournalError, JournalInUseError
from magic_hour._jobs.inputs import FileKey
from magic_hour.batches import BatchJob, each_file
from magic_hour.batches._flow import choose_names
from magic_hour.batches._journal import Journal
from magic_hour.batches._plan import plan_jobs
from magic_hour.batches._scheduler import MAX_BACKOFF, Scheduler

URL = "https://cdn.test/api-outputs/cm1/output.png?sig=1"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_bound_halves_once_per_burst_of_429s_and_climbs_back_one_per_round() -> None:
    clock = Clock()
    s = Scheduler(8, None, 0, clock)
    for _ in range(8):
        assert s.admit("t") == 0
    assert s.admit("t") is not None and s.running == 8
    s.throttled("t", None)
    s.throttled("t", None)  # the same burst: halved once
    assert s.concurrency == 4 and s.running == 6
    assert s.admit("t") == pytest.approx(2.0)  # paused: back-off 1 s, then 2 s with the second 429
    s.release()  # a project of ours ended: a place at the API is free, the pause ends
    assert s.admit("t") is not None and s.running == 5  # but 5 run, above the bound of 4
    for _ in range(3):
        s.release()
    assert s.admit("t") == 0
    increases: List[float] = []
    for _ in range(4 + 5 + 6 + 7):
        s.created("t", 5)
        increases.append(s.limit)
    # One more per round of `limit` creates: 4 creates to reach 5, then 5 to reach 6...
    assert [int(x) for x in increases[2:5]] == [4, 5, 5] and increases[-2] < 8 and s.concurrency == 8


def test_a_refusal_while_others_render_lowers_the_bound_to_them_and_waits_for_one() -> None:
    s = Scheduler(5, None, 0, Clock())
    for _ in range(3):
        assert s.admit("t") == 0
    s.created("t", 5)
    s.created("t", 5)
    s.refused("t")
    assert s.verdict() is True  # two others render: maybe the plan's limit
    assert s.concurrency == 2 and s.running == 2
    assert s.admit("t") is not None and s.admit("t") > 0  # paused until one of them ends
    s.release()
    assert s.admit("t") == 0  # one ended: the item tries again
    s.created("t", 5)
    s.release()
    s.release()
    assert s.running == 0 and s.admit("t") == 0
    s.refused("t")
    assert s.verdict() is False and s.running == 0  # nothing else renders: a refusal of the item


def test_a_refusal_is_judged_once_the_creates_in_flight_are_answered() -> None:
    """Other items' creates in flight are no project rendering: the refusal waits for their answers
    (no create starts meanwhile), then counts as the plan's limit only if one of them was accepted."""
    s = Scheduler(4, None, 0, Clock())
    for _ in range(3):
        assert s.admit("t") == 0
    s.refused("t")
    assert s.verdict() is None and s.admit("t") == MAX_BACKOFF  # two creates in flight: not yet
    s.refused("t")
    assert s.verdict() is None
    s.refused("t")  # the last one in flight refused too: nothing of the run renders
    assert [s.verdict(), s.verdict(), s.verdict()] == [False, False, False]
    assert s.running == 0 and s.concurrency == 4 and s.admit("t") == 0  # no pause, bound kept
    assert s.admit("t") == 0
    s.refused("t")
    assert s.verdict() is None
    s.created("t", 5)  # the other one was accepted: it renders
    assert s.verdict() is True and s.concurrency == 1 and s.admit("t") > 0


def test_retry_after_sets_the_pause_and_a_release_does_not_end_it() -> None:
    clock = Clock()
    s = Scheduler(3, None, 0, clock)
    assert s.admit("t") == 0
    s.throttled("t", 7.0)
    s.release()
    assert s.admit("t") == pytest.approx(7.0)
    clock.now += 7
    assert s.admit("t") == 0


def test_the_budget_counts_what_was_charged_and_what_creates_in_flight_may_cost() -> None:
    s = Scheduler(5, 12, 0, Clock())
    assert s.admit("t") == 0 and s.admit("t") == 0  # no price known yet: both start
    s.created("t", 5)
    s.created("t", 5)
    s.charge(10)
    assert s.admit("t") == 0  # 10 < 12
    assert s.admit("t") is not None and s.stopped is None  # 10 + 5 in flight >= 12: it waits
    s.created("t", 5)
    s.charge(5)
    assert s.admit("t") is None and s.stopped == "budget" and not s.may_start()


def test_a_stop_is_final_and_the_first_reason_stays() -> None:
    s = Scheduler(3, None, 0, Clock())
    s.stop("payment_required")
    s.stop("interrupted")
    assert s.admit("t") is None and s.stopped == "payment_required" and not s.may_start()
    s.hold()
    assert s.running == 1  # a project of an earlier run still counts


def test_output_names() -> None:
    free = lambda name: False  # noqa: E731
    assert choose_names("a", [URL], "cm1", free) == ["a.png"]
    assert choose_names("sub/a", [URL, URL.replace("output.png", "o.jpg")], "cm1", free) == [
        "sub/a-1.png",
        "sub/a-2.jpg",
    ]
    taken = {"a.png", "a-cm1.png"}
    assert choose_names("a", [URL], "cm1", taken.__contains__) == ["a-cm1-2.png"]
    assert choose_names("a", ["https://cdn.test/x/"], "cm1", free) == ["a"]  # no extension to keep


def test_keys_labels_and_output_stems(tmp_path: Path) -> None:
    (tmp_path / "photos" / "sub").mkdir(parents=True)
    for name in ("a.png", "b.jpg", "notes.txt", ".hidden.png", "sub/a.png"):
        (tmp_path / "photos" / name).write_bytes(b"x")
    jobs = list(each_file("image_background_remover", tmp_path / "photos"))
    assert [j.key for j in jobs] == ["a.png", "b.jpg", "sub/a.png"]  # not the .txt, not the hidden one
    assert [j.output for j in jobs] == ["a", "b", "sub/a"]
    globbed = list(each_file("image_background_remover", str(tmp_path / "photos" / "**" / "*.png")))
    assert [j.key for j in globbed] == ["a.png", "sub/a.png"]
    listed = list(each_file("photo_colorizer", [tmp_path / "photos" / "b.jpg"], params={"name": "old"}))
    assert listed[0].params == {
        "name": "old",
        "assets": {"image_file_path": str(tmp_path / "photos" / "b.jpg")},
    }
    planned = list(
        plan_jobs(
            [
                BatchJob(
                    "ai_image_generator", {"image_count": 1, "aspect_ratio": "1:1", "style": {"prompt": "p"}}
                )
            ]
            * 2
        )
    )
    assert planned[1].key == planned[0].key + "#2" and planned[0].key.startswith("ai_image_generator-")
    assert planned[1].stem == planned[0].stem + "-2"


def test_a_folder_gives_the_files_of_each_asset_type_the_field_takes(tmp_path: Path) -> None:
    """Face detection's field takes an image or a video (metadata lists both): a folder gives both, and
    neither the audio nor the text; the CLI's folder argument reads the catalog's list the same way."""
    from magic_hour.cli._batch import _expand  # pyright: ignore[reportPrivateUsage]

    for name in ("a.png", "b.mp4", "c.mp3", "d.txt"):
        (tmp_path / name).write_bytes(b"x")
    assert [j.key for j in each_file("face_detection", tmp_path)] == ["a.png", "b.mp4"]
    assert [j.key for j in each_file("image_background_remover", tmp_path)] == ["a.png"]
    assert [key for _, key, _ in _expand([str(tmp_path)], {"file": ["image", "video"]})] == ["a.png", "b.mp4"]
    assert [key for _, key, _ in _expand([str(tmp_path)], {"file": "audio"})] == ["c.mp3"]


def test_each_file_needs_a_field_when_the_tool_has_several(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        each_file("body_swap", tmp_path)  # person or scene? (checked at once)
    assert caught.value.param == "field" and "assets.scene_file_path" in caught.value.allowed
    jobs = list(
        each_file(
            "face_swap_photo",
            [tmp_path / "t.png"],
            field="assets.target_file_path",
            params={"assets": {"source_file_path": "me.png", "face_swap_mode": "all-faces"}},
        )
    )
    assert jobs[0].params["assets"] == {
        "source_file_path": "me.png",
        "face_swap_mode": "all-faces",
        "target_file_path": str(tmp_path / "t.png"),
    }
    with pytest.raises(InvalidParameterError):
        each_file("ai_image_generator", tmp_path)  # it takes no file
    assert [j.key for j in each_file("face_swap_photo", [tmp_path / "t.png"])] == [
        "t.png"
    ]  # the required one


def test_a_journal_refuses_a_second_run_and_a_foreign_file(tmp_path: Path) -> None:
    path = str(tmp_path / "j.sqlite")
    first = Journal.for_run(path)
    try:
        with pytest.raises(JournalInUseError) as caught:
            Journal.for_run(path)
        reader = Journal.for_reading(path)  # reading while a run holds it is fine
        reader.close()
    finally:
        first.close()
    assert caught.value.owner is not None and caught.value.owner.startswith("pid ")
    Journal.for_run(path).close()  # released with the run
    other = tmp_path / "other.sqlite"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE t (x)")
    db.close()
    with pytest.raises(JournalError, match="not a batch journal"):
        Journal.for_run(str(other))
    (tmp_path / "text").write_text("hello " * 100)
    with pytest.raises(JournalError):
        Journal.for_run(str(tmp_path / "text"))
    with pytest.raises(JournalError, match="no batch journal"):
        Journal.for_reading(str(tmp_path / "missing.sqlite"))


def test_a_journal_of_a_newer_format_is_refused(tmp_path: Path) -> None:
    path = str(tmp_path / "j.sqlite")
    Journal.for_run(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = '99' WHERE name = 'format'")
    db.commit()
    db.close()
    with pytest.raises(JournalError, match="format 99"):
        Journal.for_run(path)


def _journal_with(path: Path, count: int) -> Journal:
    journal = Journal.for_run(str(path))
    journal.plan((f"k{i}", "image_background_remover", "image", f"k{i}", f"k{i}", {}) for i in range(count))
    return journal


def _committed(path: Path) -> Dict[str, str]:
    """Every item's state as another connection sees it: what was committed."""
    db = sqlite3.connect(path)
    try:
        return dict(db.execute("SELECT key, state FROM items").fetchall())
    finally:
        db.close()


def test_a_group_commit_that_fails_fails_every_writer_of_the_group(tmp_path: Path) -> None:
    """The write-ahead promise: a writer that returns had its record committed. Three writers queue
    while the journal is busy; two end up in one group with a value SQLite cannot store (credits past
    64 bits): both get a JournalError, none returns as if written, and the journal goes on working."""
    path = tmp_path / "j.sqlite"
    journal = _journal_with(path, 3)
    outcomes: Dict[int, object] = {}

    def write(seq: int, **fields: object) -> None:
        try:
            journal.update(seq, "creating", "planned", 0, durable=True, creating_since=1.0, **fields)
            outcomes[seq] = "written"
        except Exception as exc:  # the test looks at what each writer got
            outcomes[seq] = exc

    try:
        with journal._mutex:  # the journal is busy: the first writer takes the commit lock and waits
            first = threading.Thread(target=write, args=(1,))
            first.start()
            while not journal._commit_lock.locked():
                time.sleep(0.001)
            others = [
                threading.Thread(target=write, args=(2,), kwargs={"credits": 2**70}),
                threading.Thread(target=write, args=(3,)),
            ]
            for thread in others:
                thread.start()
            deadline = time.monotonic() + 10
            while len(journal._pending) < 2 and time.monotonic() < deadline:
                time.sleep(0.001)
            assert len(journal._pending) == 2  # queued behind the first: the next group
        for thread in [first, *others]:
            thread.join(10)
        assert outcomes[1] == "written"
        assert isinstance(outcomes[2], JournalError) and isinstance(outcomes[3], JournalError)
        assert _committed(path) == {"k0": "creating", "k1": "planned", "k2": "planned"}
        journal.update(3, "creating", "planned", 0, durable=True)  # no transaction was left open
        assert _committed(path)["k2"] == "creating"
    finally:
        journal.close()


def test_a_closed_journal_refuses_every_write(tmp_path: Path) -> None:
    """Once closed (its run ended, its lock released), a journal writes nothing: a 'creating' record
    reopened the durable connection and reached the disk under another run's lock."""
    path = tmp_path / "j.sqlite"
    journal = _journal_with(path, 2)
    journal.close()
    with pytest.raises(JournalError, match="closed"):
        journal.update(1, "creating", "planned", 0, durable=True, creating_since=1.0)
    with pytest.raises(JournalError, match="closed"):
        journal.update(2, "uploaded", "planned", 0)
    with pytest.raises(JournalError, match="closed"):
        journal.set_meta("x", "y")
    journal.close()  # again: nothing to do
    assert _committed(path) == {"k0": "planned", "k1": "planned"}
    assert journal._synced is None


def test_a_closed_journal_refuses_every_read(tmp_path: Path) -> None:
    """A read of a closed journal raises the JournalError a write raises (sqlite3.ProgrammingError
    before: 'Cannot operate on a closed database'), and so does an error of SQLite in a read."""
    from magic_hour.batches._run import summary_of

    path = tmp_path / "j.sqlite"
    journal = _journal_with(path, 2)
    journal.close()
    reads = {
        "meta": lambda: journal.meta("output_dir"),
        "item": lambda: journal.item("k0"),
        "page": lambda: journal.page(["planned"], 0),
        "rows": lambda: next(journal.rows()),
        "summary": lambda: summary_of(journal),
    }
    for name, read in reads.items():
        with pytest.raises(JournalError, match=r"cannot read the batch journal .*: it is closed") as info:
            read()
        assert info.value.path == str(path), name

    reader = Journal.for_reading(str(path))
    try:
        db = sqlite3.connect(path)
        db.execute("DROP TABLE items")
        db.close()
        with pytest.raises(JournalError, match=r"cannot read the batch journal .*: no such table: items"):
            reader.item("k0")
    finally:
        reader.close()


def test_an_item_never_holds_a_shared_file_while_it_waits_for_another(tmp_path: Path) -> None:
    from magic_hour.batches._shared import SharedUploads

    one, two = (
        FileKey(str(tmp_path / "1"), 1, 1, 1, 1, 1, True),
        FileKey(str(tmp_path / "2"), 1, 2, 1, 1, 1, True),
    )
    shared = SharedUploads(threading.Event)
    assert shared.claim([one]) == ({}, [], [one])  # the first item uploads 'one'
    known, waits, mine = shared.claim([two, one])  # the second needs both: it waits, holding nothing
    assert (known, len(waits), mine) == ({}, 1, [])
    assert shared.claim([two])[2] == [two]  # so a third may take 'two' meanwhile
    shared.release([one], {one: "api-assets/1/a.png"})
    assert waits[0].is_set()
    assert shared.claim([one, two])[:2] == ({one: "api-assets/1/a.png"}, [shared._busy[two]])
    shared.release([two], {})  # failed: the next one to need it uploads it
    assert shared.claim([two]) == ({}, [], [two])


def test_the_tools_table_is_every_create_that_starts_a_project() -> None:
    """``resources/v1/tools.py`` (generated) lists exactly the operations whose metadata says they start a
    project, with the kind, the file fields and the create endpoint of the tool's own module, and its
    loaders are the only imports of those modules: importing the table imports none of them."""
    import ast
    import importlib
    import json

    from magic_hour.resources.v1 import tools
    from magic_hour.resources.v1.tools import TOOLS

    api = json.loads((Path(tools.__file__).parents[2] / "_data" / "api.json").read_text())
    expected = {}
    for methods in api["paths"].values():
        for op in methods.values():
            meta = op["x-magic-hour"]
            if meta.get("creates") and meta["method"] == "create":
                files = {
                    path: types if isinstance(types, list) else [types]
                    for path, types in meta.get("files", {}).items()
                }
                expected[meta["resource"]] = (meta["creates"], sorted(map(tuple, files.values())))
    assert {name: (info.kind, sorted(info.files.values())) for name, info in TOOLS.items()} == expected
    from magic_hour.cli._batch import _cli_tools  # pyright: ignore[reportPrivateUsage]

    assert sorted(_cli_tools().values()) == sorted(TOOLS)  # each create command names its tool
    for name, info in TOOLS.items():
        module = importlib.import_module(f"magic_hour.resources.v1.{name}.client")
        assert info.name == name
        assert info.endpoint() is module.CREATE
        assert info.endpoint().creates == info.kind
        assert info.model().__module__ == f"magic_hour.{info.model_module}"
    top_level = [
        node for node in ast.parse(Path(tools.__file__).read_text()).body if isinstance(node, ast.ImportFrom)
    ]
    assert [node.module for node in top_level if node.level] == []  # the TYPE_CHECKING one is in an `if`
