"""The job runner's pure parts: input collection and substitution, the wait flow's schedule, the download
flow's decisions, and file names."""

from __future__ import annotations

import pathlib
import time
from typing import Any, List, Optional

import httpx
import pytest

from magic_hour import NOT_GIVEN, DownloadError, ProjectFailedError, ProjectTimeoutError
from magic_hour._core.retry import Sleep
from magic_hour._jobs.download_flow import Discard, Open, Write, Written, download_flow
from magic_hour._jobs.events import ProjectStatus
from magic_hour._jobs.inputs import UploadCache, collect, plan_uploads, resolve, substitute
from magic_hour._jobs.names import safe_name, unique_names
from magic_hour._jobs.polling import KINDS, POLL, next_delay, wait_flow

# ------------------------------------------------------------------------------------------------ inputs


def test_collect_finds_local_inputs_along_the_paths_only(tmp_path: pathlib.Path) -> None:
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    a.write_bytes(b"a")
    b.write_bytes(b"b")
    body = {
        "assets": {
            "source_file_path": str(a),
            "target_file_path": "api-assets/x.png",
            "face_mappings": [{"new_face": b}, {"new_face": "https://x/y.png"}, {"new_face": None}, {}],
            "other": str(a),  # not a file field
        },
        "name": NOT_GIVEN,
    }
    files = {
        "assets.source_file_path": ("image",),
        "assets.target_file_path": ("image",),
        "assets.face_mappings[].new_face": ("image",),
    }
    found = collect(body, files)
    assert [f.location for f in found] == [
        ("assets", "source_file_path"),
        ("assets", "face_mappings", 0, "new_face"),
    ]

    plan = plan_uploads(found, UploadCache())
    assert plan.uploads == [str(a), b]
    new = substitute(body, resolve(plan, ["api-assets/1.png", "api-assets/2.png"], UploadCache()))
    assert new["assets"]["source_file_path"] == "api-assets/1.png"
    assert new["assets"]["face_mappings"][0]["new_face"] == "api-assets/2.png"
    assert new["assets"]["other"] == str(a)
    assert body["assets"]["source_file_path"] == str(a), "the caller's body is untouched"
    assert body["assets"]["face_mappings"][0]["new_face"] == b


def test_the_same_file_twice_is_uploaded_once_and_the_cache_skips_it(tmp_path: pathlib.Path) -> None:
    a = tmp_path / "a.png"
    a.write_bytes(b"a")
    time.sleep(0.05)  # written moments ago, it would be uploaded and not remembered (_jobs/inputs.py)
    body = {"x": str(a), "y": [str(tmp_path / "." / "a.png")]}
    files = {"x": ("image",), "y[]": ("image",)}
    cache = UploadCache()
    plan = plan_uploads(collect(body, files), cache)
    assert len(plan.uploads) == 1 and len(plan.slots[0]) == 2
    resolve(plan, ["api-assets/a.png"], cache)
    again = plan_uploads(collect(body, files), cache)
    assert again.uploads == [] and set(again.cached.values()) == {"api-assets/a.png"}


def test_file_objects_are_uploaded_every_time(tmp_path: pathlib.Path) -> None:
    import io

    f = io.BytesIO(b"x")
    f.name = "x.png"
    cache = UploadCache()
    plan = plan_uploads(collect({"x": f}, {"x": ("image",)}), cache)
    resolve(plan, ["api-assets/x.png"], cache)
    assert plan_uploads(collect({"x": f}, {"x": ("image",)}), cache).uploads == [f]


# ------------------------------------------------------------------------------------------------ waiting


class P:
    def __init__(self, status: str, id: str = "p1") -> None:
        self.status, self.id, self.error = status, id, None


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def run_wait(statuses: List[str], *, timeout: Optional[float] = None, **kwargs: Any) -> Any:
    clock, events = Clock(), []
    flow = wait_flow(
        KINDS["image"],
        timeout=timeout,
        poll_interval=kwargs.pop("poll_interval", None),
        raise_on_failure=kwargs.pop("raise_on_failure", True),
        emit=events.append,
        clock=clock,
    )
    sleeps: List[float] = []
    action = next(flow)
    it = iter(statuses)
    try:
        while True:
            if isinstance(action, Sleep):
                sleeps.append(action.seconds)
                clock.now += action.seconds
                action = flow.send(None)
            else:
                assert action is POLL
                action = flow.send(P(next(it)))
    except StopIteration as stop:
        return stop.value, sleeps, events


def test_polls_fast_then_backs_off_within_the_promise() -> None:
    project, sleeps, events = run_wait(["queued"] * 3 + ["rendering"] * 200 + ["complete"])
    assert project.status == "complete"
    assert sleeps[0] <= 0.5 and max(sleeps) <= 15
    waited = 0.0
    for s in sleeps:  # a completion right after a poll is noticed within max(0.5 s, 10% of the wait)
        assert s <= max(0.5, 0.1 * (waited + s))
        waited += s
    assert sum(sleeps) > 600, "200 polls should cover a long render"
    assert [e.status for e in events if e.changed] == ["queued", "rendering", "complete"]
    assert all(isinstance(e, ProjectStatus) for e in events)


