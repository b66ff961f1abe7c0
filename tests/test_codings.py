"""Content codings the SDK decodes (gzip, deflate), in API answers and in downloads: whole bodies, never
cut or refused for their shape, and typed errors for what cannot be decoded. Real sockets on 127.0.0.1;
sync, asyncio and trio (issue 21, items 4 and 14)."""

from __future__ import annotations

import gzip
import json
import os
import pathlib
import random
import zlib
from typing import Any, Iterator, List

import _modes
import pytest
from _codings import compress
from _servers import RawServer, Respond, Unframed
from conftest import Flavor

from magic_hour import ApiConnectionError, DownloadError
from magic_hour._core import codings

pytestmark = [pytest.mark.anyio, pytest.mark.full]

mode, anyio_backend, sdk = _modes.mode, _modes.anyio_backend, _modes.sdk


@pytest.fixture
def server() -> Iterator[Any]:
    made: List[RawServer] = []

    def make(*script: Any, then: Any = None) -> RawServer:
        made.append(RawServer(list(script), then=then or Respond(404)))
        return made[-1]

    yield make
    for s in made:
        s.stop()


JSON = ("Content-Type", "application/json")
ANSWER = json.dumps(
    {
        "items": [
            {
                "expires_at": "2030-01-01T00:00:00Z",
                "file_path": "api-assets/x/a.mp4",
                "upload_url": "https://storage.test/a.mp4",
            }
        ]
    }
).encode()


