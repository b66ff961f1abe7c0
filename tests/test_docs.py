"""Every ```python block of README.md and docs/**/*.md runs, so no example can rot.

Each block is one test (id ``file:line``), run in a fresh namespace in a temporary directory, with
``MAGIC_HOUR_API_TOKEN`` and ``API_TOKEN`` set, against the fake backend of the ``docs_backend``
fixture. Top-level ``await`` works (the block is compiled with ``PyCF_ALLOW_TOP_LEVEL_AWAIT`` and run
with ``asyncio.run``). Sample files a block names (``clip.mp4``, ``photo.png``...) are created first.
A block fails its test if it raises.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import logging
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List

import httpx
import pytest
import respx
from conftest import TOKEN, UPLOAD_URLS_URL, presign_response

import magic_hour
from magic_hour._extensions import EXTENSIONS

REPO = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<ticks>`{3,}|~{3,})\s*(?P<lang>[\w+-]*)")
_EXTS = "|".join(ext for exts in EXTENSIONS.values() for ext in exts)
SAMPLE = re.compile(r"""["'](?P<name>[\w./-]+\.(?:""" + _EXTS + r"""))["']""", re.IGNORECASE)


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # of the opening fence
    source: str

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(REPO).as_posix()}:{self.line}"


def extract_blocks(path: Path) -> List[Block]:
    """The ```python (or ```py) blocks of a markdown file, dedented to their fence."""
    blocks: List[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        ticks, start = match["ticks"], i
        body: List[str] = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(ticks):
            body.append(lines[i])
            i += 1
        i += 1  # the closing fence
        if match["lang"].lower() in ("python", "py", "python3"):
            blocks.append(Block(path, start + 1, textwrap.dedent("\n".join(body))))
    return blocks


def doc_files() -> List[Path]:
    files = [REPO / "README.md"] if (REPO / "README.md").is_file() else []
    return files + sorted((REPO / "docs").rglob("*.md"))


BLOCKS = [block for path in doc_files() for block in extract_blocks(path)]


# --- the backend: one fixture, so it can become `magic_hour.testing`'s fake server --------------------------


@pytest.fixture
def docs_backend() -> Iterator[Dict[str, str]]:
    """The fake the blocks talk to; yields extra environment variables (e.g. a base URL) to set.

    For now respx: ``POST /v1/files/upload-urls`` answers one item per request item, and any ``PUT``
    (to a storage URL) succeeds. Anything else the blocks send fails the test.
    """
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        router.post(UPLOAD_URLS_URL).mock(side_effect=presign_response)
        router.route(method="PUT", url__regex=r"^https://[^/]+/api-assets/").respond(200)
        router.route(host="127.0.0.1").pass_through()  # blocks that start their own FakeMagicHour server
        yield {}


# --- running a block -----------------------------------------------------------------------------------------


def create_samples(source: str, where: Path) -> List[Path]:
    created = []
    for match in SAMPLE.finditer(source):
        name = match["name"]
        if "://" in name or name.startswith(("api-assets/", "/")) or ".." in Path(name).parts:
            continue
        target = where / name
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(b"magic hour sample file " + name.encode() + b"\n" + bytes(range(256)) * 4)
            created.append(target)
    return created


def close_leftovers(namespace: Dict[str, Any]) -> None:
    """Close the clients a block left open (the seed's examples never close theirs): the end of the
    script would. With a real server, an open pool would otherwise warn about unclosed sockets."""
    for value in list(namespace.values()):
        if isinstance(value, (magic_hour.Client, httpx.Client)):
            value.close()


async def aclose_leftovers(namespace: Dict[str, Any]) -> None:
    close_leftovers(namespace)
    for value in list(namespace.values()):
        if isinstance(value, (magic_hour.AsyncClient, httpx.AsyncClient)):
            await value.aclose()


def run_block(block: Block) -> Dict[str, Any]:
    """Run a block in a fresh ``__main__`` namespace (returned); top-level ``await`` is allowed."""
    # Pad with blank lines so that a traceback points at the markdown file's own line numbers.
    source = "\n" * block.line + block.source
    code = compile(source, str(block.path), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
    namespace: Dict[str, Any] = {"__name__": "__main__"}
    result = eval(code, namespace)  # exec, or a coroutine when the block awaits at top level
    if inspect.iscoroutine(result):
        coroutine = result

        async def main() -> None:
            try:
                await coroutine
            finally:
                await aclose_leftovers(namespace)  # in the block's own event loop

        asyncio.run(main())
    else:
        close_leftovers(namespace)
    return namespace


@pytest.fixture
def isolated_logging() -> Iterator[None]:
    """A block may configure logging; give the next test the configuration it had."""
    loggers = [logging.getLogger(), *(logging.getLogger(n) for n in ("magic_hour", "httpx", "httpcore"))]
    saved = [(lg, lg.level, list(lg.handlers), lg.propagate) for lg in loggers]
    try:
        yield
    finally:
        for lg, level, handlers, propagate in saved:
            lg.setLevel(level)
            lg.handlers[:] = handlers
            lg.propagate = propagate


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_doc_block_runs(
    block: Block,
    docs_backend: Dict[str, str],
    isolated_logging: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MAGIC_HOUR_API_TOKEN", TOKEN)
    monkeypatch.setenv("API_TOKEN", TOKEN)
    for name, value in docs_backend.items():
        monkeypatch.setenv(name, value)
    create_samples(block.source, tmp_path)
    run_block(block)


# --- the harness itself ------------------------------------------------------------------------------------


def test_blocks_are_found() -> None:
    ids = [b.id for b in BLOCKS]
    assert any(i.startswith("README.md:") for i in ids)
    assert len(ids) == len(set(ids))


def test_extract_blocks(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(
        "# Title\n"
        "```python\n"
        "x = 1\n"
        "```\n"
        "```sh\n"
        "pip install magic-hour\n"
        "```\n"
        "1. A list item:\n"
        "   ```py\n"
        "   if x:\n"
        "       y = 2\n"
        "   ```\n"
        "````python\n"
        "s = '''\n"
        "```\n"
        "'''\n"
        "````\n",
        encoding="utf-8",
    )
    blocks = extract_blocks(doc)
    assert [(b.line, b.source) for b in blocks] == [
        (2, "x = 1"),
        (9, "if x:\n    y = 2"),
        (13, "s = '''\n```\n'''"),
    ]


def test_a_failing_block_fails_and_points_at_its_line(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text("text\n\n```python\nok = 1\nraise ValueError('boom')\n```\n", encoding="utf-8")
    (block,) = extract_blocks(doc)
    with pytest.raises(ValueError, match="boom") as info:
        run_block(block)
    assert info.traceback[-1].lineno + 1 == 5  # traceback lines are 0-based


def test_top_level_await_runs(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(
        "```python\nimport asyncio\nawait asyncio.sleep(0)\nresult.append('ran')\n```\n", encoding="utf-8"
    )
    (block,) = extract_blocks(doc)
    source = "result = []\n" + block.source
    code = compile(source, "x", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    namespace: Dict[str, Any] = {}
    coro = eval(code, namespace)
    assert inspect.iscoroutine(coro)
    asyncio.run(coro)
    assert namespace["result"] == ["ran"]


def test_sample_files_are_created(tmp_path: Path) -> None:
    source = (
        'client.upload_files(["clip.mp4", "media/photo.PNG", "song.mp3"])\n'
        'url = "https://example.com/a.mp4"; done = "api-assets/x/y.mp4"\n'
    )
    created = create_samples(source, tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in created) == [
        "clip.mp4",
        "media/photo.PNG",
        "song.mp3",
    ]
    assert all(p.stat().st_size > 0 for p in created)


def test_clients_left_open_by_a_block_are_closed(tmp_path: Path, docs_backend: Dict[str, str]) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(
        "```python\nfrom magic_hour import Client\nclient = Client(token='t' * 10)\n```\n"
        "```python\nfrom magic_hour import AsyncClient\nimport asyncio\n"
        "client = AsyncClient(token='t' * 10)\nawait asyncio.sleep(0)\n```\n",
        encoding="utf-8",
    )
    sync_block, async_block = extract_blocks(doc)
    assert run_block(sync_block)["client"].is_closed
    assert run_block(async_block)["client"].is_closed
