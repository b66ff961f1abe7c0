"""A failed download is a ``DownloadError`` and also the httpx error the official SDK raised for the same
failure (its ``response.raise_for_status()`` or its transport's), so that an official user's
``except httpx.HTTPStatusError`` / ``httpx.TransportError`` / ``httpx.HTTPError`` still catches ours;
the request and response it carries never show the signed query.

Real sockets on 127.0.0.1 (a scripted server, or a closed port), sync, asyncio and trio. The full tier
runs the official package (in its own venv, as a subprocess) on the same failures: ``check_result``,
``generate`` and its ``magic_hour.helpers``, sync and async, and compares the classes.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import _modes
import httpx
import pytest
from _servers import Action, Forward, Hang, RawServer, Received, Respond, Stall, closed_port
from conftest import TOKEN, Flavor

from magic_hour import (
    DownloadConnectionError,
    DownloadDecodingError,
    DownloadError,
    DownloadStatusError,
    DownloadTimeoutError,
    MagicHourError,
)
from magic_hour.helpers import download_files_async, download_files_sync
from magic_hour.testing import FakeMagicHour

pytestmark = pytest.mark.anyio

# Client, and AsyncClient on asyncio and on trio (see tests/_modes.py).
mode, anyio_backend, sdk = _modes.mode, _modes.anyio_backend, _modes.sdk

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("MAGIC_HOUR_OFFICIAL_VENV", ROOT / ".ci" / ".venv-official"))
PYTHON = VENV / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")

SECRET = "X-Amz-Signature=s3cr3tsig"
BODY = b"\x89PNG" + bytes(996)

# What an official user's `except` may name: the classes every such failure is also an instance of.
CATCHABLE = (
    "HTTPError",
    "RequestError",
    "TransportError",
    "TimeoutException",
    "HTTPStatusError",
    "DecodingError",
)

# Each failure: the download host's action (None: nothing listens), and our class for it.
CASES: Dict[str, Tuple[Optional[Action], type]] = {
    "status": (
        Respond(
            403,
            [
                ("Content-Type", "application/xml"),
                ("Set-Cookie", f"session={SECRET}"),
                ("X-Amz-Request-Id", "r1"),
            ],
            f"<Error><Code>AccessDenied</Code><Url>/render.png?{SECRET}</Url></Error>".encode(),
        ),
        DownloadStatusError,
    ),
    "server-error": (Respond(500, [], b"oops"), DownloadStatusError),
    "refused": (None, DownloadConnectionError),
    "cut": (
        Stall(Respond(200, [("Content-Type", "image/png")], BODY), sent=10, seconds=0),
        DownloadConnectionError,
    ),
    "not-gzip": (
        Respond(
            200,
            [("Content-Type", "image/png"), ("Content-Encoding", "gzip")],
            b"\x1f\x8b\x08\x00not gzip" * 50,
        ),
        DownloadDecodingError,
    ),
    "timeout": (Hang(seconds=8), DownloadTimeoutError),
}
SLOW = {"timeout"}  # waits for a read timeout: the full tier

FAST_CASES = [c if c not in SLOW else pytest.param(c, marks=pytest.mark.full) for c in CASES]


def downloading_from(action: Optional[Action]) -> Iterator[str]:
    """The base URL of a download host that fails with ``action`` (a closed port for ``None``)."""
    if action is None:
        yield f"http://127.0.0.1:{closed_port()}"
        return
    with RawServer(then=action) as server:
        yield server.url


@pytest.fixture
def host(request: pytest.FixtureRequest) -> Iterator[str]:
    yield from downloading_from(CASES[request.param][0])


def assert_safe(error: BaseException) -> None:
    """Neither the signed query nor the token in anything the error shows or pickles."""
    texts = [str(error), repr(error), repr(error.__dict__)]
    if isinstance(error, httpx.HTTPError):
        request = error.request
        texts += [str(request.url), repr(request), repr(request.headers)]
    if isinstance(error, httpx.HTTPStatusError):
        texts += [repr(error.response.headers), error.response.text, repr(error.response)]
    blob = pickle.dumps(error)
    for secret in ("s3cr3tsig", TOKEN):
        assert secret.encode() not in blob
        for text in texts:
            assert secret not in text, text


def check_ours(error: BaseException, case: str) -> None:
    expected = CASES[case][1]
    assert type(error) is expected and isinstance(error, DownloadError), repr(error)
    assert error.url.endswith("/render.png"), error.url  # no query
    assert_safe(error)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is expected and str(copy) == str(error)
    if case in ("status", "server-error"):
        assert isinstance(error, httpx.HTTPStatusError) and isinstance(copy, httpx.HTTPStatusError)
        status = 403 if case == "status" else 500
        for e in (error, copy):
            assert e.status_code == e.response.status_code == status
            assert e.request.method == "GET" and e.request.url.path == "/render.png"
            assert "set-cookie" not in e.response.headers  # a cookie is a credential too
        if case == "status":
            assert error.response.headers["x-amz-request-id"] == "r1"  # what a support ticket needs
    else:
        assert isinstance(error, httpx.TransportError if case != "not-gzip" else httpx.DecodingError)
        assert not isinstance(error, httpx.HTTPStatusError) and error.status_code is None
        assert isinstance(error, httpx.TimeoutException) == (case == "timeout")
        for e in (error, copy):
            assert e.request.method == "GET" and e.request.url.path == "/render.png"


@pytest.mark.parametrize("host", FAST_CASES, indirect=True)
async def test_each_failure_is_also_the_httpx_error_an_official_except_names(
    sdk: Flavor, host: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    case = request.node.callspec.params["host"]
    client = sdk.client(max_retries=0, timeout=0.5)
    with pytest.raises(MagicHourError) as info:
        await sdk.call(client.v1.files.download, f"{host}/render.png?{SECRET}", directory=tmp_path)
    check_ours(info.value, case)
    assert os.listdir(tmp_path) == []


async def test_an_official_except_catches_a_refused_download_from_the_helpers(
    sdk: Flavor, tmp_path: Path
) -> None:
    # The helpers make their own client (default retries): what the official helpers raised is caught.
    with RawServer(then=CASES["status"][0]) as server:
        url = f"{server.url}/render.png?{SECRET}"
        with pytest.raises(httpx.HTTPStatusError) as info:
            await sdk.call(
                download_files_async if sdk.is_async else download_files_sync, [url], str(tmp_path)
            )
    check_ours(info.value, "status")
    assert len(server.requests) == 1  # a 403 is not retried


async def test_a_password_with_an_at_sign_is_not_shown_by_a_failed_download(
    sdk: Flavor, tmp_path: Path
) -> None:
    # A password holding an unencoded "@": the authority runs to the last "@", so all of "pa@ss-..." is
    # the password (httpx reads it so); cutting at the first "@" showed "ss-pw-h1dden@" in .url.
    with RawServer(then=CASES["status"][0]) as server:
        host = server.url.split("//", 1)[1]
        with pytest.raises(DownloadStatusError) as info:
            await sdk.call(
                sdk.client(max_retries=0).v1.files.download,
                f"http://user:pa@ss-pw-h1dden@{host}/render.png?{SECRET}",
                directory=tmp_path,
            )
    error = info.value
    assert error.url == f"{server.url}/render.png"
    assert f"downloading {server.url}/render.png to " in str(error)
    for text in (str(error), repr(error), repr(error.__dict__), str(error.request.url)):
        assert "h1dden" not in text and "user" not in text, text
    assert_safe(error)


# ------------------------------------------------------------------ compared with the official package

OFFICIAL_SCRIPT = r"""
import asyncio, json, os, sys, types
import magic_hour
from magic_hour.helpers import download_files_async, download_files_sync

