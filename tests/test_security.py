"""Security under real traffic (sync and async, real sockets on 127.0.0.1): the API token and the signed
query of upload URLs never leak into logs (DEBUG, ours and httpx's/httpcore's), reprs, exception messages,
or requests to any host but the API's; plain http to a remote host is refused; redirects never carry the
token to another host.

What ``tests/test_client.py`` and ``tests/test_errors.py`` already prove with respx (reprs of a client,
an echoed token redacted from one error) is not repeated; here everything goes through the whole stack.
"""

from __future__ import annotations

import hashlib
import json
import logging
import pathlib
import pickle
import re
import socket
from typing import Any, Iterator, List

import httpx
import pytest
from _servers import Forward, RawServer, Received, Respond
from conftest import TOKEN, Flavor, Sleeps, assert_no_secret

from magic_hour import (
    ApiError,
    ApiResponseValidationError,
    AuthenticationError,
    InsecureTransportError,
    InternalServerError,
    MagicHourError,
    StorageError,
    UploadError,
)
from magic_hour.testing import FakeMagicHour, FakeServer

pytestmark = pytest.mark.anyio


@pytest.fixture
def fake() -> FakeMagicHour:
    return FakeMagicHour(tokens=TOKEN)


@pytest.fixture
def server(fake: FakeMagicHour) -> Iterator[FakeServer]:
    with fake.serve() as srv:
        yield srv


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Everything at DEBUG from our logger and the HTTP stack under it."""
    for name in ("magic_hour", "httpx", "httpcore"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def _files(tmp_path: pathlib.Path, n: int, size: int = 64 * 1024) -> List[pathlib.Path]:
    out = []
    for i in range(n):
        p = tmp_path / f"f{i}.{('mp4', 'mp3', 'png')[i % 3]}"
        p.write_bytes(hashlib.sha256(str(i).encode()).digest() * (size // 32))
        out.append(p)
    return out


def _signatures(fake: FakeMagicHour) -> List[str]:
    """The secret part of every upload URL the fake handed out."""
    sigs = [httpx.URL(i.upload_url).params["X-Signature"] for i in fake.issued]
    assert sigs, "no upload URL was issued: the test would prove nothing"
    return sigs


def _everything_logged(caplog: pytest.LogCaptureFixture) -> str:
    parts = [caplog.text]
    for r in caplog.records:
        parts += [r.getMessage(), repr(r.args), str(r.exc_info or "")]
    return "\n".join(parts)


# ------------------------------------------------------------------------------------------------- logs


async def test_nothing_secret_in_debug_logs_of_uploads_with_retries_and_failures(
    sdk: Flavor,
    fake: FakeMagicHour,
    server: FakeServer,
    tmp_path: pathlib.Path,
    sleeps: Sleeps,
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    srcs = _files(tmp_path, 4)
    client = sdk.client(base_url=server.url, max_retries=2)
    fake.fail_next("upload_urls", 503)  # a retried API call
    fake.fail_next("storage", 500)  # a retried PUT
    fake.expire_next_urls(1, advertise_valid=True)  # a re-presign after the storage says "expired"
    paths = await sdk.call(client.v1.files.upload_files, srcs, max_concurrency=2)
    assert len(paths) == 4
    fake.fail_next("storage", 400)  # a failed PUT: its message is logged
    with pytest.raises(StorageError):
        await sdk.call(client.v1.files.upload_file, srcs[0])
    fake.set_latency(0.5, route="storage")  # a timed-out PUT
    with pytest.raises(MagicHourError):
        await sdk.call(
            sdk.client(base_url=server.url, timeout=0.1, max_retries=0).v1.files.upload_file, srcs[1]
        )

    logged = _everything_logged(debug_logs)
    assert_no_secret(logged)
    for sig in _signatures(fake):
        assert sig not in logged, "a signed upload URL leaked into the logs"
    # the records are there, just redacted: httpx's line for each PUT, our retry and failure lines
    puts = [r for r in debug_logs.records if r.name == "httpx" and "PUT" in r.getMessage()]
    assert len(puts) >= 6 and all("?<redacted>" in r.getMessage() for r in puts)
    assert any(r.name.startswith("httpcore") for r in debug_logs.records)
    ours = " ".join(r.getMessage() for r in debug_logs.records if r.name == "magic_hour")
    assert "retry 1 of 2" in ours and "upload failed" in ours and "expired" in ours
    # ...and the token did go where it belongs
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in fake.requests_to("upload_urls"))


async def test_the_log_filter_leaves_other_httpx_traffic_alone(
    sdk: Flavor,
    fake: FakeMagicHour,
    server: FakeServer,
    tmp_path: pathlib.Path,
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    """Only our PUTs are redacted: the application's own requests keep their query in httpx's log."""
    await sdk.call(sdk.client(base_url=server.url).v1.files.upload_file, _files(tmp_path, 1)[0])
    own = sdk.httpx_client()
    await sdk.call(own.get, f"{server.url}/elsewhere?page=2&q=cats")
    lines = [r.getMessage() for r in debug_logs.records if r.name == "httpx"]
    assert any("/elsewhere?page=2&q=cats" in line for line in lines), lines


# ------------------------------------------------------------------------------- reprs and messages


def _echo_token(request: Received) -> Respond:
    """A misbehaving API that quotes the credential it received; the base URL's first path segment
    picks the status (``/500/v1/...``, ``/401/...``, ``/200/...`` with a body that fits no model)."""
    auth = request.header("authorization") or ""
    status = int(request.target.split("/")[1])
    payload: Any = {"items": auth} if status == 200 else {"message": f"token {auth} refused", "auth": auth}
    headers = [("Content-Type", "application/json"), ("x-request-id", "req_1")]
    return Respond(status, headers, json.dumps(payload).encode())


@pytest.mark.parametrize(
    ("path", "expected"),
    [("/500", InternalServerError), ("/401", AuthenticationError), ("/200", ApiResponseValidationError)],
)
async def test_an_echoed_token_never_reaches_messages_or_reprs(
    sdk: Flavor, sleeps: Sleeps, tmp_path: pathlib.Path, path: str, expected: type
) -> None:
    with RawServer(_echo_token) as api:
        client = sdk.client(base_url=api.url + path, max_retries=1)
        errors: List[BaseException] = []
        for call in (
            lambda: sdk.create(client),
            lambda: sdk.call(client.v1.files.upload_file, _files(tmp_path, 1)[0]),
            lambda: sdk.call(client.v1.files.upload_files, _files(tmp_path, 2)),
        ):
            with pytest.raises(MagicHourError) as info:
                await call()
            errors.append(info.value)
        assert all(r.header("authorization") == f"Bearer {TOKEN}" for r in api.requests)
    assert all(isinstance(e, expected) for e in errors)  # upload_files: the presign's own error too
    for err in errors:
        inner = [r.error for r in err.results] if isinstance(err, UploadError) else [err]
        for e in [err, *inner]:
            assert e is not None
            # (.body is kept as received on purpose: it is data, not a message)
            texts = [str(e), repr(e), repr(getattr(e, "results", None))]
            if isinstance(e, ApiError):
                texts += [repr(e.response), repr(e.response.request), repr(e.response.request.headers)]
                assert TOKEN in json.dumps(e.body), "the body is kept as received"
            assert_no_secret(*texts)
    assert_no_secret(repr(client), str(client))


@pytest.mark.parametrize("sent", [f"Bearer {TOKEN}", f"my key {TOKEN}"], ids=["bearer-prefix", "spaces"])
async def test_a_part_of_a_token_with_spaces_is_redacted_too(sdk: Flavor, sent: str) -> None:
    """A token with spaces is sent as given (the API answers 401); a server that echoes only its last
    word must not put that word in our messages, reprs or pickles either."""

    def echo_last_word(request: Received) -> Respond:
        word = (request.header("authorization") or "").split()[-1]
        body = json.dumps({"message": f"unknown key {word}", "key": word}).encode()
        return Respond(401, [("Content-Type", "application/json")], body)

    with RawServer(echo_last_word) as api:
        client = sdk.client(base_url=api.url, token=sent, max_retries=0)
        with pytest.raises(AuthenticationError) as info:
            await sdk.create(client)
        assert api.requests[0].header("authorization") == f"Bearer {sent}"
    err = info.value
    copy = pickle.loads(pickle.dumps(err))
    assert_no_secret(str(err), repr(err), str(copy), json.dumps(copy.body))


@pytest.mark.parametrize("sent", ["my  api  key  42", "team\tkey\tb7"], ids=["double-spaces", "tabs"])
async def test_a_token_of_short_words_echoed_as_text_is_redacted(sdk: Flavor, sent: str) -> None:
    """A text answer's message is read with its whitespace runs made single spaces, so an echo of a
    token with double spaces or tabs (each word too short to redact alone) reached the message."""

    def echo_as_text(request: Received) -> Respond:
        auth = request.header("authorization") or ""
        return Respond(401, [("Content-Type", "text/plain")], f"unknown key {auth[7:]} here".encode())

    with RawServer(echo_as_text) as api:
        client = sdk.client(base_url=api.url, token=sent, max_retries=0)
        with pytest.raises(AuthenticationError) as info:
            await sdk.create(client)
        assert api.requests[0].header("authorization") == f"Bearer {sent}"
    err, collapsed = info.value, " ".join(sent.split())
    copy = pickle.loads(pickle.dumps(err))
    assert "unknown key <redacted> here" in str(err)
    for text in (str(err), repr(err), str(copy), repr(copy)):
        assert sent not in text and collapsed not in text, text


@pytest.mark.full
async def test_signed_queries_never_reach_messages_reprs_or_progress(
    sdk: Flavor, fake: FakeMagicHour, server: FakeServer, tmp_path: pathlib.Path, sleeps: Sleeps
) -> None:
    srcs = _files(tmp_path, 3)
    # 1 s: the answers that must succeed have room on a loaded machine; the slow storage below takes 3 s.
    client = sdk.client(base_url=server.url, max_retries=1, timeout=1.0)
    events: List[Any] = []
    res = await sdk.create(client)
    fake.fail_next("storage", 503, times=2)  # srcs[0] fails after a retry
    fake.fail_next("storage", 403, body="<Error><Code>AccessDenied</Code><Message>no</Message></Error>")
    with pytest.raises(UploadError) as info:
        await sdk.call(client.v1.files.upload_files, srcs, max_concurrency=1, on_progress=events.append)
    fake.set_latency(3.0, route="storage")
    with pytest.raises(MagicHourError) as timeout_info:
        await sdk.call(client.v1.files.upload_file, srcs[0])
    err = info.value
    texts = [str(err), repr(err), repr(err.results), repr(res), repr(res.items), repr(events)]
    texts += [str(r.error) for r in err.failed] + [repr(r.error) for r in err.failed]
    texts += [str(timeout_info.value), repr(timeout_info.value)]
    joined = "\n".join(texts)
    assert len(err.failed) == 2 and len(err.succeeded) == 1
    for sig in _signatures(fake):
        assert sig not in joined
    assert "X-Signature" not in joined and "X-Expires" not in joined


# --------------------------------------------------------------------------- requests to other hosts


class _SigningAuth(httpx.Auth):
    """A lent client's own auth flow (say, request signing): it must not run on storage PUTs."""

    def auth_flow(self, request: httpx.Request) -> Any:
        request.headers["X-Signed-With"] = TOKEN
        yield request


