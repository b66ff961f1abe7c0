"""Downloads on real sockets (tests/_jobs_server.py), Client and AsyncClient: streamed to a temporary file
renamed into place, resumed with Range after a drop (or restarted when the server ignores ranges),
retried on 5xx, refused on 4xx, typed errors and no partial file when the disk or directory fails,
safe names, concurrency, flat memory, no token or signed query where it must not be."""

from __future__ import annotations

import io
import logging
import os
import pathlib
import resource
import signal
import stat
import tracemalloc
from typing import Any, Iterator, List

import pytest
from _jobs_helpers import leftovers, runner
from _jobs_server import JobsServer, Large
from conftest import TOKEN

from magic_hour import DownloadError, DownloadWriteError, InvalidParameterError
from magic_hour._jobs.events import DownloadProgress

pytestmark = pytest.mark.anyio

MB = 1024 * 1024


@pytest.fixture
def server() -> Iterator[JobsServer]:
    with JobsServer() as srv:
        yield srv


def serve(server: JobsServer, name: str, content: Any, key: str = "p") -> str:
    server.state.files[f"{key}/{name}"] = content
    return f"{server.url}/files/{key}/{name}?X-Amz-Signature=s3cr3t"


def expected(content: Any) -> bytes:
    if isinstance(content, Large):
        return b"".join(content.chunks(0, content.size))
    return bytes(content)


async def download(sdk: Any, client: Any, urls: Any, directory: Any, **kwargs: Any) -> List[str]:
    return await sdk.call(runner(client).download, urls, directory, **kwargs)


async def test_several_outputs_concurrently_each_renamed_into_place(
    sdk: Any, server: JobsServer, tmp_path: pathlib.Path
) -> None:
    client = sdk.client(base_url=server.url)
    server.state.chunk_delay = 0.02
    contents = [Large(MB + i) for i in range(4)]
    urls = [serve(server, f"{i}.mp4", c) for i, c in enumerate(contents)]
    out = tmp_path / "new" / "dir"  # created
    paths = await download(sdk, client, urls, out)
    assert paths == [str(out / f"{i}.mp4") for i in range(4)]
    for p, c in zip(paths, contents):
        assert pathlib.Path(p).read_bytes() == expected(c)
    assert server.state.max_active > 1, "outputs were downloaded one at a time"
    assert leftovers(tmp_path) == []
    gets = server.requests("GET", "/files/")
    assert all("authorization" not in g.headers for g in gets), "the API token went to the download host"


async def test_an_existing_file_is_kept_unless_overwrite(
    sdk: Any, server: JobsServer, tmp_path: pathlib.Path
) -> None:
    # An existing file was replaced without a word (issue 25): now the new one takes the next free name,
    # and replaces it only when asked.
    client = sdk.client(base_url=server.url)
    (tmp_path / "out.png").write_bytes(b"old")
    (path,) = await download(sdk, client, [serve(server, "out.png", b"new bytes")], tmp_path)
    assert path == str(tmp_path / "out-1.png") and (tmp_path / "out.png").read_bytes() == b"old"
    assert (tmp_path / "out-1.png").read_bytes() == b"new bytes"
    (path,) = await download(sdk, client, [serve(server, "out.png", b"newer")], tmp_path, overwrite=True)
    assert path == str(tmp_path / "out.png") and (tmp_path / "out.png").read_bytes() == b"newer"
    assert leftovers(tmp_path) == []


