"""The fake's async front-ends under trio too (the transport sleeps and streams through anyio)."""

from __future__ import annotations

import time

import httpx
import pytest

from magic_hour import ApiTimeoutError, AsyncClient
from magic_hour.testing import FakeMagicHour

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "trio"


async def _round_trip(client: AsyncClient, http: httpx.AsyncClient, fake: FakeMagicHour) -> None:
    res = await client.v1.files.upload_urls.create(items=[{"extension": "flac", "type_": "audio"}])
    item = res.items[0]

    async def body() -> object:
        yield b"trio "
        yield b"bytes"

    response = await http.put(item.upload_url, content=body(), headers={"Content-Length": "10"})
    assert response.status_code == 200
    assert fake.file(item.file_path).content == b"trio bytes"


async def test_transport_under_trio() -> None:
    fake = FakeMagicHour()
    async with fake.async_client(max_retries=0) as client, fake.async_httpx_client() as http:
        await _round_trip(client, http, fake)
        fake.set_latency(0.1)
        start = time.perf_counter()
        await client.v1.files.upload_urls.create(items=[{"extension": "png", "type_": "image"}])
        assert time.perf_counter() - start >= 0.1
        fake.set_latency(1.0)
        with pytest.raises(ApiTimeoutError):
            await client.v1.files.upload_urls.create(
                items=[{"extension": "png", "type_": "image"}], request_options={"timeout": 0.05}
            )


async def test_server_under_trio() -> None:
    with FakeMagicHour() as fake, fake.serve() as server:
        async with server.async_client(max_retries=0) as client, httpx.AsyncClient() as http:
            await _round_trip(client, http, fake)
