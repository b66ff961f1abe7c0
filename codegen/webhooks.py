"""Output kind: webhook events, from ``spec/webhooks.json`` (the published webhook description).

- ``magic_hour/types/webhook_events.py``: one pydantic model per event type (``type`` a ``Literal``,
  ``payload`` the response model of its project kind's GET, reused), :data:`WebhookEvent` (their union,
  discriminated on ``type``, with ``UnknownWebhookEvent`` for a type the SDK does not know yet) and
  ``EVENT_TYPES``.
- ``magic_hour/_data/webhooks.json``: the two headers, each event's project kind, the status that sends
  it and an example body (the ``magic-hour webhooks`` commands and ``magic_hour.testing`` read it).

An event ``<kind>.<name>`` needs ``kind`` in metadata's ``projects`` and ``name`` among metadata's
``webhooks.status_events``. The generator stops when an event's payload does not fit its kind's GET
response (a field missing there, another JSON type, nullable in the event only, or required there but
not in the event): the reused model would refuse real events.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Dict, List, Optional

from . import ir
from .data import GENERATED
from .examples import wire_example
from .load import Api, Json
from .names import pascal
from .pyfmt import HEADER, all_list, docstring

MODULE = "magic_hour/types/webhook_events.py"
DATA = "magic_hour/_data/webhooks.json"


@dataclass(frozen=True)
class Event:
    type: str  # "video.completed"
    kind: str  # "video": a key of metadata's projects
    status: str  # the project status that sends it: "complete"
    summary: str
    headers: List[str]  # its header parameters, in the spec's order
    payload: Json  # the payload's schema
    model: ir.Node  # the GET response model the payload reuses
    get: str  # that GET: "GET /v1/video-projects/{id}"

    @property
    def class_name(self) -> str:
        return "".join(pascal(part) for part in self.type.split(".")) + "WebhookEvent"


def _stop(where: str, why: str) -> SystemExit:
    return SystemExit(f"codegen: webhooks.json {where}: {why} (see codegen/webhooks.py)")


def _kind(schema: Json) -> Optional[str]:
    kind = schema.get("type")
    return str(kind) if kind else ("object" if "properties" in schema else None)


def check_fits(event: Json, model: Json, where: str) -> None:
    """Stop unless every value ``event`` allows also fits ``model`` (the GET response's schema)."""
    if _kind(event) != _kind(model):
        raise _stop(where, f"is {_kind(event)} in the event but {_kind(model)} in the project's GET")
    if event.get("nullable") and not model.get("nullable"):
        raise _stop(where, "is nullable in the event but not in the project's GET")
    if _kind(event) == "array":
        check_fits(event.get("items", {}), model.get("items", {}), where + "[]")
    if _kind(event) != "object":
        return
    props, model_props = event.get("properties", {}), model.get("properties", {})
    for name, sub in props.items():
        if name not in model_props:
            raise _stop(f"{where}.{name}", "is not a field of the project's GET response")
        check_fits(sub, model_props[name], f"{where}.{name}")
    loose = set(model.get("required", [])) - set(event.get("required", []))
    if loose:
        raise _stop(where, f"{sorted(loose)} required by the project's GET but not by the event")


def _json_body(op: Json) -> Json:
    schema: Json = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    return schema or {}


def events(api: Api) -> List[Event]:
    """The described events, sorted by type."""
    status_events: Dict[str, str] = api.webhook_meta.get("status_events", {})
    by_event = {name: status for status, name in status_events.items()}
    responses = {o.op.key: o.response for o in ir.build(api)}
    out: List[Event] = []
    for path, methods in api.webhooks.get("paths", {}).items():
        op = methods.get("post")
        if op is None or set(methods) != {"post"}:
            raise _stop(path, "an event is described as a POST only")
        body = _json_body(op)
        values = body.get("properties", {}).get("type", {}).get("enum", [])
        if len(values) != 1 or not isinstance(values[0], str) or values[0].count(".") != 1:
            raise _stop(path, "the body's type must be an enum of one '<kind>.<event>' value")
        name: str = values[0]
        kind, suffix = name.split(".")
        if kind not in api.projects or suffix not in by_event:
            raise _stop(path, f"{name}: '{kind}' must be in metadata's projects and '{suffix}' in webhooks")
        if set(body.get("required", [])) != {"type", "payload"}:
            raise _stop(path, "the body must require exactly type and payload")
        get: str = api.projects[kind]["get"]
        model = responses.get(get)
        if model is None:
            raise _stop(path, f"{get} has no JSON response to reuse")
        verb, get_path = get.split(" ", 1)
        get_op = api.document["paths"][get_path][verb.lower()]
        get_schema = get_op["responses"]["200"]["content"]["application/json"]["schema"]
        payload: Json = body["properties"]["payload"]
        check_fits(payload, get_schema, f"{path} payload")
        headers = [p["name"] for p in op.get("parameters", []) if p.get("in") == "header"]
        out.append(
            Event(
                name,
                kind,
                by_event[suffix],
                (op.get("summary") or name).strip(),
                headers,
                payload,
                model,
                get,
            )
        )
    out.sort(key=lambda e: e.type)
    if len({tuple(e.headers) for e in out}) > 1:
        raise _stop("parameters", "every event must have the same headers")
    return out


def example_body(event: Event) -> Json:
    """A realistic body of ``event``: the payload's examples, with the status that sends it, no outputs
    before completion and an error only when it errored."""
    payload = wire_example(event.payload)
    payload["status"] = event.status
    props = event.payload.get("properties", {})
    if "error" in payload:
        error = {k: v for k, v in props["error"].items() if k != "example"}
        payload["error"] = wire_example(error) if event.status == "error" else None
    if "downloads" in payload and event.status != "complete":
        payload["downloads"] = []
    return {"type": event.type, "payload": payload}


def _model_source(e: Event) -> str:
    kind = e.kind.replace("_", " ")
    article = "an" if kind[:1] in "aeiou" else "a"
    what = f"{e.summary}: sent when {article} {kind} project's status becomes ``{e.status}``."
    return (
        f"class {e.class_name}(BaseModel):\n"
        + docstring(what, "    ")
        + f'\n    type: Literal["{e.type}"]\n\n    payload: Annotated[{e.model.type_name}, _PAYLOAD]\n'
        + docstring(f"The project, as ``{e.get}`` answers it.", "    ")
    )


def render_module(evs: List[Event]) -> str:
    models = sorted({(e.model.module, e.model.type_name) for e in evs})
    types = [e.type for e in evs]
    lines = [
        HEADER.rstrip("\n"),
        '"""Webhook events (pydantic v2), from ``spec/webhooks.json``: one model per event type and',
        ":data:`WebhookEvent`, their union discriminated on ``type``.",
        "",
        "A ``type`` this version does not know parses into :class:`UnknownWebhookEvent` (the API may add",
        "events before the SDK knows them). A payload is the model of its project kind's GET response.",
        '"""',
        "",
        "from typing import Any, Dict, Tuple, Union, cast",
        "",
        "import pydantic",
        "from typing_extensions import Annotated, Literal, TypeAlias",
        "",
        "from ._base import BaseModel",
        *[f"from .models.{module} import {name}" for module, name in models],
        "",
        all_list(
            [e.class_name for e in evs]
            + ["EVENT_TYPES", "UnknownWebhookEvent", "WebhookEvent", "WebhookEventType"]
        ),
        "",
        "WebhookEventType: TypeAlias = Literal[" + ", ".join(json.dumps(t) for t in types) + "]",
        '"""Every event type the webhook description lists."""',
        "",
        "EVENT_TYPES: Tuple[WebhookEventType, ...] = (" + ", ".join(json.dumps(t) for t in types) + ",)",
        "",
        "# The description's schema names the project `payload`, its prose example `object`: read either.",
        '_PAYLOAD = pydantic.Field(validation_alias=pydantic.AliasChoices("payload", "object"))',
        "",
    ]
    body = [_model_source(e) for e in evs]
    body.append(
        "class UnknownWebhookEvent(BaseModel):\n"
        + docstring(
            "An event whose ``type`` this version of the SDK does not know yet; ``payload`` is the JSON as "
            "sent. Upgrade the SDK to get it typed; until then, ignore it or read ``payload``.",
            "    ",
        )
        + "\n    type: str\n\n    payload: Annotated[Any, _PAYLOAD] = None\n"
    )
    union = ",\n".join(f'        Annotated[{e.class_name}, pydantic.Tag("{e.type}")]' for e in evs)
    tail = [
        "_KNOWN = frozenset(EVENT_TYPES)",
        "",
        "",
        "def _tag(value: Any) -> str:",
        "    # A dict when parsing JSON, a model when validating an event already made.",
        '    kind: object = getattr(value, "type", None)',
        "    if isinstance(value, dict):",
        '        kind = cast(Dict[str, object], value).get("type")',
        '    return kind if isinstance(kind, str) and kind in _KNOWN else "unknown"',
        "",
        "",
        "WebhookEvent: TypeAlias = Annotated[",
        "    Union[",
        union + ",",
        '        Annotated[UnknownWebhookEvent, pydantic.Tag("unknown")],',
        "    ],",
        "    pydantic.Discriminator(_tag),",
        "]",
        '"""A verified webhook event: one of the ``*WebhookEvent`` models, or :class:`UnknownWebhookEvent`."""',
    ]
    return "\n".join(lines) + "\n\n" + "\n\n".join(body) + "\n\n" + "\n".join(tail) + "\n"


def render_data(evs: List[Event]) -> str:
    doc: Json = {
        "x-generated": GENERATED,
        "headers": evs[0].headers if evs else [],
        "events": {e.type: {"project": e.kind, "status": e.status, "example": example_body(e)} for e in evs},
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def render(api: Api) -> Dict[str, str]:
    if not api.webhooks:
        return {}
    evs = events(api)
    return {MODULE: render_module(evs), DATA: render_data(evs)}
