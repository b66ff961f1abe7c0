"""The fault matrix: every fault of the API or the storage, against ``upload_urls.create``, ``upload_file``
and ``upload_files``, sync and async, through real sockets on 127.0.0.1.

Each row of :data:`API_FAULTS` and :data:`STORAGE_FAULTS` says how to break things and what must happen:
success or the exact typed error, the exact number of attempts seen on the wire (from the fake's records,
or from a scripted proxy in front of it, or from the retry sleeps when nothing listens), and what the
storage holds afterwards: every stored file is byte-identical to a source, never a truncated one, and a
``file_path`` is only ever returned for a file that is stored whole.

Topologies (see ``tests/_servers.py``)::

    fake:           client ─────────────────────────────► FakeMagicHour (API + storage)
    api proxy:      client ──► RawServer(script, then=Forward) ──► fake        (faults on the API)
    storage proxy:  client ──► API forwarder rewriting upload URLs ──► fake
                    client ──► RawServer(script, then=Forward) ──► fake storage (faults on PUTs)
    refused:        client ──► a closed port (the API's, or the upload URLs')

The retry sleep is faked (``sleeps``), so Retry-After values are checked without waiting.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import pathlib
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Type

import httpx
import pytest
from _servers import (
    Close,
    Forward,
    Hang,
    RawServer,
    Received,
    Reset,
    Respond,
    closed_port,
)
from conftest import Flavor, Sleeps

from magic_hour import (
    ApiConnectionError,
    ApiError,
    ApiResponseValidationError,
    ApiTimeoutError,
    ConflictError,
    InternalServerError,
    MagicHourError,
    RateLimitError,
    StorageError,
    UploadError,
    UploadUrlsMismatchError,
)
from magic_hour._core.retry import INITIAL_RETRY_DELAY, MAX_RETRY_AFTER
from magic_hour.testing import FakeMagicHour, FakeServer

pytestmark = [pytest.mark.anyio, pytest.mark.full]

MAX_RETRIES = 2  # the default: 3 attempts
TIMEOUT = 10.0  # the client timeout of the rows, but for the "slow" ones:
SHORT_TIMEOUT = 0.25  # the client timeout of the "slow" rows, whose server answers after SLOW seconds
SLOW = 0.5
# The "slow ... then-ok" rows: the first attempt hangs (Hang(5)) and times out, and every other request
# must then succeed within the timeout: 0.25 s was too short for a loaded machine (a presign or PUT took
# longer, an extra attempt broke the counts).
THEN_OK_TIMEOUT = 1.5
FILE_SIZE = 256 * 1024
N_FILES = 2  # upload_files uploads this many files (upload_file one)
HTML = b"<!doctype html><html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"


# --------------------------------------------------------------------------------------------- the setup


@dataclass
class Env:
    """One test's servers: the fake, plus optional proxies; and where the client points."""

    fake: FakeMagicHour
    server: FakeServer
    stack: ExitStack
    base_url: str = ""
    api_proxy: Optional[RawServer] = None
    storage_proxy: Optional[RawServer] = None
    elsewhere: Optional[RawServer] = None  # a redirect target: must never be reached

    def __post_init__(self) -> None:
        self.base_url = self.server.url

    def proxy_api(self, script: Sequence[Any]) -> None:
        """API requests go through a RawServer playing ``script`` first, then forwarding to the fake."""
        self.api_proxy = self.stack.enter_context(RawServer(script, then=Forward(self.server.url)))
        self.base_url = self.api_proxy.url

    def proxy_storage(self, script: Sequence[Any], storage_url: Optional[str] = None) -> None:
        """Upload URLs are rewritten to point at a RawServer playing ``script``, then forwarding to the
        fake's storage (or at ``storage_url``, e.g. a closed port)."""
        if storage_url is None:
            self.storage_proxy = self.stack.enter_context(RawServer(script, then=Forward(self.server.url)))
            storage_url = self.storage_proxy.url + "/storage"
        rewrite = ((self.server.storage_url.encode(), storage_url.encode()),)
        api = self.stack.enter_context(RawServer(then=Forward(self.server.url, rewrite=rewrite)))
        self.base_url = api.url

    def api_attempts(self) -> int:
        if self.api_proxy is not None:
            return len(self.api_proxy.requests)
        return len(self.fake.requests_to("upload_urls"))

    def put_attempts(self) -> int:
        if self.storage_proxy is not None:
            return len(self.storage_proxy.requests)
        return len(self.fake.requests_to("storage"))


