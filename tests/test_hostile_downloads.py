"""Regression tests of the hostile review, download part: a download server that ignores
``Accept-Encoding: identity`` and compresses anyway (bombs among it), in every coding httpx decodes when
the packages for them are installed (gzip and deflate always; br with brotli, zstd with zstandard: the
dev extra installs both). Real sockets on 127.0.0.1; sync, asyncio and trio."""

from __future__ import annotations

import gzip
import os
import pathlib
import random
import tracemalloc
import types
from typing import List, Optional

import _modes
import brotli  # type: ignore[import-untyped]
import httpx
import pytest
import zstandard
from _codings import CODINGS, bomb, compress
from _servers import RawServer, Respond, Unframed
from conftest import Flavor

from magic_hour import DownloadError, DownloadWriteError
from magic_hour._core import codings
from magic_hour._jobs.decoding import INFLATE_ALLOWANCE, INFLATE_STEP, MAX_INFLATE_RATIO, BodyDecoder
from magic_hour._jobs.files import Target

pytestmark = pytest.mark.anyio

# Client, and AsyncClient on asyncio and on trio (see tests/_modes.py).
mode, anyio_backend, sdk = _modes.mode, _modes.anyio_backend, _modes.sdk

MB = 1024 * 1024


def compressing(body: bytes, *, length: bool = False, coding: str = "gzip") -> RawServer:
    """A server that answers every GET with ``body`` as ``Content-Encoding: <coding>`` whatever the
    request asked, without ``Content-Length`` (the body ends with the connection) unless ``length``."""
    reply = Respond(200, [("Content-Type", "image/png"), ("Content-Encoding", coding)], body)
    return RawServer(then=reply if length else Unframed(reply))


def accept_encodings(server: RawServer) -> List[Optional[str]]:
    return [r.header("accept-encoding") for r in server.requests]


def files_in(directory: pathlib.Path) -> List[str]:
    """Every file in ``directory``: final and temporary ones alike."""
    return sorted(os.listdir(directory)) if directory.exists() else []


@pytest.mark.parametrize("coding", CODINGS)
@pytest.mark.parametrize("length", [False, True], ids=["no-content-length", "content-length"])
async def test_a_bomb_is_refused_with_no_file_left(
    sdk: Flavor, tmp_path: pathlib.Path, length: bool, coding: str
) -> None:
    # 256 MiB of zeros in ~250 KB (gzip; br and zstd in far less): the body may inflate to max(16 MiB,
    # 100 x the bytes received), so it is refused after 16 to 25 MB were written, long before its end,
    # and the partial file is removed.
    body = bomb(coding)
    limit = max(INFLATE_ALLOWANCE, MAX_INFLATE_RATIO * len(body))
    assert limit < 256 * MB // 4, "the bomb must be far over the limit"
    out = tmp_path / "out"
    tracemalloc.start()
    try:
        with compressing(body, length=length, coding=coding) as server:
            client = sdk.client(max_retries=0)
            with pytest.raises(DownloadError) as info:
                await sdk.call(client.v1.files.download, f"{server.url}/render.png?sig=SECRET", directory=out)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # Memory stays flat: a step inflates ~1 MiB (httpx's decoders made all 256 MiB from one piece).
    assert peak < 48 * MB, f"{peak / MB:.0f} MiB in memory at once"
    error = info.value
    assert not isinstance(error, DownloadWriteError)
    message = str(error)
    assert f"more than {MAX_INFLATE_RATIO} times the bytes received" in message, message
    assert "decompression bomb" in message and f"({coding})" in message
    assert "SECRET" not in message and error.path == str(out / "render.png")
    assert accept_encodings(server) == ["identity"], "the SDK asked for the file as is, once (no retry)"
    assert files_in(out) == [], "nothing left: no final file, no temporary file"


def feed_all(decoder: BodyDecoder, body: bytes, sizes: List[int]) -> None:
    """Feed ``body`` 16 KiB at a time, noting the size of every piece of file made."""
    for start in range(0, len(body), 16 * 1024):
        sizes.extend(len(piece) for piece in decoder.feed(body[start : start + 16 * 1024]))


