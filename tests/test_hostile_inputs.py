"""Regression tests of the third hostile review (issue 21), inputs part: ids that would leave their path
segment, values JSON cannot carry, odd file objects, unusable upload URLs and the upload cache. Each
test goes through the public API and asserts what reached the wire (or that nothing did)."""

from __future__ import annotations

import os
import pathlib
import posixpath
import shutil
import subprocess
import time
from typing import Any, Callable, Dict, List, Tuple
from urllib.parse import unquote

import _modes
import httpx
import pytest
from _servers import RawServer, Received, Respond
from conftest import Flavor, default_ssl_context

from magic_hour import InvalidFileError, InvalidParameterError, NotFoundError
from magic_hour.testing import FakeMagicHour

pytestmark = pytest.mark.anyio

# Client, and AsyncClient on asyncio and on trio (see tests/_modes.py).
mode, anyio_backend, sdk = _modes.mode, _modes.anyio_backend, _modes.sdk


@pytest.fixture
def fake() -> FakeMagicHour:
    return FakeMagicHour()


def _client(sdk: Flavor, fake: FakeMagicHour, **kwargs: Any) -> Any:
    """A client of ``sdk``'s flavor wired to ``fake`` through its transport (no sockets)."""
    lent = sdk.httpx_client(transport=fake.transport())
    return sdk.client(base_url=fake.base_url, token=fake.token, httpx_client=lent, **kwargs)


# ------------------------------------------------------------------ 12: ids stay in their path segment

_BY_ID: Dict[str, Callable[[Any, str], Any]] = {
    "video_projects.delete": lambda c, i: c.v1.video_projects.delete(id=i),
    "video_projects.get": lambda c, i: c.v1.video_projects.get(id=i),
    "image_projects.delete": lambda c, i: c.v1.image_projects.delete(id=i),
    "image_projects.get": lambda c, i: c.v1.image_projects.get(id=i),
    "audio_projects.delete": lambda c, i: c.v1.audio_projects.delete(id=i),
    "audio_projects.get": lambda c, i: c.v1.audio_projects.get(id=i),
    "face_detection.get": lambda c, i: c.v1.face_detection.get(id=i),
    "video_projects.wait": lambda c, i: c.v1.video_projects.wait(id=i, wait_timeout=5),
    "image_projects.check_result": lambda c, i: c.v1.image_projects.check_result(
        id=i, wait_for_completion=False, download_outputs=False
    ),
}


@pytest.mark.parametrize("value", [".", "..", "", "  ", "\ud800", None, 7])
@pytest.mark.parametrize("call", list(_BY_ID))
async def test_an_id_that_would_leave_its_segment_is_refused_before_any_request(
    sdk: Flavor, fake: FakeMagicHour, call: str, value: Any
) -> None:
    # Before: delete(id=".") sent DELETE /v1/video-projects and ".." reached /v1; a lone surrogate
    # raised a bare UnicodeEncodeError.
    client = _client(sdk, fake)
    with pytest.raises(InvalidParameterError) as caught:
        await sdk.call(_BY_ID[call], client, value)
    assert caught.value.param == "id" and caught.value.value == value
    assert fake.requests == []


@pytest.mark.parametrize(
    ("value", "segment"),
    [
        ("a/b", "a%2Fb"),
        ("a?b", "a%3Fb"),
        ("a#b", "a%23b"),
        ("%2e", "%252e"),
        ("%2E%2E", "%252E%252E"),
        ("...", "..."),
        (".a", ".a"),
        ("é", "%C3%A9"),
    ],
)
async def test_an_id_is_sent_whole_in_its_own_segment(
    sdk: Flavor, fake: FakeMagicHour, value: str, segment: str
) -> None:
    client = _client(sdk, fake)
    with pytest.raises(NotFoundError):  # the fake knows no such project
        await sdk.call(client.v1.video_projects.delete, id=value)
    [sent] = fake.requests
    assert sent.method == "DELETE"
    assert sent.url == f"{fake.base_url}/v1/video-projects/{segment}"


def _nginx(upstream: str) -> Callable[[Received], Any]:
    """A proxy that passes on nginx's normalised URI (``proxy_pass`` with a URI): %XX decoded, %2F
    included, then dot segments resolved."""

    def choose(request: Received) -> Any:
        path, _, query = request.target.partition("?")
        normal = posixpath.normpath(unquote(path))
        headers = [(k, v) for k, v in request.headers if k.lower() not in ("host", "content-length")]
        target = upstream + normal + ("?" + query if query else "")
        answer = httpx.request(
            request.method, target, headers=headers, content=request.body, verify=default_ssl_context()
        )
        return Respond(answer.status_code, list(answer.headers.items()), answer.content)

    return choose