async def test_no_credential_reaches_the_storage_host(
    sdk: Flavor, fake: FakeMagicHour, server: FakeServer, tmp_path: pathlib.Path
) -> None:
    """Storage on another origin (``localhost:<port>`` vs the API's ``127.0.0.1:<port>``), through a lent
    httpx client stuffed with credentials: the PUTs carry none of them."""
    with RawServer(then=Forward(server.url)) as storage:
        storage_url = f"http://localhost:{storage.port}/storage"
        rewrite = ((server.storage_url.encode(), storage_url.encode()),)
        with RawServer(then=Forward(server.url, rewrite=rewrite)) as api:
            lent = sdk.httpx_client(
                headers={"Authorization": f"Bearer {TOKEN}", "X-Api-Key": TOKEN},
                auth=_SigningAuth(),
                cookies={"session": TOKEN},
            )
            client = sdk.client(base_url=api.url, httpx_client=lent, default_headers={"X-Extra": TOKEN})
            paths = await sdk.call(client.v1.files.upload_files, _files(tmp_path, 3))
            puts = storage.requests
            api_requests = api.requests
    assert len(paths) == 3 and len(puts) == 3
    for put in puts:
        assert put.header("host") == f"localhost:{storage.port}"
        assert put.header("authorization") is None and put.header("cookie") is None
        for name, value in put.headers:
            assert TOKEN not in value, f"the token went to the storage host in {name}"
    assert all(r.header("authorization") == f"Bearer {TOKEN}" for r in api_requests)
    assert all(r.header("x-signed-with") == TOKEN for r in api_requests), "the lent client's auth ran"


