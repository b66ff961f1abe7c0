"""What the official ``magic-hour`` 0.90.0 accepts, we accept (issue 20 item 5), sync and async:

- arguments of another Python type than the field's (``"5"`` or ``True`` for a number, ``"yes"`` or ``1``
  for a boolean, ``"512"`` for an integer, a tuple or a set for a list) are converted as the official
  SDK's pydantic serializer converts them, and what it refuses we refuse: the same wire, compared with
  the official SDK itself where its venv exists (``tests/compat/official_arguments.json``);
- ``download_directory=""`` is the current directory (``generate``, ``check_result``, ``download``);
- a token is refused at construction only when a header cannot carry it (see ``test_client.py``).
"""

from __future__ import annotations

import enum
import functools
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
from conftest import Flavor

from magic_hour import InvalidParameterError
from magic_hour._core.body import to_wire
from magic_hour._core.schema import BOOL, INT, NUM, STR, Arr, Obj
from magic_hour.testing import FakeMagicHour

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parent.parent
CASES_FILE = ROOT / "tests" / "compat" / "official_arguments.json"
CASES: List[Dict[str, Any]] = json.loads(CASES_FILE.read_text(encoding="utf-8"))["cases"]
SCRIPT = ROOT / "tests" / "compat" / "official_arguments_script.py"
VENV = Path(os.environ.get("MAGIC_HOUR_OFFICIAL_VENV", ROOT / ".ci" / ".venv-official"))
PYTHON = VENV / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


@pytest.fixture
def fake() -> Iterator[FakeMagicHour]:
    with FakeMagicHour(mock_server=True) as fake:
        yield fake


def wired(sdk: Flavor, fake: FakeMagicHour) -> Any:
    return sdk.client(
        token=fake.token, base_url=fake.base_url, httpx_client=sdk.httpx_client(transport=fake.transport())
    )


# ------------------------------------------------------------------------ conversions, as the official's


BODY = Obj(
    "Body",
    {
        "n": ("n", False, NUM),
        "i": ("i", False, INT),
        "b": ("b", False, BOOL),
        "s": ("s", False, STR),
        "xs": ("xs", False, Arr(STR)),
    },
)


@pytest.mark.parametrize(
    ("given", "wire"),
    [
        ({"n": "5"}, {"n": 5.0}),
        ({"n": " 1.5 "}, {"n": 1.5}),
        ({"n": "1e3"}, {"n": 1000.0}),
        ({"n": True}, {"n": 1.0}),
        ({"i": "512"}, {"i": 512}),
        ({"i": "512.0"}, {"i": 512}),
        ({"i": 512.0}, {"i": 512}),
        ({"i": False}, {"i": 0}),
        ({"b": "yes"}, {"b": True}),
        ({"b": "off"}, {"b": False}),
        ({"b": 1}, {"b": True}),
        ({"s": b"bytes"}, {"s": "bytes"}),
        ({"xs": ("a", "b")}, {"xs": ["a", "b"]}),
        ({"xs": (x for x in "ab")}, {"xs": ["a", "b"]}),
        ({"xs": frozenset("a")}, {"xs": ["a"]}),
    ],
)
def test_another_type_is_converted_as_the_official_serializer_does(given: Any, wire: Any) -> None:
    out = to_wire(BODY, given)
    assert out == wire
    assert [type(v) for v in out.values()] == [type(v) for v in wire.values()]


