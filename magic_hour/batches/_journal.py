"""The journal: one SQLite file (standard library, no server) holding every item's state, written ahead.

Each step of an item is committed before the next one starts, so whatever kills the process (``kill
-9`` included) a rerun finds every item where it was: WAL mode, steps of several items that happen
together committed as one group (``Journal._write``). The record that a create is about to be sent
(``creating``) is also synced to the disk (``synchronous=FULL``), so even a power cut cannot make a
rerun send it again; the other steps can be replayed at no cost.

One run at a time: a run holds an exclusive lock on a companion file (``<journal>-lock``) for as long as
it runs. The operating system releases it when the process ends, however it ends, so there is no stale
lock to clean up after ``kill -9``; a second run gets :class:`JournalInUseError`. Readers (``status``,
``report``) take no lock: WAL lets them read while a run writes.

State lives in the file, not in memory: the runner reads items a page at a time, and keeps only the
counts per state and the credits total.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import threading
import time
from typing import (
    Any,
    Callable,
    Dict,
    Generator,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
)
from urllib.parse import quote

from .._exceptions import JournalError, JournalInUseError
from ._types import CREATING, FAILED, FINISHED, PLANNED, STATES, UNKNOWN, BatchItem, ItemFailure

FORMAT = 1
APPLICATION_ID = 0x4D484231  # "MHB1": a journal of this SDK, whatever its file name
LOCK_SUFFIX = "-lock"
PAGE = 256

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    seq INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    tool TEXT NOT NULL,
    kind TEXT NOT NULL,
    label TEXT NOT NULL,
    stem TEXT NOT NULL,
    params TEXT NOT NULL,
    state TEXT NOT NULL,
    body TEXT,
    project_id TEXT,
    credits INTEGER NOT NULL DEFAULT 0,
    status TEXT,
    outputs TEXT,
    failure TEXT,
    creates INTEGER NOT NULL DEFAULT 0,
    previous TEXT,
    creating_since REAL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS outputs (path TEXT PRIMARY KEY, seq INTEGER NOT NULL);
"""

_COLUMNS = (
    "seq, key, tool, kind, label, stem, params, state, body, project_id, credits, status, outputs, "
    "failure, creates, previous, creating_since"
)

KEEP: Any = object()
"""An :meth:`Journal.update` argument left as it is."""


def lock_path(path: str) -> str:
    return path + LOCK_SUFFIX


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def failure_json(failure: Optional[ItemFailure]) -> Optional[str]:
    if failure is None:
        return None
    return _dumps({k: v for k, v in vars(failure).items() if v is not None})


def _failure(text: Optional[str]) -> Optional[ItemFailure]:
    if not text:
        return None
    data = json.loads(text)
    return ItemFailure(
        data.get("step", ""),
        data.get("type", ""),
        data.get("message", ""),
        data.get("status_code"),
        data.get("code"),
    )


class _Pending:
    """An update (:data:`UPDATE_ITEM`'s parameters) queued for the next group commit (``Journal._write``)."""

    __slots__ = ("done", "durable", "error", "values")

    def __init__(self, values: Sequence[Any], durable: bool) -> None:
        self.values, self.durable = values, durable
        self.done = False
        self.error: Optional[JournalError] = None


class Row:
    """An item as read from the journal, with what the runner needs beyond :class:`BatchItem`: its state
    and credits as the run records them (the worker holding it is the only writer of its row)."""

    __slots__ = ("body", "credits", "item", "state", "stem")

    def __init__(self, item: BatchItem, stem: str, body: Optional[Dict[str, Any]]) -> None:
        self.item, self.stem, self.body = item, stem, body
        self.state, self.credits = item.state, item.credits_charged


def _row(values: Sequence[Any]) -> Row:
    (seq, key, tool, kind, label, stem, params, state, body, project_id, credits, status, outputs) = values[
        :13
    ]
    failure, creates, previous, creating_since = values[13:]
    item = BatchItem(
        key=key,
        tool=tool,
        kind=kind,
        label=label,
        state=state,
        project_id=project_id,
        credits_charged=credits,
        status=status,
        outputs=tuple(json.loads(outputs)) if outputs else (),
        failure=_failure(failure),
        creates=creates,
        previous_projects=tuple(json.loads(previous)) if previous else (),
        params=json.loads(params),
        creating_since=creating_since,
        seq=seq,
    )
    return Row(item, stem, json.loads(body) if body else None)


