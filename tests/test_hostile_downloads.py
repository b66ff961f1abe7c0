"""Regression tests of the hostile review, download part: a download server that ignores
``Accept-Encoding: identity`` and compresses anyway (a gzip bomb among it). Real sockets on 127.0.0.1;
sync, asyncio and trio."""

from __future__ import annotations

import functools
import gzip
import os
import pathlib
import random
import zlib
from typing import List, Optional

import _modes
import pytest
from _servers import RawServer, Respond, Unframed
from conftest import Flavor

from magic_hour import DownloadError, DownloadWriteError
from magic_hour._jobs.decoding import INFLATE_ALLOWANCE, MAX_INFLATE_RATIO

pytestmark = pytest.mark.anyio

# Client, and AsyncClient on asyncio and on trio (see tests/_modes.py).
mode, anyio_backend, sdk = _modes.mode, _modes.anyio_backend, _modes.sdk

MB = 1024 * 1024


@functools.cache
def bomb(inflated: int = 256 * MB) -> bytes:
    """One gzip member of ``inflated`` zero bytes (about 1,000 times smaller)."""
    c = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = bytes(MB)
    return b"".join(c.compress(zeros) for _ in range(inflated // MB)) + c.flush()


GZIP = [("Content-Type", "image/png"), ("Content-Encoding", "gzip")]


def compressing(body: bytes, *, length: bool = False) -> RawServer:
    """A server that answers every GET with ``body`` as ``Content-Encoding: gzip`` whatever the request
    asked, without ``Content-Length`` (the body ends with the connection) unless ``length``."""
    reply = Respond(200, GZIP, body)
    return RawServer(then=reply if length else Unframed(reply))


def accept_encodings(server: RawServer) -> List[Optional[str]]:
    return [r.header("accept-encoding") for r in server.requests]


def files_in(directory: pathlib.Path) -> List[str]:
    """Every file in ``directory``: final and temporary ones alike."""
    return sorted(os.listdir(directory)) if directory.exists() else []


@pytest.mark.parametrize("length", [False, True], ids=["no-content-length", "content-length"])
async def test_a_gzip_bomb_is_refused_with_no_file_left(
    sdk: Flavor, tmp_path: pathlib.Path, length: bool
) -> None:
    # 256 MiB of zeros in ~250 KB: the body may inflate to max(16 MiB, 100 x the bytes received), so it is
    # refused after ~25 MB were written, long before its end, and the partial file is removed.
    body = bomb()
    limit = max(INFLATE_ALLOWANCE, MAX_INFLATE_RATIO * len(body))
    assert limit < 256 * MB // 4, "the bomb must be far over the limit"
    out = tmp_path / "out"
    with compressing(body, length=length) as server:
        client = sdk.client(max_retries=0)
        with pytest.raises(DownloadError) as info:
            await sdk.call(client.v1.files.download, f"{server.url}/render.png?sig=SECRET", directory=out)
    error = info.value
    assert not isinstance(error, DownloadWriteError)
    message = str(error)
    assert f"more than {MAX_INFLATE_RATIO} times the bytes received" in message, message
    assert "decompression bomb" in message and "gzip" in message
    assert "SECRET" not in message and error.path == str(out / "render.png")
    assert accept_encodings(server) == ["identity"], "the SDK asked for the file as is, once (no retry)"
    assert files_in(out) == [], "nothing left: no final file, no temporary file"


async def test_a_compressed_file_is_written_as_the_file(sdk: Flavor, tmp_path: pathlib.Path) -> None:
    # A server that compresses a real output anyway: the file is written inflated (not as the gzip
    # stream under a .png name), whether or not the compressed length was announced.
    rng = random.Random(7)
    content = bytes(rng.getrandbits(8) for _ in range(3 * MB // 4)) + bytes(2 * MB)  # ~4:1 overall
    for length in (False, True):
        with compressing(gzip.compress(content), length=length) as server:
            client = sdk.client(max_retries=0)
            [path] = await sdk.call(client.v1.files.download, [f"{server.url}/a.png"], directory=tmp_path)
        assert pathlib.Path(path).read_bytes() == content
    assert files_in(tmp_path) == ["a.png"]  # the second replaced the first


async def test_a_body_that_does_not_decode_is_a_download_error(sdk: Flavor, tmp_path: pathlib.Path) -> None:
    with compressing(b"\x1f\x8b\x08\x00" + b"not gzip at all" * 100) as server:
        client = sdk.client(max_retries=0)
        with pytest.raises(DownloadError) as info:
            await sdk.call(client.v1.files.download, [f"{server.url}/a.png"], directory=tmp_path)
    assert "could not be decoded" in str(info.value)
    assert files_in(tmp_path) == []


async def test_a_compressed_body_cut_short_is_retried_then_refused(
    sdk: Flavor, tmp_path: pathlib.Path
) -> None:
    # A body that ends with the connection has no length to check; the gzip stream itself says it was
    # cut: a drop, retried (from byte 0: there is no range to resume), then a DownloadError.
    content = bytes(range(256)) * 4096
    with compressing(gzip.compress(content)[:-64]) as server:
        client = sdk.client(max_retries=1)
        with pytest.raises(DownloadError) as info:
            await sdk.call(client.v1.files.download, [f"{server.url}/a.png"], directory=tmp_path)
    assert "ended before its compressed stream did" in str(info.value)
    assert accept_encodings(server) == ["identity", "identity"], "retried once"
    assert files_in(tmp_path) == []


@pytest.mark.parametrize("coding", ["x-unknown", "gzip, x-unknown"])
async def test_a_body_in_an_encoding_httpx_cannot_decode_is_not_written_as_the_file(
    sdk: Flavor, tmp_path: pathlib.Path, coding: str
) -> None:
    # httpx skips a coding it has no decoder for (br without brotli installed, zstd without zstandard):
    # the compressed bytes were written under the file's name, as a complete download.
    body = gzip.compress(b"png" * 1000) if "gzip" in coding else b"compressed bytes" * 100
    reply = Respond(200, [("Content-Type", "image/png"), ("Content-Encoding", coding)], body)
    with RawServer(then=reply) as server:
        client = sdk.client(max_retries=1)
        with pytest.raises(DownloadError) as info:
            await sdk.call(client.v1.files.download, [f"{server.url}/a.png"], directory=tmp_path)
    assert "cannot decode 'x-unknown'" in str(info.value)
    assert accept_encodings(server) == ["identity"], "not retried: the same answer would come again"
    assert files_in(tmp_path) == []