@pytest.fixture
def env() -> Iterator[Env]:
    fake = FakeMagicHour()
    with ExitStack() as stack:
        server = stack.enter_context(fake.serve())
        yield Env(fake, server, stack)


def http_date(offset: float) -> str:
    return email.utils.formatdate(time.time() + offset, usegmt=True)


# ------------------------------------------------------------------------------------------------ the rows

Arm = Callable[[Env, int], None]
Count = Callable[[int], int]


def _n(value: int) -> Count:
    return lambda n: value


@dataclass(frozen=True)
class Row:
    """One fault. ``arm(env, n)`` breaks things for an operation on ``n`` files (create: n = 1).

    ``error``: ``None`` for success, else the typed error (for storage faults, ``upload_files`` raises
    :class:`UploadError` whose every result carries it; for API faults, the error itself). ``status``: its ``status_code``. ``api``/``puts``: attempts on the
    wire as a function of n; ``None`` counts them from the retry sleeps (nothing was listening).
    ``sleep``: ``(low, high)`` bounds of the first retry delay. ``stored``: ``"all"`` (every file, whole),
    ``"none"``, or ``"whole-or-none"`` (a timed-out PUT may have reached the storage in full).
    """

    id: str
    arm: Arm
    error: Optional[Type[BaseException]]
    api: Optional[Count] = None
    puts: Optional[Count] = None
    status: Optional[int] = None
    sleep: Optional[Tuple[float, float]] = None
    stored: str = "all"
    message: Optional[str] = None
    create_only: Dict[str, Any] = field(default_factory=dict)

    @property
    def timeout(self) -> float:
        if "-slow-" not in self.id:
            return TIMEOUT
        return THEN_OK_TIMEOUT if self.id.endswith("-then-ok") else SHORT_TIMEOUT


Headers = Optional[Callable[[], Dict[str, str]]]


def fail_api(status: int, times: int, headers: Headers = None, body: Any = None) -> Arm:
    """The API answers ``status`` ``times`` times; ``headers()`` is called when armed (dates are fresh)."""

    def arm(env: Env, n: int) -> None:
        hdrs = headers() if headers is not None else None
        env.fake.fail_next("upload_urls", status, times=times, headers=hdrs, body=body)

    return arm


BACKOFF_0 = (INITIAL_RETRY_DELAY * 0.75, INITIAL_RETRY_DELAY)


def _retry_after_rows() -> List[Row]:
    rows: List[Row] = []
    variants: List[Tuple[str, Callable[[], Dict[str, str]], Tuple[float, float]]] = [
        ("seconds", lambda: {"Retry-After": "3"}, (3.0, 3.0)),
        ("http-date", lambda: {"Retry-After": http_date(30)}, (27.0, 30.5)),
        ("ms", lambda: {"retry-after-ms": "1500"}, (1.5, 1.5)),
        ("absent", dict, BACKOFF_0),
        ("huge-capped", lambda: {"Retry-After": "86400000"}, (MAX_RETRY_AFTER, MAX_RETRY_AFTER)),
        ("huge-ms-capped", lambda: {"retry-after-ms": "1e15"}, (MAX_RETRY_AFTER, MAX_RETRY_AFTER)),
        ("huge-date-capped", lambda: {"Retry-After": http_date(10**7)}, (MAX_RETRY_AFTER, MAX_RETRY_AFTER)),
    ]
    for status in (408, 409, 429):
        for name, headers, bounds in variants:
            rows.append(
                Row(
                    f"api-{status}-retry-after-{name}-then-ok",
                    fail_api(status, 1, headers),
                    None,
                    api=_n(2),
                    sleep=bounds,
                )
            )
    persistent = {408: ApiError, 409: ConflictError, 429: RateLimitError}
    for status, cls in persistent.items():
        rows.append(
            Row(
                f"api-{status}-persistent",
                fail_api(status, 3, lambda: {"Retry-After": "1"}, {"message": f"busy {status}"}),
                cls,
                api=_n(3),
                status=status,
                sleep=(1.0, 1.0),
                stored="none",
                message=f"busy {status}",
            )
        )
    return rows