@pytest.mark.skipif(not hasattr(os, "umask") or os.name == "nt", reason="POSIX permission bits")
async def test_a_downloaded_file_gets_the_mode_open_would_give(
    sdk: Any, server: JobsServer, tmp_path: pathlib.Path
) -> None:
    # mkstemp's 0o600 used to survive the rename: outputs unreadable to the group and others.
    client = sdk.client(base_url=server.url)
    old = os.umask(0o022)
    try:
        (path,) = await download(sdk, client, [serve(server, "out.png", b"bytes")], tmp_path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("ranges", [True, False], ids=["resumed", "restarted"])
async def test_a_dropped_connection_resumes_or_restarts(
    sdk: Any, server: JobsServer, tmp_path: pathlib.Path, sleeps: List[float], ranges: bool
) -> None:
    client = sdk.client(base_url=server.url)
    server.state.ranges = ranges
    content = Large(3 * MB)
    server.state.drops["big.mp4"] = [MB + 7, MB]
    events: List[DownloadProgress] = []
    from magic_hour._jobs.events import Emitter

    paths = await download(
        sdk, client, [serve(server, "big.mp4", content)], tmp_path, emit=Emitter(events.append)
    )
    assert pathlib.Path(paths[0]).read_bytes() == expected(content)
    gets = server.requests("GET", "/files/")
    assert len(gets) == 3
    if ranges:
        assert [g.headers.get("range") for g in gets] == [None, f"bytes={MB + 7}-", f"bytes={2 * MB + 7}-"]
    else:
        assert [e.bytes_received for e in events].count(0) == 3, "a restart reports from 0"
    assert events[-1].bytes_received == events[-1].total == 3 * MB
    assert leftovers(tmp_path) == []


async def test_5xx_is_retried_and_4xx_is_not(
    sdk: Any, server: JobsServer, tmp_path: pathlib.Path, sleeps: List[float]
) -> None:
    client = sdk.client(base_url=server.url, max_retries=2)
    server.state.statuses["a.png"] = [503, 502]
    await download(sdk, client, [serve(server, "a.png", b"aaa")], tmp_path)
    assert (tmp_path / "a.png").read_bytes() == b"aaa" and len(sleeps) == 2

    server.state.statuses["b.png"] = [403]
    with pytest.raises(DownloadError) as info:
        await download(sdk, client, [serve(server, "b.png", b"bbb")], tmp_path)
    assert info.value.status_code == 403 and not isinstance(info.value, DownloadWriteError)
    assert "s3cr3t" not in str(info.value) and "X-Amz" not in info.value.url
    assert not (tmp_path / "b.png").exists() and leftovers(tmp_path) == []

    server.state.statuses["c.png"] = [500, 500, 500]
    with pytest.raises(DownloadError, match="HTTP 500"):
        await download(sdk, client, [serve(server, "c.png", b"ccc")], tmp_path)
    assert not (tmp_path / "c.png").exists()


async def test_drops_beyond_the_retries_fail_without_a_partial_file(
    sdk: Any, server: JobsServer, tmp_path: pathlib.Path, sleeps: List[float]
) -> None:
    client = sdk.client(base_url=server.url, max_retries=1)
    server.state.drops["x.mp4"] = [0, 0, 0]  # no progress at all
    with pytest.raises(DownloadError) as info:
        await download(sdk, client, [serve(server, "x.mp4", Large(MB))], tmp_path)
    assert "s3cr3t" not in str(info.value)
    assert not (tmp_path / "x.mp4").exists() and leftovers(tmp_path) == []


async def test_an_unusable_directory_is_a_typed_error(
    sdk: Any, server: JobsServer, tmp_path: pathlib.Path
) -> None:
    client = sdk.client(base_url=server.url)
    (tmp_path / "file.txt").write_bytes(b"")
    with pytest.raises(DownloadWriteError) as info:
        await download(sdk, client, [serve(server, "a.png", b"a")], tmp_path / "file.txt" / "sub")
    assert isinstance(info.value, OSError) and info.value.errno is not None
    assert server.requests("GET", "/files/") == [], "nothing is downloaded when it cannot be written"


async def test_a_full_disk_is_a_typed_error_and_leaves_nothing(
    sdk: Any, server: JobsServer, tmp_path: pathlib.Path
) -> None:
    """The file-size limit of this process (RLIMIT_FSIZE) makes writes fail as a full disk would."""
    client = sdk.client(base_url=server.url)
    (tmp_path / "big.mp4").write_bytes(b"previous")
    url = serve(server, "big.mp4", Large(3 * MB))
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (MB, hard))
    try:
        with pytest.raises(DownloadWriteError) as info:
            await download(sdk, client, [url], tmp_path)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    assert info.value.errno is not None and "s3cr3t" not in str(info.value)
    assert (tmp_path / "big.mp4").read_bytes() == b"previous", "the existing file was touched"
    assert leftovers(tmp_path) == []


async def test_names_are_sanitised_and_unique(sdk: Any, server: JobsServer, tmp_path: pathlib.Path) -> None:
    client = sdk.client(base_url=server.url)
    base = f"{server.url}/files/p"
    server.state.files["p/out.png"] = b"1"
    server.state.files["q/out.png"] = b"2"
    server.state.files["p/..%2F..%2Fevil.sh"] = b"3"
    urls = [f"{base}/out.png?sig=1", f"{server.url}/files/q/out.png?sig=2", f"{base}/..%2F..%2Fevil.sh"]
    out = tmp_path / "out"
    paths = await download(sdk, client, urls, out)
    assert [pathlib.Path(p).name for p in paths] == ["out.png", "out-1.png", "evil.sh"]
    assert all(pathlib.Path(p).parent == out for p in paths)
    assert [pathlib.Path(p).read_bytes() for p in paths] == [b"1", b"2", b"3"]


