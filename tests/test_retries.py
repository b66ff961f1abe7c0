"""Retries: what is retried, how often, how long we wait (the clock is faked), and what is re-sent."""

from __future__ import annotations

import email.utils
import time
from typing import Any, Dict, List, Optional

import httpx
import pytest
import respx
from conftest import SEED_RESPONSE, UPLOAD_URLS_PATH, UPLOAD_URLS_URL, Flavor, Sleeps, assert_no_secret

from magic_hour import (
    ApiConnectionError,
    ApiError,
    ApiTimeoutError,
    InternalServerError,
    InvalidParameterError,
    RateLimitError,
)
from magic_hour._core import retry
from magic_hour._core.retry import (
    INITIAL_RETRY_DELAY,
    MAX_RETRY_AFTER,
    MAX_RETRY_DELAY,
    SEND,
    Sleep,
    is_retryable_status,
    parse_retry_after,
    retry_delay,
    retry_flow,
)

pytestmark = pytest.mark.anyio

OK = httpx.Response(200, json=SEED_RESPONSE)


def backoff_bounds(retries_taken: int) -> tuple[float, float]:
    base = min(INITIAL_RETRY_DELAY * 2**retries_taken, MAX_RETRY_DELAY)
    return base * 0.75, base


def assert_backoff(sleeps: List[float]) -> None:
    for n, delay in enumerate(sleeps):
        low, high = backoff_bounds(n)
        assert low <= delay <= high, (n, delay)


# --- how many attempts --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("client_retries", "request_retries", "attempts"),
    [
        (None, None, 3),  # the default: 2 retries
        (4, None, 5),
        (0, None, 1),
        (None, 0, 1),
        (4, 1, 2),
        (0, 3, 4),
    ],
)
async def test_attempts(
    sdk: Flavor,
    api: respx.MockRouter,
    sleeps: Sleeps,
    client_retries: Optional[int],
    request_retries: Optional[int],
    attempts: int,
) -> None:
    route = api.post(UPLOAD_URLS_PATH).respond(503, json={"message": "down"})
    client = sdk.client() if client_retries is None else sdk.client(max_retries=client_retries)
    options = None if request_retries is None else {"max_retries": request_retries}

    with pytest.raises(InternalServerError, match="down"):
        await sdk.create(client, request_options=options)

    assert route.call_count == attempts
    assert len(sleeps) == attempts - 1
    assert_backoff(sleeps)


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504, 599])
async def test_retried_statuses(sdk: Flavor, api: respx.MockRouter, sleeps: Sleeps, status: int) -> None:
    route = api.post(UPLOAD_URLS_PATH).mock(side_effect=[httpx.Response(status), httpx.Response(status), OK])
    res = await sdk.create(sdk.client())
    assert len(res.items) == 2
    assert route.call_count == 3
    assert len(sleeps) == 2


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 405, 418, 422])
async def test_statuses_that_are_not_retried(
    sdk: Flavor, api: respx.MockRouter, sleeps: Sleeps, status: int
) -> None:
    route = api.post(UPLOAD_URLS_PATH).mock(side_effect=[httpx.Response(status), OK])
    with pytest.raises(ApiError) as info:
        await sdk.create(sdk.client(max_retries=5))
    assert info.value.status_code == status
    assert route.call_count == 1
    assert sleeps == []


@pytest.mark.parametrize(
    "error",
    [
        httpx.ConnectError("connection refused"),
        httpx.RemoteProtocolError("server disconnected"),
        httpx.ReadError("connection reset by peer"),
        httpx.ConnectTimeout("connect timed out"),
        httpx.ReadTimeout("read timed out"),
        httpx.WriteTimeout("write timed out"),
        httpx.PoolTimeout("no connection available"),
    ],
    ids=lambda e: type(e).__name__,
)
async def test_transport_errors_are_retried(
    sdk: Flavor, api: respx.MockRouter, sleeps: Sleeps, error: Exception
) -> None:
    route = api.post(UPLOAD_URLS_PATH).mock(side_effect=[error, error, OK])
    res = await sdk.create(sdk.client())
    assert len(res.items) == 2
    assert route.call_count == 3
    assert_backoff(sleeps)
    assert len(sleeps) == 2