def _5xx_rows() -> List[Row]:
    rows: List[Row] = []
    for status in (500, 502, 503, 504):
        for kind, body in (("json", {"message": f"upstream said {status}"}), ("html", HTML)):
            rows.append(Row(f"api-{status}-{kind}-then-ok", fail_api(status, 2, body=body), None, api=_n(3)))
            rows.append(
                Row(
                    f"api-{status}-{kind}-persistent",
                    fail_api(status, 3, body=body),
                    InternalServerError,
                    api=_n(3),
                    status=status,
                    stored="none",
                    # JSON: the API's message; HTML: never the markup, the reason phrase instead
                    message=f"upstream said {status}"
                    if kind == "json"
                    else httpx.codes.get_reason_phrase(status),
                )
            )
    return rows


def _api_proxy(script: Sequence[Any]) -> Arm:
    return lambda env, n: env.proxy_api(script)


def _slow_api(env: Env, n: int) -> None:
    env.fake.set_latency(SLOW, route="upload_urls")


def _refuse_api(env: Env, n: int) -> None:
    env.base_url = f"http://127.0.0.1:{closed_port()}"


API_FAULTS: List[Row] = [
    Row("api-refused", _refuse_api, ApiConnectionError, api=None, stored="none"),
    Row("api-reset-before-response", _api_proxy([Reset()] * 3), ApiConnectionError, api=_n(3), stored="none"),
    Row("api-reset-before-response-then-ok", _api_proxy([Reset()]), None, api=_n(2)),
    Row("api-closed-before-response-then-ok", _api_proxy([Close(), Close()]), None, api=_n(3)),
    Row("api-slow-beyond-timeout", _slow_api, ApiTimeoutError, api=_n(3), stored="none"),
    Row("api-slow-beyond-timeout-then-ok", _api_proxy([Hang(5)]), None, api=_n(2)),
    *_retry_after_rows(),
    *_5xx_rows(),
    Row(
        "api-malformed-json-on-200",
        lambda env, n: env.fake.malformed_next_responses(1),
        ApiResponseValidationError,
        api=_n(1),
        status=200,
        stored="none",
    ),
    Row(
        "api-200-one-item-too-few",
        lambda env, n: env.fake.wrong_item_count_next(1, delta=-1),
        UploadUrlsMismatchError,
        api=_n(1),
        stored="none",
        message="nothing was uploaded",
        create_only={"items": 1},
    ),
    Row(
        "api-200-one-item-too-many",
        lambda env, n: env.fake.wrong_item_count_next(1, delta=1),
        UploadUrlsMismatchError,
        api=_n(1),
        stored="none",
        message="nothing was uploaded",
        create_only={"items": 3},
    ),
]


def _bad_upload_urls(url: str) -> Arm:
    """The API answers 200 with one item per asked item, but ``url`` as every upload URL."""

    def answer(request: Received) -> Respond:
        asked = json.loads(request.body)["items"]
        items = [
            {"expires_at": "2099-01-01T00:00:00Z", "file_path": f"api-assets/x/{i}.bin", "upload_url": url}
            for i in range(len(asked))
        ]
        return Respond(200, [("Content-Type", "application/json")], json.dumps({"items": items}).encode())

    def arm(env: Env, n: int) -> None:
        env.api_proxy = env.stack.enter_context(RawServer(answer))
        env.base_url = env.api_proxy.url

    return arm


API_FAULTS += [
    Row(
        f"api-200-unusable-upload-url-{name}",
        _bad_upload_urls(url),
        UploadUrlsMismatchError,
        api=_n(1),
        stored="none",
        message="not an absolute http(s) URL",
    )
    for name, url in (
        ("empty", ""),
        ("relative", "api-assets/x/0.bin?X-Signature=abc"),
        ("ftp", "ftp://storage.example/x?X-Signature=abc"),
        ("unparseable", "http://[::1/x?X-Signature=abc"),
        ("no-host", "https:///x?X-Signature=abc"),
    )
]


def fail_storage(
    status: int, per_file: int, headers: Optional[Dict[str, str]] = None, body: Any = None
) -> Arm:
    return lambda env, n: env.fake.fail_next(
        "storage", status, times=per_file * n, headers=headers, body=body
    )


