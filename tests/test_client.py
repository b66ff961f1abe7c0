"""Client configuration: env vars, the token (missing, redacted), transport safety, timeouts, lifecycle."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Iterator

import httpx
import pytest
import respx
from conftest import (
    BASE_URL,
    SEED_RESPONSE,
    TOKEN,
    UPLOAD_URLS_PATH,
    Flavor,
    Sleeps,
    assert_no_secret,
    presign_response,
)

import magic_hour
from magic_hour import (
    ApiConnectionError,
    ApiTimeoutError,
    AsyncClient,
    AuthenticationError,
    Client,
    Environment,
    InsecureTransportError,
    InternalServerError,
    InvalidParameterError,
    MagicHourError,
    MissingTokenError,
)
from magic_hour.testing import FakeMagicHour

pytestmark = pytest.mark.anyio

OTHER_TOKEN = "mh-env-token-0a1b2c3d4e"


def timeout_of(route: respx.Route) -> Dict[str, Any]:
    timeout: Dict[str, Any] = route.calls.last.request.extensions["timeout"]
    return timeout


# --- a real server on 127.0.0.1, for what respx cannot show (the real HTTP stack) -----------------------


class LocalServer:
    def __init__(self) -> None:
        self.release = threading.Event()
        self.requests: list[Dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                server.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                if self.path.startswith("/slow"):
                    server.release.wait(5)
                    return
                request = httpx.Request("POST", "http://x", content=body)
                payload = presign_response(request).content
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[LocalServer]:
    srv = LocalServer()
    try:
        yield srv
    finally:
        srv.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- configuration from the environment -------------------------------------------------------------------


async def test_token_from_the_environment(
    sdk: Flavor, upload_urls: respx.Route, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAGIC_HOUR_API_TOKEN", OTHER_TOKEN)
    await sdk.create(sdk.client(token=None))
    assert upload_urls.calls.last.request.headers["authorization"] == f"Bearer {OTHER_TOKEN}"


async def test_an_explicit_token_beats_the_environment(
    sdk: Flavor, upload_urls: respx.Route, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAGIC_HOUR_API_TOKEN", OTHER_TOKEN)
    await sdk.create(sdk.client(token=TOKEN))
    assert upload_urls.calls.last.request.headers["authorization"] == f"Bearer {TOKEN}"


async def test_base_url_from_the_environment(sdk: Flavor, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAGIC_HOUR_BASE_URL", "https://staging.example.com/api/")
    with respx.mock(assert_all_mocked=True) as router:
        route = router.post("https://staging.example.com/api/v1/files/upload-urls").mock(
            side_effect=presign_response
        )
        client = sdk.client()
        assert client.base_url == "https://staging.example.com/api"
        await sdk.create(client)
    assert route.call_count == 1


async def test_an_explicit_base_url_beats_the_environment(
    sdk: Flavor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAGIC_HOUR_BASE_URL", "https://staging.example.com")
    with respx.mock(assert_all_mocked=True) as router:
        route = router.post("https://eu.example.com/v1/files/upload-urls").mock(side_effect=presign_response)
        client = sdk.client(base_url="https://eu.example.com")
        await sdk.create(client)
    assert client.base_url == "https://eu.example.com"
    assert route.call_count == 1


async def test_an_explicit_environment_beats_the_environment_variable(
    sdk: Flavor, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The official package never reads $MAGIC_HOUR_BASE_URL: its Environment.MOCK_SERVER code must reach the mock.
    monkeypatch.setenv("MAGIC_HOUR_BASE_URL", "https://staging.example.com")
    mock = Environment.MOCK_SERVER.value
    with respx.mock(assert_all_mocked=True) as router:
        route = router.post(f"{mock}/v1/files/upload-urls").mock(side_effect=presign_response)
        client = sdk.client(environment=Environment.MOCK_SERVER)
        await sdk.create(client)
    assert client.base_url == mock
    assert route.call_count == 1
    # The default environment still yields to the variable.
    assert sdk.client(environment=Environment.ENVIRONMENT).base_url == "https://staging.example.com"


async def test_empty_environment_variables_count_as_unset(
    sdk: Flavor, api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAGIC_HOUR_BASE_URL", "")
    monkeypatch.setenv("MAGIC_HOUR_API_TOKEN", "")
    client = sdk.client(token=None)
    assert client.base_url == BASE_URL
    with pytest.raises(MissingTokenError):
        await sdk.create(client)


async def test_environment_enum(sdk: Flavor) -> None:
    assert Environment.ENVIRONMENT.value == "https://api.magichour.ai"
    assert sdk.client().base_url == "https://api.magichour.ai"
    mock = sdk.client(environment=Environment.MOCK_SERVER)
    assert mock.base_url == Environment.MOCK_SERVER.value
    assert sdk.client(environment=Environment.MOCK_SERVER, base_url="https://x.example").base_url == (
        "https://x.example"
    )


@pytest.mark.parametrize(
    "bad",
    [
        "api.magichour.ai",
        "ftp://api.magichour.ai",
        "https://",
        "",
        42,
        "https://api.magichour.ai:port",  # httpx.InvalidURL, turned into our typed error
        "https://api.magichour.ai?region=eu",  # the path would land in the query
        "https://api.magichour.ai#v1",
    ],
)
async def test_bad_base_url_is_refused(sdk: Flavor, bad: Any) -> None:
    with pytest.raises(InvalidParameterError, match="base_url"):
        sdk.client(base_url=bad)


@pytest.mark.parametrize("source", ["argument", "environment variable", "environment"])
@pytest.mark.parametrize(
    "url",
    [
        "https://user:s3cret-pw@proxy.example",
        "https://s3cret-pw@proxy.example/v1",  # a user name alone is sent as Basic auth too
        "https://user:s3cret-pw:more@api.magichour.ai",
        "https://user:s3cret-pw@bad host:port",  # not even a URL: still not echoed
        "ftp://user:s3cret-pw@proxy.example",
        # not URLs httpx reads as having credentials, but a password all the same:
        "https://user:s3cret/pw@api.magichour.ai",  # an unencoded / in the password (bad host)
        " https://user:s3cret-pw@api.magichour.ai",  # a leading space (bad host)
        "user:s3cret-pw@api.magichour.ai",  # no scheme (bad host): "user" read as one
    ],
)
async def test_credentials_in_the_base_url_are_refused_without_showing_them(
    sdk: Flavor, monkeypatch: pytest.MonkeyPatch, url: str, source: str
) -> None:
    # httpx turns a user:password@ in the URL into `Authorization: Basic ...`, replacing the bearer token
    # (every call would be a 401; the official SDK does that). Refused at construction, before any
    # request, and neither the password nor the user name shows in the message, the error or a pickle.
    import pickle

    if source == "argument":
        make = lambda: sdk.client(base_url=url)  # noqa: E731
        param = "base_url"
    elif source == "environment":  # a string in place of an Environment member
        make = lambda: sdk.client(environment=url)  # noqa: E731
        param = "environment"
    else:
        monkeypatch.setenv("MAGIC_HOUR_BASE_URL", url)
        make = lambda: sdk.client()  # noqa: E731
        param = "MAGIC_HOUR_BASE_URL"
    with pytest.raises(InvalidParameterError) as info:
        make()
    error = info.value
    assert error.param == param
    for shown in (str(error), repr(error), repr(error.value), str(pickle.loads(pickle.dumps(error)).value)):
        assert "s3cret-pw" not in shown and "user:" not in shown, shown
    if (
        "bad host" not in url
        and "ftp:" not in url
        and not url.startswith(("user:", " "))
        and "/pw" not in url
    ):
        assert "Basic auth in place of the API token" in str(error)
        assert "<redacted>@" in str(error) and "without credentials" in error.allowed


@pytest.mark.parametrize(
    "url",
    [
        "https://api.magichour.ai/?key=s3cret-pw",
        "https://api.magichour.ai#s3cret-pw",
        "https://h/@v1?s3cret-pw",
    ],
)
async def test_a_refused_base_url_does_not_show_its_query_or_fragment(sdk: Flavor, url: str) -> None:
    # A query in a base URL is refused (paths would land inside it); it may hold a key or a signature.
    with pytest.raises(InvalidParameterError) as info:
        sdk.client(base_url=url)
    assert "s3cret-pw" not in str(info.value) and "s3cret-pw" not in repr(info.value.value)
    assert "<redacted>" in str(info.value) and "without query or fragment" in info.value.allowed


@pytest.mark.parametrize("url", ["https://@api.magichour.ai", "http://127.0.0.1:8080/@v1"])
async def test_an_at_sign_without_credentials_is_accepted(sdk: Flavor, url: str) -> None:
    # An empty user part sends no Basic auth, and an @ in the path is not a credential.
    assert sdk.client(base_url=url) is not None


# --- the token ---------------------------------------------------------------------------------------------


async def test_missing_token_fails_before_sending(sdk: Flavor, api: respx.MockRouter) -> None:
    route = api.post(UPLOAD_URLS_PATH).respond(200, json=SEED_RESPONSE)
    client = sdk.client(token=None)  # constructing without a token is fine...
    with pytest.raises(MissingTokenError) as info:
        await sdk.create(client)  # ...the first request that needs it is not
    assert "MAGIC_HOUR_API_TOKEN" in str(info.value)
    assert "token=" in str(info.value)
    assert isinstance(info.value, MagicHourError)
    assert route.call_count == 0


async def test_an_explicit_empty_token_is_missing(
    sdk: Flavor, api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(MissingTokenError):
        await sdk.create(sdk.client(token=""))
    assert not api.calls


async def test_surrounding_whitespace_is_stripped_from_the_token(
    sdk: Flavor, upload_urls: respx.Route, monkeypatch: pytest.MonkeyPatch
) -> None:
    await sdk.create(sdk.client(token=f"  {TOKEN}\n"))
    assert upload_urls.calls.last.request.headers["authorization"] == f"Bearer {TOKEN}"
    monkeypatch.setenv("MAGIC_HOUR_API_TOKEN", f"{OTHER_TOKEN}\r\n")  # a .env saved on Windows
    await sdk.create(sdk.client(token=None))
    assert upload_urls.calls.last.request.headers["authorization"] == f"Bearer {OTHER_TOKEN}"


@pytest.mark.parametrize(
    "bad",
    [f"{TOKEN}\nX-Injected: 1", f"{TOKEN[:6]}\r{TOKEN[6:]}", f"{TOKEN}é", f"{TOKEN}\x07", f"{TOKEN}\x7f"],
    ids=["newline", "carriage-return", "non-ascii", "control", "delete"],
)
async def test_a_malformed_token_is_refused_without_showing_it(
    sdk: Flavor, bad: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(InvalidParameterError) as info:
        sdk.client(token=bad)
    assert info.value.param == "token"
    assert_no_secret(str(info.value), repr(info.value))

    monkeypatch.setenv("MAGIC_HOUR_API_TOKEN", bad)
    with pytest.raises(InvalidParameterError) as info:
        sdk.client(token=None)
    assert info.value.param == "MAGIC_HOUR_API_TOKEN"
    assert_no_secret(str(info.value), repr(info.value))


@pytest.mark.parametrize("odd", ["my api key", f"Bearer {TOKEN}", f"{TOKEN[:6]}\t{TOKEN[6:]}"])
async def test_a_token_a_header_can_carry_is_sent_as_given(sdk: Flavor, odd: str) -> None:
    # As the official SDK does (its README builds Client(token="my api key")): the API answers 401.
    fake = FakeMagicHour()
    client = sdk.client(
        token=odd, base_url=fake.base_url, httpx_client=sdk.httpx_client(transport=fake.transport())
    )
    with pytest.raises(AuthenticationError):
        await sdk.create(client)
    assert fake.requests[0].headers["authorization"] == f"Bearer {odd}"


async def test_a_non_string_token_is_refused(sdk: Flavor) -> None:
    with pytest.raises(InvalidParameterError, match="token"):
        sdk.client(token=12345678)


async def test_repr_does_not_show_the_token(sdk: Flavor) -> None:
    client = sdk.client()
    text = repr(client)
    assert text.startswith(f"{sdk.client_cls.__name__}(")
    assert "https://api.magichour.ai" in text
    assert "token=<set>" in text
    assert_no_secret(text, str(client), repr(vars(client)))
    assert "token=<missing>" in repr(sdk.client(token=None))


async def test_the_token_never_reaches_the_logs(
    sdk: Flavor, server: LocalServer, sleeps: Sleeps, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # everything: ours, httpx's and httpcore's
    client = sdk.client(base_url=server.url)
    await sdk.create(client)  # a real exchange through the whole HTTP stack

    with respx.mock(base_url=BASE_URL) as router:
        router.post(UPLOAD_URLS_PATH).mock(
            side_effect=[httpx.Response(503), httpx.ConnectError("reset"), httpx.Response(500)]
        )
        with pytest.raises(InternalServerError):
            await sdk.create(sdk.client(max_retries=2))

    ours = [r for r in caplog.records if r.name.startswith("magic_hour")]
    assert any("POST" in r.getMessage() and "retry 1 of 2" in r.getMessage() for r in ours)
    assert any(r.levelno == logging.DEBUG and "POST" in r.getMessage() for r in ours)
    assert any(r.name.startswith("httpcore") for r in caplog.records)  # the stack did log at DEBUG
    for record in caplog.records:
        assert_no_secret(record.getMessage(), repr(record.args))
    assert_no_secret(caplog.text)
    assert server.requests[0]["headers"]["Authorization"] == f"Bearer {TOKEN}"  # it was sent


def test_the_library_is_silent_by_default() -> None:
    logger = logging.getLogger("magic_hour")
    assert any(isinstance(h, logging.NullHandler) for h in logger.handlers)
    assert logger.level == logging.NOTSET  # the application decides


# --- plain http ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["http://api.example.com", "http://10.0.0.7:8080", "http://localhost.evil.com"]
)
async def test_plain_http_to_a_remote_host_is_refused(sdk: Flavor, url: str) -> None:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        route = router.post(f"{url}{UPLOAD_URLS_PATH}").mock(side_effect=presign_response)
        with pytest.raises(InsecureTransportError) as info:
            await sdk.create(sdk.client(base_url=url))
        assert route.call_count == 0
    message = str(info.value)
    assert "allow_insecure_http=True" in message
    assert_no_secret(message)


async def test_plain_http_when_allowed(sdk: Flavor) -> None:
    with respx.mock(assert_all_mocked=True) as router:
        route = router.post(f"http://api.example.com{UPLOAD_URLS_PATH}").mock(side_effect=presign_response)
        await sdk.create(sdk.client(base_url="http://api.example.com", allow_insecure_http=True))
    assert route.calls.last.request.headers["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize("url", ["http://localhost:8080", "http://127.0.0.1:9000", "http://[::1]:9000"])
async def test_plain_http_to_loopback_is_fine(sdk: Flavor, url: str) -> None:
    with respx.mock(assert_all_mocked=True) as router:
        route = router.post(f"{url}{UPLOAD_URLS_PATH}").mock(side_effect=presign_response)
        await sdk.create(sdk.client(base_url=url))
    assert route.call_count == 1


async def test_plain_http_to_a_subdomain_of_localhost_is_refused(sdk: Flavor) -> None:
    # *.localhost names go to DNS on many systems: they are not trusted as this machine.
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        route = router.post(f"http://app.localhost{UPLOAD_URLS_PATH}").mock(side_effect=presign_response)
        with pytest.raises(InsecureTransportError):
            await sdk.create(sdk.client(base_url="http://app.localhost"))
    assert route.call_count == 0


async def test_plain_http_to_a_real_local_server(sdk: Flavor, server: LocalServer) -> None:
    res = await sdk.create(sdk.client(base_url=server.url))
    assert len(res.items) == 2
    assert server.requests[0]["path"] == UPLOAD_URLS_PATH
    assert json.loads(server.requests[0]["body"])["items"][0] == {"extension": "mp4", "type": "video"}


# --- timeouts ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, {"connect": 10.0, "read": 60.0, "write": 60.0, "pool": 60.0}),  # the default: not infinite
        ({"timeout": 5}, {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 5.0}),
        (
            {"timeout": httpx.Timeout(20, connect=2)},
            {"connect": 2.0, "read": 20.0, "write": 20.0, "pool": 20.0},
        ),
        ({"timeout": None}, {"connect": None, "read": None, "write": None, "pool": None}),
        ({"timeout": float("inf")}, {"connect": None, "read": None, "write": None, "pool": None}),
    ],
)
async def test_client_timeout(
    sdk: Flavor, upload_urls: respx.Route, kwargs: Dict[str, Any], expected: Dict[str, Any]
) -> None:
    await sdk.create(sdk.client(**kwargs))
    assert timeout_of(upload_urls) == expected


async def test_a_borrowed_client_keeps_its_own_timeout(sdk: Flavor, upload_urls: respx.Route) -> None:
    lent = sdk.httpx_client(timeout=7)
    await sdk.create(sdk.client(httpx_client=lent))
    assert timeout_of(upload_urls) == {"connect": 7.0, "read": 7.0, "write": 7.0, "pool": 7.0}
    # ...unless the SDK is given one explicitly.
    await sdk.create(sdk.client(httpx_client=lent, timeout=3))
    assert timeout_of(upload_urls)["read"] == 3.0


@pytest.mark.parametrize("bad", [-1, 0, "5", True, float("nan"), [1]])
async def test_bad_timeout_is_refused(sdk: Flavor, bad: Any) -> None:
    with pytest.raises(InvalidParameterError, match="timeout"):
        sdk.client(timeout=bad)


@pytest.mark.parametrize("where", ["client", "request", "borrowed"])
async def test_a_real_timeout(sdk: Flavor, server: LocalServer, where: str) -> None:
    """The timeout reaches the real transport: a server that never answers fails fast."""
    kwargs: Dict[str, Any] = {"base_url": server.url + "/slow", "max_retries": 0}
    options = None
    if where == "client":
        kwargs["timeout"] = 0.2
    elif where == "request":
        kwargs["timeout"] = 30
        options = {"timeout": 0.2}
    else:
        kwargs["httpx_client"] = sdk.httpx_client(timeout=0.2)
    client = sdk.client(**kwargs)

    start = time.monotonic()
    with pytest.raises(ApiTimeoutError) as info:
        await sdk.create(client, request_options=options)
    assert time.monotonic() - start < 3
    assert "timed out" in str(info.value)
    assert isinstance(info.value, ApiConnectionError)
    assert isinstance(info.value.__cause__, httpx.TimeoutException)


async def test_connection_refused(sdk: Flavor, sleeps: Sleeps) -> None:
    client = sdk.client(base_url=f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(ApiConnectionError) as info:
        await sdk.create(client)
    assert type(info.value) is ApiConnectionError
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    assert len(sleeps) == 2  # retried twice
    assert_no_secret(str(info.value))


# --- lifecycle -----------------------------------------------------------------------------------------------


async def test_close_closes_the_clients_own_pool(sdk: Flavor) -> None:
    client = sdk.client()
    assert not client.is_closed
    await sdk.close(client)
    assert client.is_closed
    await sdk.close(client)  # idempotent
    assert client.is_closed


async def test_context_manager_closes_the_clients_own_pool(sdk: Flavor, upload_urls: respx.Route) -> None:
    client = sdk.client()
    async with sdk.session(client) as entered:
        assert entered is client
        await sdk.create(entered)
        assert not client.is_closed
    assert client.is_closed


async def test_context_manager_closes_on_error(sdk: Flavor) -> None:
    client = sdk.client()
    with pytest.raises(KeyError):
        async with sdk.session(client):
            raise KeyError("boom")
    assert client.is_closed


async def test_a_borrowed_client_is_never_closed(sdk: Flavor, upload_urls: respx.Route) -> None:
    lent = sdk.httpx_client()
    client = sdk.client(httpx_client=lent)
    async with sdk.session(client):
        await sdk.create(client)
    await sdk.close(client)
    assert not lent.is_closed
    assert client.is_closed  # our client is closed (later calls raise); the lent httpx client is not
    # The borrowed client still works, through the SDK and on its own.
    await sdk.create(sdk.client(httpx_client=lent))
    assert upload_urls.call_count == 2


async def test_a_borrowed_client_keeps_its_headers(sdk: Flavor, upload_urls: respx.Route) -> None:
    lent = sdk.httpx_client(headers={"X-Org": "acme", "User-Agent": "their-app/2"})
    await sdk.create(sdk.client(httpx_client=lent))
    headers = upload_urls.calls.last.request.headers
    assert headers.get_list("x-org") == ["acme"]
    assert headers.get_list("user-agent") == [f"magic-hour-python/{magic_hour.__version__}"]  # ours win
    assert headers.get_list("authorization") == [f"Bearer {TOKEN}"]


async def test_a_borrowed_client_of_the_wrong_kind_is_refused(sdk: Flavor) -> None:
    wrong = httpx.AsyncClient() if not sdk.is_async else httpx.Client()
    try:
        with pytest.raises(InvalidParameterError, match="httpx_client"):
            sdk.client(httpx_client=wrong)
    finally:
        if isinstance(wrong, httpx.Client):
            wrong.close()
        else:
            await wrong.aclose()


# --- headers -------------------------------------------------------------------------------------------------


async def test_default_headers_are_sent_on_every_request(sdk: Flavor, upload_urls: respx.Route) -> None:
    client = sdk.client(default_headers={"X-Team": "video", "user-agent": "my-app/1.0"})
    for _ in range(2):
        await sdk.create(client)
        headers = upload_urls.calls.last.request.headers
        assert headers.get_list("x-team") == ["video"]
        assert headers.get_list("user-agent") == ["my-app/1.0"]  # replaced, not sent twice
        assert headers.get_list("authorization") == [f"Bearer {TOKEN}"]


@pytest.mark.parametrize(
    "bad",
    [{"X-Team": 1}, {"X Team": "a"}, {"": "a"}, {"X-Team": "a\nb"}, {"X-Team": "né"}, ["X-Team"]],
    ids=["value-not-str", "space-in-name", "empty-name", "newline", "non-ascii", "not-a-mapping"],
)
async def test_bad_default_headers_are_refused(sdk: Flavor, bad: Any) -> None:
    with pytest.raises(InvalidParameterError, match="default_headers"):
        sdk.client(default_headers=bad)


async def test_a_bad_secret_header_value_is_not_shown(sdk: Flavor) -> None:
    with pytest.raises(InvalidParameterError) as info:
        sdk.client(default_headers={"Authorization": f"Bearer {TOKEN}\n"})
    assert_no_secret(str(info.value))


def test_both_clients_share_the_constructor() -> None:
    import inspect

    sync = inspect.signature(Client)
    async_ = inspect.signature(AsyncClient)
    assert list(sync.parameters) == list(async_.parameters)
    for name in (
        "token",
        "base_url",
        "environment",
        "timeout",
        "max_retries",
        "httpx_client",
        "default_headers",
    ):
        assert sync.parameters[name].kind is inspect.Parameter.KEYWORD_ONLY


async def test_a_closed_client_raises_a_typed_error_before_sending(sdk: Any, api: respx.MockRouter) -> None:
    from magic_hour import ClientClosedError

    client = sdk.client()
    await sdk.close(client)
    with pytest.raises(ClientClosedError, match="closed") as info:
        await sdk.create(client)
    assert isinstance(info.value, RuntimeError)
    assert not api.calls
    lent = sdk.httpx_client()
    borrower = sdk.client(httpx_client=lent)
    await sdk.close(lent)
    with pytest.raises(ClientClosedError):
        await sdk.create(borrower)
    assert not api.calls


async def test_a_client_is_not_pickled(sdk: Flavor) -> None:
    """A client holds the API token and its connections: pickling it is refused on purpose, saying why,
    with no token in the message (not by accident of some attribute that cannot be pickled)."""
    import copy
    import pickle

    client = sdk.client(token="sk-not-in-a-pickle")
    for attempt in (pickle.dumps, copy.copy):
        with pytest.raises(TypeError, match="it is not pickled") as info:
            attempt(client)
        assert "sk-not-in-a-pickle" not in str(info.value)