async def test_memory_stays_flat_on_a_large_download(
    sdk: Any, server: JobsServer, tmp_path: pathlib.Path
) -> None:
    client = sdk.client(base_url=server.url)
    size = 48 * MB
    url = serve(server, "large.mp4", Large(size))
    tracemalloc.start()
    try:
        await download(sdk, client, [url], tmp_path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (tmp_path / "large.mp4").stat().st_size == size
    assert peak < 8 * MB, f"peak {peak / MB:.1f} MB for a {size // MB} MB download"


async def test_signed_queries_and_the_token_stay_out_of_logs(
    sdk: Any,
    server: JobsServer,
    tmp_path: pathlib.Path,
    caplog: pytest.LogCaptureFixture,
    sleeps: List[float],
) -> None:
    client = sdk.client(base_url=server.url)
    server.state.drops["a.mp4"] = [10]
    caplog.set_level(logging.DEBUG)
    await download(sdk, client, [serve(server, "a.mp4", Large(MB))], tmp_path)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "/files/p/a.mp4" in text
    assert "s3cr3t" not in text and TOKEN not in text


@pytest.mark.parametrize(
    ("urls", "directory", "param"),
    [
        ("ftp://x/a.png", None, "urls[0]"),
        ("http://[::1/a.png", None, "urls[0]"),  # unparseable: was a bare httpx.InvalidURL
        ("https://a..b/a.png", None, "urls[0]"),
        ([5], None, "urls[0]"),
        (None, None, "urls"),
        (["https://x/a.png"], 3, "download_directory"),
    ],
)
async def test_bad_download_arguments(
    sdk: Any, server: JobsServer, urls: Any, directory: Any, param: str
) -> None:
    client = sdk.client(base_url=server.url)
    with pytest.raises(InvalidParameterError) as info:
        await download(sdk, client, urls, directory)
    assert info.value.param == param
    assert server.requests() == []


async def test_files_download_takes_urls_items_or_a_project(
    sdk: Any, server: JobsServer, tmp_path: pathlib.Path
) -> None:
    client = sdk.client(base_url=server.url)
    urls = [serve(server, "a.png", b"A"), serve(server, "b.png", b"B")]

    class Item:
        def __init__(self, url: str) -> None:
            self.url = url

    class Project:
        def __init__(self) -> None:
            self.downloads = [Item(u) for u in urls]

    events: List[DownloadProgress] = []
    assert await sdk.call(client.v1.files.download, urls[0], directory=tmp_path / "one") == [
        str(tmp_path / "one" / "a.png")
    ]
    paths = await sdk.call(
        client.v1.files.download, Project(), directory=tmp_path / "p", on_progress=events.append
    )
    assert [pathlib.Path(p).read_bytes() for p in paths] == [b"A", b"B"]
    assert {e.index for e in events} == {0, 1} and all(isinstance(e, DownloadProgress) for e in events)
    items = await sdk.call(client.v1.files.download, [Item(u) for u in urls], directory=tmp_path / "i")
    assert [pathlib.Path(p).name for p in items] == ["a.png", "b.png"]
    with pytest.raises(InvalidParameterError, match="on_progress"):
        await sdk.call(client.v1.files.download, urls, on_progress=1)


@pytest.mark.parametrize("per_call", [1, 7, 1 << 20])
def test_write_parts_writes_every_piece_in_order_through_partial_writes(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, per_call: int
) -> None:
    """A write's pieces go out with os.writev, 1024 at most per call; a partial write (a signal, a
    nearly full disk) resumes inside the piece where it stopped. Empty pieces are skipped."""
    from magic_hour._jobs import disk

    real = os.writev
    calls: List[int] = []

    def short_writev(fd: int, buffers: Any) -> int:
        calls.append(len(buffers))
        data = b"".join(bytes(b) for b in buffers)[:per_call]
        return real(fd, [data])

    monkeypatch.setattr(os, "writev", short_writev)
    parts = [b"", *(bytes([i % 251]) * (i % 13) for i in range(3000)), b""]
    target = tmp_path / "out.bin"
    with open(target, "wb", buffering=0) as f:
        disk.write_parts(f, parts)
    assert target.read_bytes() == b"".join(parts)
    assert max(calls) <= 1024
    if per_call == 1 << 20:
        assert len(calls) == 3  # 3002 pieces: one call per 1024


@pytest.mark.parametrize("per_call", [1, 7, 1 << 20])
def test_write_parts_without_writev_resumes_partial_writes(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, per_call: int
) -> None:
    """Windows has no os.writev: each piece goes out with the unbuffered file's own write, which may
    write less than asked (writelines ignored what was left: the file came out short)."""
    from magic_hour._jobs import disk

    monkeypatch.delattr(os, "writev")

    class Short(io.FileIO):
        def write(self, data: Any) -> int:
            return super().write(bytes(data)[:per_call])

    parts = [b"", *(bytes([i % 251]) * (i % 13) for i in range(3000)), b""]
    target = tmp_path / "out.bin"
    with Short(target, "wb") as f:
        disk.write_parts(f, parts)
    assert target.read_bytes() == b"".join(parts)