def _storage_rows() -> List[Row]:
    rows: List[Row] = []
    for status in (408, 429, 500, 502, 503, 504):
        rows.append(
            Row(
                f"storage-{status}-then-ok",
                fail_storage(status, 1, {"Retry-After": "2"}),
                None,
                api=_n(1),
                puts=lambda n: 2 * n,
                sleep=(2.0, 2.0),
            )
        )
        rows.append(
            Row(
                f"storage-{status}-persistent",
                fail_storage(status, 3),
                StorageError,
                api=_n(1),
                puts=lambda n: 3 * n,
                status=status,
                stored="none",
            )
        )
    for kind, body in (("json", {"message": "storage json says no"}), ("html", HTML)):
        rows.append(
            Row(
                f"storage-503-{kind}-persistent",
                fail_storage(503, 3, body=body),
                StorageError,
                api=_n(1),
                puts=lambda n: 3 * n,
                status=503,
                stored="none",
                message="storage json says no" if kind == "json" else "Service Unavailable",
            )
        )
    # 409 and 4xx other than expiry are not retried on storage (a PUT that conflicts will conflict again)
    for status in (400, 409):
        rows.append(
            Row(
                f"storage-{status}-not-retried",
                fail_storage(status, 1),
                StorageError,
                api=_n(1),
                puts=lambda n: n,
                status=status,
                stored="none",
            )
        )
    # a storage error body that quotes the signed URL: the signature must not reach the message
    echoed = "https://storage.example/api-assets/x/video.mp4?X-Expires=1&X-Signature=abc"
    for kind, status, body in (
        ("xml", 403, f"<Error><Code>AccessDenied</Code><Message>Denied: {echoed}</Message></Error>"),
        ("json", 500, {"message": f"failed to write {echoed}"}),
        ("text", 400, f"bad request for {echoed}"),
    ):
        rows.append(
            Row(
                f"storage-{status}-{kind}-body-echoes-the-signed-url",
                fail_storage(status, 3, body=body),
                StorageError,
                api=_n(1),
                puts=(lambda n: 3 * n) if status >= 500 else (lambda n: n),
                status=status,
                stored="none",
                message="https://storage.example/api-assets/x/video.mp4",
            )
        )
    rows.append(
        Row(
            "storage-403-not-expiry-not-represigned",
            fail_storage(403, 1, body="<Error><Code>SignatureDoesNotMatch</Code></Error>"),
            StorageError,
            api=_n(1),
            puts=lambda n: n,
            status=403,
            stored="none",
            message="SignatureDoesNotMatch",
        )
    )
    return rows


def _drop(per_file: int, after: Optional[int]) -> Arm:
    return lambda env, n: env.fake.drop_next_uploads(per_file * n, after_bytes=after)


def _storage_proxy(script: Sequence[Any]) -> Arm:
    return lambda env, n: env.proxy_storage(script * n)


def _refuse_storage(env: Env, n: int) -> None:
    env.proxy_storage([], storage_url=f"http://127.0.0.1:{closed_port()}/storage")


def _slow_storage(env: Env, n: int) -> None:
    env.fake.set_latency(SLOW, route="storage")


def _redirect_storage(env: Env, n: int) -> None:
    elsewhere = env.stack.enter_context(RawServer(then=Respond(200)))
    env.proxy_storage([Respond(307, [("Location", elsewhere.url + "/x")])] * n)
    env.elsewhere = elsewhere


