"""Redirects answering API calls (not downloads: tests/test_hostile_downloads.py): followed only through a
client lent with ``follow_redirects=True``, by the SDK, each redirect closed with its body unread (httpx
reads and inflates it whole: a 300 KB gzip body on a 302 cost ~630 MB), at most the lent client's
``max_redirects``, and only where the token may go (the same origin); otherwise the redirect is the
answer, an ``ApiError`` with its status. Real sockets on 127.0.0.1; sync, asyncio and trio.
"""

from __future__ import annotations

import json
import tracemalloc
from typing import Any, Callable, List, Sequence, Tuple

import _modes
import pytest
from _codings import bomb
from _servers import RawServer, Received, Respond
from conftest import SEED_ITEMS, SEED_RESPONSE, TOKEN, UPLOAD_URLS_PATH, Flavor

from magic_hour import ApiError

pytestmark = pytest.mark.anyio

# Client, and AsyncClient on asyncio and on trio (see tests/_modes.py).
mode, anyio_backend, sdk = _modes.mode, _modes.anyio_backend, _modes.sdk

MB = 1024 * 1024
ANSWER = Respond(200, [("Content-Type", "application/json")], json.dumps(SEED_RESPONSE).encode())


def redirecting(
    hops: int, body: bytes = b"", headers: Sequence[Tuple[str, str]] = (), status: int = 307, base: str = ""
) -> Callable[[Received], Respond]:
    """The API's path redirects to ``<base>/r1``, ``/r<n>`` to ``/r<n+1>`` (each with ``body``) up to
    ``/r<hops>``, which answers the seed's response."""

    def answer(request: Received) -> Respond:
        n = int(request.target[2:]) if request.target.startswith("/r") else 0
        if n >= hops:
            return ANSWER
        return Respond(status, [("Location", f"{base}/r{n + 1}"), *headers], body)

    return answer


def following(sdk: Flavor, server: RawServer, **kwargs: Any) -> Any:
    """A client lent an httpx client that follows redirects (as the official SDK would use it)."""
    kwargs.setdefault("follow_redirects", True)
    lent = sdk.httpx_client(**kwargs)
    return sdk.client(base_url=server.url, httpx_client=lent, max_retries=2)


async def test_redirect_bodies_are_never_read(sdk: Flavor) -> None:
    # Three 307s, each with a 32 KB gzip body inflating to 32 MiB: httpx following them itself held
    # 146 MiB at once (and 630 MB for a 300 KB body). Each is closed unread now; the answer still comes.
    body = bomb("gzip", 32 * MB)
    with RawServer(redirecting(3, body, [("Content-Encoding", "gzip")])) as server:
        client = following(sdk, server)
        tracemalloc.start()
        try:
            result = await sdk.create(client)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        seen = server.requests
    assert result.model_dump() == SEED_RESPONSE
    assert peak < 8 * MB, f"{peak / MB:.0f} MiB in memory at once"
    assert [r.target for r in seen] == [UPLOAD_URLS_PATH, "/r1", "/r2", "/r3"]
    # A 307 keeps the method and the body; the same origin keeps the token.
    wire_items = [{"extension": i["extension"], "type": i["type_"]} for i in SEED_ITEMS]
    assert all(r.method == "POST" and json.loads(r.body) == {"items": wire_items} for r in seen)
    assert all(r.header("authorization") == f"Bearer {TOKEN}" for r in seen)


async def test_redirects_are_bounded_by_the_lent_clients_max_redirects(sdk: Flavor) -> None:
    # A loop ends after max_redirects (httpx's own bound, here 3): the last redirect is the answer,
    # an ApiError, not retried (a redirect proves nothing was done; the same one would come back).
    with RawServer(redirecting(1000, status=302)) as server:
        client = following(sdk, server, max_redirects=3)
        with pytest.raises(ApiError) as info:
            await sdk.create(client)
        seen = [r.target for r in server.requests]
    assert info.value.status_code == 302
    assert seen == [UPLOAD_URLS_PATH, "/r1", "/r2", "/r3"]


@pytest.mark.parametrize("elsewhere", ["another port", "another host name", "https on another port"])
async def test_a_redirect_elsewhere_is_the_answer(sdk: Flavor, elsewhere: str) -> None:
    # The API's answer comes from the API's origin, and the token goes nowhere else: a redirect to
    # another origin is not followed (httpx would follow it without the token and take what that host
    # says for the API's answer); nothing at all is sent there.
    to: List[str] = []
    with RawServer([ANSWER] * 2) as other, RawServer(lambda r: Respond(307, [("Location", to[0])])) as server:
        base = {
            "another port": other.url,
            "another host name": f"http://localhost:{server.port}",  # the same socket, another origin
            "https on another port": f"https://127.0.0.1:{other.port}",  # not the upgrade of this origin
        }[elsewhere]
        to.append(f"{base}/r1")
        client = following(sdk, server)
        with pytest.raises(ApiError) as info:
            await sdk.create(client)
        assert info.value.status_code == 307
        assert [r.target for r in server.requests] == [UPLOAD_URLS_PATH]
        assert other.requests == []