# ---------------------------------------------------------------------------------------- plain http


def _this_machine() -> str:
    """A name for this machine that is not literally loopback (the SDK cannot know where it resolves)."""
    name = socket.gethostname()
    assert name and name != "localhost" and not name.endswith(".localhost")
    return name


async def test_plain_http_to_a_non_loopback_host_is_refused_on_the_wire(
    sdk: Flavor, fake: FakeMagicHour, tmp_path: pathlib.Path
) -> None:
    name = _this_machine()
    with fake.serve(host=socket.gethostbyname(name)) as srv:
        url = f"http://{name}:{srv.port}"
        for call in (
            lambda c: sdk.create(c),
            lambda c: sdk.call(c.v1.files.upload_file, _files(tmp_path, 1)[0]),
        ):
            with pytest.raises(InsecureTransportError) as info:
                await call(sdk.client(base_url=url))
            assert "allow_insecure_http=True" in str(info.value)
            assert_no_secret(str(info.value))
        assert fake.requests == [], "the token was sent before the check"
        path = await sdk.call(
            sdk.client(base_url=url, allow_insecure_http=True).v1.files.upload_file, _files(tmp_path, 1)[0]
        )
    assert path in fake.files
    assert fake.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


# ------------------------------------------------------------------------------------------- redirects


