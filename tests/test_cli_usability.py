"""The command as people use it (issue 25): what a person sees for each point, in real processes
against the fake's server (a pseudo-terminal where the display matters), with exit codes and files."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest
from _cli import PY, SAMPLE, TOKEN, env, no_traceback

from magic_hour.testing import FakeMagicHour, FakeServer


@pytest.fixture
def fake() -> FakeMagicHour:
    return FakeMagicHour(tokens=TOKEN)


@pytest.fixture
def server(fake: FakeMagicHour) -> Iterator[FakeServer]:
    with fake.serve() as running:
        yield running


@pytest.fixture
def media(tmp_path: Path) -> Path:
    """A working directory with a photo, a clip and a song."""
    (tmp_path / "photo.png").write_bytes(SAMPLE.read_bytes())
    (tmp_path / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200)
    (tmp_path / "song.mp3").write_bytes(b"\xff\xfb" + b"\x00" * 200)
    return tmp_path


def cli(server: FakeServer, *args: str, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [PY, "-m", "magic_hour", "--base-url", server.url, *args],
        capture_output=True,
        text=True,
        env=env(TOKEN),
        cwd=cwd,
        input=stdin,
        timeout=60,
        check=False,
    )
    no_traceback(proc)
    return proc


def created(fake: FakeMagicHour, route: str) -> Dict[str, Any]:
    (request,) = fake.requests_to(route)
    body: Dict[str, Any] = json.loads(request.body or b"")
    return body


# ------------------------------------------------------------------------- 4: mistakes found before uploads


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["image", "upscale", "--image", "clip.mp4", "--scale-factor", "2"],
            "--image clip.mp4: a video file, but this input takes an image (image: png, jpg,",
        ),
        (
            [
                "video",
                "lip-sync",
                "--video",
                "clip.mp4",
                "--audio",
                "photo.png",
                "--start-seconds",
                "0",
                "--end-seconds",
                "5",
                "--video-source",
                "file",
            ],
            "--audio photo.png: an image file, but this input takes an audio (audio: mp3, wav,",
        ),
        (
            [
                "image",
                "upscale",
                "--image",
                "photo.png",
                "--scale-factor",
                "2",
                "--set",
                "assets.image_file_path=api-assets/abc/video.mp4",
            ],
            "--image api-assets/abc/video.mp4: a video file, but this input takes an image",
        ),
    ],
    ids=["video-as-image", "image-as-audio", "uploaded-video-as-image"],
)
def test_an_input_of_the_wrong_kind_is_refused_before_any_upload(
    fake: FakeMagicHour, server: FakeServer, media: Path, args: list, message: str
) -> None:
    proc = cli(server, "--json", *args, cwd=media)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and "nothing was uploaded" in proc.stderr
    assert json.loads(proc.stdout)["error"]["type"] == "UsageError"
    assert fake.requests == []  # not even the upload-urls call


def test_a_value_that_differs_only_by_case_is_taken_as_the_known_one(
    fake: FakeMagicHour, server: FakeServer, media: Path
) -> None:
    proc = cli(server, "audio", "speech", "--prompt", "hello", "--voice-name", "morgan freeman", cwd=media)
    assert proc.returncode == 0, proc.stderr
    assert (
        "magic-hour: --voice-name 'morgan freeman': taken as 'Morgan Freeman' "
        "(the known value that differs only by case)"
    ) in proc.stderr.splitlines()
    assert created(fake, "ai_voice_generator.create")["style"]["voice_name"] == "Morgan Freeman"


def test_an_unknown_value_is_warned_about_with_the_closest_and_still_sent(
    fake: FakeMagicHour, server: FakeServer, media: Path
) -> None:
    proc = cli(
        server,
        "video",
        "subtitle",
        "--video",
        "clip.mp4",
        "--start-seconds",
        "0",
        "--end-seconds",
        "5",
        "--template",
        "karaokee",
        cwd=media,
    )
    (warning,) = [line for line in proc.stderr.splitlines() if "warning:" in line]
    assert warning == (
        "magic-hour: warning: --template 'karaokee' is not one of the 4 values this version knows; "
        "closest: 'karaoke'; sent as given (the API decides)"
    )
    assert created(fake, "auto_subtitle_generator.create")["style"]["template"] == "karaokee"
    # the warning came before the upload: it is the first line
    assert proc.stderr.splitlines()[0] == warning


# ------------------------------------------------------------------------- 2: required values the command fills


def test_face_swap_infers_the_video_source_and_starts_at_zero(
    fake: FakeMagicHour, server: FakeServer, media: Path
) -> None:
    proc = cli(
        server,
        "video",
        "face-swap",
        "--video",
        "clip.mp4",
        "--image",
        "photo.png",
        "--end-seconds",
        "5",
        cwd=media,
    )
    assert proc.returncode == 0, proc.stderr
    body = created(fake, "face_swap.create")
    assert body["assets"]["video_source"] == "file" and body["start_seconds"] == 0
    assert Path(proc.stdout.splitlines()[-1]).exists()


def test_given_values_win_over_the_filled_ones(fake: FakeMagicHour, server: FakeServer, media: Path) -> None:
    proc = cli(
        server,
        "video",
        "lip-sync",
        "--youtube-url",
        "https://www.youtube.com/watch?v=x",
        "--audio",
        "song.mp3",
        "--start-seconds",
        "3",
        "--end-seconds",
        "5",
        "--no-download",
        cwd=media,
    )
    assert proc.returncode == 0, proc.stderr
    body = created(fake, "lip_sync.create")
    assert body["assets"]["video_source"] == "youtube" and body["start_seconds"] == 3


def test_image_generate_makes_one_image_unless_told(
    fake: FakeMagicHour, server: FakeServer, media: Path
) -> None:
    assert cli(server, "image", "generate", "--prompt", "a lighthouse", cwd=media).returncode == 0
    assert created(fake, "ai_image_generator.create")["image_count"] == 1


def test_nothing_to_infer_from_names_what_would_do(server: FakeServer, media: Path) -> None:
    proc = cli(server, "video", "face-swap", "--image", "photo.png", "--end-seconds", "5", cwd=media)
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[-1] == (
        "magic-hour: error: the following arguments are required: "
        "--video-source (or --video or --youtube-url, which it follows from)"
    )


def test_help_says_what_is_sent_when_left_out(server: FakeServer, media: Path) -> None:
    text = " ".join(cli(server, "video", "face-swap", "--help", cwd=media).stdout.split())
    assert "--start-seconds START_SECONDS Start time of your clip (seconds)." in text
    assert "(when not given: 0)" in text
    assert (
        "(when not given: file if --video is given, youtube if --youtube-url is given; required otherwise)"
        in text
    )