def test_a_fixed_interval_and_the_schedule() -> None:
    assert next_delay(0, 2.0) == next_delay(1000, 2.0) == 2.0
    assert next_delay(0, None) == 0.25 and next_delay(100, None) == 8.0 and next_delay(10**6, None) == 15.0


def test_timeout_lands_on_the_deadline() -> None:
    with pytest.raises(ProjectTimeoutError) as info:
        run_wait(["rendering"] * 100, timeout=10)
    assert info.value.status == "rendering" and info.value.timeout == 10


@pytest.mark.parametrize("status", ["error", "canceled"])
def test_failed_projects_raise_or_return(status: str) -> None:
    with pytest.raises(ProjectFailedError):
        run_wait(["rendering", status])
    project, _, _ = run_wait(["rendering", status], raise_on_failure=False)
    assert project.status == status


# ------------------------------------------------------------------------------------------------ download flow


def response(status: int, headers: Any = None) -> httpx.Response:
    return httpx.Response(status, headers=headers or {})


def test_download_flow_resumes_and_checks_the_length() -> None:
    flow = download_flow("https://h/a.mp4?sig=x", "a.mp4", max_retries=2)
    assert next(flow) == Open(0)
    first = response(200, {"content-length": "100"})
    assert flow.send(first) == Write(first, 0, 100)
    assert isinstance(flow.send(Written(40, httpx.ReadError("dropped"))), Sleep)
    assert flow.send(None) == Open(40)
    second = response(206, {"content-range": "bytes 40-99/100", "content-length": "60"})
    assert flow.send(second) == Write(second, 40, 100)
    with pytest.raises(StopIteration) as done:
        flow.send(Written(60))
    assert done.value.value == 100


def test_download_flow_restarts_when_ranges_are_ignored_and_gives_up_after_retries() -> None:
    flow = download_flow("https://h/a.mp4?sig=x", "a.mp4", max_retries=2)
    next(flow)
    first = response(200, {"content-length": "100"})
    flow.send(first)
    flow.send(Written(40, httpx.ReadError("dropped")))
    assert flow.send(None) == Open(40)
    again = response(200, {"content-length": "100"})
    assert flow.send(again) == Write(again, 0, 100)  # ignored: restart from 0
    assert isinstance(flow.send(Written(0, httpx.ReadError("dropped"))), Sleep)
    assert flow.send(None) == Open(0)
    refused = response(404)
    assert flow.send(refused) == Discard(refused)
    with pytest.raises(DownloadError) as info:
        flow.send(None)
    assert info.value.status_code == 404 and "sig" not in str(info.value)


def test_a_short_body_is_not_accepted() -> None:
    flow = download_flow("https://h/a", "a", max_retries=0)
    next(flow)
    flow.send(response(200, {"content-length": "100"}))
    with pytest.raises(DownloadError, match="ended after 90 of 100"):
        flow.send(Written(90))


def run_download(answers: List[Any], max_retries: int = 2) -> Any:
    """Drive a download flow: each answer is a response (with the bytes its body brings as
    ``Written``) or a transport error; returns (the size, the offsets asked for, the sleeps)."""
    flow = download_flow("https://h/a.mp4", "a.mp4", max_retries=max_retries)
    offsets: List[int] = []
    sleeps = 0
    action = next(flow)
    it = iter(answers)
    try:
        while True:
            if isinstance(action, Sleep):
                sleeps += 1
                action = flow.send(None)
            elif isinstance(action, Open):
                offsets.append(action.offset)
                answer = next(it)
                action = flow.send(answer[0] if isinstance(answer, tuple) else answer)
                if isinstance(action, Write):
                    assert isinstance(answer, tuple)
                    action = flow.send(answer[1])
            else:
                assert isinstance(action, Discard)
                action = flow.send(None)
    except StopIteration as stop:
        return stop.value, offsets, sleeps


def part(first: int, last: int, total: str, length: Optional[int] = None) -> httpx.Response:
    size = last - first + 1 if length is None else length
    return response(206, {"content-range": f"bytes {first}-{last}/{total}", "content-length": str(size)})


