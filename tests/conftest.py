"""Shared fixtures: one test body runs against both ``Client`` and ``AsyncClient``.

Write the test as ``async def`` (the module needs ``pytestmark = pytest.mark.anyio``) and take the
``sdk`` fixture, parametrized over ``sync`` and ``async``::

    async def test_x(sdk, api):
        client = sdk.client()
        res = await sdk.call(client.v1.files.upload_urls.create, items=[...])

``sdk.call`` runs the sync client's method directly and awaits the async client's, so the same lines
exercise both. ``api`` is a respx router for https://api.magichour.ai (nothing reaches the internet);
``sleeps`` fakes the retry loop's clock and records the delays it asked for.

Two tiers (CONTRIBUTING.md): ``python -m pytest`` runs the fast tier; a test marked ``full`` (a module:
``pytestmark = pytest.mark.full``; load, fork, fault matrix, CLI subprocesses, hostile servers, real
sleeps) runs with ``--full``, or when its file or node id is named on the command line.
"""

from __future__ import annotations

import datetime
import inspect
import json
import os
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Dict, Iterator, List, Optional, Set

import httpx
import pytest
import respx

from magic_hour import AsyncClient, Client

if TYPE_CHECKING:
    from magic_hour.testing import FakeMagicHour, FakeServer

TOKEN = "mh-test-token-5f2c9b7e31"
"""A token that is easy to search for in logs, reprs and messages (it must never show up there)."""

BASE_URL = "https://api.magichour.ai"
UPLOAD_URLS_PATH = "/v1/files/upload-urls"
UPLOAD_URLS_URL = BASE_URL + UPLOAD_URLS_PATH
EXPIRES_AT = "2024-07-25T16:56:21.932Z"

SEED_ITEMS: List[Dict[str, str]] = [
    {"extension": "mp4", "type_": "video"},
    {"extension": "mp3", "type_": "audio"},
]
"""The items of the seed page's example."""

SEED_RESPONSE: Dict[str, Any] = {
    "items": [
        {
            "expires_at": EXPIRES_AT,
            "file_path": "api-assets/id/video.mp4",
            "upload_url": "https://videos.magichour.ai/api-assets/id/video.mp4?auth-value=1234567890",
        },
        {
            "expires_at": EXPIRES_AT,
            "file_path": "api-assets/id/audio.mp3",
            "upload_url": "https://videos.magichour.ai/api-assets/id/audio.mp3?auth-value=1234567890",
        },
    ]
}
"""The seed page's example response."""


def presign_response(request: httpx.Request) -> httpx.Response:
    """Answer ``upload-urls`` like the API: one item per request item, in order."""
    items = json.loads(request.content)["items"]
    expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
    out = []
    for i, item in enumerate(items):
        path = f"api-assets/id/{i}-{item['type']}.{item['extension']}"
        out.append(
            {
                "expires_at": expires.isoformat().replace("+00:00", "Z"),
                "file_path": path,
                "upload_url": f"https://videos.magichour.ai/{path}?auth-value=1234567890",
            }
        )
    return httpx.Response(200, json={"items": out})


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--full",
        action="store_true",
        default=False,
        help="also run the full tier: tests marked `full` (load, fork, fault matrix, CLI subprocesses, hostile servers)",
    )


def _named_files(config: pytest.Config) -> Set[Path]:
    """The test files named on the command line (as files or node ids; not as directories)."""
    named: Set[Path] = set()
    for arg in config.option.file_or_dir or ():
        path = Path(str(arg).split("::", 1)[0])
        if path.is_file():
            named.add(path.resolve())
    return named


FAST_TIER_WORKERS = 2
"""Worker processes of the bare ``python -m pytest`` (pytest-xdist): its tests wait on sockets and
threads much of their time, so two processes keep both cores of the reference machine busy."""


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """The README's command, ``python -m pytest`` with no path, runs the fast tier on
    :data:`FAST_TIER_WORKERS` xdist workers. Everything else runs as given, in this one process: ``-n``
    (``-n 0``: no workers), ``-p no:xdist``, named files or node ids, ``--full`` (its load and RSS tests
    measure this process alone), ``--pdb`` and ``--collect-only``."""
    option = config.option
    if (
        not config.pluginmanager.hasplugin("xdist")
        or hasattr(config, "workerinput")  # an xdist worker
        or getattr(option, "numprocesses", None) is not None
        or option.file_or_dir
        or option.full
        or option.usepdb
        or option.collectonly
    ):
        return
    option.numprocesses = FAST_TIER_WORKERS
    option.tx = ["popen"] * FAST_TIER_WORKERS
    if option.dist == "no":
        option.dist = "load"


