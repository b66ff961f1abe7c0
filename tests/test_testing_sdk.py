"""Our own ``Client``/``AsyncClient`` call every operation of the description against the fake, with
the description's example values (table-driven from ``api.json``: ``client.v1.<resource>.<method>``
from each operation's ``x-magic-hour``), through the transport and the real server."""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any, Dict, Iterator

import pytest
from conftest import Flavor

from magic_hour.testing import FakeMagicHour
from magic_hour.testing._spec import Operation, example, load_spec

pytestmark = pytest.mark.anyio

SPEC = load_spec()
OPS = sorted(SPEC.operations.values(), key=lambda op: op.key)


def python_names(value: Any) -> Any:
    """Keyword names as the SDK spells them: ``type`` is ``type_`` (a builtin), at every level."""
    if isinstance(value, dict):
        return {("type_" if k == "type" else k): python_names(v) for k, v in value.items()}
    if isinstance(value, list):
        return [python_names(v) for v in value]
    return value


def kwargs_of(op: Operation) -> Dict[str, Any]:
    body = example(op.body_schema, SPEC.document) if op.body_schema is not None else {}
    kwargs: Dict[str, Any] = python_names(body)
    for name, param in op.query_params.items():
        if "example" in param.get("schema", {}):
            kwargs["type_" if name == "type" else name] = param["schema"]["example"]
    return kwargs


def method_of(client: Any, op: Operation) -> Any:
    meta = op.spec["x-magic-hour"]
    target = client.v1
    for part in meta["resource"].split("."):
        target = getattr(target, part)
    return getattr(target, meta["method"])


@pytest.fixture(params=["transport", "server"])
def fake_url(request: pytest.FixtureRequest) -> Iterator[Any]:
    with ExitStack() as stack, FakeMagicHour() as fake:
        url = stack.enter_context(fake.serve()).url if request.param == "server" else None
        yield fake, url


@pytest.mark.parametrize("op", OPS, ids=[op.route for op in OPS])
async def test_our_sdk_calls_every_operation(sdk: Flavor, fake_url: Any, op: Operation) -> None:
    fake, url = fake_url
    if url is None:
        http = sdk.httpx_client(transport=fake.transport())
        client = sdk.client(token=fake.token, base_url=fake.base_url, httpx_client=http, max_retries=0)
    else:
        client = sdk.client(token=fake.token, base_url=url, max_retries=0)
    kwargs = kwargs_of(op)
    kind = SPEC.project_kind(op)
    if kind is not None:
        creator = next(o for o in OPS if o.creates == kind)
        kwargs["id"] = (await sdk.call(method_of(client, creator), **kwargs_of(creator))).id
    result = await sdk.call(method_of(client, op), **kwargs)
    record = fake.requests[-1]
    assert (record.operation, record.status) == (op.key, op.success[0])
    if op.success[1] is None:
        assert result is None
    elif op.creates:
        assert result.id == fake.projects[-1].id and result.credits_charged >= 0
    elif kind is not None:
        assert result.id == kwargs["id"] and result.status in ("complete",)
    await sdk.close(client)