@pytest.mark.parametrize("lent", ["own client", "lent, not following"])
async def test_without_follow_redirects_a_redirect_is_the_answer(sdk: Flavor, lent: str) -> None:
    with RawServer(redirecting(1)) as server:
        if lent == "own client":
            client = sdk.client(base_url=server.url, max_retries=2)
        else:
            client = following(sdk, server, follow_redirects=False)
        with pytest.raises(ApiError) as info:
            await sdk.create(client)
        assert info.value.status_code == 307
        assert [r.target for r in server.requests] == [UPLOAD_URLS_PATH]


async def test_an_api_call_through_the_sdks_own_pool_answers_as_httpx_clients_do(
    sdk: Flavor, caplog: pytest.LogCaptureFixture
) -> None:
    """The SDK's own pool sends an API call straight to its transport, not through ``httpx.Client.send``
    (no auth, event hooks or mounts to apply, no redirect to follow); the answer is still what that
    would give: the response's ``request`` and ``elapsed``, httpx's INFO line, a redirect as the answer
    (an ``ApiError`` naming its status), and no cookie sent back (the SDK never sent the jar's cookies).
    A lent client still sends through ``client.send``: its event hooks see each request."""
    import logging

    caplog.set_level(logging.INFO, logger="httpx")
    cookie = [("Content-Type", "application/json"), ("Set-Cookie", "sid=abc; Path=/")]
    moved = Respond(302, [("Location", "/r1"), ("Set-Cookie", "sid=abc; Path=/")], b"")
    with RawServer([Respond(200, cookie, json.dumps(SEED_RESPONSE).encode()), moved], then=ANSWER) as server:
        client = sdk.client(base_url=server.url, max_retries=0)
        result = await sdk.call(client.v1.files.upload_urls.create, items=SEED_ITEMS)
        assert result.items[0].file_path == SEED_RESPONSE["items"][0]["file_path"]
        with pytest.raises(ApiError) as info:
            await sdk.call(client.v1.files.upload_urls.create, items=SEED_ITEMS)
        await sdk.call(client.v1.files.upload_urls.create, items=SEED_ITEMS)
        requests = server.requests
    assert [r.target for r in requests] == [UPLOAD_URLS_PATH] * 3
    assert all(r.header("cookie") is None for r in requests)
    response = info.value.response
    assert (response.status_code, response.request.method, response.request.url.path) == (
        302,
        "POST",
        UPLOAD_URLS_PATH,
    )
    assert response.elapsed.total_seconds() >= 0
    lines = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert [line.split('"')[1] for line in lines] == [
        "HTTP/1.1 200 OK",
        "HTTP/1.1 302 Found",
        "HTTP/1.1 200 OK",
    ]
    assert all(line.startswith(f"HTTP Request: POST {server.url}{UPLOAD_URLS_PATH} ") for line in lines), (
        lines
    )

    seen: List[str] = []

    def hook(request: Any) -> None:
        seen.append(request.url.path)

    async def ahook(request: Any) -> None:
        hook(request)

    with RawServer(then=ANSWER) as server:
        hooks = {"request": [ahook if sdk.is_async else hook]}
        client = sdk.client(base_url=server.url, httpx_client=sdk.httpx_client(event_hooks=hooks))
        await sdk.call(client.v1.files.upload_urls.create, items=SEED_ITEMS)
    assert seen == [UPLOAD_URLS_PATH]


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
async def test_a_closed_own_client_sends_nothing_directly(is_async: bool) -> None:
    """``send_direct`` skips ``httpx.Client.send`` but keeps its first check: a closed client refuses
    with httpx's RuntimeError (which the drivers report as ClientClosedError) and nothing reaches the
    server. The drivers check before sending too; this covers a close by another thread in between."""
    import httpx

    from magic_hour._core.owned import OwnAsyncClient, OwnClient

    with RawServer([ANSWER]) as server:
        request = httpx.Request("GET", f"{server.url}/v1/account")
        if is_async:
            aclient = OwnAsyncClient(httpx.Timeout(5), httpx.Limits())
            await aclient.aclose()
            with pytest.raises(RuntimeError, match="client has been closed"):
                await aclient.send_direct(request)
        else:
            client = OwnClient(httpx.Timeout(5), httpx.Limits())
            client.close()
            with pytest.raises(RuntimeError, match="client has been closed"):
                client.send_direct(request)
        assert server.requests == []
