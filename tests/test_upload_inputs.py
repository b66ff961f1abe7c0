"""Every upload input is checked before any request: errors name the file and what is allowed."""

from __future__ import annotations

import io
import os
import pathlib
from typing import Any

import pytest
import respx

from magic_hour import InvalidFileError, InvalidParameterError

pytestmark = pytest.mark.anyio


def _bytes_file(name: str, data: bytes = b"data") -> io.BytesIO:
    f = io.BytesIO(data)
    f.name = name  # type: ignore[attr-defined]
    return f


@pytest.fixture
def media(tmp_path: pathlib.Path) -> pathlib.Path:
    (tmp_path / "clip.mp4").write_bytes(b"\x00" * 10)
    (tmp_path / "song.MP3").write_bytes(b"\x00" * 10)
    (tmp_path / "notes.txt").write_text("hi")
    (tmp_path / "noext").write_bytes(b"x")
    (tmp_path / "dir.mp4").mkdir()
    return tmp_path


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda d: d / "missing.mp4", "File not found: "),
        (lambda d: str(d / "dir.mp4"), "directory"),
        (lambda d: str(d / "notes.txt"), "unknown file extension"),
        (lambda d: str(d / "noext"), "known extension"),
        (lambda d: "", "existing file"),
        (lambda d: 12345, "path string"),
        (lambda d: b"raw bytes", "io.BytesIO"),
        (lambda d: open(d / "clip.mp4"), "text mode"),  # noqa: SIM115
        (lambda d: _closed(d / "clip.mp4"), "closed"),
        (lambda d: io.BytesIO(b"abc"), "extension="),
        (lambda d: _bytes_file("x.exe"), "unknown file extension"),
    ],
    ids=[
        "missing",
        "directory",
        "unknown-ext",
        "no-ext",
        "empty-path",
        "int",
        "bytes",
        "text-mode",
        "closed",
        "nameless-object",
        "bad-object-ext",
    ],
)
async def test_bad_inputs_fail_before_any_request(
    sdk: Any, api: respx.MockRouter, media: pathlib.Path, make: Any, needle: str
) -> None:
    value = make(media)
    client = sdk.client()
    try:
        with pytest.raises(InvalidFileError) as info:
            await sdk.call(client.v1.files.upload_file, value)
        assert needle in str(info.value)
        assert isinstance(info.value, ValueError)
        # the same input inside a batch fails the whole batch up front, with the same error
        with pytest.raises(InvalidFileError):
            await sdk.call(client.v1.files.upload_files, [str(media / "clip.mp4"), value])
    finally:
        if hasattr(value, "close"):
            value.close()
    assert not api.calls, "no request may be sent for bad input"


def _closed(path: pathlib.Path) -> Any:
    f = open(path, "rb")  # noqa: SIM115
    f.close()
    return f


async def test_missing_file_error_names_the_path(
    sdk: Any, api: respx.MockRouter, media: pathlib.Path
) -> None:
    path = media / "nope.webm"
    with pytest.raises(InvalidFileError) as info:
        await sdk.call(sdk.client().v1.files.upload_file, path)
    assert str(path) in str(info.value)
    assert not api.calls


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"type_": "image"}, "not an image extension"),
        ({"type_": "document"}, "video, audio, image"),
        ({"extension": "exe"}, "unknown file extension"),
        ({"extension": "png", "type_": "video"}, "not a video extension"),
    ],
)
async def test_type_and_extension_overrides_are_checked(
    sdk: Any, api: respx.MockRouter, media: pathlib.Path, kwargs: Any, needle: str
) -> None:
    with pytest.raises(InvalidFileError) as info:
        await sdk.call(sdk.client().v1.files.upload_file, str(media / "clip.mp4"), **kwargs)
    assert needle in str(info.value)
    assert "mp4" in str(info.value) or "png" in str(info.value) or "exe" in str(info.value)
    assert not api.calls


@pytest.mark.parametrize("value", [0, -1, 1.5, True, "4", None])
async def test_max_concurrency_is_checked(
    sdk: Any, api: respx.MockRouter, media: pathlib.Path, value: Any
) -> None:
    with pytest.raises(InvalidParameterError, match="max_concurrency"):
        await sdk.call(sdk.client().v1.files.upload_files, [str(media / "clip.mp4")], max_concurrency=value)
    assert not api.calls


@pytest.mark.parametrize("value", ["clip.mp4", b"clip.mp4", {"a": 1}, None, 3])
async def test_files_must_be_a_list(sdk: Any, api: respx.MockRouter, value: Any) -> None:
    with pytest.raises(InvalidParameterError, match="files"):
        await sdk.call(sdk.client().v1.files.upload_files, value)
    assert not api.calls


@pytest.mark.parametrize(
    "value",
    [
        "https://example.com/video.mp4",
        "http://example.com/a.png",
        "HTTPS://EXAMPLE.COM/A.PNG",
        "api-assets/id/x.mp4",
    ],
)
async def test_urls_and_uploaded_paths_come_back_unchanged(
    sdk: Any, api: respx.MockRouter, value: str
) -> None:
    client = sdk.client()
    assert await sdk.call(client.v1.files.upload_file, value) == value
    assert await sdk.call(client.v1.files.upload_files, [value, value]) == [value, value]
    assert not api.calls


async def test_empty_batch_sends_nothing(sdk: Any, api: respx.MockRouter) -> None:
    assert await sdk.call(sdk.client().v1.files.upload_files, []) == []
    assert not api.calls


def test_inference_uses_our_table_not_mimetypes(media: pathlib.Path) -> None:
    from magic_hour._upload.inputs import Source, inspect_input

    cases = {
        "a.MP4": ("video", "mp4"),
        "a.gif": ("image", "gif"),
        "a.m4a": ("audio", "m4a"),
        "a.heic": ("image", "heic"),
        "a.amr": ("audio", "amr"),
        "a.aiff": ("audio", "aiff"),
        "a.jp2": ("image", "jp2"),
        "a.webm": ("video", "webm"),
        "a.tiff": ("image", "tiff"),
    }
    for name, expected in cases.items():
        (media / name).write_bytes(b"x")
        checked = inspect_input(str(media / name), 0)
        assert isinstance(checked, Source)
        assert (checked.type_, checked.extension) == expected, name
    checked = inspect_input(pathlib.Path(media / "a.webm"), 3, type_="video")
    assert isinstance(checked, Source)
    assert (checked.index, checked.size, checked.path) == (3, 1, os.fspath(media / "a.webm"))


def test_file_object_starts_at_byte_0_unless_asked(media: pathlib.Path) -> None:
    from magic_hour._upload.inputs import Source, inspect_input

    f = _bytes_file("x.png", b"0123456789")
    f.seek(4)
    checked = inspect_input(f, 0)
    assert isinstance(checked, Source)
    assert (checked.start, checked.origin, checked.size, checked.rewindable) == (0, 4, 10, True)
    assert f.tell() == 4
    checked = inspect_input(f, 0, from_current_position=True)
    assert isinstance(checked, Source)
    assert (checked.start, checked.origin, checked.size, checked.rewindable) == (4, 4, 6, True)
    assert f.tell() == 4
