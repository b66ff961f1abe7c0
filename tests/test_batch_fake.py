"""The fake's knobs for batches: a plan's limit of concurrent jobs (answered as a 429, nothing started), a
share of jobs that fail, and the count of projects per item. Through a real server and the transport."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from magic_hour import InvalidParameterError, RateLimitError
from magic_hour.testing import FakeMagicHour

BODY = {"image_count": 1, "aspect_ratio": "1:1", "style": {"prompt": "a lighthouse"}}


def _create(client: Any, name: str = "x") -> Any:
    return client.v1.ai_image_generator.create(**BODY, name=name, request_options={"max_retries": 0})


def test_the_limit_refuses_a_create_beyond_it_with_429_and_starts_nothing() -> None:
    fake = FakeMagicHour(render_seconds=60)
    fake.limit_concurrent_jobs(2, retry_after=1.5)
    with fake.serve() as server, httpx.Client(base_url=server.url) as raw:
        headers = {"Authorization": f"Bearer {fake.token}"}
        answers = [
            raw.post("/v1/ai-image-generator", json={**BODY, "name": str(i)}, headers=headers)
            for i in range(3)
        ]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json() == {
        "message": "Too many concurrent jobs: your plan allows 2 at a time. Wait for one to finish."
    }
    assert answers[2].headers["retry-after"] == "1.5"
    assert len(fake.projects) == 2 and fake.refused_creates == 1
    assert fake.requests[-1].fault == "concurrency"
    assert fake.create_counts() == {"0": 1, "1": 1}


def test_the_limit_counts_projects_still_rendering_only() -> None:
    fake = FakeMagicHour(render_seconds=0.2)
    fake.limit_concurrent_jobs(1)
    with fake.client() as client:
        _create(client, "a")
        with pytest.raises(RateLimitError):
            _create(client, "b")
        time.sleep(0.25)  # the first one ended: a place is free
        _create(client, "b")
        fake.limit_concurrent_jobs(None)
        _create(client, "c")
    assert fake.create_counts() == {"a": 1, "b": 1, "c": 1}
    fake.reset()
    assert fake.refused_creates == 0


def test_a_share_of_projects_fails_the_same_way_for_the_same_seed() -> None:
    outcomes = []
    for _ in range(2):
        fake = FakeMagicHour()
        fake.fail_share_of_projects(0.3, seed=7)
        with fake.client() as client:
            for i in range(40):
                _create(client, str(i))
            outcomes.append([client.v1.image_projects.get(id=p.id).status for p in fake.projects])
    assert outcomes[0] == outcomes[1]
    failed = outcomes[0].count("error")
    assert 5 <= failed <= 20 and outcomes[0].count("complete") == 40 - failed
    fake = FakeMagicHour()
    fake.fail_share_of_projects(1, outcome="canceled")
    fake.end_next_projects("complete")
    with fake.client() as client:
        first, second = _create(client), _create(client)
        assert client.v1.image_projects.get(id=first.id).status == "complete"  # the knob's queue first
        assert client.v1.image_projects.get(id=second.id).status == "canceled"


def test_create_counts_by_input_count_the_same_file_uploaded_twice_as_one(tmp_path: Any) -> None:
    (tmp_path / "a.png").write_bytes(b"\x89PNG-a")
    (tmp_path / "b.png").write_bytes(b"\x89PNG-b")
    fake = FakeMagicHour()
    with fake.client() as client:
        for name in ("a.png", "a.png", "b.png"):
            path = client.v1.files.upload_file(str(tmp_path / name))  # uploaded anew each time
            client.v1.image_background_remover.create(assets={"image_file_path": path})
    counts = fake.create_counts("input")
    assert sorted(counts.values()) == [1, 2]
    assert fake.create_counts() == {None: 3}  # no names


@pytest.mark.parametrize(
    ("call", "param"),
    [
        (lambda f: f.limit_concurrent_jobs(0), "limit"),
        (lambda f: f.limit_concurrent_jobs(True), "limit"),
        (lambda f: f.limit_concurrent_jobs(3, status=200), "status"),
        (lambda f: f.limit_concurrent_jobs(3, retry_after=-1), "retry_after"),
        (lambda f: f.fail_share_of_projects(1.5), "share"),
        (lambda f: f.fail_share_of_projects(0.5, outcome="complete"), "outcome"),
        (lambda f: f.create_counts("id"), "by"),
    ],
)
def test_bad_knob_arguments_are_refused(call: Any, param: str) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        call(FakeMagicHour())
    assert caught.value.param == param
