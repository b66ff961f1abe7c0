"""The upload flow is pure: drive it by hand and check every decision it makes."""

from __future__ import annotations

import datetime
import io
from typing import Any, List

import httpx
import pytest

from magic_hour import ApiConnectionError, ApiTimeoutError, StorageError
from magic_hour._core.retry import Sleep
from magic_hour._upload.flow import UploadTarget, presign_batches, storage_error_detail, upload_flow
from magic_hour._upload.inputs import Source

NOW = 1_700_000_000.0
URL = "https://storage.test/api-assets/id/a.mp4?X-Expires=1&X-Signature=s3cr3t"


def _target(path: str = "api-assets/id/a.mp4", expires_in: float = 3600.0, url: str = URL) -> UploadTarget:
    expires = datetime.datetime.fromtimestamp(NOW + expires_in, tz=datetime.timezone.utc)
    return UploadTarget(path, url, expires)


def _source(rewindable: bool = True) -> Source:
    if rewindable:
        return Source(index=0, name="a.mp4", size=3, type_="video", extension="mp4", path="a.mp4")
    return Source(
        index=0, name="pipe.mp4", size=3, type_="video", extension="mp4", fileobj=io.BytesIO(b"abc")
    )


def _run(flow: Any, outcomes: List[Any]) -> tuple[List[Any], Any]:
    """Feed ``outcomes`` to the flow's Put/Presign actions in order; return the actions and the result."""
    actions: List[Any] = []
    action = next(flow)
    try:
        while True:
            actions.append(action)
            action = flow.send(None) if isinstance(action, Sleep) else flow.send(outcomes.pop(0))
    except StopIteration as stop:
        return actions, stop.value


def _kinds(actions: List[Any]) -> List[str]:
    return [type(a).__name__ for a in actions]


def _flow(source: Source | None = None, target: UploadTarget | None = None, max_retries: int = 2) -> Any:
    return upload_flow(source or _source(), target or _target(), max_retries=max_retries, now=lambda: NOW)


def test_success_puts_once_to_the_url_as_given() -> None:
    actions, result = _run(_flow(), [httpx.Response(200)])
    assert _kinds(actions) == ["Put"]
    assert actions[0].target.upload_url == URL
    assert result == "api-assets/id/a.mp4"


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_retryable_storage_statuses_are_retried_then_succeed(status: int) -> None:
    actions, result = _run(_flow(), [httpx.Response(status), httpx.Response(200)])
    assert _kinds(actions) == ["Put", "Sleep", "Put"]
    assert result == "api-assets/id/a.mp4"


def test_retry_after_from_storage_is_honoured() -> None:
    actions, _ = _run(_flow(), [httpx.Response(503, headers={"Retry-After": "3"}), httpx.Response(200)])
    assert actions[1] == Sleep(3.0)


def test_retries_stop_at_max_retries_with_a_storage_error() -> None:
    flow = _flow(max_retries=2)
    with pytest.raises(StorageError) as info:
        _run(flow, [httpx.Response(500)] * 3)
    assert info.value.status_code == 500
    assert "s3cr3t" not in str(info.value)
    assert "https://storage.test/api-assets/id/a.mp4" in str(info.value)


@pytest.mark.parametrize("status", [400, 401, 404, 411, 413])
def test_other_statuses_fail_at_once(status: int) -> None:
    with pytest.raises(StorageError) as info:
        _run(_flow(), [httpx.Response(status, text="<Error><Code>Nope</Code><Message>bad</Message></Error>")])
    assert info.value.status_code == status
    assert "Nope: bad" in str(info.value)


def test_connection_errors_are_retried_and_then_typed() -> None:
    actions, result = _run(_flow(), [httpx.ReadError("reset"), httpx.Response(200)])
    assert _kinds(actions) == ["Put", "Sleep", "Put"]
    assert result == "api-assets/id/a.mp4"
    with pytest.raises(ApiTimeoutError):
        _run(_flow(max_retries=1), [httpx.WriteTimeout("slow"), httpx.WriteTimeout("slow")])


def test_expired_before_the_put_starts_is_represigned_first() -> None:
    fresh = _target("api-assets/id/new.mp4")
    actions, result = _run(_flow(target=_target(expires_in=-5)), [fresh, httpx.Response(200)])
    assert _kinds(actions) == ["Presign", "Put"]
    assert actions[1].target == fresh
    assert result == "api-assets/id/new.mp4"


def test_expired_answer_from_storage_is_represigned_once() -> None:
    expired = httpx.Response(
        403, text="<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"
    )
    fresh = _target("api-assets/id/new.mp4")
    actions, result = _run(_flow(), [expired, fresh, httpx.Response(200)])
    assert _kinds(actions) == ["Put", "Presign", "Put"]
    assert result == "api-assets/id/new.mp4"
    # and only once: an URL that keeps expiring is an error, not a loop
    with pytest.raises(StorageError) as info:
        _run(_flow(), [expired, fresh, expired])
    assert info.value.status_code == 403
    assert "expired" in str(info.value)


def test_403_that_is_not_expiry_is_not_represigned() -> None:
    with pytest.raises(StorageError) as info:
        _run(_flow(), [httpx.Response(403, text="<Error><Code>SignatureDoesNotMatch</Code></Error>")])
    assert "SignatureDoesNotMatch" in str(info.value)


def test_a_stream_that_cannot_rewind_is_sent_once_and_says_why() -> None:
    source = _source(rewindable=False)
    with pytest.raises(StorageError) as info:
        _run(_flow(source=source), [httpx.Response(503)])
    assert "not retried" in str(info.value)
    with pytest.raises(ApiConnectionError) as conn:
        _run(_flow(source=source), [httpx.ReadError("reset")])
    assert "not retried" in str(conn.value)
    assert "not seekable" in str(conn.value)


def test_storage_error_detail_never_shows_a_query() -> None:
    response = httpx.Response(400, text=f"bad request for {URL} please retry")
    assert "s3cr3t" not in storage_error_detail(response)
    response = httpx.Response(500, json={"message": "disk full"})
    assert storage_error_detail(response) == "disk full"
    assert storage_error_detail(httpx.Response(502, text="<html>Bad gateway</html>")) == "Bad Gateway"


def test_batches_keep_order() -> None:
    sources = [Source(i, f"{i}.png", 1, "image", "png", path=f"{i}.png") for i in range(250)]
    split = presign_batches(sources, 100)
    assert [len(b) for b in split] == [100, 100, 50]
    assert [s.index for b in split for s in b] == list(range(250))
