"""Regression tests of the hostile review (issue 12), core part: what a misbehaving server, a hostile
environment or odd input did to the client, each reproduced through real sockets on 127.0.0.1.

Every test runs with ``Client`` and ``AsyncClient`` (``sdk``); the async ones on asyncio and trio.
"""

from __future__ import annotations

import functools
import gzip
import json
import logging
import pickle
import time
import tracemalloc
import zlib
from typing import Any, Iterator

import _modes
import pytest
from _codings import CODINGS, bomb
from _servers import Drip, RawServer, Reset, Respond, closed_port
from conftest import TOKEN, Flavor, assert_no_secret

from magic_hour import (
    ApiConnectionError,
    ApiResponseValidationError,
    ApiTimeoutError,
    AuthenticationError,
    BadRequestError,
    Client,
    InsecureTransportError,
    InternalServerError,
    InvalidParameterError,
    StorageError,
    UploadUrlsMismatchError,
)

pytestmark = [pytest.mark.anyio, pytest.mark.full]

# Client, and AsyncClient on asyncio and on trio (see tests/_modes.py).
mode, anyio_backend, sdk = _modes.mode, _modes.anyio_backend, _modes.sdk


JSON = ("Content-Type", "application/json")


def _json(status: int, body: bytes, *headers: Any) -> Respond:
    return Respond(status, [JSON, *headers], body)


@pytest.fixture
def one_server() -> Iterator[Any]:
    servers: list[RawServer] = []

    def make(*script: Any, then: Any = None) -> RawServer:
        server = RawServer(list(script), then=then or Respond(404))
        servers.append(server)
        return server

    yield make
    for s in servers:
        s.stop()


# ------------------------------------------------------------------ 5, 6: secrets in messages and pickles


async def test_token_echoed_near_the_cut_is_redacted_whole(sdk: Flavor, one_server: Any) -> None:
    for pad in (250, 290, 295, 300):  # the cut falls before, inside and after the token
        server = one_server(
            _json(401, b'{"message": "' + b"x" * pad + b" bad token " + TOKEN.encode() + b'"}')
        )
        with pytest.raises(AuthenticationError) as info:
            await sdk.create(sdk.client(base_url=server.url, max_retries=0))
        message = str(info.value)
        assert_no_secret(message)
        assert TOKEN[:6] not in message, message  # no prefix of it either
        assert len(message) < 400


async def test_pickled_errors_carry_no_secret(sdk: Flavor, one_server: Any) -> None:
    echo = b'{"message": "invalid token ' + TOKEN.encode() + b'"}'  # the body echoes it, too
    server = one_server(_json(401, echo), Reset())
    client = sdk.client(base_url=server.url, max_retries=0)
    with pytest.raises(AuthenticationError) as auth:
        await sdk.create(client)
    with pytest.raises(ApiConnectionError) as conn:
        await sdk.create(client)
    for error in (auth.value, conn.value):
        data = pickle.dumps(error)
        assert TOKEN.encode() not in data
        again = pickle.loads(data)
        assert type(again) is type(error) and str(again) == str(error)
    assert pickle.loads(pickle.dumps(auth.value)).response.status_code == 401


# ------------------------------------------------------------------ 19, 20, 10: bodies a server chooses


@pytest.mark.parametrize("charset", ["hex", "rot13", "zlib", "no-such-codec"])
async def test_odd_charsets_are_typed_errors(sdk: Flavor, one_server: Any, charset: str) -> None:
    ctype = ("Content-Type", f"text/plain; charset={charset}")
    server = one_server(Respond(500, [ctype], b"broken \xff"), Respond(200, [ctype], b"not json \xff"))
    client = sdk.client(base_url=server.url, max_retries=0)
    with pytest.raises(InternalServerError) as info:
        await sdk.create(client)
    assert "broken" in str(info.value)
    with pytest.raises(ApiResponseValidationError):
        await sdk.create(client)