@pytest.mark.parametrize(
    ("given", "param"),
    [
        ({"n": "five"}, "n"),
        ({"n": "nan"}, "n"),  # JSON has no NaN
        ({"n": "inf"}, "n"),
        ({"n": [1]}, "n"),
        ({"i": 512.5}, "i"),
        ({"i": "5e2"}, "i"),
        ({"b": "maybe"}, "b"),
        ({"b": 2}, "b"),
        ({"s": 5}, "s"),
        ({"xs": "ab"}, "xs"),
        ({"xs": {"a": 1}}, "xs"),
    ],
)
def test_what_the_official_serializer_refuses_we_refuse(given: Any, param: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        to_wire(BODY, given)
    assert info.value.param == param


def odd(value: object) -> Any:
    """A member of a plain (not int or str) Enum whose value is ``value``."""
    return enum.Enum("Odd", {"A": value}).A


@pytest.mark.parametrize("value", ["x", 3.5, None, [1], {"a": 1}, True])
def test_an_enum_whose_value_is_another_type_is_refused(value: object) -> None:
    # pydantic's int hands such a member's value back unchecked: it would put "x", 3.5, null, a list,
    # a dict or true on the wire for an integer (the official SDK sends them, and the API refuses).
    for field in ("i", "n", "b"):
        with pytest.raises(InvalidParameterError) as info:
            to_wire(BODY, {field: odd(value)})
        assert info.value.param == field
    assert to_wire(BODY, {"i": odd(3)}) == {"i": 3}  # a plain Enum of an integer is one, as there


async def test_an_enum_of_another_type_never_reaches_the_wire(sdk: Flavor, fake: FakeMagicHour) -> None:
    client = wired(sdk, fake)
    with pytest.raises(InvalidParameterError) as info:
        await sdk.call(client.v1.ai_image_generator.create, image_count=odd("x"), style={"prompt": "a fox"})
    assert info.value.param == "image_count"
    with pytest.raises(InvalidParameterError) as info:
        await sdk.call(
            client.v1.text_to_video.create, end_seconds=5, style={"prompt": "a fox"}, audio=odd(None)
        )
    assert info.value.param == "audio"
    assert fake.requests == []
    await sdk.call(client.v1.ai_image_generator.create, image_count=odd(2), style={"prompt": "a fox"})
    assert fake.requests[0].json["image_count"] == 2


async def test_converted_arguments_reach_the_wire(sdk: Flavor, fake: FakeMagicHour) -> None:
    client = wired(sdk, fake)
    await sdk.call(client.v1.text_to_video.create, end_seconds="5.5", style={"prompt": "a cat"}, audio="yes")
    await sdk.call(client.v1.saved_items.list, limit="20")
    created, listed = fake.requests
    assert created.json == {"end_seconds": 5.5, "style": {"prompt": "a cat"}, "audio": True}
    assert listed.query == {"limit": "20"}


@pytest.fixture(scope="module")
def official_wire() -> Dict[str, Any]:
    if not PYTHON.exists():
        pytest.skip(f"no official SDK venv at {VENV} (run: bash .ci/official_sdk.sh)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    proc = subprocess.run(
        [str(PYTHON), "-I", str(SCRIPT), str(CASES_FILE)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    wire: Dict[str, Any] = json.loads(proc.stdout)
    return wire


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
async def test_the_same_wire_as_the_official_sdk(
    sdk: Flavor, fake: FakeMagicHour, official_wire: Dict[str, Any], case: Dict[str, Any]
) -> None:
    expected = official_wire[case["name"]]
    method = functools.reduce(getattr, case["call"].split("."), wired(sdk, fake))
    if expected == "refused":
        with pytest.raises(InvalidParameterError):
            await sdk.call(method, **case["kwargs"])
        assert fake.requests == []
        return
    await sdk.call(method, **case["kwargs"])
    (sent,) = fake.requests
    assert (sent.method, sent.path, sent.query, sent.json) == (
        expected["method"],
        expected["path"],
        expected["query"],
        expected["json"],
    )


# ------------------------------------------------------------------------ download_directory=""


async def test_an_empty_download_directory_is_the_current_one(
    sdk: Flavor, fake: FakeMagicHour, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    client = wired(sdk, fake)
    fake.seed_project("image", id="img", outputs=[("checked.png", b"1")])
    fake.seed_project("video", id="vid", outputs=[("fetched.mp4", b"2")])
    generated = await sdk.call(
        client.v1.face_swap_photo.generate,
        assets={"source_file_path": "api-assets/id/a.png", "target_file_path": "api-assets/id/b.png"},
        download_directory="",
    )
    checked = await sdk.call(client.v1.image_projects.check_result, "img", True, True, "")
    project = await sdk.call(client.v1.video_projects.get, id="vid")
    fetched = await sdk.call(client.v1.video_projects.download, project, directory="")
    # Bare names, as the official returns (named after the project: docs/jobs.md, Names).
    assert generated.downloaded_paths == [f"{generated.id}.png"]
    assert checked.downloaded_paths == ["img.png"]
    assert fetched == ["vid.mp4"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([f"{generated.id}.png", "img.png", "vid.mp4"])


async def test_a_dot_download_directory_gives_dotted_paths_as_the_official_does(
    sdk: Flavor, fake: FakeMagicHour, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The official joins the directory it was given (os.path.join(".", name)): "./output.png", which
    # code may split again (os.path.dirname gives ".", not ""). Only None and "" give bare names.
    monkeypatch.chdir(tmp_path)
    client = wired(sdk, fake)
    fake.seed_project("image", id="img", outputs=[("checked.png", b"1")])
    fake.seed_project("video", id="vid", outputs=[("fetched.mp4", b"2")])
    generated = await sdk.call(
        client.v1.face_swap_photo.generate,
        assets={"source_file_path": "api-assets/id/a.png", "target_file_path": "api-assets/id/b.png"},
        download_directory=".",
    )
    checked = await sdk.call(client.v1.image_projects.check_result, "img", True, True, "./out/")
    project = await sdk.call(client.v1.video_projects.get, id="vid")
    fetched = await sdk.call(client.v1.files.download, project, directory=Path("."))
    assert generated.downloaded_paths == [os.path.join(".", f"{generated.id}.png")]
    assert checked.downloaded_paths == [os.path.join("./out/", "img.png")]
    assert fetched == [os.path.join(".", "vid.mp4")]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([f"{generated.id}.png", "out", "vid.mp4"])
    assert (tmp_path / "out" / "img.png").read_bytes() == b"1"


async def test_a_download_directory_that_is_not_a_path_is_still_refused(
    sdk: Flavor, fake: FakeMagicHour
) -> None:
    client = wired(sdk, fake)
    fake.seed_project("image", id="img")
    for bad in (3, "a\x00b", b"bytes"):
        with pytest.raises(InvalidParameterError) as info:
            await sdk.call(client.v1.image_projects.check_result, "img", True, True, bad)
        assert info.value.param == "download_directory"
    assert fake.requests == []


# ------------------------------------------------------------------------ $MAGIC_HOUR_POLL_INTERVAL


@pytest.mark.parametrize("raw", ["0", "0.001", "1e-300"])
async def test_a_poll_interval_of_zero_polls_without_a_pause(
    sdk: Flavor, fake: FakeMagicHour, monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    # The official SDK sleeps 0 s between polls with it (a test suite against a mock sets it); -1 fails
    # there at the first sleep, and is refused here before any request.
    client = wired(sdk, fake)
    fake.seed_project("video", id="vid", status="rendering")
    done = threading.Event()

    def finish_after_three_polls() -> None:
        while len(fake.requests_to("video_projects.get")) < 3 and not done.is_set():
            done.wait(0.001)
        fake.set_project_status("vid", "complete")

    worker = threading.Thread(target=finish_after_three_polls)
    monkeypatch.setenv("MAGIC_HOUR_POLL_INTERVAL", raw)  # under poll_interval='s 0.01 s: as there
    worker.start()
    try:
        result = await sdk.call(client.v1.video_projects.check_result, "vid", True, False)
    finally:
        done.set()
        worker.join()
    assert result.status == "complete" and len(fake.requests_to("video_projects.get")) >= 4

    monkeypatch.setenv("MAGIC_HOUR_POLL_INTERVAL", "-1")
    before = len(fake.requests)
    with pytest.raises(InvalidParameterError, match="MAGIC_HOUR_POLL_INTERVAL"):
        await sdk.call(client.v1.video_projects.check_result, "vid", True, False)
    assert len(fake.requests) == before
