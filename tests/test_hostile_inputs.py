"""Regression tests of the third hostile review (issue 21), inputs part: ids that would leave their path
segment, values JSON cannot carry, odd file objects, unusable upload URLs and the upload cache. Each
test goes through the public API and asserts what reached the wire (or that nothing did)."""

from __future__ import annotations

from typing import Any, Callable, Dict

import _modes
import pytest
from conftest import Flavor

from magic_hour import InvalidParameterError, NotFoundError
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
    "video_projects.wait": lambda c, i: c.v1.video_projects.wait(id=i, timeout=5),
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


@pytest.mark.parametrize("command", ["delete", "get", "wait", "download"])
@pytest.mark.parametrize("value", [".", ".."])
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
