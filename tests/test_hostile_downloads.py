"""Regression tests of the hostile reviews, download part: a download server that ignores
``Accept-Encoding: identity`` and compresses anyway (bombs among it), in the codings the SDK decodes
within bounds (gzip, deflate), or in one it does not (br, zstd, unknown); names and messages made of
what a server sends. Real sockets on 127.0.0.1; sync, asyncio and trio."""

from __future__ import annotations

import functools
import gzip
import os
import pathlib
import random
import threading
import time
import tracemalloc
import unicodedata
from typing import Any, List, Optional

import _modes
import anyio
import anyio.to_thread
import httpx
import pytest
from _codings import CODINGS, bomb, compress
from _servers import Forward, Hang, RawServer, Received, Respond, Stall, Unframed
from conftest import Flavor
from test_jobs_cancel import CtrlC

from magic_hour import DownloadError, DownloadWriteError, InvalidParameterError
from magic_hour._core import codings
from magic_hour._jobs.download_flow import INFLATE_ALLOWANCE, INFLATE_STEP, MAX_INFLATE_RATIO, BodyDecoder
from magic_hour._jobs.names import OutputFile
from magic_hour.testing import FakeMagicHour

pytestmark = [pytest.mark.anyio, pytest.mark.full]

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
    # 256 MiB of zeros in ~250 KB: the body may inflate to max(16 MiB,
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
    # everything a piece inflates to at once.
    response = httpx.Response(200, headers={"Content-Encoding": coding}, stream=httpx.ByteStream(b""))
    decoder = BodyDecoder(
        response, OutputFile(index=0, url="https://x.test/a.png", directory=".", name="a.png")
    )
    sizes: List[int] = []
    with pytest.raises(DownloadError, match="decompression bomb"):
        feed_all(decoder, bomb(coding), sizes)
    largest = max(sizes)
    assert 0 < largest <= INFLATE_STEP, largest
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
    assert files_in(tmp_path) == ["a-1.png", "a.png"]  # the second kept the first


