"""Example events, from the webhook description (``magic_hour/_data/webhooks.json``, generated): what
``magic_hour.testing`` and the ``magic-hour webhooks`` commands send when you ask for an event."""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any, Dict, List

from .._errors.base import InvalidParameterError


@functools.cache
def _data() -> Dict[str, Any]:
    path = Path(__file__).resolve().parent.parent / "_data" / "webhooks.json"
    data: Dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def event_types() -> List[str]:
    return sorted(_data()["events"])


def example_event(event_type: str, payload: Dict[str, Any]) -> Dict[str, Any]:
    """The description's example of ``event_type`` (its status set, outputs only once complete, an error
    only when errored), with the fields of ``payload`` (wire names) replaced or added."""
    events: Dict[str, Any] = _data()["events"]
    if event_type not in events:
        raise InvalidParameterError("event_type", event_type, "one of " + ", ".join(sorted(events)))
    event: Dict[str, Any] = copy.deepcopy(events[event_type]["example"])
    event["payload"].update(payload)
    return event


def example_body(event_type: str, payload: Dict[str, Any]) -> bytes:
    return json.dumps(example_event(event_type, payload), separators=(",", ":"), ensure_ascii=False).encode()