@pytest.mark.parametrize("coding", CODINGS)
def test_a_bomb_is_inflated_one_bounded_step_at_a_time(coding: str) -> None:
    # No I/O: what the download loop is given per piece of the body. httpx's own decoders hand back
    # everything a piece inflates to at once (256 MiB from one 16 KiB piece of a zstd bomb).
    response = httpx.Response(200, headers={"Content-Encoding": coding}, stream=httpx.ByteStream(b""))
    decoder = BodyDecoder(response, Target(index=0, url="https://x.test/a.png", directory=".", name="a.png"))
    sizes: List[int] = []
    with pytest.raises(DownloadError, match="decompression bomb"):
        feed_all(decoder, bomb(coding), sizes)
    largest = max(sizes)
    assert 0 < largest <= 2 * INFLATE_STEP + 128 * 1024, largest
    assert decoder.produced <= max(INFLATE_ALLOWANCE, MAX_INFLATE_RATIO * decoder.received) + largest


@pytest.mark.parametrize("coding", CODINGS)
async def test_a_compressed_file_is_written_as_the_file(
    sdk: Flavor, tmp_path: pathlib.Path, coding: str
) -> None:
    # A server that compresses a real output anyway: the file is written inflated (not as the
    # compressed stream under a .png name), whether or not the compressed length was announced.
    rng = random.Random(7)
    content = bytes(rng.getrandbits(8) for _ in range(3 * MB // 4)) + bytes(2 * MB)  # ~4:1 overall
    for length in (False, True):
        with compressing(compress(coding, content), length=length, coding=coding) as server:
            client = sdk.client(max_retries=0)
            [path] = await sdk.call(client.v1.files.download, [f"{server.url}/a.png"], directory=tmp_path)
        assert pathlib.Path(path).read_bytes() == content
    assert files_in(tmp_path) == ["a.png"]  # the second replaced the first


NOT_DECODABLE = {
    "gzip": b"\x1f\x8b\x08\x00" + b"not gzip at all" * 100,
    "br": b"\xff" * 64 + b"not brotli at all" * 100,
    "zstd": b"\x28\xb5\x2f\xfd\x00" + b"not zstd at all" * 100,
}


@pytest.mark.parametrize("coding", CODINGS)
async def test_a_body_that_does_not_decode_is_a_download_error(
    sdk: Flavor, tmp_path: pathlib.Path, coding: str
) -> None:
    with compressing(NOT_DECODABLE[coding], coding=coding) as server:
        client = sdk.client(max_retries=0)
        with pytest.raises(DownloadError) as info:
            await sdk.call(client.v1.files.download, [f"{server.url}/a.png"], directory=tmp_path)
    assert "could not be decoded" in str(info.value)
    assert files_in(tmp_path) == []


@pytest.mark.parametrize("coding", CODINGS)
async def test_a_compressed_body_cut_short_is_retried_then_refused(
    sdk: Flavor, tmp_path: pathlib.Path, coding: str
) -> None:
    # A body that ends with the connection has no length to check; the compressed stream itself says
    # it was cut: a drop, retried (from byte 0: there is no range to resume), then a DownloadError.
    content = bytes(range(256)) * 4096
    with compressing(compress(coding, content)[:-64], coding=coding) as server:
        client = sdk.client(max_retries=1)
        with pytest.raises(DownloadError) as info:
            await sdk.call(client.v1.files.download, [f"{server.url}/a.png"], directory=tmp_path)
    assert "ended before its compressed stream did" in str(info.value)
    assert accept_encodings(server) == ["identity", "identity"], "retried once"
    assert files_in(tmp_path) == []


@pytest.mark.parametrize("coding", CODINGS)
@pytest.mark.parametrize("length", [False, True], ids=["no-content-length", "content-length"])
async def test_an_empty_compressed_body_is_retried_then_refused(
    sdk: Flavor, tmp_path: pathlib.Path, coding: str, length: bool
) -> None:
    # No byte at all is no compressed stream in any of these codings (empty content compresses to a
    # 20-byte gzip member, a 1-byte brotli stream, a 9-byte zstd frame): refused like a body cut short.
    # br and zstd took it as complete and left an empty file under the name.
    with compressing(b"", length=length, coding=coding) as server:
        client = sdk.client(max_retries=1)
        with pytest.raises(DownloadError) as info:
            await sdk.call(client.v1.files.download, [f"{server.url}/a.png"], directory=tmp_path)
    assert "ended before its compressed stream did" in str(info.value)
    assert f"the {coding} body" in str(info.value)
    assert accept_encodings(server) == ["identity", "identity"], "retried once"
    assert files_in(tmp_path) == []


@pytest.mark.parametrize("coding", CODINGS)
def test_the_stages_say_an_empty_stream_is_incomplete_and_empty_content_complete(coding: str) -> None:
    stage = codings.stage_for(coding)
    assert stage is not None and stage.decompress(b"", 1024) == b"" and not stage.complete()
    stage = codings.stage_for(coding)
    assert stage is not None and stage.decompress(compress(coding, b""), 1024) == b"" and stage.complete()


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


def test_a_brotli_without_an_output_limit_is_not_used() -> None:
    # brotli < 1.2 and brotlipy turn any input into all of its output at once: br is then neither
    # asked for nor decoded (a download in br is a DownloadError, as for a coding nothing decodes).
    old = types.SimpleNamespace(Decompressor=type("Decompressor", (), {"process": lambda self, data: data}))
    assert codings.bounded_brotli(old) is None and codings.bounded_brotli(None) is None
    assert codings.bounded_brotli(brotli) is brotli
    assert {"gzip", "deflate", "br", "zstd"} <= codings.DECODABLE
    assert codings.ACCEPT_ENCODING == "gzip, deflate, br, zstd"


@pytest.mark.parametrize(
    ("version", "used"), [("0.18.0", False), ("0.19.0", True), ("0.25.0", True), ("1.0", True), ("", False)]
)
def test_a_zstandard_older_than_0_19_is_not_used(version: str, used: bool) -> None:
    # zstandard < 0.19 could leak memory at each call of a decompressor called more than once, which is
    # how the bounded stage feeds it: zstd is then neither asked for nor decoded, as br with an old brotli.
    module = types.SimpleNamespace(__version__=version)
    assert (codings.lasting_zstd(module) is module) == used
    assert codings.lasting_zstd(None) is None
    assert codings.lasting_zstd(zstandard) is zstandard  # the dev extra's (>= 0.19)


@pytest.mark.parametrize("piece", [1, 7, 16 * 1024])
def test_zstd_streams_of_every_shape_decode_whole_in_bounded_steps(piece: int) -> None:
    # The zstd decoder is fed only what its frames say can make the step's budget: frames with and
    # without checksum or content size, a skippable frame between them, stored, RLE and compressed
    # blocks, headers split across pieces.
    rng = random.Random(3)
    data = rng.randbytes(40 * 1024) + bytes(300 * 1024) + b"abc" * 20_000
    skippable = (0x184D2A53).to_bytes(4, "little") + (5).to_bytes(4, "little") + b"hello"
    body = b"".join(
        [
            zstandard.ZstdCompressor(level=1, write_checksum=True).compress(data),
            skippable,
            zstandard.ZstdCompressor(level=19, write_content_size=False).compress(data),
            compress("zstd", data),
        ]
    )
    stage = codings.stage_for("zstd")
    assert stage is not None
    budget, parts = 64 * 1024, []
    for start in range(0, len(body), piece):
        parts.append(stage.decompress(body[start : start + piece], budget))
        while stage.busy():
            parts.append(stage.decompress(b"", budget))
    assert b"".join(parts) == data * 3 and stage.complete()
    assert max(map(len, parts)) <= budget + 128 * 1024