@pytest.mark.parametrize(
    ("error", "cls"),
    [
        (httpx.ConnectError("connection refused"), ApiConnectionError),
        (httpx.RemoteProtocolError("server disconnected"), ApiConnectionError),
        (httpx.ReadTimeout("read timed out"), ApiTimeoutError),
        (httpx.ConnectTimeout("connect timed out"), ApiTimeoutError),
    ],
    ids=lambda e: getattr(e, "__name__", type(e).__name__),
)
async def test_final_transport_error(
    sdk: Flavor, api: respx.MockRouter, sleeps: Sleeps, error: Exception, cls: type
) -> None:
    route = api.post(UPLOAD_URLS_PATH).mock(side_effect=error)

    with pytest.raises(ApiConnectionError) as info:
        await sdk.create(sdk.client())

    assert type(info.value) is cls
    assert route.call_count == 3
    assert len(sleeps) == 2
    assert info.value.__cause__ is error
    request = info.value.request  # the request the transport failed on, as httpx's error named it
    assert request is not None and (request.method, request.url.path) == ("POST", UPLOAD_URLS_PATH)
    message = str(info.value)
    assert f"POST {UPLOAD_URLS_URL}" in message
    assert_no_secret(message, repr(info.value))


async def test_the_body_is_resent_intact(sdk: Flavor, api: respx.MockRouter, sleeps: Sleeps) -> None:
    route = api.post(UPLOAD_URLS_PATH).mock(
        side_effect=[httpx.Response(503), httpx.ConnectError("reset"), httpx.Response(429), OK]
    )
    items = [{"extension": ".MOV", "type_": "video"}, {"extension": "flac", "type_": "audio"}]

    await sdk.create(sdk.client(max_retries=3), items=items)

    assert route.call_count == 4
    first = route.calls[0].request
    assert (
        first.content == b'{"items":[{"extension":"mov","type":"video"},{"extension":"flac","type":"audio"}]}'
    )
    for call in route.calls:
        assert call.request.content == first.content
        assert call.request.headers == first.headers
        assert call.request.url == first.url


# --- how long we wait ---------------------------------------------------------------------------------


def http_date(offset: float) -> str:
    return email.utils.formatdate(time.time() + offset, usegmt=True)


@pytest.mark.parametrize(
    ("headers", "low", "high"),
    [
        ({"retry-after": "3"}, 3.0, 3.0),
        ({"Retry-After": "2.5"}, 2.5, 2.5),
        ({"retry-after": "0"}, 0.0, 0.0),
        ({"retry-after-ms": "1500"}, 1.5, 1.5),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25, 0.25),  # the precise one wins
        ({"retry-after": "999999"}, MAX_RETRY_AFTER, MAX_RETRY_AFTER),  # capped
        ({"retry-after-ms": "86400000"}, MAX_RETRY_AFTER, MAX_RETRY_AFTER),
        ({"retry-after": "-4"}, 0.0, 0.0),
        ({"retry-after": "soon"}, *backoff_bounds(0)),  # unparseable: our own backoff
        ({"retry-after-ms": "x", "retry-after": "2"}, 2.0, 2.0),
    ],
)
async def test_retry_after(
    sdk: Flavor, api: respx.MockRouter, sleeps: Sleeps, headers: Dict[str, str], low: float, high: float
) -> None:
    route = api.post(UPLOAD_URLS_PATH).mock(side_effect=[httpx.Response(429, headers=headers), OK])
    await sdk.create(sdk.client())
    assert route.call_count == 2
    assert len(sleeps) == 1
    assert low <= sleeps[0] <= high