args = json.loads(sys.argv[1])
out = []
for call, is_async in args["calls"]:
    cls = magic_hour.AsyncClient if is_async else magic_hour.Client
    client = cls(token=args["token"], base_url=args["base_url"])
    folder = os.path.join(args["dir"], f"{call}-{is_async}")
    os.makedirs(folder)
    if call == "check_result":
        fn = lambda: client.v1.image_projects.check_result(
            id=args["id"], wait_for_completion=True, download_outputs=True, download_directory=folder
        )
    elif call == "generate":
        fn = lambda: client.v1.ai_image_generator.generate(
            image_count=1, orientation="square", style={"prompt": "a cat"}, download_directory=folder
        )
    else:
        items = [types.SimpleNamespace(url=args["url"])]
        fn = lambda: (download_files_async if is_async else download_files_sync)(items, folder)
    try:
        result = fn()
        if is_async:
            asyncio.run(result)
        out.append(None)
    except Exception as e:
        out.append([c.__name__ for c in type(e).__mro__ if c.__module__.startswith("httpx")])
print(json.dumps(out))
"""

CALLS = ["check_result", "generate", "helpers"]
_OFFICIAL: Dict[str, List[Any]] = {}


def official_classes(case: str, tmp_path: Path) -> List[Any]:
    """The httpx classes of what the official package raised for each call (sync, async), per case."""
    if case in _OFFICIAL:
        return _OFFICIAL[case]
    if not PYTHON.exists():
        pytest.skip(f"no official SDK venv at {VENV} (run: bash .ci/official_sdk.sh)")
    calls = [(c, a) for c in CALLS for a in (False, True)]
    if case in SLOW:
        calls = [("check_result", False)]  # the official client's read timeout is httpx's default 5 s
    with api_and_downloads(CASES[case][0]) as (base_url, project_id, url):
        args = {"calls": calls, "token": "t0k3n", "base_url": base_url, "id": project_id, "url": url}
        args["dir"] = str(tmp_path / "official")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        env["MAGIC_HOUR_POLL_INTERVAL"] = "0.01"
        proc = subprocess.run(
            [str(PYTHON), "-I", "-c", OFFICIAL_SCRIPT, json.dumps(args)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert proc.returncode == 0, proc.stderr
    _OFFICIAL[case] = [(call, is_async, mro) for (call, is_async), mro in zip(calls, json.loads(proc.stdout))]
    return _OFFICIAL[case]


class api_and_downloads:
    """The fake's API behind a relay whose project answers point their download URLs at a host that
    fails with ``action``; yields (base URL, a complete image project's id, its download URL)."""

    def __init__(self, action: Optional[Action]) -> None:
        self.action = action

    def __enter__(self) -> Tuple[str, str, str]:
        self.fake = FakeMagicHour(tokens=["t0k3n"])
        self.server = self.fake.serve().__enter__()
        self.hosts = downloading_from(self.action)
        host = next(self.hosts)
        self.fake.seed_project("image", id="img_seeded", outputs=[("render.png", BODY)])
        storage = f"{self.server.url}/storage/".encode()
        relay_to = f"{host}/".encode()

        def script(request: Received) -> Action:
            return Forward(self.server.url, rewrite=((storage, relay_to),))

        self.relay = RawServer(script)
        with httpx.Client(base_url=self.relay.url, headers={"Authorization": "Bearer t0k3n"}) as http:
            url = http.get("/v1/image-projects/img_seeded").json()["downloads"][0]["url"]
        assert url.startswith(host) and "?" in url
        return self.relay.url, "img_seeded", url

    def __exit__(self, *exc: object) -> None:
        self.relay.stop()
        self.hosts.close()
        self.server.__exit__(None, None, None)


async def ours(
    sdk: Flavor, call: str, base_url: str, project_id: str, url: str, folder: Path
) -> BaseException:
    client = sdk.client(token="t0k3n", base_url=base_url, max_retries=0, timeout=0.5)
    if call == "check_result":
        fn: Any = client.v1.image_projects.check_result
        kwargs: Dict[str, Any] = {"id": project_id, "wait_for_completion": True, "download_outputs": True}
    elif call == "generate":
        fn = client.v1.ai_image_generator.generate
        kwargs = {"image_count": 1, "orientation": "square", "style": {"prompt": "a cat"}}
    else:
        fn = download_files_async if sdk.is_async else download_files_sync
        with pytest.raises(MagicHourError) as info:
            await sdk.call(fn, [url], str(folder))
        return info.value
    with pytest.raises(MagicHourError) as info:
        await sdk.call(fn, download_directory=str(folder), **kwargs)
    return info.value


@pytest.mark.full  # the official SDK in a subprocess
@pytest.mark.timeout(90)
@pytest.mark.parametrize("case", [c for c in CASES if c != "server-error"])
async def test_the_official_except_clauses_catch_ours(sdk: Flavor, tmp_path: Path, case: str) -> None:
    official = official_classes(case, tmp_path)
    calls = sorted({call for call, _, _ in official})
    with api_and_downloads(CASES[case][0]) as (base_url, project_id, url):
        for call in calls:
            if call == "helpers" and case not in ("status", "not-gzip"):
                continue  # the helpers' own client retries with backoff: the same engine as check_result
            error = await ours(sdk, call, base_url, project_id, url, tmp_path / call)
            assert type(error) is CASES[case][1], (call, repr(error))
            assert_safe(error)
            for theirs_call, _, mro in official:
                if theirs_call != call:
                    continue
                assert mro, f"the official {call} did not fail on {case}"
                names = [n for n in mro if n in CATCHABLE]
                assert names, mro
                missing = [n for n in names if not isinstance(error, getattr(httpx, n))]
                assert not missing, (
                    f"official {call} raised {mro[0]}: ours {type(error).__name__} is no {missing}"
                )
