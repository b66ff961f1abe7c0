"""The armed fault knobs (plain state, no locking: the fake holds its lock around every call)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import httpx

from ._exchange import Reply, json_reply, reply, xml_error

__all__ = ["BodyType", "Countdown", "Failure", "Faults", "FileDrops", "failure_reply"]

BodyType = Union[bytes, str, Mapping[str, Any], None]


@dataclass
class Failure:
    status: int
    headers: Dict[str, str]
    body: BodyType
    remaining: int  # per file_path when used (per_file=True)
    used: Optional[Dict[str, int]] = None


@dataclass
class FileDrops:
    times: int
    after_bytes: Optional[int]
    used: Dict[str, int]


@dataclass
class Countdown:
    """A fault armed for the next ``remaining`` requests it applies to."""

    remaining: int = 0
    value: int = 0  # knob-specific: item-count delta

    def consume(self) -> bool:
        if self.remaining > 0:
            self.remaining -= 1
            return True
        return False


@dataclass
class Faults:
    """Every knob, disarmed. ``failures`` and ``latency`` are keyed by route (``None``: every route)."""

    failures: Dict[str, List[Failure]] = field(default_factory=lambda: {})
    latency: Dict[Optional[str], float] = field(default_factory=lambda: {})
    expire: Countdown = field(default_factory=Countdown)
    advertise_valid: bool = False
    drop: Countdown = field(default_factory=Countdown)
    drop_after: Optional[int] = None
    file_failures: List[Failure] = field(default_factory=lambda: [])
    file_drops: Optional[FileDrops] = None
    malformed: Countdown = field(default_factory=Countdown)
    wrong_count: Countdown = field(default_factory=Countdown)
    endings: List[Tuple[str, Optional[Dict[str, str]]]] = field(default_factory=lambda: [])
    download_drop: Countdown = field(default_factory=Countdown)
    download_drop_after: Optional[int] = None
    download_file_drops: Optional[FileDrops] = None

    def take_download_drop(self, file_path: str) -> Tuple[bool, Optional[int]]:
        """Whether to cut this download of ``file_path``, and after how many bytes (``None``: half)."""
        drops = self.download_file_drops
        if drops is not None and drops.used.get(file_path, 0) < drops.times:
            drops.used[file_path] = drops.used.get(file_path, 0) + 1
            return True, drops.after_bytes
        return self.download_drop.consume(), self.download_drop_after

    def delay(self, routes: Tuple[str, ...]) -> float:
        """The latency of the first of ``routes`` that has one, else of every route."""
        for route in routes:
            if route in self.latency:
                return self.latency[route]
        return self.latency.get(None, 0.0)

    def take_failure(self, routes: Tuple[str, ...], file_path: Optional[str] = None) -> Optional[Failure]:
        """The failure armed for the first of ``routes`` that has one (per-file failures first)."""
        if file_path is not None:
            for failure in self.file_failures:
                assert failure.used is not None
                if failure.used.get(file_path, 0) < failure.remaining:
                    failure.used[file_path] = failure.used.get(file_path, 0) + 1
                    return failure
        for route in routes:
            queue = self.failures.get(route)
            if not queue:
                continue
            failure = queue[0]
            failure.remaining -= 1
            if failure.remaining <= 0:
                queue.pop(0)
            return failure
        return None

    def take_drop(self, file_path: str) -> Tuple[bool, Optional[int]]:
        """Whether to drop this PUT of ``file_path``, and after how many bytes (``None``: half)."""
        drops = self.file_drops
        if drops is not None and drops.used.get(file_path, 0) < drops.times:
            drops.used[file_path] = drops.used.get(file_path, 0) + 1
            return True, drops.after_bytes
        return self.drop.consume(), self.drop_after


def failure_reply(failure: Failure, storage: bool, request_id: str) -> Reply:
    """The reply of a ``fail_next`` knob: the API's JSON shape, or storage's S3 XML."""
    phrase = httpx.codes.get_reason_phrase(failure.status) or "Error"
    if failure.body is None:
        if storage:
            code = {500: "InternalError", 503: "SlowDown"}.get(failure.status, phrase.replace(" ", ""))
            answer = xml_error(failure.status, code, phrase, request_id)
        else:
            answer = json_reply(failure.status, {"message": phrase}, request_id)
    elif isinstance(failure.body, Mapping):
        answer = json_reply(failure.status, dict(failure.body), request_id)
    else:
        raw = failure.body.encode() if isinstance(failure.body, str) else failure.body
        answer = reply(failure.status, raw, "text/plain; charset=utf-8", [])
    replaced = {h.lower() for h in failure.headers}
    headers = [(k, v) for k, v in answer.headers if k.lower() not in replaced]
    return Reply(answer.status, headers + list(failure.headers.items()), answer.body)