def _redirect_to(url: str) -> Respond:
    return Respond(307, [("Location", url + "/v1/files/upload-urls")])


async def test_our_client_does_not_follow_an_api_redirect(sdk: Flavor) -> None:
    with (
        RawServer(then=Respond(200)) as other,
        RawServer(then=_redirect_to(f"http://localhost:{other.port}")) as api,
    ):
        with pytest.raises(ApiError) as info:
            await sdk.create(sdk.client(base_url=api.url))
        assert info.value.status_code == 307
        assert len(api.requests) == 1 and other.requests == []


@pytest.mark.parametrize("other_host", ["localhost", "127.0.0.1"])
async def test_a_lent_client_that_follows_redirects_sends_nothing_to_another_origin(
    sdk: Flavor, fake: FakeMagicHour, server: FakeServer, other_host: str
) -> None:
    """A redirect that changes origin (host or port) is the answer: httpx would follow it without the
    token, sending the body there and taking that host's answer for the API's; checked on the wire."""
    with RawServer(then=Forward(server.url)) as other:
        target = f"http://{other_host}:{other.port}"
        with RawServer(then=_redirect_to(target)) as api:
            lent = sdk.httpx_client(follow_redirects=True)
            with pytest.raises(ApiError) as info:
                await sdk.create(sdk.client(base_url=api.url, httpx_client=lent))
            [first] = api.requests
    assert info.value.status_code == 307
    assert first.header("authorization") == f"Bearer {TOKEN}"
    assert other.requests == []


async def test_a_lent_client_that_follows_redirects_keeps_the_token_on_the_same_origin(
    sdk: Flavor, fake: FakeMagicHour, server: FakeServer
) -> None:
    """The control: a redirect to the same origin keeps the token (so the test above can fail)."""

    def script(request: Received) -> Any:
        if request.target.startswith("/first/"):  # -> the same host and port, another path
            return Respond(307, [("Location", f"http://{request.header('host')}/v1/files/upload-urls")])
        return Forward(server.url)

    with RawServer(script) as api:
        lent = sdk.httpx_client(follow_redirects=True)
        res = await sdk.create(sdk.client(base_url=api.url + "/first", httpx_client=lent))
        assert len(res.items) == 2
        assert [r.target for r in api.requests] == ["/first/v1/files/upload-urls", "/v1/files/upload-urls"]
        assert [r.header("authorization") for r in api.requests] == [f"Bearer {TOKEN}"] * 2


async def test_a_storage_redirect_is_not_followed_even_by_a_lent_client_that_follows(
    sdk: Flavor, fake: FakeMagicHour, server: FakeServer, tmp_path: pathlib.Path
) -> None:
    with RawServer(then=Respond(200)) as elsewhere:
        with RawServer(then=Respond(307, [("Location", f"http://localhost:{elsewhere.port}/x")])) as storage:
            rewrite = ((server.storage_url.encode(), storage.url.encode()),)
            with RawServer(then=Forward(server.url, rewrite=rewrite)) as api:
                lent = sdk.httpx_client(follow_redirects=True)
                client = sdk.client(base_url=api.url, httpx_client=lent)
                with pytest.raises(StorageError) as info:
                    await sdk.call(client.v1.files.upload_file, _files(tmp_path, 1)[0])
        assert info.value.status_code == 307
        assert len(storage.requests) == 1
        assert elsewhere.requests == []