NOT_DECODABLE = {
    "gzip": b"\x1f\x8b\x08\x00" + b"not gzip at all" * 100,
    "deflate": b"\x78\x9c" + b"not deflate at all" * 100,
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
    # No byte at all is no compressed stream in these codings (empty content compresses to a 20-byte
    # gzip member, an 8-byte zlib stream): refused like a body cut short.
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


@pytest.mark.parametrize("coding", ["x-unknown", "gzip, x-unknown", "br", "zstd"])
async def test_a_body_in_an_encoding_the_sdk_does_not_decode_is_not_written_as_the_file(
    sdk: Flavor, tmp_path: pathlib.Path, coding: str
) -> None:
    # httpx skips a coding it has no decoder for (br without brotli installed, zstd without zstandard):
    # the compressed bytes were written under the file's name, as a complete download. The SDK decodes
    # only gzip and deflate (bounded by the standard library), whatever else is installed.
    body = gzip.compress(b"png" * 1000) if "gzip" in coding else b"compressed bytes" * 100
    reply = Respond(200, [("Content-Type", "image/png"), ("Content-Encoding", coding)], body)
    with RawServer(then=reply) as server:
        client = sdk.client(max_retries=1)
        with pytest.raises(DownloadError) as info:
            await sdk.call(client.v1.files.download, [f"{server.url}/a.png"], directory=tmp_path)
    unknown = coding.split(", ")[-1]
    assert f"does not decode {unknown!r} (only gzip and deflate" in str(info.value)
    assert accept_encodings(server) == ["identity"], "not retried: the same answer would come again"
    assert files_in(tmp_path) == []


def test_only_gzip_and_deflate_are_asked_for_and_decoded() -> None:
    # br and zstd need packages whose decoders cannot all be bounded (brotli < 1.2, zstandard has no
    # output limit): never asked for, never decoded, whether or not they are installed.
    assert codings.ACCEPT_ENCODING == "gzip, deflate"
    assert sorted(codings.DECODABLE) == ["deflate", "gzip", "x-gzip"]
    assert codings.stage_for("br") is None and codings.stage_for("zstd") is None


async def test_names_and_messages_never_carry_controls_or_bidirectional_overrides(
    sdk: Flavor, tmp_path: pathlib.Path
) -> None:
    # invoice\u202egnp.exe showed as invoiceexe.png, and C1 controls (U+009B: an escape sequence in some
    # terminals, U+0085) were kept in the file name and in the DownloadError's message.
    with RawServer([Respond(200, [], b"exe"), Respond(200, [], b"c1"), Respond(404)]) as server:
        client = sdk.client(max_retries=0)
        paths = await sdk.call(
            client.v1.files.download,
            [f"{server.url}/p/invoice%E2%80%AEgnp.exe", f"{server.url}/p/a%C2%9B2J%C2%85.png"],
            directory=tmp_path,
            max_concurrency=1,
        )
        with pytest.raises(DownloadError) as info:
            await sdk.call(client.v1.files.download, f"{server.url}/p/\u009b2J\u202e.png", directory=tmp_path)
    assert [pathlib.Path(p).name for p in paths] == ["invoice_gnp.exe", "a_2J_.png"]
    assert [pathlib.Path(p).read_bytes() for p in paths] == [b"exe", b"c1"]
    message = str(info.value)
    assert "%C2%9B2J%E2%80%AE.png" in message and info.value.url.endswith("/p/%C2%9B2J%E2%80%AE.png")
    assert not any(unicodedata.category(c) in ("Cc", "Cf") for c in message + info.value.path), message


def ranged(content: bytes, *, part: int) -> Any:
    """A server that answers every GET with a 206 of at most ``part`` bytes from where it was asked
    (from byte 0 without a Range header), as a CDN that caps its ranges does."""

    def answer(request: Received) -> Respond:
        asked = request.header("range")
        first = int(asked[len("bytes=") : -1]) if asked else 0
        body = content[first : first + part]
        headers = [("Content-Range", f"bytes {first}-{first + len(body) - 1}/{len(content)}")]
        return Respond(206, headers, body)

    return answer


async def test_a_206_answering_a_plain_get_is_not_saved_as_the_whole_file(
    sdk: Flavor, tmp_path: pathlib.Path
) -> None:
    # 206 with Content-Range: bytes 0-99/1024 to a GET without Range was saved as the file (100 bytes).
    content = bytes(range(256)) * 4
    with RawServer(ranged(content, part=100)) as server:
        client = sdk.client(max_retries=0)
        [path] = await sdk.call(client.v1.files.download, f"{server.url}/a.png", directory=tmp_path)
        asked = [r.header("range") for r in server.requests]
    assert pathlib.Path(path).read_bytes() == content
    assert asked == [None] + [f"bytes={n}-" for n in range(100, 1024, 100)]
    # A 206 that says nothing of where its bytes go is refused, and nothing is left.
    with (
        RawServer(then=Respond(206, [], b"x" * 100)) as server,
        pytest.raises(DownloadError, match="206 without a usable Content-Range"),
    ):
        await sdk.call(client.v1.files.download, f"{server.url}/b.png", directory=tmp_path)
    assert files_in(tmp_path) == ["a.png"]


@pytest.mark.parametrize(
    "bad", [b"ftp://", b"http://[::1", b"not a url "], ids=["ftp", "unparsable", "relative"]
)
async def test_a_download_url_from_the_api_that_cannot_be_used_is_a_download_error(
    sdk: Flavor, tmp_path: pathlib.Path, bad: bytes
) -> None:
    # The API's own URL raised InvalidParameterError("urls[0]"), the error of a caller's bad argument,
    # after the project had been fetched. It is the server's fault: a DownloadError, before any GET.
    fake = FakeMagicHour()
    project = fake.seed_project("image", outputs=1)
    with fake.serve() as upstream:
        rewrite = ((f'"url":"{upstream.url}/'.encode(), b'"url":"' + bad),)
        with RawServer(then=Forward(upstream.url, rewrite=rewrite)) as proxy:
            client = sdk.client(base_url=proxy.url, max_retries=0, token=fake.token)
            with pytest.raises(DownloadError) as info:
                await sdk.call(
                    client.v1.image_projects.check_result,
                    id=project.id,
                    wait_for_completion=True,
                    download_outputs=True,
                    download_directory=str(tmp_path / "out"),
                )
            fetched = await sdk.call(client.v1.image_projects.get, id=project.id)
            with pytest.raises(DownloadError):  # the project given to download(): the API's URLs too
                await sdk.call(client.v1.image_projects.download, fetched, directory=str(tmp_path / "out"))
    assert not isinstance(info.value, InvalidParameterError)
    assert "the API gave a download URL the SDK cannot use" in str(info.value)
    assert info.value.path.startswith(str(tmp_path / "out"))
    assert [r.method for r in proxy.requests] == ["GET", "GET"], "no download was attempted"
    assert files_in(tmp_path) == []
    with pytest.raises(InvalidParameterError, match=r"urls\[0\]"):  # a URL the caller gives: the caller's
        await sdk.call(client.v1.files.download, bad.decode() + "x/a.png", directory=tmp_path)


def redirecting(hops: int, body: bytes, headers: Any = ()) -> Any:
    """A server whose ``/r<n>`` redirects to ``/r<n+1>`` (with ``body``) up to ``/r<hops>``, the file."""

    def answer(request: Received) -> Respond:
        n = int(request.target.split("?")[0].rsplit("/r", 1)[1])
        if n >= hops:
            return Respond(200, [("Content-Type", "image/png")], b"the file")
        return Respond(302, [("Location", f"/r{n + 1}?sig=SECRET"), *headers], body)

    return answer


async def test_redirect_bodies_are_never_read(sdk: Flavor, tmp_path: pathlib.Path) -> None:
    # httpx reads and inflates a redirect's body whole when it follows redirects: a 64 KB gzip body on
    # each 302 cost 64 MiB (300 KB: ~630 MB), and the download still succeeded. Now each redirect is
    # closed unread, and the file still comes.
    body = bomb("gzip", 64 * MB)
    with RawServer(redirecting(3, body, [("Content-Encoding", "gzip")])) as server:
        client = sdk.client(max_retries=0)
        tracemalloc.start()
        try:
            [path] = await sdk.call(client.v1.files.download, f"{server.url}/r0", directory=tmp_path)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        seen = server.requests
    assert pathlib.Path(path).read_bytes() == b"the file" and pathlib.Path(path).name == "r0"
    assert peak < 8 * MB, f"{peak / MB:.0f} MiB in memory at once"
    assert [r.target.split("?")[0] for r in seen] == ["/r0", "/r1", "/r2", "/r3"]
    assert all(r.header("accept-encoding") == "identity" and r.header("authorization") is None for r in seen)


async def test_redirects_are_bounded(sdk: Flavor, tmp_path: pathlib.Path) -> None:
    # A redirect loop (or a chain of 20) ends after 10 redirects with a DownloadError, nothing left.
    with RawServer(redirecting(1000, b"")) as server:
        client = sdk.client(max_retries=2)
        with pytest.raises(DownloadError, match="more than 10 redirects") as info:
            await sdk.call(client.v1.files.download, f"{server.url}/r0", directory=tmp_path)
        seen = len(server.requests)
    assert seen == 11, "the first request and 10 redirects, not retried"
    assert info.value.status_code == 302 and "SECRET" not in str(info.value)
    assert files_in(tmp_path) == []


async def test_a_resume_after_a_redirect_asks_the_same_range(sdk: Flavor, tmp_path: pathlib.Path) -> None:
    # The redirect's request keeps the Range of the one it answers.
    content = bytes(range(256)) * 4
    with RawServer(
        lambda r: (
            Respond(302, [("Location", f"/b{r.target}")])
            if not r.target.startswith("/b/")
            else ranged(content, part=600)(r)
        )
    ) as server:
        client = sdk.client(max_retries=0)
        [path] = await sdk.call(client.v1.files.download, f"{server.url}/a.png", directory=tmp_path)
        asked = [(r.target, r.header("range")) for r in server.requests]
    assert pathlib.Path(path).read_bytes() == content
    assert asked == [
        ("/a.png", None),
        ("/b/a.png", None),
        ("/a.png", "bytes=600-"),
        ("/b/a.png", "bytes=600-"),
    ]


async def test_a_redirect_to_another_origin_is_followed_without_the_token(
    sdk: Flavor, tmp_path: pathlib.Path
) -> None:
    # Unlike an API call's (tests/test_api_redirects.py), a download's redirect is followed to any origin:
    # a storage link may hand over to a CDN, and a download carries no token to leak.
    with (
        RawServer(lambda r: Respond(200, [("Content-Type", "image/png")], b"the file")) as cdn,
        RawServer(lambda r: Respond(302, [("Location", f"{cdn.url}/b.png?sig=SECRET")])) as storage,
    ):
        client = sdk.client(max_retries=0, token="sk-test-TOKEN")
        [path] = await sdk.call(client.v1.files.download, f"{storage.url}/a.png", directory=tmp_path)
        seen = storage.requests + cdn.requests
    assert pathlib.Path(path).read_bytes() == b"the file" and pathlib.Path(path).name == "a.png"
    assert [r.target for r in seen] == ["/a.png", "/b.png?sig=SECRET"]
    assert all(r.header("authorization") is None for r in seen)


def _download_threads() -> List[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("magic-hour-download")]


@pytest.mark.parametrize("outputs", [2, 3])
async def test_interrupting_stalled_downloads_stops_them_at_once(
    sdk: Flavor, mode: str, tmp_path: pathlib.Path, outputs: int
) -> None:
    # Ctrl-C during a sync download of 2+ outputs (worker threads) reached the caller only when the read
    # timeout expired (60 s by default): a worker blocked in a read never looked at the interruption.
    # Here one output waits for its answer, the others for the rest of their body.
    script = [Hang(30)] + [Stall(Respond(200, [], bytes(MB)), sent=1000)] * (outputs - 1)
    with RawServer(script) as server:
        client = sdk.client(max_retries=3, timeout=20)
        urls = [f"{server.url}/{i}.png" for i in range(outputs)]

        def arrived() -> bool:
            deadline = time.monotonic() + 10
            while len(server.requests) < outputs and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(0.2)  # the workers are now blocked in their reads
            return len(server.requests) == outputs

        started = time.monotonic()
        if mode == "sync":
            with CtrlC() as ctrl_c:
                pressing = threading.Thread(target=lambda: arrived() and ctrl_c.press())
                pressing.start()
                try:
                    with pytest.raises(KeyboardInterrupt):
                        client.v1.files.download(urls, directory=tmp_path)  # cannot complete
                finally:
                    pressing.join()
            assert ctrl_c.sent.is_set()
        else:
            with anyio.move_on_after(15):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(functools.partial(client.v1.files.download, urls, directory=tmp_path))
                    assert await anyio.to_thread.run_sync(arrived)
                    tg.cancel_scope.cancel()
        elapsed = time.monotonic() - started
        seen = len(server.requests)
    assert elapsed < 3, f"the interruption took {elapsed:.1f}s to stop the downloads"
    assert seen == outputs, "nothing was retried after the interruption"
    assert _download_threads() == [], "worker threads survived the interrupt"
    assert files_in(tmp_path) == []