def pytest_collection_modifyitems(config: pytest.Config, items: List[pytest.Item]) -> None:
    """Without ``--full``, the tests marked ``full`` are deselected, except in files named explicitly."""
    if config.getoption("--full"):
        return
    named = _named_files(config)
    keep: List[pytest.Item] = []
    drop: List[pytest.Item] = []
    for item in items:
        slow = item.get_closest_marker("full") is not None
        (drop if slow and item.path.resolve() not in named else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


# The async tests run on asyncio; the core's trio support is covered by a dedicated test. A module can
# override this fixture (e.g. with params=["asyncio", "trio"]) to run its own tests on both.
@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


_REAL_SSL_CONTEXT = httpx.create_ssl_context
_SSL_CONTEXTS: Dict[Any, Any] = {}


def default_ssl_context(trust_env: bool = True) -> Any:
    """httpx's default TLS context (``verify=True``), built once per setting of the environment it reads:
    building one loads the CA bundle (~30 ms), and the suite makes hundreds of clients."""
    key = (trust_env, os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")) if trust_env else False
    if key not in _SSL_CONTEXTS:
        _SSL_CONTEXTS[key] = _REAL_SSL_CONTEXT(trust_env=trust_env)
    return _SSL_CONTEXTS[key]


@pytest.fixture(autouse=True, scope="session")
def _shared_default_ssl_context() -> Iterator[None]:
    """Speed only: the SDK's own clients get their TLS context from the public ``httpx.create_ssl_context``;
    a default one is reused (:func:`default_ssl_context`), any other ``verify``/``cert`` gets its own. Raw
    httpx clients of the tests get it through ``verify=`` (:meth:`Flavor.httpx_client`)."""

    def create_ssl_context(*args: Any, **kwargs: Any) -> Any:
        default = not args and kwargs.get("verify", True) is True and kwargs.get("cert") is None
        if default and not kwargs.get("http2"):
            return default_ssl_context(kwargs.get("trust_env", True))
        return _REAL_SSL_CONTEXT(*args, **kwargs)

    patch = pytest.MonkeyPatch()
    patch.setattr(httpx, "create_ssl_context", create_ssl_context)
    try:
        yield
    finally:
        patch.undo()


@pytest.fixture(scope="session")
def _mock_state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mock-state")


@pytest.fixture(autouse=True)
def _hermetic_env(monkeypatch: pytest.MonkeyPatch, _mock_state_dir: Path) -> None:
    """A developer's real token or base URL must never leak into (or change) a test, and an in-process
    ``--mock`` command never reads or writes the developer's state (``~/.local/state/magic-hour/mock``);
    subprocesses get their own (``tests/_cli.py``'s ``env``)."""
    monkeypatch.delenv("MAGIC_HOUR_API_TOKEN", raising=False)
    monkeypatch.delenv("MAGIC_HOUR_BASE_URL", raising=False)
    monkeypatch.delenv("MAGIC_HOUR_MOCK_RENDER_SECONDS", raising=False)
    monkeypatch.setenv("MAGIC_HOUR_MOCK_DIR", str(_mock_state_dir))


_SEED: Any = object()


class Flavor:
    """Sync or async: builds the matching client and runs its methods the same way."""

    def __init__(self, is_async: bool) -> None:
        self.is_async = is_async
        self.name = "async" if is_async else "sync"
        self.client_cls: Any = AsyncClient if is_async else Client
        self.httpx_cls: Any = httpx.AsyncClient if is_async else httpx.Client
        self._created: List[Any] = []

    def __repr__(self) -> str:
        return f"Flavor({self.name})"

    def client(self, **kwargs: Any) -> Any:
        """A client of this flavor; ``token`` defaults to :data:`TOKEN` (pass ``token=None`` for none)."""
        kwargs.setdefault("token", TOKEN)
        client = self.client_cls(**kwargs)
        self._created.append(client)
        return client

    def httpx_client(self, **kwargs: Any) -> Any:
        """An httpx client of the matching flavor (to lend with ``httpx_client=``), with httpx's default TLS
        context built once (:func:`default_ssl_context`) unless ``verify``, ``cert`` or ``transport`` is
        given."""
        if not {"verify", "cert", "transport"} & kwargs.keys():
            kwargs["verify"] = default_ssl_context(kwargs.get("trust_env", True))
        client = self.httpx_cls(**kwargs)
        self._created.append(client)
        return client

    async def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)``, awaited if it returns an awaitable."""
        result = fn(*args, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result

    async def create(self, client: Any, items: Any = _SEED, **kwargs: Any) -> Any:
        """``client.v1.files.upload_urls.create(items=...)`` (the seed's items by default)."""
        items = SEED_ITEMS if items is _SEED else items
        return await self.call(client.v1.files.upload_urls.create, items=items, **kwargs)

    async def close(self, client: Any) -> None:
        """``close()`` or ``await aclose()``."""
        if self.is_async:
            await client.aclose()
        else:
            client.close()

    @asynccontextmanager
    async def session(self, client: Any) -> AsyncIterator[Any]:
        """``with client`` or ``async with client``."""
        if self.is_async:
            async with client as entered:
                yield entered
        else:
            with client as entered:
                yield entered

    async def cleanup(self) -> None:
        for obj in reversed(self._created):
            if isinstance(obj, (Client, httpx.Client)):
                obj.close()
            elif isinstance(obj, (AsyncClient, httpx.AsyncClient)):
                await obj.aclose()


@pytest.fixture(params=[False, True], ids=["sync", "async"])
async def sdk(request: pytest.FixtureRequest) -> AsyncIterator[Flavor]:
    """The test body runs once with ``Client`` and once with ``AsyncClient``."""
    flavor = Flavor(request.param)
    try:
        yield flavor
    finally:
        await flavor.cleanup()


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    """A respx router for the API; any request it does not route fails the test."""
    with respx.mock(base_url=BASE_URL, assert_all_called=False, assert_all_mocked=True) as router:
        yield router


@pytest.fixture
def upload_urls(api: respx.MockRouter) -> respx.Route:
    """``POST /v1/files/upload-urls`` answering like the API (one item per request item)."""
    return api.post(UPLOAD_URLS_PATH).mock(side_effect=presign_response)


class Sleeps(List[float]):
    """The delays the retry loop slept (faked: no time passes)."""


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> Sleeps:
    """Fake the core's sleep (sync and async) and record every delay."""
    recorded = Sleeps()

    def fake_sleep(seconds: float) -> None:
        recorded.append(seconds)

    async def fake_async_sleep(seconds: float) -> None:
        recorded.append(seconds)

    monkeypatch.setattr("magic_hour._core.flows.sleep", fake_sleep)
    monkeypatch.setattr("magic_hour._core.flows.async_sleep", fake_async_sleep)
    return recorded


def assert_no_secret(*texts: Optional[str]) -> None:
    """None of ``texts`` contains the test token."""
    for text in texts:
        assert text is None or TOKEN not in text, f"the token leaked into: {text!r}"


# ------------------------------------------------------------ the magic-hour tests' fake and its server


@pytest.fixture
def fake() -> FakeMagicHour:
    """The fake the ``magic-hour`` tests run commands against; it takes their token (``_cli.TOKEN``).
    A test file that needs another (latency knobs, webhooks) defines its own."""
    from _cli import TOKEN as CLI_TOKEN

    from magic_hour.testing import FakeMagicHour

    return FakeMagicHour(tokens=CLI_TOKEN)


@pytest.fixture
def server(fake: FakeMagicHour) -> Iterator[FakeServer]:
    """``fake`` served on 127.0.0.1 for the test."""
    with fake.serve() as running:
        yield running