@pytest.mark.parametrize(
    "value", ["../image-projects/{id}", "..\\image-projects\\{id}", "x/../../image-projects/{id}"]
)
async def test_an_id_with_dot_segments_between_slashes_is_refused(sdk: Flavor, value: str) -> None:
    """Quoted, "../image-projects/p1" is one segment for the API; behind a proxy that decodes %2F before
    resolving dot segments, video_projects.delete deleted the image project (204, before)."""
    fake = FakeMagicHour()
    image = fake.seed_project("image")
    value = value.format(id=image.id)
    with fake.serve() as served, RawServer(_nginx(served.url)) as proxy:
        client = sdk.client(base_url=proxy.url, token=fake.token)
        with pytest.raises(InvalidParameterError) as caught:
            await sdk.call(client.v1.video_projects.delete, id=value)
        assert caught.value.param == "id" and "between slashes" in str(caught.value)
        assert proxy.requests == [] and fake.requests == []
        await sdk.call(client.v1.image_projects.get, id=image.id)  # still there
        with pytest.raises(NotFoundError):  # a slash alone stays in its segment, even behind it
            await sdk.call(client.v1.video_projects.delete, id=f"a/{image.id}")
    assert [r.target for r in proxy.requests][-1] == f"/v1/video-projects/a%2F{image.id}"


@pytest.mark.parametrize("command", ["delete", "get", "wait", "download"])
@pytest.mark.parametrize("value", [".", "..", "../image-projects/p1"])
def test_the_command_refuses_such_an_id_as_a_usage_error(
    fake: FakeMagicHour, capsys: pytest.CaptureFixture[str], command: str, value: str
) -> None:
    from magic_hour.cli import main

    # Before: `magic-hour video delete .` sent DELETE /v1/video-projects.
    with fake.serve() as server:
        code = main(["--base-url", server.url, "--token", fake.token, "video", command, value])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.strip().splitlines()[-1].startswith(f"magic-hour: error: invalid id: {value!r}")
    assert fake.requests == []


# ------------------------------------------------------------------ 13: only what JSON can carry is sent

_IMAGE = {"image_file_path": "api-assets/id/photo.png"}

_NUMBERS: Dict[str, Any] = {
    "nan": float("nan"),
    "inf": float("inf"),
    "-inf": float("-inf"),
    "int of 5,000 digits": 10**5000,
}

_FIELDS: Dict[str, Tuple[str, Callable[[Any, Any], Any]]] = {
    # (the path named, the call): a top-level number (a body compiled to the fast path), a nested one,
    # a free value under an open object, additional_properties, an integer field
    "top": ("scale_factor", lambda c, v: c.v1.ai_image_upscaler.create(assets=_IMAGE, scale_factor=v)),
    "nested": (
        "style.eye_gaze_vertical",
        lambda c, v: c.v1.ai_face_editor.create(assets=_IMAGE, style={"eye_gaze_vertical": v}),
    ),
    "open": (
        "style.tempo[1]",
        lambda c, v: c.v1.ai_music_generator.create(duration=10, style={"prompt": "p", "tempo": [1, v]}),
    ),
    "extra": (
        "mix.gain",
        lambda c, v: c.v1.ai_music_generator.create(
            duration=10, style={"prompt": "p"}, additional_properties={"mix": {"gain": v}}
        ),
    ),
    "integer": ("duration", lambda c, v: c.v1.ai_music_generator.create(duration=v, style={"prompt": "p"})),
}


@pytest.mark.parametrize(
    ("field", "number"),
    # A float that is not integral in an integer field is the wrong JSON type (refused already).
    [(f, n) for f in _FIELDS for n in _NUMBERS if f != "integer" or not isinstance(_NUMBERS[n], float)],
)
async def test_a_number_json_cannot_carry_is_refused_naming_its_field(
    sdk: Flavor, fake: FakeMagicHour, field: str, number: str
) -> None:
    # Before: NaN and Infinity were sent (not JSON: the API answered 422 or 400), an integer of 5,000
    # digits raised a bare ValueError, or was sent whole by the fast path.
    value = _NUMBERS[number]
    param, call = _FIELDS[field]
    client = _client(sdk, fake)
    with pytest.raises(InvalidParameterError) as caught:
        await sdk.call(call, client, value)
    assert caught.value.param == param
    assert caught.value.value is value
    assert ("finite number" if isinstance(value, float) else "digits") in caught.value.allowed
    assert fake.requests == []