_UPDATABLE = ("body", "project_id", "credits", "status", "outputs", "failure", "creating_since")


UPDATE_ITEM = (
    "UPDATE items SET state = ?, updated = ?, "
    + ", ".join(f"{c} = CASE WHEN ? THEN ? ELSE {c} END" for c in _UPDATABLE)
    + ", creates = creates + ? WHERE seq = ?"
)
"""One statement for every update: a column is set only when its flag is true, so that a group of
updates from several items is one ``executemany`` (see ``Journal._commit``)."""


def _update_values(seq: int, state: str, fields: Mapping[str, Any]) -> Tuple[Any, ...]:
    """The parameters of :data:`UPDATE_ITEM` recording ``state`` and ``fields`` for item ``seq``."""
    unknown = set(fields) - {*_UPDATABLE, "add_create"}
    if unknown:
        raise TypeError(f"not a column of items: {sorted(unknown)[0]}")
    values: List[Any] = [state, time.time()]
    for column in _UPDATABLE:
        value = fields.get(column, KEEP)
        if value is KEEP:
            values += [False, None]
            continue
        if column == "body" and value is not None:
            value = _dumps(value)
        elif column == "outputs" and value is not None:
            value = _dumps(list(value))
        elif column == "failure":
            value = failure_json(value)
        values += [True, value]
    values += [1 if fields.get("add_create") else 0, seq]
    return tuple(values)


def _connect(path: str) -> sqlite3.Connection:
    try:
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
    except sqlite3.Error as exc:
        raise JournalError(f"cannot open the batch journal {path}: {exc}", path=path) from None
    return db


def _owner_text(raw: Optional[str]) -> Optional[str]:
    if not raw:
        return None
    try:
        data = json.loads(raw)
        since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(float(data["started"])))
        return f"pid {int(data['pid'])} on {data['host']}, since {since}"
    except (ValueError, KeyError, TypeError):
        return None


