"""Pure request building: (config, what to call, per-request options) -> :class:`httpx.Request`.

Nothing here does I/O, so the sync and async clients share every line of it. Client settings and the
checks of user values are :mod:`.config`'s.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Dict, Mapping, NamedTuple, Optional
from urllib.parse import quote

import httpx
from typing_extensions import TypedDict

from .._exceptions import InsecureTransportError, InvalidParameterError, MissingTokenError
from .config import (
    ClientConfig,
    QueryValue,
    TimeoutTypes,
    check_headers,
    check_max_retries,
    check_params,
    check_seconds,
    merge_headers,
    to_timeout,
)
from .hosts import is_loopback
from .jsonbody import dumps

__all__ = [
    "ApiRequest",
    "RequestOptions",
    "ResolvedOptions",
    "build_request",
    "path_segment",
    "resolve_options",
]


class RequestOptions(TypedDict, total=False):
    """Per-request overrides, accepted by every method as ``request_options=``."""

    timeout: TimeoutTypes
    """Seconds (or an :class:`httpx.Timeout`) for this request; ``None`` waits forever."""
    additional_headers: Mapping[str, str]
    """Extra headers sent with this request (they override the client's defaults)."""
    additional_params: Mapping[str, QueryValue]
    """Extra query parameters sent with this request."""
    max_retries: int
    """How many times to retry this request (0 disables retries)."""
    total_timeout: Optional[float]
    """Seconds for the whole call: every attempt and the waits between them (``None``: no limit)."""
    retry_may_duplicate: bool
    """For a call that starts a project: retry it after any retryable failure, as other calls are, even
    when the project may have started (a 5xx, a timeout, a dropped connection), so a retry may start and
    bill a second one. Default ``False``: retried only when the answer proves nothing started."""


_OPTION_KEYS = (
    "timeout",
    "additional_headers",
    "additional_params",
    "max_retries",
    "total_timeout",
    "retry_may_duplicate",
)


# A NamedTuple, not a frozen dataclass: as immutable and comparable, and made at import in a tenth of the
# time (a first request pays for every class its imports define).
class ApiRequest(NamedTuple):
    """What a resource method asks the core to send."""

    method: str
    path: str
    json: Any = None
    auth: bool = True
    json_bytes: Optional[bytes] = None
    """The JSON body already encoded; wins over ``json``."""
    params: Optional[Mapping[str, QueryValue]] = None
    """Query parameters of the operation (wire names); ``request_options`` ``additional_params`` win."""
    creates: Optional[str] = None
    """The kind of project this call starts (and bills): then retried only when nothing started."""


class ResolvedOptions(NamedTuple):
    """A call's settings: the client's, with its ``request_options`` over them."""

    timeout: httpx.Timeout
    max_retries: int
    headers: Mapping[str, str]
    params: Mapping[str, QueryValue]
    total_timeout: Optional[float] = None
    retry_may_duplicate: bool = False


def resolve_options(config: ClientConfig, options: Optional[RequestOptions]) -> ResolvedOptions:
    """Merge per-request options over the client's settings, refusing unknown keys."""
    if options is None:
        return ResolvedOptions(config.timeout, config.max_retries, {}, {})
    if not isinstance(options, Mapping):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise InvalidParameterError("request_options", options, "a dict with keys " + ", ".join(_OPTION_KEYS))
    if not options:
        return ResolvedOptions(config.timeout, config.max_retries, {}, {})
    for key in options:
        if key not in _OPTION_KEYS:
            raise InvalidParameterError("request_options", key, "keys " + ", ".join(_OPTION_KEYS))
    timeout = (
        to_timeout(options["timeout"], "request_options.timeout") if "timeout" in options else config.timeout
    )
    max_retries = (
        check_max_retries(options["max_retries"], "request_options.max_retries")
        if "max_retries" in options
        else config.max_retries
    )
    headers = check_headers(options.get("additional_headers", {}), "request_options.additional_headers")
    params = check_params(options.get("additional_params", {}), "request_options.additional_params")
    total = (
        check_seconds(options["total_timeout"], "request_options.total_timeout")
        if "total_timeout" in options
        else None
    )
    duplicate = options.get("retry_may_duplicate", False)
    if not isinstance(duplicate, bool):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise InvalidParameterError("request_options.retry_may_duplicate", duplicate, "True or False")
    return ResolvedOptions(timeout, max_retries, headers, params, total, duplicate)


_DOT_SEGMENT = r"(?:^|[/\\])\.{1,2}(?:[/\\]|$)"
"""A ``.`` or ``..`` between slashes (or backslashes, which some servers take for slashes); compiled by
``re`` on first use (an id with a slash), not at import."""


def path_segment(name: str, value: object) -> str:
    """``value`` (an id) as one segment of a request path, or :class:`InvalidParameterError` naming it.

    Quoted whole, so ``/``, ``?``, ``#`` and ``%`` stay inside the segment. ``.`` and ``..`` cannot be
    quoted into anything else (``%2E`` is the same segment to a server), and would make the request
    reach the collection or ``/v1`` itself: ``delete(id=".")`` would be ``DELETE /v1/video-projects``.
    """
    if not isinstance(value, str) or not value.strip():
        raise InvalidParameterError(name, value, "a non-empty string (the id the API returned)")
    if value in (".", ".."):
        raise InvalidParameterError(
            name,
            value,
            "the id the API returned",
            reason="'.' and '..' are not ids: they would address another path",
        )
    if ("/" in value or "\\" in value) and re.search(_DOT_SEGMENT, value):
        # Quoted, the slashes stay in the segment for the API; but a proxy that decodes %2F before
        # resolving dot segments (nginx's normalised URI, passed on by proxy_pass with a URI) would send
        # "../image-projects/p1" given to video_projects.delete to DELETE /v1/image-projects/p1.
        raise InvalidParameterError(
            name,
            value,
            "the id the API returned",
            reason="'.' or '..' between slashes would address another path behind a proxy that decodes %2F",
        )
    try:
        return quote(value, safe="")
    except UnicodeEncodeError:  # a lone surrogate, e.g. from os.fsdecode of undecodable bytes
        raise InvalidParameterError(
            name, value, "text that can be sent as UTF-8", reason="it contains a lone surrogate"
        ) from None


@functools.lru_cache(maxsize=128)
def _endpoint_url(base_url: str, path: str) -> httpx.URL:
    # httpx.URL is immutable: parse each endpoint once, not on every call.
    return httpx.URL(base_url + path)


def build_request(
    config: ClientConfig,
    api_request: ApiRequest,
    options: ResolvedOptions,
    client_headers: Mapping[str, str] = {},  # never mutated
) -> httpx.Request:
    """Build the exact request that goes on the wire (body serialised once, re-sent as is).

    ``client_headers`` are the httpx client's own default headers: a lent ``httpx_client`` keeps
    the headers it was configured with (as ``httpx_client.request`` would send them); ours win.
    """
    headers: Dict[str, str] = {}
    content: Optional[bytes] = None
    if api_request.json_bytes is not None:
        headers["Content-Type"] = "application/json"
        content = api_request.json_bytes
    elif api_request.json is not None:
        headers["Content-Type"] = "application/json"
        content = dumps(api_request.json)
    url = _endpoint_url(config.base_url, api_request.path)
    if api_request.params:
        url = url.copy_merge_params(api_request.params)  # pyright: ignore[reportArgumentType]
    if options.params:
        url = url.copy_merge_params(options.params)  # pyright: ignore[reportArgumentType]
    if api_request.auth:
        if not config.token:
            raise MissingTokenError()
        if url.scheme == "http" and not config.allow_insecure_http and not is_loopback(url.host):
            raise InsecureTransportError(
                f"refusing to send the API token in clear text to http://{url.host}; use https, "
                "or pass allow_insecure_http=True if you really mean it"
            )
        headers["Authorization"] = f"Bearer {config.token}"
    return httpx.Request(
        api_request.method,
        url,
        headers=merge_headers(client_headers, config.headers, headers, options.headers),
        content=content,
        extensions={"timeout": options.timeout.as_dict()},
    )