@pytest.mark.parametrize(("offset", "low", "high"), [(30, 27.0, 30.5), (-30, 0.0, 0.0), (10**7, 60.0, 60.0)])
async def test_retry_after_http_date(
    sdk: Flavor, api: respx.MockRouter, sleeps: Sleeps, offset: float, low: float, high: float
) -> None:
    route = api.post(UPLOAD_URLS_PATH).mock(
        side_effect=[httpx.Response(503, headers={"retry-after": http_date(offset)}), OK]
    )
    await sdk.create(sdk.client())
    assert route.call_count == 2
    assert low <= sleeps[0] <= high


async def test_retry_after_on_every_attempt(sdk: Flavor, api: respx.MockRouter, sleeps: Sleeps) -> None:
    api.post(UPLOAD_URLS_PATH).respond(429, headers={"retry-after": "7"}, json={"message": "slow down"})
    with pytest.raises(RateLimitError, match="slow down"):
        await sdk.create(sdk.client(max_retries=3))
    assert sleeps == [7.0, 7.0, 7.0]


async def test_backoff_grows_and_is_capped(sdk: Flavor, api: respx.MockRouter, sleeps: Sleeps) -> None:
    api.post(UPLOAD_URLS_PATH).respond(500)
    with pytest.raises(InternalServerError):
        await sdk.create(sdk.client(max_retries=8))
    assert len(sleeps) == 8
    assert_backoff(sleeps)
    assert sleeps[0] <= INITIAL_RETRY_DELAY
    assert all(MAX_RETRY_DELAY * 0.75 <= d <= MAX_RETRY_DELAY for d in sleeps[5:])


@pytest.mark.parametrize("bad", [-1, 1.5, "2", True, None])
async def test_bad_max_retries_is_refused(sdk: Flavor, api: respx.MockRouter, bad: Any) -> None:
    with pytest.raises(InvalidParameterError, match="max_retries"):
        sdk.client(max_retries=bad)
    with pytest.raises(InvalidParameterError, match="max_retries"):
        await sdk.create(sdk.client(), request_options={"max_retries": bad})
    assert not api.calls


# --- the pure policy ------------------------------------------------------------------------------------

NOW = 1_700_000_000.0


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"retry-after": "5"}, 5.0),
        ({"retry-after": " 5 "}, 5.0),
        ({"retry-after": "0.25"}, 0.25),
        ({"retry-after": "-1"}, 0.0),
        ({"retry-after": "nan"}, None),
        ({"retry-after": "later"}, None),
        ({"retry-after": ""}, None),
        ({"retry-after": email.utils.formatdate(NOW + 42, usegmt=True)}, 42.0),
        ({"retry-after": email.utils.formatdate(NOW - 42, usegmt=True)}, 0.0),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),
        ({"retry-after-ms": "1234"}, 1.234),
        ({"retry-after-ms": "0"}, 0.0),
        ({"retry-after-ms": "-5", "retry-after": "3"}, 3.0),
        ({"retry-after-ms": "nan", "retry-after": "3"}, 3.0),
        ({"retry-after-ms": "abc"}, None),
    ],
)
def test_parse_retry_after(headers: Dict[str, str], expected: Optional[float]) -> None:
    got = parse_retry_after(headers, now=NOW)
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected)


def test_parse_retry_after_reads_httpx_headers_case_insensitively() -> None:
    assert parse_retry_after(httpx.Headers({"Retry-After": "4"})) == 4.0
    assert parse_retry_after(httpx.Headers({"Retry-After-Ms": "40"})) == pytest.approx(0.04)


@pytest.mark.parametrize("retries_taken", [0, 1, 2, 3, 4, 5, 10, 100, 5000])
def test_retry_delay_bounds_with_jitter(retries_taken: int) -> None:
    low, high = backoff_bounds(min(retries_taken, 10))
    assert retry_delay(retries_taken, rand=lambda: 0.0) == pytest.approx(high)
    assert retry_delay(retries_taken, rand=lambda: 1.0) == pytest.approx(low)
    for _ in range(50):
        assert low <= retry_delay(retries_taken) <= high