def members(data: bytes, parts: int) -> bytes:
    """``data`` as ``parts`` gzip members, one after the other (what ``cat a.gz b.gz`` makes)."""
    step = -(-len(data) // parts)
    return b"".join(gzip.compress(data[i : i + step]) for i in range(0, len(data), step))


def content(size: int) -> bytes:
    return random.Random(5).randbytes(size)


# ---------------------------------------------------------------- multi-member gzip (item 4)


@pytest.mark.parametrize("framing", ["content-length", "unframed"])
async def test_a_download_in_several_gzip_members_is_written_whole(
    sdk: Flavor, server: Any, tmp_path: pathlib.Path, framing: str
) -> None:
    # A gzip body may hold several members (RFC 1952 2.2): the file is all of them. The first member
    # alone was written and the download reported complete (300,000 of 600,000 bytes).
    data = content(600_000)
    reply = Respond(200, [("Content-Encoding", "gzip")], members(data, 2) + b"\0" * 8)  # NUL padding
    srv = server(then=reply if framing == "content-length" else Unframed(reply))
    client = sdk.client(max_retries=0)
    [path] = await sdk.call(client.v1.files.download, f"{srv.url}/a.png", directory=tmp_path)
    assert pathlib.Path(path).read_bytes() == data


async def test_an_api_answer_in_several_gzip_members_is_read_whole(sdk: Flavor, server: Any) -> None:
    srv = server(Respond(200, [JSON, ("Content-Encoding", "gzip")], members(ANSWER, 3)))
    res = await sdk.create(sdk.client(base_url=srv.url, max_retries=0))
    assert res.items[0].file_path == "api-assets/x/a.mp4"


@pytest.mark.parametrize(
    ("coding", "tail"),
    [("gzip", b"not a gzip member"), ("deflate", b"more bytes"), ("deflate", compress("deflate", b"x"))],
    ids=["gzip-garbage", "deflate-garbage", "deflate-twice"],
)
async def test_bytes_after_the_compressed_stream_are_a_download_error(
    sdk: Flavor, server: Any, tmp_path: pathlib.Path, coding: str, tail: bytes
) -> None:
    # What follows the end of the stream is not part of the file, nor a gzip member: the body is not
    # what it says (httpx drops such bytes without a word; the file would be short).
    data = content(100_000)
    srv = server(then=Respond(200, [("Content-Encoding", coding)], compress(coding, data) + tail))
    client = sdk.client(max_retries=0)
    with pytest.raises(DownloadError, match="could not be decoded"):
        await sdk.call(client.v1.files.download, f"{srv.url}/a.png", directory=tmp_path)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("piece", [1, 7, 1000, 1 << 20])
def test_gzip_members_decode_whole_in_bounded_steps(piece: int) -> None:
    # No I/O: members split anywhere (in a header, in a trailer), padding between them, each step at
    # most its budget.
    data = content(50_000) + bytes(200_000)
    body = members(data, 4) + b"\0\0" + gzip.compress(b"end") + b"\0" * 3
    inflater = codings.Inflater(httpx_response("gzip"))
    parts: List[bytes] = []
    for start in range(0, len(body), piece):
        parts.append(inflater.feed(body[start : start + piece], 4096))
        while inflater.pending():
            parts.append(inflater.feed(b"", 4096))
    assert b"".join(parts) == data + b"end" and inflater.complete()
    assert max(map(len, parts)) <= 4096


def test_a_gzip_member_cut_short_is_not_complete() -> None:
    body = members(content(10_000), 2)
    inflater = codings.Inflater(httpx_response("gzip"))
    inflater.feed(body[:-5], 1 << 20)
    while inflater.pending():
        inflater.feed(b"", 1 << 20)
    assert not inflater.complete()


# ---------------------------------------------------------------- how many codings (item 14)


def layered(data: bytes, layers: int) -> bytes:
    for _ in range(layers):
        data = gzip.compress(data, compresslevel=1)
    return data


async def test_an_api_answer_with_too_many_codings_is_a_typed_error(sdk: Flavor, server: Any) -> None:
    # ~1,500 gzip layers in Content-Encoding raised a bare RecursionError out of any API call.
    coding = ", ".join(["gzip"] * 1500)
    srv = server(then=Respond(200, [JSON, ("Content-Encoding", coding)], b"\x1f\x8b" + b"x" * 100))
    with pytest.raises(ApiConnectionError, match=r"1500 content codings \(at most 5 are decoded\)"):
        await sdk.create(sdk.client(base_url=srv.url, max_retries=0))


@pytest.mark.parametrize("body", [b"\x1f\x8b" + b"x" * 100, b""], ids=["body", "empty"])
async def test_a_download_with_too_many_codings_is_a_download_error(
    sdk: Flavor, server: Any, tmp_path: pathlib.Path, body: bytes
) -> None:
    coding = ", ".join(["gzip"] * 1500)
    srv = server(then=Respond(200, [("Content-Encoding", coding)], body))
    client = sdk.client(max_retries=3)
    with pytest.raises(DownloadError, match=r"1500 content codings \(at most 5 are decoded\)"):
        await sdk.call(client.v1.files.download, f"{srv.url}/a.png", directory=tmp_path)
    assert len(srv.requests) == 1, "not retried: the same answer would come again"
    assert os.listdir(tmp_path) == []


async def test_five_gzip_layers_are_decoded(sdk: Flavor, server: Any, tmp_path: pathlib.Path) -> None:
    # The bound leaves room for what servers do (gzip twice, by a proxy that compresses again).
    srv = server(
        Respond(
            200, [JSON, ("Content-Encoding", "gzip, identity, gzip,gzip, gzip , gzip")], layered(ANSWER, 5)
        ),
        then=Respond(200, [("Content-Encoding", "gzip, gzip")], layered(b"png" * 1000, 2)),
    )
    res = await sdk.create(sdk.client(base_url=srv.url, max_retries=0))
    assert res.items[0].file_path == "api-assets/x/a.mp4"
    client = sdk.client(max_retries=0)
    [path] = await sdk.call(client.v1.files.download, f"{srv.url}/a.png", directory=tmp_path)
    assert pathlib.Path(path).read_bytes() == b"png" * 1000


def httpx_response(coding: str) -> Any:
    import httpx

    return httpx.Response(200, headers={"Content-Encoding": coding}, stream=httpx.ByteStream(b""))


def test_zlib_is_what_the_stages_use() -> None:
    # Sanity: a deflate body split at every byte decodes like zlib's own one-shot decompress.
    data = content(20_000)
    body = compress("deflate", data)
    stage = codings.stage_for("deflate")
    assert stage is not None
    out = b"".join(stage.decompress(body[i : i + 1], 1 << 20) for i in range(len(body)))
    assert out == zlib.decompress(body) == data and stage.complete()