class Journal:
    """A batch journal. :meth:`for_run` holds the run lock; :meth:`for_reading` takes none.

    Thread-safe: one connection behind a lock (and one at ``synchronous=FULL`` for the 'creating'
    records); updates are group-committed (:meth:`_write`)."""

    def __init__(self, path: str, db: sqlite3.Connection, lock: Optional[sqlite3.Connection]) -> None:
        self.path = path
        self._db = db
        self._lock_db = lock
        self._synced: Optional[sqlite3.Connection] = None  # synchronous=FULL: the 'creating' records
        self._closed = (
            False  # every read and write refuses then: the run lock is released, another run may hold it
        )
        self._mutex = threading.Lock()
        self._commit_lock = threading.Lock()  # held by the thread committing a group of writes
        self._queue_lock = threading.Lock()
        self._pending: List[_Pending] = []
        self.counts: Dict[str, int] = dict.fromkeys(STATES, 0)
        self.credits = 0
        self.durable = True
        """Sync the 'creating' record to the disk (off only to measure what it costs)."""
        self.write_seconds = 0.0
        """Time spent in write transactions, and the CPU time of it (for the benchmark)."""
        self.write_cpu = 0.0
        self.writes = 0
        self.commits = 0

    # ------------------------------------------------------------------------------------------ opening

    @classmethod
    def for_run(cls, path: str) -> Journal:
        """Open (or create) the journal at ``path`` for a run: take the run lock, then turn any item left
        ``creating`` by a run that died into ``unknown``."""
        path = os.fspath(path)
        folder = os.path.dirname(os.path.abspath(path))
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            raise JournalError(
                f"cannot create the folder of the batch journal {path}: {exc}", path=path
            ) from None
        lock = cls._take_lock(path)
        try:
            db = _connect(path)
        except BaseException:
            lock.close()
            raise
        journal = cls(path, db, lock)
        journal._opened()
        return journal

    @classmethod
    def for_reading(cls, path: str) -> Journal:
        """Open an existing journal to read it (no lock: a run may be writing it)."""
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise JournalError(f"no batch journal at {path}", path=path)
        journal = cls(path, _connect(path), None)
        journal._opened()
        return journal

    def _opened(self) -> None:
        """Check (and for a run, create) the schema, record the run's owner, count the items; on any
        failure, close what was opened: a connection left to the garbage collector keeps the file open
        (and warns on Python 3.13)."""
        try:
            self._setup(create=self._lock_db is not None)
            if self._lock_db is not None:
                self._write_owner()
            self._load_totals()
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _take_lock(path: str) -> sqlite3.Connection:
        where = lock_path(path)
        lock = _connect(where)
        try:
            lock.execute("PRAGMA busy_timeout = 0")
            lock.execute("BEGIN EXCLUSIVE")  # held until the run closes it, or its process ends
        except sqlite3.OperationalError as exc:
            lock.close()
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise JournalError(f"cannot lock the batch journal {path}: {exc}", path=path) from None
            owner = _read_owner(path)
            who = f" ({owner})" if owner else ""
            raise JournalInUseError(
                f"the batch journal {path} is in use by another run{who}: two runs on one journal would "
                "start its items twice; wait for that run to end, or stop it (its journal stays valid "
                "whatever stops it) and run again",
                path=path,
                owner=owner,
            ) from None
        return lock

    def _setup(self, *, create: bool) -> None:
        db = self._db
        try:
            app = db.execute("PRAGMA application_id").fetchone()[0]
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if (tables and app != APPLICATION_ID) or (not tables and not create):
                raise JournalError(f"{self.path} is not a batch journal of magic_hour", path=self.path)
            if create:
                db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")  # WAL: every commit survives the process's death
            if not tables:
                db.execute("BEGIN IMMEDIATE")
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                db.execute("INSERT INTO meta VALUES ('format', ?)", (str(FORMAT),))
                db.execute("INSERT INTO meta VALUES ('created', ?)", (repr(time.time()),))
                db.execute("COMMIT")
            row = db.execute("SELECT value FROM meta WHERE name = 'format'").fetchone()
            version = None if row is None else str(row[0])
            if version != str(FORMAT):
                raise JournalError(
                    f"{self.path} is a batch journal of format {version}; this version of magic_hour "
                    f"reads format {FORMAT} (upgrade magic_hour)",
                    path=self.path,
                )
        except sqlite3.DatabaseError as exc:
            raise JournalError(f"{self.path} is not a usable batch journal: {exc}", path=self.path) from None

    def _write_owner(self) -> None:
        owner = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
        self._transaction(
            lambda db: db.execute("INSERT OR REPLACE INTO meta VALUES ('owner', ?)", (_dumps(owner),))
        )

    def _load_totals(self) -> None:
        with self._reading() as db:
            for state, n in db.execute("SELECT state, COUNT(*) FROM items GROUP BY state"):
                self.counts[state] = n
            self.credits = int(db.execute("SELECT COALESCE(SUM(credits), 0) FROM items").fetchone()[0])

    def close(self) -> None:
        """Close the journal (and release the run lock)."""
        with self._mutex:
            if self._closed:
                return
            self._closed = True
            try:
                if self._lock_db is not None:
                    self._db.execute("DELETE FROM meta WHERE name = 'owner'")
            except sqlite3.Error:
                pass
            self._db.close()
            if self._synced is not None:
                self._synced.close()
                self._synced = None
            if self._lock_db is not None:
                self._lock_db.close()
                self._lock_db = None

    # ------------------------------------------------------------------------------------------ writing

    def _check_open(self) -> None:
        """Under ``_mutex``, before any write."""
        if self._closed:
            raise JournalError(f"cannot write the batch journal {self.path}: it is closed", path=self.path)

    def _transaction(self, work: Callable[[sqlite3.Connection], Any], *, durable: bool = False) -> Any:
        with self._mutex:
            self._check_open()
            db = self._db
            start, cpu = time.perf_counter(), time.thread_time()
            durable = durable and self.durable
            if durable:
                db.execute("PRAGMA synchronous = FULL")
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    result = work(db)
                    db.execute("COMMIT")
                except BaseException:
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise JournalError(
                    f"cannot write the batch journal {self.path}: {exc}", path=self.path
                ) from None
            finally:
                if durable:
                    db.execute("PRAGMA synchronous = NORMAL")
                self.write_seconds += time.perf_counter() - start
                self.write_cpu += time.thread_time() - cpu
                self.writes += 1
            return result

    def _write(self, values: Sequence[Any], *, durable: bool) -> None:
        """Write one update (:data:`UPDATE_ITEM`), committed when this returns: with the updates other
        threads queued meanwhile, in one transaction (a group commit). Whoever takes the commit lock
        commits everything queued so far; the others find theirs done. Under load, several items' steps
        share one commit (and one sync to the disk), where a commit each made the threads wait in line.
        Each call into SQLite is also a wait for the GIL after it, with a dozen threads: a group is one
        ``executemany`` between BEGIN and COMMIT, a group of one a single call (autocommit). A group with
        a durable record commits through a second connection kept at ``synchronous=FULL`` (its commit
        waits for the disk)."""
        start = time.perf_counter()
        entry = _Pending(values, durable and self.durable)
        with self._queue_lock:
            self._pending.append(entry)
        with self._commit_lock:
            if not entry.done:
                with self._queue_lock:
                    batch, self._pending = self._pending, []
                self._commit(batch)
        with self._queue_lock:
            self.write_seconds += time.perf_counter() - start
            self.writes += 1
        if entry.error is not None:
            raise entry.error
        if not entry.done:  # never return as written what no commit took (the 'creating' promise)
            raise JournalError(f"cannot write the batch journal {self.path}", path=self.path)

    def _commit(self, batch: List[_Pending]) -> None:
        """Commit ``batch`` in one transaction and tell each of its writers how it went. Whatever goes
        wrong (an error of SQLite, a value it cannot store, the second connection that cannot open),
        every writer of the group gets the error: none may go on as if its record were on the disk."""
        error: Optional[JournalError] = JournalError(
            f"cannot write the batch journal {self.path}: the commit was interrupted", path=self.path
        )
        try:
            with self._mutex:
                cpu = time.thread_time()
                try:
                    self._check_open()
                    db = self._db
                    if any(e.durable for e in batch):
                        if self._synced is None:
                            synced = _connect(self.path)
                            try:
                                synced.execute("PRAGMA synchronous = FULL")
                            except BaseException:
                                synced.close()
                                raise
                            self._synced = synced
                        db = self._synced
                    try:
                        if len(batch) == 1:
                            db.execute(UPDATE_ITEM, batch[0].values)
                        else:
                            db.execute("BEGIN IMMEDIATE")
                            db.executemany(UPDATE_ITEM, [e.values for e in batch])
                            db.execute("COMMIT")
                    except BaseException:
                        if db.in_transaction:
                            db.execute("ROLLBACK")
                        raise
                    error = None
                except JournalError as exc:
                    error = exc
                except (sqlite3.Error, ValueError, TypeError, OverflowError) as exc:
                    error = JournalError(f"cannot write the batch journal {self.path}: {exc}", path=self.path)
                finally:
                    self.write_cpu += time.thread_time() - cpu
                    self.commits += 1
        finally:
            for e in batch:
                e.error, e.done = error, True

    def set_meta(self, name: str, value: str) -> None:
        self._transaction(lambda db: db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (name, value)))

    def meta(self, name: str) -> Optional[str]:
        with self._reading() as db:
            row = db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def plan(self, rows: Iterable[Tuple[str, str, str, str, str, Mapping[str, Any]]]) -> int:
        """Add items ``(key, tool, kind, label, stem, params)`` not in the journal yet; an item still
        ``planned`` takes the new ``params``, others keep theirs (their files may be uploaded, their
        project started). One transaction: a job found invalid half-way leaves the journal as it was.
        Returns how many items were added."""
        now = time.time()

        def work(db: sqlite3.Connection) -> int:
            before = int(db.execute("SELECT COUNT(*) FROM items").fetchone()[0])
            for key, tool, kind, label, stem, params in rows:
                db.execute(
                    "INSERT INTO items (key, tool, kind, label, stem, params, state, updated) "
                    "VALUES (?, ?, ?, ?, ?, ?, 'planned', ?) ON CONFLICT (key) DO UPDATE SET "
                    "tool = excluded.tool, kind = excluded.kind, label = excluded.label, "
                    "stem = excluded.stem, params = excluded.params WHERE items.state = 'planned'",
                    (key, tool, kind, label, stem, _dumps(params), now),
                )
            return int(db.execute("SELECT COUNT(*) FROM items").fetchone()[0]) - before

        added = int(self._transaction(work))
        with self._mutex:
            self.counts[PLANNED] += added
        return added

    def update(
        self,
        seq: int,
        state: str,
        previous: str,
        old_credits: int,
        *,
        durable: bool = False,
        **fields: Any,
    ) -> None:
        """Record ``state`` and ``fields`` (columns: ``body``, ``project_id``, ``credits``, ``status``,
        ``outputs``, ``failure``, ``creating_since``; ``add_create``) for item ``seq``, which was in state
        ``previous`` with ``old_credits`` (the caller holds the item: nothing to read back)."""
        self._write(_update_values(seq, state, fields), durable=durable)
        self._counted(previous, state, fields.get("credits", KEEP), old_credits)

    def _counted(self, previous: str, state: str, credits: Any, old_credits: int) -> None:
        with self._mutex:
            self.counts[previous] -= 1
            self.counts[state] += 1
            if credits is not KEEP and credits is not None:
                self.credits += int(credits) - old_credits

    def finish(
        self,
        seq: int,
        previous: str,
        old_credits: int,
        choose: Callable[[Callable[[str], bool]], List[str]],
        fields: Mapping[str, Any],
    ) -> List[str]:
        """Reserve output names for item ``seq`` and record it ``finished`` with them (and ``fields``), in
        one transaction: ``choose(taken)`` picks the names, ``taken(name)`` telling a name another item
        reserved. Two items never get one name, and a rerun finds the names again."""

        def work(db: sqlite3.Connection) -> List[str]:
            def taken(name: str) -> bool:
                row = db.execute("SELECT seq FROM outputs WHERE path = ?", (name,)).fetchone()
                return row is not None and row[0] != seq

            names = choose(taken)
            for name in names:
                db.execute("INSERT OR IGNORE INTO outputs VALUES (?, ?)", (name, seq))
            db.execute(UPDATE_ITEM, _update_values(seq, FINISHED, {**fields, "outputs": names}))
            return names

        names: List[str] = self._transaction(work)
        self._counted(previous, FINISHED, fields.get("credits", KEEP), old_credits)
        return names

    def recover(self) -> int:
        """Items a dead run left ``creating`` become ``unknown`` (their project may exist); how many."""

        def work(db: sqlite3.Connection) -> int:
            failure = ItemFailure(
                "create",
                "Interrupted",
                "the run stopped while this item's create was sent and before its answer came: the "
                "project may exist (and be billed); look for it before retrying",
            )
            cursor = db.execute(
                "UPDATE items SET state = ?, failure = ?, updated = ? WHERE state = ?",
                (UNKNOWN, failure_json(failure), time.time(), CREATING),
            )
            return int(cursor.rowcount)

        n = int(self._transaction(work))
        with self._mutex:
            self.counts[CREATING] -= n
            self.counts[UNKNOWN] += n
        return n

    def reset_failed(self) -> int:
        """``retry_failed``: every ``failed`` item back to where it can start again. One whose project
        failed is created anew (its id kept in ``previous``); one that failed before its create restarts
        from its upload."""

        def work(db: sqlite3.Connection) -> int:
            rows = db.execute(
                "SELECT seq, project_id, previous FROM items WHERE state = ?", (FAILED,)
            ).fetchall()
            for seq, project_id, previous in rows:
                history: List[str] = json.loads(previous) if previous else []
                if project_id:
                    history.append(project_id)
                db.execute(
                    "UPDATE items SET state = 'planned', body = NULL, project_id = NULL, status = NULL, "
                    "outputs = NULL, failure = NULL, credits = 0, previous = ?, updated = ? WHERE seq = ?",
                    (_dumps(history) if history else None, time.time(), seq),
                )
            db.execute("DELETE FROM outputs WHERE seq IN (SELECT seq FROM items WHERE state = 'planned')")
            return len(rows)

        n = int(self._transaction(work))
        self._load_totals_locked_refresh()
        return n

    def resolve(self, key: str, project_id: Optional[str]) -> BatchItem:
        """An ``unknown`` item settled by the user: its project found (``project_id``: a rerun waits for
        it and downloads it), or found not to exist (``None``: a rerun creates it)."""

        def work(db: sqlite3.Connection) -> None:
            row = db.execute("SELECT state FROM items WHERE key = ?", (key,)).fetchone()
            if row is None:
                raise KeyError(key)
            if row[0] != UNKNOWN:
                raise ValueError(row[0])
            if project_id is None:
                db.execute(
                    "UPDATE items SET state = 'uploaded', failure = NULL, updated = ? WHERE key = ? AND "
                    "body IS NOT NULL",
                    (time.time(), key),
                )
                db.execute(
                    "UPDATE items SET state = 'planned', failure = NULL, updated = ? WHERE key = ? AND "
                    "body IS NULL",
                    (time.time(), key),
                )
            else:
                db.execute(
                    "UPDATE items SET state = 'created', project_id = ?, failure = NULL, updated = ? "
                    "WHERE key = ?",
                    (project_id, time.time(), key),
                )

        self._transaction(work)
        self._load_totals_locked_refresh()
        found = self.item(key)
        assert found is not None
        return found

    def _load_totals_locked_refresh(self) -> None:
        with self._mutex:
            self.counts = dict.fromkeys(STATES, 0)
        self._load_totals()

    # ------------------------------------------------------------------------------------------ reading

    @contextlib.contextmanager
    def _reading(self) -> Generator[sqlite3.Connection, None, None]:
        """The connection for a read, under ``_mutex``. A closed journal refuses as it does a write, and an
        error of SQLite is a :class:`JournalError` too: a caller handles one error type, never
        ``sqlite3``'s."""
        with self._mutex:
            if self._closed:
                raise JournalError(f"cannot read the batch journal {self.path}: it is closed", path=self.path)
            try:
                yield self._db
            except sqlite3.Error as exc:
                raise JournalError(
                    f"cannot read the batch journal {self.path}: {exc}", path=self.path
                ) from None

    def page(self, states: Sequence[str], after: int, limit: int = PAGE) -> List[Row]:
        """Up to ``limit`` items in ``states`` after position ``after``, in order."""
        marks = ", ".join("?" for _ in states)
        with self._reading() as db:
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM items WHERE state IN ({marks}) AND seq > ? ORDER BY seq LIMIT ?",
                (*states, after, limit),
            ).fetchall()
        return [_row(r) for r in rows]

    def rows(self, states: Optional[Sequence[str]] = None) -> Iterator[Row]:
        """Every item (in ``states``), in order, read a page at a time."""
        after = 0
        wanted = list(states or STATES)
        while True:
            page = self.page(wanted, after)
            yield from page
            if len(page) < PAGE:
                return
            after = page[-1].item.seq

    def item(self, key: str) -> Optional[BatchItem]:
        with self._reading() as db:
            row = db.execute(f"SELECT {_COLUMNS} FROM items WHERE key = ?", (key,)).fetchone()
        return None if row is None else _row(row).item

    def total(self) -> int:
        return sum(self.counts.values())


def _read_owner(path: str) -> Optional[str]:
    try:
        db = sqlite3.connect(f"file:{quote(os.path.abspath(path))}?mode=ro", uri=True, timeout=1.0)
        try:
            row = db.execute("SELECT value FROM meta WHERE name = 'owner'").fetchone()
        finally:
            db.close()
    except sqlite3.Error:
        return None
    return _owner_text(row[0]) if row else None
