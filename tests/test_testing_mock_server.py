"""Every operation of ``magic_hour/_data/api.json``, sync and async, against the fake in mock-server mode:
the offline stand-in for the official SDK's hosted mock (``Environment.MOCK_SERVER``). Table-driven like
``tests/test_operations.py`` (a new operation needs no new test code).

Each operation is called as the official generated tests call it: a client built with
``token="API_TOKEN", environment=Environment.MOCK_SERVER``, the docs example's arguments, and ids the
fake never saw. The fake records the request at the mock server's URL under the operation's route and
answers it: the response parses into the operation's model (``None`` for a delete), and a project's
``GET`` answers a project of that kind under the id asked for. Without the mode the same ids are 404.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Dict, Iterator

import pytest
from conftest import Flavor
from test_operations import OPS, DocOp

from codegen.examples import call_arguments
from magic_hour import Environment, NotFoundError
from magic_hour.testing import FakeMagicHour
from magic_hour.testing._spec import load_spec

pytestmark = pytest.mark.anyio

SPEC = load_spec()
IDS = [d.op.key for d in OPS]
PROJECT_PATHS = {key.split(" ", 1)[1]: kind for kind, key in SPEC.projects.items()}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeMagicHour]:
    with FakeMagicHour(mock_server=True) as fake:
        yield fake


def method_of(client: Any, d: DocOp) -> Callable[..., Any]:
    fn: Callable[..., Any] = functools.reduce(getattr, ["v1", *d.op.resource.split("."), d.op.method], client)
    return fn


def made_up(d: DocOp) -> Dict[str, Any]:
    """The docs example's arguments, with a fresh made-up id (one the fake never saw) per call."""
    kwargs = dict(call_arguments(d))
    if "id" in kwargs:
        kwargs["id"] = f"made-up-{d.op.method}-{d.op.resource}"
    return kwargs


@pytest.mark.parametrize("d", OPS, ids=IDS)
async def test_every_operation_answers_as_the_hosted_mock(sdk: Flavor, fake: FakeMagicHour, d: DocOp) -> None:
    http = sdk.httpx_client(transport=fake.transport())
    client = sdk.client(token="API_TOKEN", environment=Environment.MOCK_SERVER, httpx_client=http)
    kwargs = made_up(d)
    before = len(fake.requests)
    response = await sdk.call(method_of(client, d), **kwargs)

    (record,) = fake.requests[before:]
    assert record.operation == d.op.key
    assert record.url.startswith(Environment.MOCK_SERVER.value + "/v1/")
    assert record.status == (204 if d.ok is None else 200)
    if d.ok is None:
        assert response is None
    else:
        assert type(response).__name__ == d.response_type
    kind = PROJECT_PATHS.get(d.op.path)
    if kind is not None and d.op.http_method == "GET":
        assert response.id == kwargs["id"] and response.status == "complete"
        assert fake.project(kwargs["id"]).kind == kind


@pytest.mark.parametrize("d", [d for d in OPS if d.op.path in PROJECT_PATHS], ids=lambda d: d.op.key)
async def test_without_the_mode_a_made_up_id_is_not_found(sdk: Flavor, d: DocOp) -> None:
    strict = FakeMagicHour()
    http = sdk.httpx_client(transport=strict.transport())
    client = sdk.client(token=strict.token, base_url=strict.base_url, httpx_client=http)
    with pytest.raises(NotFoundError):
        await sdk.call(method_of(client, d), **made_up(d))