@pytest.mark.parametrize(
    ("param", "call"),
    [
        ("name", lambda c: c.v1.ai_image_upscaler.create(assets=_IMAGE, scale_factor=2, name="a\ud800")),
        (
            "style.mood",
            lambda c: c.v1.ai_music_generator.create(duration=9, style={"prompt": "p", "mood": "\udfff"}),
        ),
        (
            "style key",
            lambda c: c.v1.ai_music_generator.create(duration=9, style={"prompt": "p", "\ud800": 1}),
        ),
        (
            "style.when",
            lambda c: c.v1.ai_music_generator.create(duration=9, style={"prompt": "p", "when": object()}),
        ),
        (
            "style.raw",
            lambda c: c.v1.ai_music_generator.create(duration=9, style={"prompt": "p", "raw": b"x"}),
        ),
        (
            "x.y key",
            lambda c: c.v1.ai_music_generator.create(
                duration=9, style={"prompt": "p"}, additional_properties={"x": {"y": {(1,): 2}}}
            ),
        ),
        ("cursor", lambda c: c.v1.saved_items.list(cursor="\ud800")),
    ],
)
async def test_other_values_json_cannot_carry_are_refused_naming_their_field(
    sdk: Flavor, fake: FakeMagicHour, param: str, call: Callable[[Any], Any]
) -> None:
    # Before: a lone surrogate was refused as "request body" without its field (a bare
    # UnicodeEncodeError in a query), and an object() or bytes under a free value was a bare TypeError.
    client = _client(sdk, fake)
    with pytest.raises(InvalidParameterError) as caught:
        await sdk.call(call, client)
    assert caught.value.param == param
    assert fake.requests == []


