"""What ``--mock`` remembers between commands, in a local state directory, and the ``mock`` commands.

Each ``--mock`` command starts its own mock server; its projects are written to ``state.json`` in
:func:`state_dir` as soon as they appear or change (so an interrupted job can be resumed with
``--mock`` too) and when the command ends (deletions), and the next ``--mock`` command starts with
them: ``--no-wait`` then ``image get ID`` works. Outputs are made-up files again in each command.
``magic-hour mock reset`` forgets everything; ``magic-hour mock samples`` writes small sample inputs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import threading
from typing import TYPE_CHECKING, Any, Generator, List, Optional, cast

from ._output import EXIT_OK, Json, print_json, say, write_fields

if TYPE_CHECKING:
    from ..testing import FakeMagicHour

STATE_ENV = "MAGIC_HOUR_MOCK_DIR"
RENDER_ENV = "MAGIC_HOUR_MOCK_RENDER_SECONDS"
"""How long a ``--mock`` project renders (default 0: at once), to watch the progress or try Ctrl-C."""
FORMAT = 1
SAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "samples")


def state_dir() -> str:
    """``$MAGIC_HOUR_MOCK_DIR``, else ``$XDG_STATE_HOME/magic-hour/mock`` (``~/.local/state/...``; on
    Windows ``%LOCALAPPDATA%\\magic-hour\\mock``)."""
    given = os.environ.get(STATE_ENV)
    if given:
        return given
    if os.name == "nt":
        base = os.environ.get("LOCALAPPDATA") or os.path.join(os.path.expanduser("~"), "AppData", "Local")
    else:
        base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(base, "magic-hour", "mock")


def mock_render_seconds() -> float:
    """``$MAGIC_HOUR_MOCK_RENDER_SECONDS`` (a number >= 0), else 0; a bad value is a usage error."""
    from ._parser import UsageError

    text = os.environ.get(RENDER_ENV, "").strip()
    if not text:
        return 0.0
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 86400:
        raise UsageError(f"${RENDER_ENV}={text!r}: a number of seconds from 0 to 86400")
    return value


@contextlib.contextmanager
def _locked(directory: str) -> Generator[None, None, None]:
    """One writer at a time (two ``--mock`` commands in a pipe run at once); nothing on Windows."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: the rename is still atomic
        yield
        return
    with open(os.path.join(directory, "state.lock"), "a", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class MockState:
    """The state file of one ``--mock`` command: read at its start, merged and rewritten at each change."""

    def __init__(self, directory: Optional[str] = None) -> None:
        self.directory = directory or state_dir()
        self.path = os.path.join(self.directory, "state.json")
        self._lock = threading.Lock()

    def _read(self) -> List[Json]:
        try:
            with open(self.path, encoding="utf-8") as f:
                data = json.load(f)
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            say(f"warning: the mock's state {self.path} cannot be read ({exc}); starting without it")
            return []
        projects: Any = cast(Json, data).get("projects") if isinstance(data, dict) else None
        items: List[Any] = cast("List[Any]", projects) if isinstance(projects, list) else []  # type: ignore[redundant-cast]  # pyright needs it
        return [cast(Json, p) for p in items if isinstance(p, dict)]

    def restore(self, fake: FakeMagicHour) -> int:
        """Give ``fake`` the projects of earlier commands (deleted ones stay gone); how many. A project
        still rendering when it was saved ends when it would have (``ends_at``, wall clock)."""
        count = 0
        for record in self._read():
            if record.get("deleted"):
                continue
            outcome = str(record.get("outcome") or record.get("status"))
            ends_at = float(record.get("ends_at") or 0)
            due = ends_at - fake.now()
            status = outcome if due <= 0 else str(record.get("status"))
            with contextlib.suppress(Exception):  # one bad record must not stop the command
                fake.seed_project(
                    str(record["kind"]),
                    id=str(record["id"]),
                    status=status,
                    outputs=int(record.get("outputs") or 1) if status == "complete" else 0,
                    error=record.get("error") if status == "error" else None,
                    name=record.get("name"),
                    credits_charged=record.get("credits_charged"),
                )
                count += 1
                if due > 0:
                    self._finish_later(fake, str(record["id"]), outcome, record.get("error"), due)
        return count

    @staticmethod
    def _finish_later(fake: FakeMagicHour, project_id: str, outcome: str, error: Any, due: float) -> None:
        def end_project() -> None:
            with contextlib.suppress(Exception):
                fake.set_project_status(project_id, outcome, error=error if outcome == "error" else None)

        timer = threading.Timer(due, end_project)
        timer.daemon = True  # the command does not wait for it
        timer.start()

    def save(self, fake: FakeMagicHour) -> None:
        """Merge ``fake``'s projects into the state file (written whole, then renamed over it)."""
        now = fake.now()
        mine: List[Json] = []
        for p in fake.projects:
            body: Any = p.body
            name: Any = cast(Json, body).get("name") if isinstance(body, dict) else None
            mine.append(
                {
                    "id": p.id,
                    "kind": p.kind,
                    "status": p.status(now),
                    "name": name if isinstance(name, str) else None,
                    "credits_charged": p.credits_charged,
                    "error": p.error,
                    "outputs": len(p.outputs) or 1,
                    "deleted": p.deleted,
                    "outcome": p.outcome,
                    "ends_at": p.created_at + p.queue_seconds + p.render_seconds,
                }
            )
        if not mine:
            return
        with self._lock:
            os.makedirs(self.directory, exist_ok=True)
            with _locked(self.directory):
                merged = {str(r.get("id")): r for r in self._read()}
                merged.update({str(r["id"]): r for r in mine})
                tmp = f"{self.path}.{os.getpid()}.tmp"
                with open(tmp, "w", encoding="utf-8") as f:
                    json.dump({"format": FORMAT, "projects": list(merged.values())}, f, indent=1)
                os.replace(tmp, self.path)

    def reset(self) -> bool:
        """Forget every project; whether there was anything to forget."""
        existed = os.path.exists(self.path)
        for name in ("state.json", "state.lock"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(self.directory, name))
        return existed


def cmd_mock(args: argparse.Namespace, run: object) -> int:
    if args.mock_command == "reset":
        state = MockState()
        forgot = state.reset()
        if args.json:
            print_json({"ok": True, "state_dir": state.directory, "reset": forgot})
        else:
            say(
                f"the mock forgot its projects ({state.directory})"
                if forgot
                else "the mock had nothing to forget"
            )
        return EXIT_OK
    if args.mock_command == "where":
        if args.json:
            print_json({"ok": True, "state_dir": state_dir()})
        else:
            write_fields(state_dir())
        return EXIT_OK
    directory: str = args.directory
    os.makedirs(directory, exist_ok=True)
    written: List[str] = []
    for name in sorted(os.listdir(SAMPLES)):
        target = os.path.join(directory, name)
        if os.path.exists(target):
            say(f"{target} exists: kept as it is")
        else:
            shutil.copyfile(os.path.join(SAMPLES, name), target)
        written.append(target)
    if args.json:
        print_json({"ok": True, "files": written})
    else:
        for path in written:
            write_fields(path)
        sys.stdout.flush()
    return EXIT_OK
