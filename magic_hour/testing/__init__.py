"""``magic_hour.testing``: a fake Magic Hour API and storage for offline tests (no extra dependencies).

:class:`FakeMagicHour` answers every operation of the API as documented (from the description shipped
in the package), runs the projects it starts with real downloadable outputs, and stores the bytes PUT
to the upload URLs it hands out, like object storage. Use it through an httpx transport (no sockets) or as
a real HTTP/1.1 server on 127.0.0.1; both behave the same.

Example::

    from magic_hour.testing import FakeMagicHour

    fake = FakeMagicHour()
    with fake.client() as client:                       # magic_hour.Client, no sockets
        res = client.v1.files.upload_urls.create(items=[{"extension": "mp4", "type_": "video"}])

    with fake.serve() as server:                        # a real server in a background thread
        print(server.url)

pytest users get the fixtures ``magic_hour_fake``, ``magic_hour_server`` and ``magic_hour_env``
(see :mod:`magic_hour.testing.pytest_plugin`). The guide is ``docs/testing.md``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._exchange import DEFAULT_TOKEN, EXPIRED_MESSAGE, Exchange, Reply
    from ._fake import FakeMagicHour
    from ._knobs import Route
    from ._projects import Project, ProjectChange
    from ._records import IssuedUrl, RecordedRequest, StoredFile
    from ._server import FakeServer
    from ._transport import FakeTransport
    from ._webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint, sign_webhook, webhook_body

# Imported on first use, so that the pytest plugin (loaded in every pytest run of every project that
# installs magic_hour) costs nothing until a fixture is used.
_LAZY = {
    "DEFAULT_TOKEN": "._exchange",
    "EXPIRED_MESSAGE": "._exchange",
    "Exchange": "._exchange",
    "FakeMagicHour": "._fake",
    "FakeServer": "._server",
    "FakeTransport": "._transport",
    "IssuedUrl": "._records",
    "Project": "._projects",
    "ProjectChange": "._projects",
    "RecordedRequest": "._records",
    "Reply": "._exchange",
    "Route": "._knobs",
    "StoredFile": "._records",
    "WebhookAttempt": "._webhooks",
    "WebhookDelivery": "._webhooks",
    "WebhookEndpoint": "._webhooks",
    "sign_webhook": "._webhooks",
    "webhook_body": "._webhooks",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "DEFAULT_TOKEN",
    "EXPIRED_MESSAGE",
    "Exchange",
    "FakeMagicHour",
    "FakeServer",
    "FakeTransport",
    "IssuedUrl",
    "Project",
    "ProjectChange",
    "RecordedRequest",
    "Reply",
    "Route",
    "StoredFile",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "sign_webhook",
    "webhook_body",
]
