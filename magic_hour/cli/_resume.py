"""What a job command says when it is interrupted: whether a project was started, that it keeps running
(and spends its credits) on Magic Hour, and the exact command that picks it up again.

A :class:`JobState` follows one command's job (its id once the API answered the create, its last status)
and is read by the signal handler (:mod:`._signals`) from the main thread.
"""

from __future__ import annotations

import argparse
import shlex
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional

from ._output import PROG

ENDED = ("complete", "error", "canceled")


def noun(kind: str) -> str:
    """``image project``, ``face detection``."""
    return "face detection" if kind == "face_detection" else f"{kind} project"


@dataclass
class JobState:
    """One job's progress as far as an interrupt needs it. ``phase`` is ``uploading`` (nothing started
    yet), ``creating`` (the create request was sent, its answer not read), then ``started``."""

    group: str
    kind: str
    resume_argv: List[Optional[str]]  # None: where the id goes
    id: Optional[str] = None
    status: str = ""
    phase: str = "uploading"
    elapsed: Optional[float] = None

    def created(self, project_id: str) -> None:
        self.id, self.phase = project_id, "started"

    def resume_command(self) -> str:
        return command_line(self.id or "ID" if word is None else word for word in self.resume_argv)

    def lines(self) -> List[str]:
        """What to print after ``interrupted`` (the id and command are shown as the API sent them)."""
        what = noun(self.kind)
        if self.phase == "uploading":
            return ["no project was started: nothing was charged"]
        if self.phase == "creating":
            return [
                f"the {what} may have been started (interrupted before the API answered), "
                "and then keeps running and uses credits; look for it in your Magic Hour library"
            ]
        if self.status == "complete":
            return [f"{what} {self.id} is complete; to get its outputs: {self.resume_command()}"]
        if self.status in ENDED:
            return []
        return [
            f"{what} {self.id} keeps running on Magic Hour and costs its credits (stopping this command "
            "does not cancel it)",
            f"to wait for it and get its outputs: {self.resume_command()}",
        ]

    def document(self) -> Dict[str, Any]:
        """The members ``--json``'s interrupted document adds."""
        started = self.phase == "started"
        return {
            "id": self.id,
            "type": self.kind,
            "status": self.status or None,
            "started": started if self.phase != "creating" else None,
            "resume": self.resume_command() if started and self.status not in ("error", "canceled") else None,
        }


def where_the_api_is(args: argparse.Namespace) -> List[str]:
    """The global options a command that resumes this one keeps: where the API is (``--mock``,
    ``--base-url``), never the token."""
    words: List[str] = []
    if getattr(args, "mock", False):
        words.append("--mock")
    if getattr(args, "base_url", None):
        words += ["--base-url", args.base_url]
    return words


def command_line(words: Iterable[str]) -> str:
    """``magic-hour`` and ``words``, quoted for a POSIX shell: a command to copy and paste."""
    return " ".join(shlex.quote(word) for word in [PROG, *words])


def job_state(args: argparse.Namespace, command: Dict[str, Any], project_id: Optional[str]) -> JobState:
    """The state of the job ``command`` runs; its resume command keeps the options that say where the
    API is and where outputs go (``--output-dir``, ``-o``, ``--overwrite``; never the token)."""
    kind = str(command.get("kind", ""))
    has_download = kind != "face_detection"
    wanted_download = has_download and not getattr(args, "no_download", False)
    argv: List[Optional[str]] = [*where_the_api_is(args)]
    argv += [command["group"], "download" if wanted_download else "wait", None]
    if wanted_download and getattr(args, "output_dir", None):
        argv += ["--output-dir", args.output_dir]
    if wanted_download and getattr(args, "output", None):
        argv += ["-o", args.output]
    if wanted_download and getattr(args, "overwrite", False):
        argv.append("--overwrite")
    state = JobState(command["group"], kind, argv)
    if project_id is not None:
        state.created(project_id)
    return state