def test_retry_delay_jitter_spreads_clients() -> None:
    delays = {retry_delay(1) for _ in range(50)}
    assert len(delays) > 10


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "100000"}, MAX_RETRY_AFTER),
        ({"retry-after": "inf"}, MAX_RETRY_AFTER),
        ({"retry-after-ms": "1e12"}, MAX_RETRY_AFTER),
        ({"retry-after": "bogus"}, INITIAL_RETRY_DELAY),
        ({}, INITIAL_RETRY_DELAY),
    ],
)
def test_retry_delay_honours_the_server_up_to_a_cap(headers: Dict[str, str], expected: float) -> None:
    assert retry_delay(0, headers, rand=lambda: 0.0, now=NOW) == expected


RETRYABLE = {200: False, 400: False, 401: False, 404: False, 408: True, 409: True, 422: False, 429: True}
RETRYABLE.update({500: True, 502: True, 503: True, 504: True})


@pytest.mark.parametrize(("status", "expected"), RETRYABLE.items())
def test_is_retryable_status(status: int, expected: bool) -> None:
    assert is_retryable_status(status) is expected


def test_retry_flow_steps() -> None:
    flow = retry_flow(max_retries=2, what="POST /x")
    assert next(flow) is SEND
    step = flow.send(httpx.Response(503, headers={"retry-after": "2"}))
    assert step == Sleep(2.0)
    assert flow.send(None) is SEND
    step = flow.send(httpx.ConnectError("refused"))
    assert isinstance(step, Sleep)
    assert flow.send(None) is SEND
    final = httpx.Response(503)
    with pytest.raises(StopIteration) as stop:
        flow.send(final)
    assert stop.value.value is final  # out of retries: the last response is the answer


def test_retry_flow_raises_the_typed_error_when_out_of_retries() -> None:
    flow = retry_flow(max_retries=0, what="POST /x")
    next(flow)
    cause = httpx.ReadTimeout("slow")
    with pytest.raises(ApiTimeoutError, match=r"POST /x timed out") as info:
        flow.send(cause)
    assert info.value.__cause__ is cause


def test_retry_flow_returns_a_success_at_once() -> None:
    flow = retry_flow(max_retries=5, what="POST /x")
    next(flow)
    ok = httpx.Response(200)
    with pytest.raises(StopIteration) as stop:
        flow.send(ok)
    assert stop.value.value is ok


def test_module_constants_are_sane() -> None:
    assert 0 < retry.INITIAL_RETRY_DELAY <= retry.MAX_RETRY_DELAY <= retry.MAX_RETRY_AFTER <= 120


@pytest.mark.parametrize("runner", ["sync", "asyncio", "trio"])
def test_real_sleep_on_every_runtime(runner: str) -> None:
    """Unfaked: the retry really waits (briefly) with time.sleep, asyncio or trio."""
    import asyncio

    import trio

    from magic_hour import AsyncClient, Client

    items = [{"extension": "mp4", "type_": "video"}]
    with respx.mock(assert_all_mocked=True) as router:
        route = router.post(UPLOAD_URLS_URL).mock(
            side_effect=[httpx.Response(503, headers={"retry-after-ms": "30"}), OK]
        )
        start = time.monotonic()
        if runner == "sync":
            with Client(token="t" * 10) as client:
                res = client.v1.files.upload_urls.create(items=items)  # type: ignore[list-item]
        else:

            async def main() -> Any:
                async with AsyncClient(token="t" * 10) as client:
                    return await client.v1.files.upload_urls.create(items=items)  # type: ignore[list-item]

            res = asyncio.run(main()) if runner == "asyncio" else trio.run(main)
        elapsed = time.monotonic() - start
    assert len(res.items) == 2
    assert route.call_count == 2
    assert elapsed >= 0.03