async def test_deeply_nested_json_is_a_typed_error(sdk: Flavor, one_server: Any) -> None:
    deep = b"[" * 200_000 + b"]" * 200_000
    server = one_server(_json(200, deep), _json(400, deep), _json(500, deep))
    client = sdk.client(base_url=server.url, max_retries=0)
    for expected in (ApiResponseValidationError, BadRequestError, InternalServerError):
        with pytest.raises(expected) as info:
            await sdk.create(client)
        assert len(str(info.value)) < 400


@functools.cache  # compressing is most of these tests' time: once per shape
def _gzip_bomb(inflated_mib: int, layers: int = 1) -> bytes:
    data = b""
    chunk = b"\0" * (1024 * 1024)
    c = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    data = b"".join(c.compress(chunk) for _ in range(inflated_mib)) + c.flush()
    for _ in range(layers - 1):
        data = gzip.compress(data)
    return data


@pytest.mark.parametrize("layers", [1, 2])
async def test_gzip_bomb_in_an_error_body_is_cut(sdk: Flavor, one_server: Any, layers: int) -> None:
    bomb = _gzip_bomb(64, layers)  # 64 MiB inflated, 64 times the limit (~200 bytes doubly compressed)
    encoding = ", ".join(["gzip"] * layers)
    server = one_server(Respond(500, [JSON, ("Content-Encoding", encoding)], bomb))
    with pytest.raises(InternalServerError) as info:
        await sdk.create(sdk.client(base_url=server.url, max_retries=0))
    response = info.value.response
    assert len(response.content) <= 1024 * 1024
    assert isinstance(info.value.body, str)
    # The body was decoded by the SDK, within bounds: the response says so (httpx would decode it again,
    # unbounded, if it kept the wire's Content-Encoding), and keeps the rest.
    assert "content-encoding" not in response.headers
    assert response.headers["content-type"] == "application/json"
    assert response.status_code == 500 and response.request.url.path == "/v1/files/upload-urls"


@pytest.mark.parametrize("wbits", [zlib.MAX_WBITS, -zlib.MAX_WBITS], ids=["zlib", "raw"])
async def test_a_deflate_body_with_or_without_its_zlib_header_is_read(
    sdk: Flavor, one_server: Any, wbits: int
) -> None:
    # Content-Encoding: deflate is zlib-wrapped (RFC 9110); some servers send raw deflate, which was
    # retried as such by reading an attribute zlib has not (an AttributeError out of the call).
    answer = json.dumps(
        {
            "items": [
                {
                    "expires_at": "2030-01-01T00:00:00Z",
                    "file_path": "api-assets/x/a.mp4",
                    "upload_url": "https://storage.test/a.mp4",
                }
            ]
        }
    ).encode()
    c = zlib.compressobj(9, zlib.DEFLATED, wbits)
    server = one_server(_json(200, c.compress(answer) + c.flush(), ("Content-Encoding", "deflate")))
    res = await sdk.create(
        sdk.client(base_url=server.url, max_retries=0), items=[{"extension": "mp4", "type_": "video"}]
    )
    assert res.items[0].file_path == "api-assets/x/a.mp4"


@pytest.mark.parametrize("coding", CODINGS)
async def test_a_bomb_in_an_api_body_is_cut_in_flat_memory(sdk: Flavor, one_server: Any, coding: str) -> None:
    # httpx's decoders make all the output of a piece at once.
    server = one_server(Respond(500, [JSON, ("Content-Encoding", coding)], bomb(coding, 64 * 1024 * 1024)))
    tracemalloc.start()
    try:
        with pytest.raises(InternalServerError) as info:
            await sdk.create(sdk.client(base_url=server.url, max_retries=0))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(info.value.response.content) == 1024 * 1024
    assert peak < 16 * 1024 * 1024, f"{peak / 1024 / 1024:.0f} MiB in memory at once"
    # Asked for by the API requests: the codings the standard library decodes within bounds, and only those.
    assert server.requests[0].header("accept-encoding") == "gzip, deflate"