STORAGE_FAULTS: List[Row] = [
    Row(
        "storage-307-redirect-not-followed",
        _redirect_storage,
        StorageError,
        api=_n(1),
        puts=lambda n: n,
        status=307,
        stored="none",
    ),
    Row("storage-refused", _refuse_storage, ApiConnectionError, api=_n(1), puts=None, stored="none"),
    Row("storage-reset-before-response-then-ok", _drop(1, FILE_SIZE), None, api=_n(1), puts=lambda n: 2 * n),
    Row(
        "storage-reset-before-response-persistent",
        _drop(3, FILE_SIZE),
        ApiConnectionError,
        api=_n(1),
        puts=lambda n: 3 * n,
        stored="none",
    ),
    # two drops in all: whichever files they hit, none gets more than max_retries of them
    Row(
        "storage-reset-mid-upload-twice-then-ok",
        lambda env, n: env.fake.drop_next_uploads(2),
        None,
        api=_n(1),
        puts=lambda n: n + 2,
    ),
    Row(
        "storage-reset-mid-upload-persistent",
        _drop(3, FILE_SIZE // 3),
        ApiConnectionError,
        api=_n(1),
        puts=lambda n: 3 * n,
        stored="none",
    ),
    Row(
        "storage-reset-at-first-byte-then-ok",
        _storage_proxy([Reset()]),
        None,
        api=_n(1),
        puts=lambda n: 2 * n,
    ),
    Row(
        "storage-slow-beyond-timeout",
        _slow_storage,
        ApiTimeoutError,
        api=_n(1),
        puts=lambda n: 3 * n,
        stored="whole-or-none",
    ),
    Row(
        "storage-slow-beyond-timeout-then-ok",
        _storage_proxy([Hang(5)]),
        None,
        api=_n(1),
        puts=lambda n: 2 * n,
    ),
    *_storage_rows(),
    Row(
        "storage-403-expired-then-represigned",
        lambda env, n: env.fake.expire_next_urls(n, advertise_valid=True),
        None,
        api=lambda n: 1 + n,
        puts=lambda n: 2 * n,
    ),
    Row(
        "storage-403-expired-again-after-represign",
        lambda env, n: env.fake.expire_next_urls(100, advertise_valid=True),
        StorageError,
        api=lambda n: 1 + n,
        puts=lambda n: 2 * n,
        status=403,
        stored="none",
        message="after requesting a new URL once",
    ),
    Row(
        "url-expired-before-the-put",
        lambda env, n: env.fake.expire_next_urls(n),
        None,
        api=lambda n: 1 + n,
        puts=lambda n: n,
    ),
]


# ------------------------------------------------------------------------------------------------ running


def _sources(tmp_path: pathlib.Path, n: int) -> List[pathlib.Path]:
    paths = []
    for i in range(n):
        p = tmp_path / f"src{i}.{'mp4' if i % 2 == 0 else 'png'}"
        block = hashlib.sha256(f"source {i}".encode()).digest()
        p.write_bytes((block * (FILE_SIZE // len(block) + 1))[:FILE_SIZE])
        paths.append(p)
    return paths


async def _run(sdk: Flavor, env: Env, row: Row, op: str, srcs: List[pathlib.Path]) -> Any:
    client = sdk.client(
        base_url=env.base_url, token=env.fake.token, timeout=row.timeout, max_retries=MAX_RETRIES
    )
    if op == "create":
        return await sdk.create(client)
    if op == "upload_file":
        return await sdk.call(client.v1.files.upload_file, srcs[0])
    return await sdk.call(client.v1.files.upload_files, srcs)


def _check_storage(env: Env, srcs: List[pathlib.Path], reported: List[str], stored: str) -> None:
    """Every stored file is a whole source, every reported path is stored whole; then ``stored``."""
    shas = {hashlib.sha256(p.read_bytes()).hexdigest(): p for p in srcs}
    files = env.fake.files
    for f in files.values():
        assert f.sha256 in shas, f"a stored file is not a whole source: {f!r}"
    for src, path in zip(srcs, reported):
        assert files[path].sha256 == hashlib.sha256(src.read_bytes()).hexdigest()
        assert files[path].size == src.stat().st_size
    if stored == "all":
        assert len(reported) == len(srcs)
    elif stored == "none":
        assert files == {}, "a failed upload left a file in storage"


def _attempts_from_sleeps(sleeps: Sleeps, first_tries: int) -> int:
    return first_tries + len(sleeps)


def _check_error(row: Row, err: BaseException) -> None:
    assert row.error is not None
    assert isinstance(err, row.error), f"{type(err).__name__}: {err}"
    if row.status is not None:
        assert getattr(err, "status_code", None) == row.status
    if row.message is not None:
        assert row.message in str(err)
    if isinstance(err, ApiError) and "html" in row.id:
        assert "<" not in str(err) and "nginx" not in str(err), "HTML markup in the message"
        assert isinstance(err.body, str) and "nginx" in err.body, "the body is kept"
    assert "X-Signature" not in str(err)


def _ops_for(rows: List[Row], ops: Sequence[str]) -> List[Any]:
    return [pytest.param(row, op, id=f"{row.id}/{op}") for row in rows for op in ops]


@pytest.mark.parametrize(("row", "op"), _ops_for(API_FAULTS, ("create", "upload_file", "upload_files")))
async def test_api_faults(
    sdk: Flavor, env: Env, sleeps: Sleeps, tmp_path: pathlib.Path, row: Row, op: str
) -> None:
    n = N_FILES if op == "upload_files" else 1
    srcs = _sources(tmp_path, n)
    row.arm(env, n)
    result: Any = None
    error: Optional[BaseException] = None
    try:
        result = await _run(sdk, env, row, op, srcs)
    except MagicHourError as exc:
        error = exc

    expected = row.error
    if op == "create" and expected is UploadUrlsMismatchError:
        # create returns what the API sent (it is not an upload); the engine is the one that refuses it.
        expected = None
    if expected is None:
        assert error is None, f"unexpected {type(error).__name__}: {error}"
    else:
        # upload_files too: the failed upload-urls call's own error, as upload_file raises it (not an
        # UploadError: no file was uploaded, and they all failed for that one reason).
        assert error is not None, "no error raised"
        assert not isinstance(error, UploadError), repr(error)
        _check_error(row, error)

    if op == "create" and error is None:
        assert len(result.items) == row.create_only.get("items", 2)
    attempts = env.api_attempts() if row.api is not None else _attempts_from_sleeps(sleeps, 1)
    assert attempts == (row.api(n) if row.api is not None else MAX_RETRIES + 1)
    if row.sleep is not None:
        low, high = row.sleep
        assert low <= sleeps[0] <= high, sleeps
    if op == "create":
        assert env.put_attempts() == 0
        return
    reported = [result] if op == "upload_file" and error is None else (result or [])
    if error is None:
        assert env.put_attempts() == n
    else:
        assert env.put_attempts() == 0, "a PUT was sent although presigning failed"
    _check_storage(env, srcs, reported, "all" if error is None else row.stored)


@pytest.mark.parametrize(("row", "op"), _ops_for(STORAGE_FAULTS, ("upload_file", "upload_files")))
async def test_storage_faults(
    sdk: Flavor, env: Env, sleeps: Sleeps, tmp_path: pathlib.Path, row: Row, op: str
) -> None:
    n = N_FILES if op == "upload_files" else 1
    srcs = _sources(tmp_path, n)
    row.arm(env, n)
    result: Any = None
    error: Optional[BaseException] = None
    try:
        result = await _run(sdk, env, row, op, srcs)
    except MagicHourError as exc:
        error = exc

    if row.error is None:
        assert error is None, f"unexpected {type(error).__name__}: {error}"
    elif op == "upload_files":
        assert isinstance(error, UploadError), repr(error)
        assert len(error.results) == n and not error.succeeded
        for r in error.results:
            assert r.file_path is None
            _check_error(row, r.error)  # type: ignore[arg-type]
    else:
        assert error is not None, "no error raised"
        _check_error(row, error)

    assert env.api_attempts() == (row.api(n) if row.api is not None else 1)
    puts = env.put_attempts() if row.puts is not None else _attempts_from_sleeps(sleeps, n)
    assert puts == (row.puts(n) if row.puts is not None else (MAX_RETRIES + 1) * n)
    if row.sleep is not None:
        low, high = row.sleep
        assert sleeps and all(low <= s <= high for s in sleeps), sleeps
    reported = [result] if op == "upload_file" and error is None else (result or [])
    _check_storage(env, srcs, reported, "all" if error is None else row.stored)
    if env.elsewhere is not None:
        assert env.elsewhere.requests == [], "a storage redirect was followed"


def test_the_matrix_covers_every_fault_of_the_issue() -> None:
    """The rows named in issue 6 are all there (a deleted row would silently shrink the matrix)."""
    ids = {r.id for r in API_FAULTS + STORAGE_FAULTS}
    wanted = {
        "api-refused",
        "api-reset-before-response",
        "storage-reset-mid-upload-persistent",
        "api-slow-beyond-timeout",
        "storage-slow-beyond-timeout",
        "api-malformed-json-on-200",
        "api-200-one-item-too-few",
        "storage-403-expired-then-represigned",
        "storage-refused",
    }
    wanted |= {
        f"api-{s}-retry-after-{v}-then-ok"
        for s in (408, 409, 429)
        for v in ("seconds", "http-date", "ms", "absent", "huge-capped")
    }
    wanted |= {f"api-{s}-{k}-persistent" for s in (500, 502, 503, 504) for k in ("json", "html")}
    wanted |= {f"storage-{s}-persistent" for s in (500, 502, 503, 504)}
    assert wanted <= ids, wanted - ids
    assert len(ids) == len(API_FAULTS + STORAGE_FAULTS), "duplicate row ids"
    assert json.dumps(sorted(ids))  # ids are plain strings