# ------------------------------------------------------------------------------------------ URLs shown

# (URL, as messages show it). The one rule (_redact.safe_url): no user:password@ (up to the authority's
# last "@"; in a URL httpx cannot read, to the last "@" of all), ?<redacted> for a query (#<redacted>
# for a fragment alone; a bare "?" as is), invisible characters percent-encoded; the rest as given.
SHOWN_URLS = [
    ("https://u:p-h1dden@h/x.mp4?sig=h1dden#h1dden", "https://h/x.mp4?<redacted>"),
    ("https://user:pa@ss-h1dden@host/x.mp4", "https://host/x.mp4"),  # was "https://ss-h1dden@host/..."
    ("https://u@:h1dden@h/", "https://h/"),  # was "https://:h1dden@h/"
    ("https://user:pa/ss-h1dden@host/x.mp4", "https://host/x.mp4"),  # unparseable: was shown whole
    ("https://user:pa#ss-h1dden@host/x", "https://host/x"),  # was "https://user:pa"
    ("https://u:p\\h1dden@h/x", "https://h/x"),
    ("http://u:h1dden@[::1/hook?token=h1dden", "http://[::1/hook?<redacted>"),
    ("https://host/a@b/c.mp4", "https://host/a@b/c.mp4"),  # an @ in the path is no credential
    ("https://h/x?e=a@b#u:h1dden@z", "https://h/x?<redacted>"),
    ("https://host/x\x1b[31m.mp4?sig", "https://host/x%1B[31m.mp4?<redacted>"),  # was shown raw
    ("https://h\u200bost/x\n.mp4", "https://h%E2%80%8Bost/x%0A.mp4"),
    ("https://h/café.mp4\u202e", "https://h/café.mp4%E2%80%AE"),
    ("https://host/x.mp4?", "https://host/x.mp4?"),  # nothing to hide: a refused base URL shows why
    ("https://h/x#h1dden", "https://h/x#<redacted>"),  # was "https://h/x"
    ("not a url ?x", "not a url ?<redacted>"),
    (httpx.URL("https://u:h1dden@h/a%20b?sig=h1dden"), "https://h/a%20b?<redacted>"),
]


@pytest.mark.parametrize(("url", "shown"), SHOWN_URLS)
def test_a_url_is_shown_without_its_secrets(url: object, shown: str) -> None:
    from magic_hour._redact import safe_url

    assert safe_url(url) == shown
    # Without the mark (DownloadError.url, upload messages: the part before "?"), the same otherwise.
    assert safe_url(url, mark_query=False) == re.split(r"[?#]", shown, maxsplit=1)[0]
    assert "h1dden" not in shown


@pytest.mark.parametrize(
    ("url", "marked"),
    [
        ("https://u:h1dden@h/x?sig=h1dden", "https://<redacted>@h/x?<redacted>"),
        ("https://user:pa/ss-h1dden@host/x", "https://<redacted>@host/x"),  # unparseable
        (" https://u:h1dden@h/x", " https://<redacted>@h/x"),  # a relative path to httpx
        ("//u:h1dden@h/x", "//<redacted>@h/x"),
        ("u:h1dden@h", "<redacted>@h"),  # "u" read as the scheme
        ("https://host/a@b/c.mp4", "https://host/a@b/c.mp4"),  # an @ in the path is no credential
    ],
)
def test_credentials_can_be_shown_as_a_mark(url: str, marked: str) -> None:
    # A refused base URL's message and a model's repr say where the credentials were; other messages
    # leave them out. Either way the same part of the URL goes.
    from magic_hour._redact import safe_url

    assert safe_url(url, mark_credentials=True) == marked
    assert safe_url(url) == marked.replace("<redacted>@", "")


@pytest.mark.parametrize("text", ["a prompt: is it? yes #1", "api-assets/id/a.mp4?v=1", "user:h1dden@host"])
def test_urls_only_leaves_other_text_as_it_is(text: str) -> None:
    # A model's repr passes every string field through safe_url: a prompt is not a URL.
    from magic_hour._redact import safe_url

    assert safe_url(text, urls_only=True) == text
    assert safe_url(text) != text  # as a URL, each would lose a query or credentials
    for url, shown in SHOWN_URLS:
        if isinstance(url, str) and url.lstrip().startswith(("https:", "http:", "//")):
            assert safe_url(url, urls_only=True) == shown