def test_a_206_to_a_plain_get_is_the_start_of_the_file_not_the_file() -> None:
    # bytes 0-99/1024 answering a GET without Range was saved as the whole file (100 bytes).
    size, offsets, sleeps = run_download(
        [(part(0, 99, "1024"), Written(100)), (part(100, 1023, "1024"), Written(924))]
    )
    assert (size, offsets, sleeps) == (1024, [0, 100], 0)
    # A length the server does not know ("*"): parts until a 416 says where the file ends.
    unsatisfied = response(416, {"content-range": "bytes */300"})
    answers = [(part(0, 99, "*"), Written(100)), (part(100, 299, "*"), Written(200)), unsatisfied]
    assert run_download(answers) == (300, [0, 100, 300], 0)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"content-range": "bytes 0-2000/1024"},
        {"content-range": "bytes 50-10/1024"},
        {"content-range": "x"},
    ],
)
def test_a_206_without_a_usable_content_range_is_refused(headers: Any) -> None:
    with pytest.raises(DownloadError, match="HTTP 206 without a usable Content-Range") as info:
        run_download([response(206, headers)])
    assert info.value.status_code == 206


def test_a_part_longer_than_announced_or_from_another_version_restarts() -> None:
    # A body longer than its range: its bytes cannot be placed; the file restarts from byte 0.
    answers = [(part(0, 99, "200"), Written(150)), (response(200, {"content-length": "200"}), Written(200))]
    assert run_download(answers)[:2] == (200, [0, 0])
    # The file's length changed between two parts: the first part belongs to another version.
    answers = [
        (part(0, 99, "1000"), Written(100)),
        part(100, 1199, "1200"),
        (response(200, {"content-length": "1200"}), Written(1200)),
    ]
    assert run_download(answers)[:2] == (1200, [0, 100, 0])


def test_a_server_that_answers_the_same_part_to_every_range_gives_up() -> None:
    # 206 bytes 0-99/1024 to every request, Range or not: no progress after the first part.
    with pytest.raises(DownloadError, match=r"in parts, without an end|another range"):
        run_download(
            [(part(0, 99, "1024"), Written(100))]
            + [part(0, 99, "1024"), (part(0, 99, "1024"), Written(100))] * 5
        )


def test_a_416_is_the_end_only_where_the_length_is_known() -> None:
    answers = [(part(0, 99, "*"), Written(100)), response(416)]
    with pytest.raises(DownloadError, match="HTTP 416"):
        run_download(answers)


# ------------------------------------------------------------------------------------------------ names


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://h/a/b/out.png?sig=1", "out.png"),
        ("https://h/a/..%2F..%2Fetc%2Fpasswd", "passwd"),
        ("https://h/a/..", "output-3"),
        ("https://h/", "output-3"),
        ("https://h/a/%2Fabs%2Fpath.png", "path.png"),
        ("https://h/a/C:%5Cwin%5Cx.png", "x.png"),
        ("https://h/a/.hidden", "hidden"),
        ("https://h/a/nul%00.png", "nul_.png"),
        ("https://h/a/CON.png", "output-3-CON.png"),
        ("https://h/a/a%3Cb%3E.png", "a_b_.png"),
        # C1 controls, bidirectional overrides and isolates, zero-width and line separators
        ("https://h/a/a%C2%9B2Jb%C2%85c.png", "a_2Jb_c.png"),
        ("https://h/a/invoice%E2%80%AEgnp.exe", "invoice_gnp.exe"),
        ("https://h/a/x%E2%81%A6y%E2%80%8Bz%EF%BB%BF%E2%80%A8.png", "x_y_z__.png"),
        ("https://h/a/%E2%80%AE", "output-3"),
        ("https://h/a/COM%C2%B9.png", "output-3-COM\u00b9.png"),
        ("https://h/a/conin$", "output-3-conin$"),
    ],
)
def test_safe_name(url: str, name: str) -> None:
    assert safe_name(url, 3) == name


def test_long_names_keep_their_extension_and_collisions_are_numbered() -> None:
    long = safe_name("https://h/" + "é" * 300 + ".mp4", 0)
    assert long.endswith(".mp4") and len(long.encode()) <= 200
    assert unique_names(["https://h/a/x.png", "https://h/b/X.PNG", "https://h/c/x.png"]) == [
        "x.png",
        "X-1.PNG",
        "x-2.png",
    ]


def test_job_errors_pickle_and_keep_their_fields() -> None:
    import pickle

    from _jobs_helpers import ImageProject, ProjectError

    from magic_hour import DownloadWriteError

    project = ImageProject(id="p1", status="error", error=ProjectError(code="c", message="m"))

    for exc in (
        ProjectFailedError(project),
        ProjectTimeoutError(project, 5.0),
        DownloadError("failed", url="https://h/a.png", path="a.png", status_code=404),
        DownloadWriteError("disk full", url="https://h/a.png", path="a.png", errno=28),
    ):
        copy = pickle.loads(pickle.dumps(exc))
        assert type(copy) is type(exc) and str(copy) == str(exc)
        for attr in (
            "id",
            "status",
            "code",
            "error_message",
            "timeout",
            "url",
            "path",
            "status_code",
            "errno",
        ):
            if attr in vars(exc) or (attr == "errno" and isinstance(exc, OSError)):
                assert getattr(copy, attr) == getattr(exc, attr), attr