async def test_oversized_success_body_is_refused(
    sdk: Flavor, one_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("magic_hour._core.response.SUCCESS_BODY_LIMIT", 1024 * 1024)
    server = one_server(Respond(200, [JSON, ("Content-Encoding", "gzip")], _gzip_bomb(8)))
    with pytest.raises(ApiResponseValidationError, match=r"larger than"):
        await sdk.create(sdk.client(base_url=server.url, max_retries=0))


# ------------------------------------------------------------------ 9: deadlines


@pytest.mark.parametrize("lent", [False, True], ids=["own", "lent"])
async def test_a_dripping_answer_times_out_per_attempt(sdk: Flavor, one_server: Any, lent: bool) -> None:
    body = b'{"items": []}' + b" " * 200
    server = one_server(Drip(_json(200, body), every=0.02, size=2))  # ~5 s in all, 20 ms per piece
    kwargs: Any = {"httpx_client": sdk.httpx_client(timeout=0.5)} if lent else {"timeout": 0.5}
    start = time.monotonic()
    with pytest.raises(ApiTimeoutError):
        await sdk.create(sdk.client(base_url=server.url, max_retries=0, **kwargs))
    assert time.monotonic() - start < 2.5


@pytest.mark.parametrize("route", ["direct", "env-proxy"])
async def test_dripping_headers_time_out_per_attempt_on_the_clients_own_pool(
    sdk: Flavor, one_server: Any, monkeypatch: pytest.MonkeyPatch, route: str
) -> None:
    """The response deadline covers the status line and headers too, which only the network layer of
    the SDK's own pool can see (httpx has no public way to give its transport a network backend: the
    SDK builds its own over httpcore's pools, proxies of the environment included). A lent client's
    headers are bounded per socket read only (docs/client.md)."""
    reply = _json(200, b'{"items": []}', ("X-Pad", "p" * 400))  # ~4.5 s of headers at this drip
    server = one_server(Respond(200, [JSON], b'{"items": []}'), then=Drip(reply, every=0.02, size=2))
    kwargs: Any = {"base_url": server.url}
    if route == "env-proxy":
        monkeypatch.setenv("HTTP_PROXY", server.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        kwargs = {"base_url": "http://api.example", "allow_insecure_http": True}
    client = sdk.client(max_retries=0, timeout=0.5, **kwargs)
    assert (await sdk.create(client)).items == []
    if route == "env-proxy":  # the absolute form a proxy is sent
        assert server.requests[0].target == "http://api.example/v1/files/upload-urls"
    start = time.monotonic()
    with pytest.raises(ApiTimeoutError):
        await sdk.create(client)
    assert time.monotonic() - start < 2.5


async def test_total_timeout_bounds_the_call_across_retries(sdk: Flavor, one_server: Any) -> None:
    server = one_server(then=_json(503, b'{"message": "busy"}', ("Retry-After", "0.4")))
    client = sdk.client(base_url=server.url, max_retries=50)
    start = time.monotonic()
    with pytest.raises(InternalServerError):
        await sdk.create(client, request_options={"total_timeout": 1.0})
    assert time.monotonic() - start < 1.5
    assert 2 <= len(server.requests) <= 4
    with pytest.raises(InvalidParameterError, match="total_timeout"):
        await sdk.create(client, request_options={"total_timeout": -1})


async def test_total_timeout_cuts_a_hanging_attempt(sdk: Flavor, one_server: Any) -> None:
    server = one_server(then=Drip(_json(200, b'{"items": []}' + b" " * 500), every=0.05))
    start = time.monotonic()
    with pytest.raises(ApiTimeoutError, match=r"total_timeout|timed out"):
        await sdk.create(
            sdk.client(base_url=server.url, max_retries=5), request_options={"total_timeout": 0.6}
        )
    assert time.monotonic() - start < 1.5


# ------------------------------------------------------------------ 4, 8, 21: where requests go


async def test_plain_http_through_a_remote_proxy_is_refused(
    sdk: Flavor, one_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = f"http://proxy.example:{closed_port()}"
    monkeypatch.setenv("HTTP_PROXY", proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    server = one_server(then=_json(200, b'{"items": []}'))
    with pytest.raises(InsecureTransportError, match=r"proxy\.example") as info:
        await sdk.create(sdk.client(base_url=server.url))
    assert_no_secret(str(info.value))
    # A lent client that trusts the environment (httpx's default) goes through the same proxy.
    with pytest.raises(InsecureTransportError, match=r"proxy\.example"):
        await sdk.create(sdk.client(base_url=server.url, httpx_client=sdk.httpx_client()))
    # trust_env=False on a lent client: no proxy, so loopback is fine.
    lent = sdk.httpx_client(trust_env=False)
    assert (await sdk.create(sdk.client(base_url=server.url, httpx_client=lent))).items == []
    # NO_PROXY for the host: direct, fine.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert (await sdk.create(sdk.client(base_url=server.url))).items == []


@pytest.mark.parametrize(
    "url",
    [
        "https://api..magichour.ai",
        "https://" + "a" * 64 + ".com",
        "https://xn--zz.com",
        "https://.example.com",
    ],
)
def test_malformed_host_names_are_refused_up_front(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for cls in (Client,):
        with pytest.raises(InvalidParameterError, match="base_url"):
            cls(token=TOKEN, base_url=url)
        monkeypatch.setenv("MAGIC_HOUR_BASE_URL", url)
        with pytest.raises(InvalidParameterError, match="MAGIC_HOUR_BASE_URL"):
            cls(token=TOKEN)
        monkeypatch.delenv("MAGIC_HOUR_BASE_URL")


# ------------------------------------------------------------------ 22: what messages quote


async def test_messages_quote_bounded_values(sdk: Flavor) -> None:
    with pytest.raises(InvalidParameterError) as info:
        sdk.client(max_retries=-(10**5000))
    assert len(str(info.value)) < 300
    nested: Any = []
    for _ in range(50_000):
        nested = [nested]
    with pytest.raises(InvalidParameterError) as deep:
        await sdk.create(sdk.client(), items=[nested])
    assert len(str(deep.value)) < 400


async def test_a_lone_surrogate_in_query_params_is_refused(sdk: Flavor, one_server: Any) -> None:
    server = one_server(then=_json(200, b'{"items": []}'))
    with pytest.raises(InvalidParameterError, match="additional_params"):
        await sdk.create(
            sdk.client(base_url=server.url), request_options={"additional_params": {"q": "a\udc80"}}
        )
    assert server.requests == []


# ------------------------------------------------------------------ 6, 7, 21: upload URLs' secrets


def _presign(storage: RawServer, url_template: str) -> Respond:
    expires = "2099-01-01T00:00:00Z"
    url = url_template.format(port=storage.port)
    item = {"expires_at": expires, "file_path": "api-assets/x/f.mp4", "upload_url": url}
    import json

    return _json(200, json.dumps({"items": [item]}).encode())


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    for name in ("magic_hour", "httpx", "httpcore"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def _logged(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join([caplog.text] + [r.getMessage() for r in caplog.records])


async def test_upload_url_credentials_and_signed_redirects_stay_secret(
    sdk: Flavor, one_server: Any, tmp_path: Any, debug_logs: pytest.LogCaptureFixture
) -> None:
    src = tmp_path / "f.mp4"
    src.write_bytes(b"x" * 1000)
    signed_redirect = ("Location", "http://127.0.0.1:1/moved?X-Amz-Signature=LOCSECRET")
    storage = one_server(
        Respond(503, [("Retry-After", "0")]),  # retried: our INFO line names the URL
        Respond(
            307,
            [signed_redirect],
            b"<Error><Message>go to http://u:PWSECRET@h/x?sig=QSECRET</Message></Error>",
        ),
    )
    api = one_server(_presign(storage, "http://user:PWSECRET@127.0.0.1:{port}/f.mp4?X-Signature=QSECRET"))
    client = sdk.client(base_url=api.url, max_retries=1)
    with pytest.raises(StorageError) as info:
        await sdk.call(client.v1.files.upload_file, src)
    error = info.value
    assert error.status_code == 307
    texts = [str(error), repr(error), repr(error.response), repr(error.response.request), _logged(debug_logs)]
    texts.append(pickle.dumps(error).decode("latin-1"))
    for secret in ("PWSECRET", "QSECRET", "LOCSECRET"):
        for text in texts:
            assert secret not in text, (secret, text[:2000])
    assert any("127.0.0.1" in r.getMessage() for r in debug_logs.records if r.name.startswith("httpcore"))
    assert storage.requests[0].header("authorization") is not None  # httpx's Basic auth from user:pass...


async def test_a_malformed_upload_url_host_is_refused_before_any_put(
    sdk: Flavor, one_server: Any, tmp_path: Any
) -> None:
    src = tmp_path / "f.mp4"
    src.write_bytes(b"x" * 10)
    storage = one_server()
    api = one_server(_presign(storage, "http://bad..host:{port}/f.mp4?sig=1"))
    with pytest.raises(UploadUrlsMismatchError, match="empty label"):
        await sdk.call(sdk.client(base_url=api.url).v1.files.upload_file, src)
    assert storage.requests == []


def test_a_json_body_that_cannot_be_encoded_is_bad_input() -> None:
    # What a generated resource hands to the core: a lone surrogate, or nesting deeper than json recurses.
    from magic_hour._core.config import resolve_config
    from magic_hour._core.request import ApiRequest, build_request, resolve_options

    config = resolve_config(
        token=TOKEN, base_url=None, environment="https://api.magichour.ai", timeout=None, fallback_timeout=None,
        max_retries=0, default_headers=None, allow_insecure_http=False,
    )  # fmt: skip
    deep: Any = []
    for _ in range(100_000):
        deep = [deep]
    for body, reason in (({"name": "a\udc80"}, "surrogate"), ({"x": deep}, "nested")):
        with pytest.raises(InvalidParameterError, match=reason):
            build_request(config, ApiRequest("POST", "/v1/x", json=body), resolve_options(config, None))


async def test_deeply_nested_json_in_a_storage_error(sdk: Flavor, one_server: Any, tmp_path: Any) -> None:
    src = tmp_path / "f.mp4"
    src.write_bytes(b"x" * 10)
    storage = one_server(_json(400, b'{"message": ' + b"[" * 3000 + b"]" * 3000 + b"}"))
    api = one_server(_presign(storage, "http://127.0.0.1:{port}/f.mp4?sig=1"))
    with pytest.raises(StorageError) as info:
        await sdk.call(sdk.client(base_url=api.url, max_retries=0).v1.files.upload_file, src)
    assert info.value.status_code == 400


def test_an_official_style_api_error_quotes_a_bounded_redacted_message() -> None:
    import httpx

    from magic_hour import ApiError

    request = httpx.Request(
        "POST", "https://api.magichour.ai/v1/x", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    deep = httpx.Response(400, content=b"[" * 100_000 + b"]" * 100_000, request=request)
    assert ApiError(response=deep).body is None
    echo = httpx.Response(401, json={"message": "x" * 290 + " " + TOKEN}, request=request)
    message = str(ApiError(response=echo))
    assert TOKEN[:6] not in message and len(message) < 400


def test_a_failed_project_quotes_a_bounded_error() -> None:
    from types import SimpleNamespace

    from magic_hour import ProjectFailedError

    project = SimpleNamespace(
        id="p1", status="error", error=SimpleNamespace(code="boom", message="x" * 100_000)
    )
    error = ProjectFailedError(project)
    assert len(str(error)) < 400 and error.error_message == "x" * 100_000  # the field keeps it whole


async def test_the_job_runner_refuses_an_async_def_callback(sdk: Flavor) -> None:
    async def on_progress(event: Any) -> None:  # would never be awaited
        pass

    with pytest.raises(InvalidParameterError, match="async def"):
        await sdk.call(sdk.client().v1.files.download, ["https://example.com/a.png"], on_progress=on_progress)
