"""The command as people use it (issue 25): what a person sees for each point, in real processes
against the fake's server (a pseudo-terminal where the display matters), with exit codes and files."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any, Dict, List

import pytest
from _cli import PY, SAMPLE, TOKEN, cli, env, no_traceback

from magic_hour.testing import FakeMagicHour, FakeServer

pytestmark = pytest.mark.full  # CLI subprocesses


@pytest.fixture
def media(tmp_path: Path) -> Path:
    """A working directory with a photo, a clip and a song."""
    (tmp_path / "photo.png").write_bytes(SAMPLE.read_bytes())
    (tmp_path / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200)
    (tmp_path / "song.mp3").write_bytes(b"\xff\xfb" + b"\x00" * 200)
    return tmp_path


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


# ------------------------------------------------------------------------- 3: help that keeps the rule


def help_of(*command: str, columns: int = 80) -> str:
    proc = subprocess.run(
        [PY, "-m", "magic_hour", *command, "--help"],
        capture_output=True,
        text=True,
        env=env(COLUMNS=str(columns)),
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_a_long_list_of_values_is_counted_with_the_command_that_lists_it() -> None:
    text = help_of("audio", "speech")
    assert len(text.splitlines()) < 70  # was 190 lines of voice names
    flat = " ".join(text.split())
    assert re.search(r"One of \d{3,} values: magic-hour values audio speech --voice-name lists them\.", flat)
    assert "Morgan Freeman" not in text


def test_help_keeps_every_sentence_and_marks_what_is_required() -> None:
    flat = " ".join(help_of("image", "upscale").split())
    assert (
        "Must be either 2 or 4. Note: 4x upscale is only available on Creator, Pro, or Business tier." in flat
    )
    flat = " ".join(help_of("image", "face-swap").split())
    assert "[required (with --face-swap-mode all-faces, the default)]" in flat
    assert "…" not in flat


@pytest.mark.parametrize("command", [("image", "generate"), ("video", "restyle"), ("video", "generate")])
def test_help_never_breaks_a_word_at_its_hyphen(command: tuple) -> None:
    for columns in (80, 100):
        lines = help_of(*command, columns=columns).splitlines()
        assert not [line for line in lines if re.search(r"\w-$", line)], columns


def test_values_lists_one_per_line_and_as_json(tmp_path: Path) -> None:
    def values(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [PY, "-m", "magic_hour", "values", *args],
            capture_output=True,
            text=True,
            env=env(),
            timeout=60,
            check=False,
        )

    text = values("audio", "speech", "--voice-name")
    assert text.returncode == 0 and "Morgan Freeman" in text.stdout.splitlines()
    doc = json.loads(values("audio", "speech", "--voice-name", "--json").stdout)
    assert doc["option"] == "--voice-name" and doc["count"] == len(doc["values"]) > 700
    options = values("image", "generate").stdout.splitlines()
    assert "--tool\t35 values" in options
    wrong = values("audio", "speech", "--voice")
    assert wrong.returncode == 2 and "did you mean '--voice-name'?" in wrong.stderr


def test_completion_quotes_a_value_with_spaces(tmp_path: Path) -> None:
    import shutil
    import sys

    bash = shutil.which("bash")
    assert bash is not None
    shim = tmp_path / "magic-hour"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m magic_hour "$@"\n')
    shim.chmod(0o755)
    script = subprocess.run(
        [sys.executable, "-m", "magic_hour", "completion", "bash"], capture_output=True, text=True, check=True
    ).stdout
    probe = script + (
        "COMP_WORDS=(magic-hour audio speech --voice-name 'Morgan\\ F'); COMP_CWORD=4; _magic_hour\n"
        "printf '%s\\n' \"${COMPREPLY[@]}\"\n"
        "COMP_WORDS=(magic-hour values audio speech --vo); COMP_CWORD=4; _magic_hour\n"
        "printf '%s\\n' \"${COMPREPLY[@]}\"\n"
    )
    environ = {**env(), "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"}
    out = subprocess.run([bash, "-c", probe], capture_output=True, text=True, env=environ, check=True).stdout
    assert out.splitlines() == ["Morgan\\ Freeman", "--voice-name"]


# ------------------------------------------------------------------------- 8: errors that lead somewhere


def run_cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [PY, "-m", "magic_hour", *args],
        capture_output=True,
        text=True,
        env=env(TOKEN, COLUMNS="100"),
        input=stdin,
        timeout=60,
        check=False,
    )
    no_traceback(proc)
    return proc


def test_an_unknown_option_shows_its_commands_usage_and_the_closest() -> None:
    proc = run_cli("image", "face-swap", "--face-swap-mod", "all-faces")
    assert proc.returncode == 2
    assert proc.stderr.startswith("usage: magic-hour image face-swap ")
    assert proc.stderr.splitlines()[-1] == (
        "magic-hour: error: unrecognized arguments: --face-swap-mod all-faces; did you mean --face-swap-mode or "
        "--face-mappings? "
        "(see magic-hour image face-swap --help)"
    )


def test_a_group_alone_lists_its_commands() -> None:
    proc = run_cli("image")
    assert proc.returncode == 2
    assert (
        "face-swap" in proc.stderr and "remove-background" in proc.stderr and "Face Swap Photo" in proc.stderr
    )
    assert (
        proc.stderr.splitlines()[-1] == "magic-hour: error: magic-hour image: which command? (listed above)"
    )
    assert "required: COMMAND" not in proc.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["imag"], "unknown command 'imag' for magic-hour; did you mean image?"),
        (["image", "fase-swap"], "unknown command 'fase-swap' for magic-hour image; did you mean face-swap"),
        (["vidoe", "generate"], "did you mean video?"),
    ],
)
def test_a_mistyped_command_gets_a_did_you_mean(args: list, message: str) -> None:
    proc = run_cli("--json", *args)
    assert proc.returncode == 2
    assert message in proc.stderr.splitlines()[-1]
    assert message in json.loads(proc.stdout)["error"]["message"]


def test_piping_without_json_says_to_add_it(fake: FakeMagicHour, server: FakeServer, media: Path) -> None:
    first = cli(server, "image", "generate", "--prompt", "a lighthouse", "--no-download", cwd=media)
    assert first.returncode == 0, first.stderr
    second = cli(
        server, "video", "from-image", "--image", "-", "--end-seconds", "5", cwd=media, stdin=first.stdout
    )
    assert second.returncode == 2
    assert second.stderr.splitlines()[-1] == (
        "magic-hour: error: an input is '-' but what came is not a JSON document on stdin; add --json to the "
        "first command, e.g. magic-hour --json image generate --prompt ... | magic-hour video from-image "
        "--image - ..."
    )
    assert fake.requests_to("image_to_video.create") == []


# ------------------------------------------------------------------------- 9: cost and account, for people


def test_a_jobs_last_line_says_what_it_cost(fake: FakeMagicHour, server: FakeServer, media: Path) -> None:
    proc = cli(server, "image", "upscale", "--image", "photo.png", cwd=media)
    assert proc.returncode == 0, proc.stderr
    (project,) = fake.projects
    assert re.fullmatch(
        rf"magic-hour: image project {project.id} complete in [\d.]+ s; [\d,]+ credits charged",
        proc.stderr.splitlines()[-1],
    )


def test_dry_run_sends_nothing_and_prints_what_body_takes(
    fake: FakeMagicHour, server: FakeServer, media: Path
) -> None:
    dry = subprocess.run(  # no token, no server: nothing is needed to send nothing
        [
            PY,
            "-m",
            "magic_hour",
            "image",
            "face-swap",
            "--source",
            "photo.png",
            "--target",
            "photo.png",
            "--name",
            "dry",
            "--dry-run",
        ],
        capture_output=True,
        text=True,
        env=env(),
        cwd=media,
        timeout=60,
        check=False,
    )
    assert dry.returncode == 0, dry.stderr
    body = json.loads(dry.stdout)
    assert body == {
        "name": "dry",
        "assets": {"source_file_path": "photo.png", "target_file_path": "photo.png"},
    }
    assert dry.stderr.splitlines() == [
        "magic-hour: dry run: nothing was sent",
        "magic-hour: would upload 1 file (313 B):",
        "magic-hour:   photo.png (image, 313 B) -> assets.source_file_path, assets.target_file_path",
        "magic-hour: would send POST /v1/face-swap-photo with this body (local files replaced by their "
        "uploaded path):",
    ]
    doc = json.loads(
        cli(server, "--json", "image", "upscale", "--image", "photo.png", "--dry-run", cwd=media).stdout
    )
    assert doc["dry_run"] is True and doc["operation"] == "POST /v1/ai-image-upscaler"
    assert doc["uploads"] == [
        {"path": "photo.png", "type": "image", "size": 313, "fields": ["assets.image_file_path"]}
    ]
    assert doc["body"]["scale_factor"] == 2  # what the command fills in is shown too
    assert fake.requests == []
    # what it printed is what --body takes: the same job, run for real
    (media / "body.json").write_text(dry.stdout)
    real = cli(server, "image", "face-swap", "--body", "body.json", cwd=media)
    assert real.returncode == 0, real.stderr
    sent = created(fake, "face_swap_photo.create")
    assert sent["name"] == "dry" and sent["assets"]["source_file_path"].startswith("api-assets/")


# ------------------------------------------------------------------------- 6: the mock remembers


def mock(*args: str, cwd: Path, state: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [PY, "-m", "magic_hour", *args],
        capture_output=True,
        text=True,
        env=env(MAGIC_HOUR_MOCK_DIR=str(state)),
        cwd=cwd,
        input=stdin,
        timeout=60,
        check=False,
    )
    no_traceback(proc)
    return proc


def test_the_first_tip_of_help_works_outside_a_checkout(tmp_path: Path) -> None:
    """magic-hour --help's tip, run as printed in an empty folder with no token: the samples come with
    the package."""
    state = tmp_path / "state"
    flat = " ".join(mock("--help", cwd=tmp_path, state=state).stdout.split())
    tip = re.search(
        r"Try it without an account: (magic-hour mock samples) \(.*?\), then (magic-hour --mock .*--image sample\.png)",
        flat,
    )
    assert tip is not None, flat
    first = mock(*tip.group(1).split()[1:], cwd=tmp_path, state=state)
    assert first.returncode == 0 and sorted(first.stdout.split()) == [
        "./sample.mp3",
        "./sample.mp4",
        "./sample.png",
    ]
    second = mock(*tip.group(2).split()[1:], cwd=tmp_path, state=state)
    assert second.returncode == 0, second.stderr
    assert Path(second.stdout.strip()).read_bytes()[:4] == b"\x89PNG"


def test_the_mock_keeps_projects_between_commands(tmp_path: Path) -> None:
    state = tmp_path / "state"
    mock("mock", "samples", cwd=tmp_path, state=state)
    started = mock(
        "--mock",
        "--json",
        "image",
        "upscale",
        "--image",
        "sample.png",
        "--no-wait",
        cwd=tmp_path,
        state=state,
    )
    project_id = json.loads(started.stdout)["id"]
    got = mock("--mock", "image", "get", project_id, cwd=tmp_path, state=state)
    assert got.returncode == 0 and json.loads(got.stdout)["id"] == project_id  # was a bare 404
    downloaded = mock(
        "--mock", "image", "download", project_id, "--output-dir", "out", cwd=tmp_path, state=state
    )
    assert downloaded.returncode == 0 and Path(downloaded.stdout.strip()).parent == tmp_path / "out"
    assert mock("--mock", "image", "delete", project_id, cwd=tmp_path, state=state).returncode == 0
    gone = mock("--mock", "image", "get", project_id, cwd=tmp_path, state=state)
    assert gone.returncode == 1
    assert gone.stderr.splitlines()[-1].endswith(
        f"the mock knows only the projects of earlier --mock commands (kept in {state} until magic-hour mock reset)"
    )
    # reset: forgotten
    again = mock(
        "--mock",
        "--json",
        "image",
        "upscale",
        "--image",
        "sample.png",
        "--no-wait",
        cwd=tmp_path,
        state=state,
    )
    other = json.loads(again.stdout)["id"]
    assert mock("mock", "reset", cwd=tmp_path, state=state).stderr.startswith(
        "magic-hour: the mock forgot its projects"
    )
    assert mock("--mock", "image", "get", other, cwd=tmp_path, state=state).returncode == 1
    assert mock("mock", "where", cwd=tmp_path, state=state).stdout.strip() == str(state)


def test_two_mock_commands_in_a_pipe_both_keep_their_projects(tmp_path: Path) -> None:
    state = tmp_path / "state"
    mock("mock", "samples", cwd=tmp_path, state=state)
    first = subprocess.Popen(
        [
            PY,
            "-m",
            "magic_hour",
            "--mock",
            "--json",
            "image",
            "generate",
            "--prompt",
            "a lighthouse",
            "--no-download",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env(MAGIC_HOUR_MOCK_DIR=str(state)),
        cwd=tmp_path,
    )
    second = subprocess.run(
        [
            PY,
            "-m",
            "magic_hour",
            "--mock",
            "--json",
            "video",
            "from-image",
            "--image",
            "-",
            "--end-seconds",
            "5",
            "--no-download",
        ],
        stdin=first.stdout,
        capture_output=True,
        text=True,
        env=env(MAGIC_HOUR_MOCK_DIR=str(state)),
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert first.wait(timeout=60) == 0 and second.returncode == 0, second.stderr
    assert first.stdout is not None
    first.stdout.close()
    kept = {p["kind"] for p in json.loads((state / "state.json").read_text())["projects"]}
    assert kept == {"image", "video"}


def test_an_interrupted_mock_job_resumes_with_the_command_it_prints(tmp_path: Path) -> None:
    """The project is in the state as soon as it exists: the resume command (with --mock) finds it, and
    it ends when it would have (it renders 4 s here: still rendering at the interrupt under any load)."""
    import signal

    state = tmp_path / "state"
    mock("mock", "samples", cwd=tmp_path, state=state)
    proc = subprocess.Popen(
        [PY, "-m", "magic_hour", "--mock", "image", "upscale", "--image", "sample.png"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(MAGIC_HOUR_MOCK_DIR=str(state), MAGIC_HOUR_MOCK_RENDER_SECONDS="4"),
        cwd=tmp_path,
    )
    assert proc.stderr is not None
    seen: List[str] = []
    while not any("started image project" in line for line in seen):  # the CLI has the id
        line = proc.stderr.readline()
        assert line, "".join(seen)
        seen.append(line)
    proc.send_signal(signal.SIGINT)
    _, rest = proc.communicate(timeout=30)
    err = "".join(seen) + rest
    assert proc.returncode == 130, err
    (line,) = [line for line in err.splitlines() if "to wait for it and get its outputs: " in line]
    command = line.split("outputs: ", 1)[1].split()
    assert command[:4] == ["magic-hour", "--mock", "image", "download"]
    done = mock(*command[1:], cwd=tmp_path, state=state)
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()).read_bytes()[:4] == b"\x89PNG"


def test_the_resume_command_keeps_where_the_output_goes(tmp_path: Path) -> None:
    import argparse

    from magic_hour.cli._resume import job_state

    command = {"group": "image", "name": "upscale", "kind": "image"}
    args = argparse.Namespace(
        mock=True, base_url=None, output="my photo.png", overwrite=True, no_download=False
    )
    state = job_state(args, command, "cm123")
    assert state.resume_command() == "magic-hour --mock image download cm123 -o 'my photo.png' --overwrite"
    args = argparse.Namespace(mock=False, base_url="http://127.0.0.1:9", no_download=True)
    assert job_state(args, command, "cm123").resume_command() == (
        "magic-hour --base-url http://127.0.0.1:9 image wait cm123"
    )


# ------------------------------------------------------------------------- 7: one concept, one flag


@pytest.mark.parametrize(
    ("args", "route", "sent"),
    [
        (
            ["image", "face-swap", "--face", "photo.png", "--image", "photo.png"],
            "face_swap_photo.create",
            {"source_file_path", "target_file_path"},
        ),
        (
            ["image", "face-swap", "--source", "photo.png", "--target", "photo.png"],
            "face_swap_photo.create",
            {"source_file_path", "target_file_path"},
        ),
        (
            ["video", "face-swap", "--face", "photo.png", "--video", "clip.mp4", "--end-seconds", "5"],
            "face_swap.create",
            {"image_file_path", "video_file_path"},
        ),
        (
            ["video", "face-swap", "--image", "photo.png", "--video", "clip.mp4", "--end-seconds", "5"],
            "face_swap.create",
            {"image_file_path", "video_file_path"},
        ),
    ],
    ids=["image-new", "image-former", "video-new", "video-former"],
)
def test_the_face_is_face_in_both_face_swaps(
    fake: FakeMagicHour, server: FakeServer, media: Path, args: list, route: str, sent: set
) -> None:
    proc = cli(server, *args, "--no-download", cwd=media)
    assert proc.returncode == 0, proc.stderr
    assets = created(fake, route)["assets"]
    assert sent <= set(assets) and all(assets[k].startswith("api-assets/") for k in sent)


def test_duration_and_sound_mean_one_thing(fake: FakeMagicHour, server: FakeServer, media: Path) -> None:
    proc = cli(
        server,
        "video",
        "generate",
        "--prompt",
        "waves",
        "--duration",
        "5",
        "--sound",
        "--no-download",
        cwd=media,
    )
    assert proc.returncode == 0, proc.stderr
    body = created(fake, "text_to_video.create")
    assert body["end_seconds"] == 5 and body["audio"] is True
    former = cli(
        server,
        "video",
        "generate",
        "--prompt",
        "waves",
        "--end-seconds",
        "6",
        "--no-audio",
        "--no-download",
        cwd=media,
    )
    assert former.returncode == 0, former.stderr
    body = json.loads(fake.requests_to("text_to_video.create")[-1].body or b"")
    assert body["end_seconds"] == 6 and body["audio"] is False
    text = help_of("video", "generate")
    assert "--duration DURATION" in text and "--sound, --no-sound" in text
    assert "--end-seconds" not in text and "--audio" not in text  # former names: accepted, not listed
    assert "--audio FILE" in help_of("video", "lip-sync")


@pytest.mark.parametrize("where", ["before", "after"])
def test_quiet_works_before_or_after_the_command(where: str, tmp_path: Path) -> None:
    (tmp_path / "photo.png").write_bytes(SAMPLE.read_bytes())
    for command in (["image", "upscale", "--image", "photo.png"], ["files", "upload", "photo.png"]):
        argv = ["-q", "--mock", *command] if where == "before" else ["--mock", *command, "-q"]
        proc = subprocess.run(
            [PY, "-m", "magic_hour", *argv],
            capture_output=True,
            text=True,
            env=env(),
            cwd=tmp_path,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr == "", proc.stderr  # not even the mock's banner
        assert proc.stdout.strip()


# ------------------------------------------------------------------------- 10: small ones


def test_small_things_of_help() -> None:
    assert "Create an Animation video." in " ".join(help_of("video", "animate").split())  # was "a Animation"
    text = help_of("video", "face-swap")
    listed = text.split("\noptions:\n", 1)[1]  # below the usage line
    options, deprecated = listed.split("deprecated options (the API ignores or replaces them):")
    assert "--height HEIGHT" in deprecated.split("job options:")[0] and "--height" not in options
    # the global options: listed once, under magic-hour --help; a command's help says so in a line
    assert "--max-retries N" not in text and "--token TOKEN" not in text
    assert "global options (--json, -q, -v, --mock" in " ".join(text.split())
    assert len(help_of("audio", "speech").splitlines()) < 50  # was 65, 21 of them global options
    top = " ".join(help_of().split())
    assert "--max-retries N" in top and "--concurrency" not in top  # job commands have no --concurrency
    assert "across everything the command transfers" in top


def test_a_finished_transfers_rate_stays_put() -> None:
    """The rate of a finished upload is its average over its own time: it does not fall as the display
    goes on (rich's windowed estimate empties after 30 s, and a rate over the display's time would keep
    falling)."""
    from rich.console import Console

    from magic_hour.cli._bars import FittedProgress, Layout, RateColumn

    now = [0.0]
    console = Console(width=120, file=open(os.devnull, "w"))  # noqa: SIM115 (closed below)
    layout = Layout(console)
    column = RateColumn(layout, "rate")
    progress = FittedProgress(layout, column, console=console, get_time=lambda: now[0])
    task_id = progress.add_task("", total=1_000_000)
    for step in range(1, 11):  # 1 MB in 2 s
        now[0] = step * 0.2
        progress.update(task_id, completed=step * 100_000)
    task = progress.tasks[0]
    shown = [column.render(task).plain]
    for later in (10.0, 40.0, 100.0):
        now[0] = later
        progress.update(task_id, state="ok")  # the display's later updates
        shown.append(column.render(task).plain)
    console.file.close()
    assert shown == ["500.0 kB/s"] * 4, shown
