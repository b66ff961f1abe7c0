"""pytest fixtures for testing code that uses ``magic_hour``, registered automatically (``pytest11``).

* ``magic_hour_fake``: a fresh :class:`~magic_hour.testing.FakeMagicHour` per test; use
  ``magic_hour_fake.client()`` / ``.async_client()`` (no sockets), the fault knobs and the inspection.
* ``magic_hour_server``: a running :class:`~magic_hour.testing.FakeServer` on 127.0.0.1 for that fake
  (``.url``, ``.client()``, ``.async_client()``), stopped after the test.
* ``magic_hour_env``: sets ``MAGIC_HOUR_API_TOKEN`` and ``MAGIC_HOUR_BASE_URL`` to the server, so code
  that builds its own ``Client()`` talks to the fake unchanged; yields the server.
* ``magic_hour_webhooks``: ``magic_hour_fake`` with ``MAGIC_HOUR_WEBHOOK_SECRET`` set to a test secret,
  so the endpoints you add get events your handler (verifying with that variable) accepts.

Importing this module costs nothing: the fake is imported when a fixture is first used. Disable the
plugin with ``-p no:magic_hour``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

import pytest

if TYPE_CHECKING:
    from magic_hour.testing import FakeMagicHour, FakeServer

__all__ = ["magic_hour_env", "magic_hour_fake", "magic_hour_server", "magic_hour_webhooks"]

WEBHOOK_TEST_SECRET = "whsec_magic-hour-pytest"


@pytest.fixture
def magic_hour_fake() -> Iterator[FakeMagicHour]:
    """A fresh fake Magic Hour API and storage (token ``magic_hour_fake.token``)."""
    from magic_hour.testing import FakeMagicHour

    with FakeMagicHour() as fake:
        yield fake


@pytest.fixture
def magic_hour_server(magic_hour_fake: FakeMagicHour) -> Iterator[FakeServer]:
    """``magic_hour_fake`` served on a real socket at ``magic_hour_server.url``."""
    with magic_hour_fake.serve() as server:
        yield server


@pytest.fixture
def magic_hour_env(magic_hour_server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> FakeServer:
    """Point ``Client()``/``AsyncClient()`` built from the environment at ``magic_hour_server``."""
    monkeypatch.setenv("MAGIC_HOUR_API_TOKEN", magic_hour_server.token)
    monkeypatch.setenv("MAGIC_HOUR_BASE_URL", magic_hour_server.url)
    return magic_hour_server


@pytest.fixture
def magic_hour_webhooks(magic_hour_fake: FakeMagicHour, monkeypatch: pytest.MonkeyPatch) -> FakeMagicHour:
    """``magic_hour_fake``, with ``MAGIC_HOUR_WEBHOOK_SECRET`` set to a test secret: endpoints added with
    ``add_webhook_endpoint(app_or_url)`` get events signed with it, and a handler that verifies with
    the environment's secret (``client.webhooks.unwrap(body, headers)``) accepts them."""
    monkeypatch.setenv("MAGIC_HOUR_WEBHOOK_SECRET", WEBHOOK_TEST_SECRET)
    return magic_hour_fake