async def test_generate_never_creates_with_a_value_json_cannot_carry(
    sdk: Flavor, fake: FakeMagicHour, tmp_path: Any
) -> None:
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    client = _client(sdk, fake)
    with pytest.raises(InvalidParameterError) as caught:
        await sdk.call(
            client.v1.ai_image_upscaler.generate,
            assets={"image_file_path": str(photo)},
            scale_factor=float("nan"),
            wait_for_completion=False,
        )
    assert caught.value.param == "scale_factor"
    assert [r.route for r in fake.requests if r.route not in ("upload_urls", "storage")] == []


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_the_command_refuses_a_number_json_cannot_carry(
    fake: FakeMagicHour, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    from magic_hour.cli import main

    image = "https://images.example/photo.png"  # a URL: nothing to upload
    with fake.serve() as server:
        code = main(
            ["--base-url", server.url, "--token", fake.token, "image", "upscale", "--image", image,
             "--scale-factor", "2", "--set", f"style.strength={value}", "--no-wait"]
        )  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert "style.strength" in err and value in err  # refused where the command parses it
    assert fake.requests == []


@pytest.mark.parametrize("value", [10**5000, [1, -(10**5000)]], ids=["int", "list"])
async def test_an_extra_query_parameter_too_long_to_write_is_refused(
    sdk: Flavor, fake: FakeMagicHour, value: Any
) -> None:
    # Before: a bare ValueError from int -> str, deep in httpx.
    client = _client(sdk, fake)
    with pytest.raises(InvalidParameterError) as caught:
        await sdk.call(client.v1.saved_items.list, request_options={"additional_params": {"page": value}})
    assert caught.value.param == "request_options.additional_params['page']"
    assert fake.requests == []


# ------------------------------------------------------------------ 15: file objects that cannot give bytes

PNG = b"\x89PNG\r\n\x1a\n" + bytes(200)


class Handmade:
    """A seekable file-like object written by hand; subclasses break one thing."""

    name = "photo.png"

    def __init__(self, data: bytes = PNG) -> None:
        self._data = data
        self._pos = 0

    def seek(self, offset: int, whence: int = 0) -> int:
        self._pos = offset if whence == 0 else len(self._data) + offset if whence == 2 else self._pos + offset
        return self._pos

    def tell(self) -> int:
        return self._pos

    def read(self, n: int = -1) -> Any:
        end = len(self._data) if n < 0 else self._pos + n
        out, self._pos = self._data[self._pos : end], min(end, len(self._data))
        return out


class ReadsText(Handmade):
    def read(self, n: int = -1) -> Any:
        return super().read(n).decode("latin-1")


class ReadsNone(Handmade):
    def read(self, n: int = -1) -> Any:
        return None


class ReadTakesNoSize(Handmade):
    def read(self) -> Any:  # type: ignore[override]
        return super().read()


class ReadRaises(Handmade):
    def read(self, n: int = -1) -> Any:
        raise RuntimeError("the device went away")


class ReadIgnoresSize(Handmade):
    def read(self, n: int = -1) -> Any:
        return super().read(-1)


class ReadNotCallable(Handmade):
    read = b"not a method"  # type: ignore[assignment]


class SeekRaises(Handmade):
    def seek(self, offset: int, whence: int = 0) -> int:
        raise RuntimeError("no seeking here")


class ReadableRaises(Handmade):
    def readable(self) -> bool:
        raise RuntimeError("no idea")


def _text_files(path: Any) -> Dict[str, Callable[[], Any]]:
    import codecs

    return {
        "codecs.open utf-8": lambda: codecs.open(str(path), "r", "utf-8"),
        "codecs.open latin-1": lambda: codecs.open(str(path), "r", "latin-1"),
        "open(path)": lambda: open(path),
        "open(path, 'r+')": lambda: open(path, "r+"),
        "reads str": ReadsText,
    }


_ODD_OBJECTS: Dict[str, Callable[[], Any]] = {
    "reads None": ReadsNone,
    "read() takes no size": ReadTakesNoSize,
    "read raises": ReadRaises,
    "read ignores its size": ReadIgnoresSize,
    "read not callable": ReadNotCallable,
    "seek raises": SeekRaises,
    "readable raises": ReadableRaises,
}


@pytest.mark.parametrize("how", ["upload_file", "upload_files", "generate"])
@pytest.mark.parametrize("kind", [*_text_files("x"), *_ODD_OBJECTS])
async def test_a_file_object_that_cannot_give_bytes_is_refused_before_any_request(
    sdk: Flavor, fake: FakeMagicHour, tmp_path: Any, kind: str, how: str
) -> None:
    # Before: codecs.open(path, "r", "utf-8") passed the checks (its mode says "rb"), and the upload
    # failed after the presign call, with a raw TypeError or an ApiConnectionError retried 3 times;
    # the hand-made objects failed the same ways, or with their own exception.
    path = tmp_path / "photo.png"
    path.write_bytes(PNG)
    f = {**_text_files(path), **_ODD_OBJECTS}[kind]()
    client = _client(sdk, fake)
    calls: Dict[str, Callable[[], Any]] = {
        "upload_file": lambda: client.v1.files.upload_file(f),
        "upload_files": lambda: client.v1.files.upload_files([str(path), f]),
        "generate": lambda: client.v1.ai_image_upscaler.generate(
            assets={"image_file_path": f}, scale_factor=2, download_directory=str(tmp_path)
        ),
    }
    try:
        with pytest.raises(InvalidFileError) as caught:
            await sdk.call(calls[how])
    finally:
        if hasattr(f, "close"):
            f.close()
    assert caught.value.value in (str(path), "photo.png")
    if kind in _text_files("x"):
        assert "binary mode ('rb')" in caught.value.allowed  # the fix, named
    assert fake.requests == []


class ReadGoesWrong(Handmade):
    """Reads well when checked (``read(0)``), then ``read(n)`` goes wrong as ``how`` says."""

    def __init__(self, how: str) -> None:
        super().__init__(PNG)
        self.how = how

    def read(self, n: int = -1) -> Any:
        if n == 0:
            return b""
        if self.how == "str":
            return super().read(n).decode("latin-1")
        if self.how == "None":
            return None
        if self.how == "too much":
            return super().read(n) + b"!"
        if self.how == "UnicodeDecodeError":
            return b"\xff".decode("utf-8")
        raise RuntimeError("the device went away")


@pytest.mark.parametrize("how", ["str", "None", "too much", "UnicodeDecodeError", "RuntimeError"])
async def test_a_read_that_goes_wrong_mid_upload_fails_the_file_not_the_connection(
    sdk: Flavor, fake: FakeMagicHour, how: str
) -> None:
    # Before: a raw TypeError from inside httpx, or an ApiConnectionError ("invalid host name" for a
    # UnicodeDecodeError) retried as if the network had failed.
    client = _client(sdk, fake)
    with pytest.raises(InvalidFileError) as caught:
        await sdk.call(client.v1.files.upload_file, ReadGoesWrong(how))
    assert caught.value.value == "photo.png"
    assert len(fake.requests_to("storage")) == 1  # the file's fault: not retried
    assert fake.files == {}


@pytest.mark.parametrize("wrap", [bytearray, memoryview])
async def test_a_file_object_reading_other_bytes_like_objects_still_uploads(
    sdk: Flavor, fake: FakeMagicHour, wrap: Callable[[bytes], Any]
) -> None:
    class Reads(Handmade):
        def read(self, n: int = -1) -> Any:
            return wrap(super().read(n))

    client = _client(sdk, fake)
    file_path = await sdk.call(client.v1.files.upload_file, Reads())
    assert fake.file(file_path).content == PNG


def test_a_refused_file_object_keeps_its_position(fake: FakeMagicHour) -> None:
    f = ReadIgnoresSize()
    f.seek(7)
    with fake.client() as client, pytest.raises(InvalidFileError, match=r"read\(0\) returned 201 bytes"):
        client.v1.files.upload_file(f)
    assert f.tell() == 7 and fake.requests == []


# ------------------------------------------------------------------ 16: upload URLs the API gave that cannot be used


@pytest.mark.parametrize(
    ("host", "problem"),
    [
        ("xn--zz.com", "not valid IDNA"),
        ("xn--a.com", "not valid IDNA"),
        ("xn--.com", "not valid IDNA"),
        ("exa mple.com", "characters no host name has"),
        ("%zz.com", "characters no host name has"),
    ],
)
@pytest.mark.parametrize("how", ["upload_file", "generate"])
async def test_an_upload_url_with_a_broken_host_is_an_upload_error(
    sdk: Flavor, tmp_path: Any, host: str, problem: str, how: str
) -> None:
    # Before: xn--zz.com raised a bare idna.IDNAError while the answer was checked; a space or a "%"
    # went to the name lookup, after the upload had begun (ApiConnectionError, retried).
    import respx

    from magic_hour import UploadUrlsMismatchError

    path = tmp_path / "photo.png"
    path.write_bytes(PNG)
    item = {
        "file_path": "api-assets/id/photo.png",
        "upload_url": f"https://{host}/photo.png?sig=secret",
        "expires_at": "2099-01-01T00:00:00Z",
    }
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        router.post("https://api.magichour.ai/v1/files/upload-urls").respond(200, json={"items": [item]})
        client = sdk.client(max_retries=0)
        calls: Dict[str, Callable[[], Any]] = {
            "upload_file": lambda: client.v1.files.upload_file(str(path)),
            "generate": lambda: client.v1.ai_image_upscaler.generate(
                assets={"image_file_path": str(path)}, scale_factor=2, download_directory=str(tmp_path)
            ),
        }
        with pytest.raises(UploadUrlsMismatchError) as caught:
            await sdk.call(calls[how])
        assert [c.request.url.path for c in router.calls] == ["/v1/files/upload-urls"]  # no PUT, no create
    assert not isinstance(caught.value, InvalidParameterError)  # the server's fault, not the caller's
    assert problem in str(caught.value) and "secret" not in str(caught.value)


# ------------------------------------------------------------------ 11: a file replaced with its times kept


def _replace_keeping_times(how: str, target: pathlib.Path, data: bytes) -> None:
    """Put ``data`` at ``target`` the way ``how`` says, with the same size and modification time."""
    st = target.stat()
    times = (st.st_atime_ns, st.st_mtime_ns)
    other = target.with_name("other" + target.suffix)
    other.write_bytes(data)
    os.utime(other, ns=times)
    if how == "cp -p":
        subprocess.run(["cp", "-p", str(other), str(target)], check=True)
    elif how == "shutil.copy2":
        shutil.copy2(other, target)
    elif how == "rewritten in place, times restored":
        with open(target, "r+b") as f:
            f.write(data)
        os.utime(target, ns=times)
    else:
        assert how == "renamed over"
        os.replace(other, target)
    assert (target.stat().st_size, target.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)


def _created_paths(fake: FakeMagicHour) -> List[str]:
    return [r.json["assets"]["image_file_path"] for r in fake.requests_to("ai_image_upscaler.create")]


@pytest.mark.parametrize("settled", [True, False], ids=["settled", "just-written"])
@pytest.mark.parametrize(
    "how", ["cp -p", "shutil.copy2", "rewritten in place, times restored", "renamed over"]
)
async def test_a_file_replaced_with_its_times_kept_is_uploaded_again(
    sdk: Flavor, fake: FakeMagicHour, tmp_path: pathlib.Path, how: str, settled: bool
) -> None:
    # Before: the cache knew a file by (path, size, mtime), which all four keep: the second job ran on
    # the first file's upload.
    first, second = b"\x89PNG first " + bytes(100), b"\x89PNG other " + bytes(100)
    photo = tmp_path / "photo.png"
    photo.write_bytes(first)
    if settled:
        time.sleep(0.05)  # long after its last change: the first upload is remembered
    client = _client(sdk, fake)

    async def job() -> None:
        await sdk.call(
            client.v1.ai_image_upscaler.generate,
            assets={"image_file_path": str(photo)},
            scale_factor=2,
            wait_for_completion=False,
        )

    await job()
    _replace_keeping_times(how, photo, second)
    await job()
    one, two = _created_paths(fake)
    assert (fake.file(one).content, fake.file(two).content) == (first, second)
    assert len(fake.requests_to("storage")) == 2


async def test_an_unchanged_file_is_uploaded_once_per_client(
    sdk: Flavor, fake: FakeMagicHour, tmp_path: pathlib.Path
) -> None:
    photo = tmp_path / "photo.png"
    photo.write_bytes(PNG)
    time.sleep(0.05)
    client = _client(sdk, fake)
    for _ in range(3):
        await sdk.call(
            client.v1.ai_image_upscaler.generate,
            assets={"image_file_path": str(photo)},
            scale_factor=2,
            wait_for_completion=False,
        )
    assert len(set(_created_paths(fake))) == 1 and len(fake.requests_to("storage")) == 1


async def test_a_file_written_moments_ago_is_uploaded_but_not_remembered(
    sdk: Flavor, fake: FakeMagicHour, tmp_path: pathlib.Path
) -> None:
    # Its change time may still be shared by a write to come (file systems stamp times in steps): it is
    # uploaded once per call until it has settled, and still once for two fields of one call.
    photo = tmp_path / "photo.png"
    photo.write_bytes(PNG)
    client = _client(sdk, fake)
    body = {"source_file_path": str(photo), "target_file_path": str(photo)}
    await sdk.call(client.v1.face_swap_photo.generate, assets=body, wait_for_completion=False)
    assert len(fake.requests_to("storage")) == 1
    time.sleep(0.05)
    await sdk.call(client.v1.face_swap_photo.generate, assets=body, wait_for_completion=False)
    await sdk.call(client.v1.face_swap_photo.generate, assets=body, wait_for_completion=False)
    assert len(fake.requests_to("storage")) == 2


@pytest.mark.parametrize(("fstype", "uploads"), [("fuse.rclone", 3), ("vfat", 3), ("ext4", 1)])
async def test_nothing_is_remembered_on_a_file_system_without_a_change_time(
    sdk: Flavor,
    fake: FakeMagicHour,
    tmp_path: pathlib.Path,
    monkeypatch: pytest.MonkeyPatch,
    fstype: str,
    uploads: int,
) -> None:
    """FUSE mounts (rclone, gcsfuse, sshfs...) report the modification time as the change time, which
    ``cp -p`` puts back; FAT's is the creation time once the inode is read again: there a different file
    copied over with its times kept has the same key. The file's device is listed as ``fstype`` in a
    mountinfo of the test's own (before: remembered whatever the file system)."""
    from magic_hour._jobs import inputs

    photo = tmp_path / "photo.png"
    photo.write_bytes(PNG)
    dev = photo.stat().st_dev
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(
        "22 27 0:21 / /proc rw,relatime - proc proc rw\n"
        f"36 35 {os.major(dev)}:{os.minor(dev)} / /mnt rw,noatime shared:1 master:2 - {fstype} remote: rw\n"
    )
    monkeypatch.setattr(inputs, "MOUNTINFO", str(mountinfo))
    monkeypatch.setattr(inputs, "_kept", {})
    time.sleep(0.05)
    client = _client(sdk, fake)
    for _ in range(3):
        await sdk.call(
            client.v1.ai_image_upscaler.generate,
            assets={"image_file_path": str(photo)},
            scale_factor=2,
            wait_for_completion=False,
        )
    assert len(fake.requests_to("storage")) == uploads


@pytest.mark.parametrize(
    ("ctime_ns", "wait_ns"),
    [
        (1_733_500_000_123_456_789, 20_000_000),  # a kernel tick's timestamp: two ticks at HZ=100
        (1_733_500_000_120_000_000, 20_000_000),  # 10 ms steps (exFAT)
        (1_733_500_000_100_000_000, 200_000_000),
        (1_733_500_000_000_000_000, 2_000_000_000),  # whole seconds (ext3, HFS+, small-inode ext4)
        (1_733_500_002_000_000_000, 2_000_000_000),  # two-second steps (FAT): one step is enough
    ],
)
def test_a_key_waits_twice_the_step_its_change_time_may_have_been_rounded_to(
    ctime_ns: int, wait_ns: int
) -> None:
    from magic_hour._jobs.inputs import settle_ns

    assert settle_ns(ctime_ns) == wait_ns


@pytest.mark.parametrize("bad", [".", "..", ""])
@pytest.mark.parametrize("how", ["create", "generate"])
async def test_a_created_project_id_that_would_leave_its_segment_is_the_apis_fault(
    sdk: Flavor, how: str, bad: str
) -> None:
    # Before: generate() raised InvalidParameterError("id") after the project had started (the
    # caller's fault, said of the server's answer), and create() returned an id no later call takes.
    import respx

    from magic_hour import ProjectMayExistResponseError

    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        router.post("https://api.magichour.ai/v1/ai-image-upscaler").respond(
            200, json={"id": bad, "credits_charged": 50, "frame_cost": 50}
        )
        client = sdk.client(max_retries=0)
        call = getattr(client.v1.ai_image_upscaler, how)
        with pytest.raises(ProjectMayExistResponseError) as caught:
            await sdk.call(call, assets={"image_file_path": "https://images.example/a.png"}, scale_factor=2)
        assert [c.request.method for c in router.calls] == ["POST"]  # no GET of another path
    assert not isinstance(caught.value, InvalidParameterError)
    assert caught.value.body == {"id": bad, "credits_charged": 50, "frame_cost": 50}
    assert "started an image project" in str(caught.value)


class PropertiesRaise(Handmade):
    @property
    def closed(self) -> bool:
        raise RuntimeError("closed? who knows")

    @property
    def mode(self) -> str:
        raise RuntimeError("no mode")


class ReadPropertyRaises:
    @property
    def read(self) -> Any:
        raise RuntimeError("no read today")


async def test_a_zip_member_that_says_mode_r_uploads_its_bytes(
    sdk: Flavor, fake: FakeMagicHour, tmp_path: pathlib.Path
) -> None:
    # Before: refused as text mode (its mode attribute is "r"); it reads bytes.
    import zipfile

    archive = tmp_path / "photos.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("photo.png", PNG)
    client = _client(sdk, fake)
    with zipfile.ZipFile(archive) as z, z.open("photo.png") as member:
        assert member.mode == "r"
        file_path = await sdk.call(client.v1.files.upload_file, member)
    assert fake.file(file_path).content == PNG


@pytest.mark.parametrize("make", [PropertiesRaise, ReadPropertyRaises], ids=["closed-and-mode", "read"])
async def test_an_object_whose_properties_raise_is_judged_by_what_it_reads(
    sdk: Flavor, fake: FakeMagicHour, make: Callable[[], Any]
) -> None:
    client = _client(sdk, fake)
    f = make()
    if make is PropertiesRaise:  # it reads bytes: uploaded
        file_path = await sdk.call(client.v1.files.upload_file, f)
        assert fake.file(file_path).content == PNG
    else:  # before: a bare RuntimeError from hasattr()
        with pytest.raises(InvalidFileError):
            await sdk.call(client.v1.files.upload_file, f, extension="png")
        assert fake.requests == []


async def test_a_spooled_text_file_is_refused_as_text(sdk: Flavor, fake: FakeMagicHour) -> None:
    import tempfile

    with tempfile.SpooledTemporaryFile(mode="w+") as f:
        f.write("not bytes")
        with pytest.raises(InvalidFileError, match="binary mode"):
            await sdk.call(_client(sdk, fake).v1.files.upload_file, f, extension="png")
    assert fake.requests == []
