"""Pure request building: (config, what to call, per-request options) -> :class:`httpx.Request`.

Nothing here does I/O, so the sync and async clients share every line of it.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple, Union, cast

import httpx
from typing_extensions import TypedDict

from .._exceptions import InsecureTransportError, InvalidParameterError, MissingTokenError
from .._version import __version__
from .hosts import host_problem, is_loopback

TOKEN_ENV = "MAGIC_HOUR_API_TOKEN"
BASE_URL_ENV = "MAGIC_HOUR_BASE_URL"
DEFAULT_MAX_RETRIES = 2
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
USER_AGENT = f"magic-hour-python/{__version__}"

TimeoutTypes = Union[float, int, httpx.Timeout, None]
QueryValue = Union[str, int, float, bool, None, Sequence[Union[str, int, float, bool, None]]]


class NotGiven:
    """Marks an argument that was not passed (``None`` means "no timeout" for timeouts)."""

    _instance: Optional[NotGiven] = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN = NotGiven()


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


_OPTION_KEYS = ("timeout", "additional_headers", "additional_params", "max_retries", "total_timeout")


@dataclass(frozen=True)
class ClientConfig:
    """Everything a client resolved at construction (argument > environment > default)."""

    base_url: str
    token: Optional[str] = field(repr=False)
    timeout: httpx.Timeout
    max_retries: int
    headers: Mapping[str, str]
    allow_insecure_http: bool = False


@dataclass(frozen=True)
class ApiRequest:
    """What a resource method asks the core to send."""

    method: str
    path: str
    json: Any = None
    auth: bool = True
    json_bytes: Optional[bytes] = None
    """The JSON body already encoded; wins over ``json``."""
    params: Optional[Mapping[str, QueryValue]] = None
    """Query parameters of the operation (wire names); ``request_options`` ``additional_params`` win."""


@dataclass(frozen=True)
class ResolvedOptions:
    timeout: httpx.Timeout
    max_retries: int
    headers: Mapping[str, str]
    params: Mapping[str, QueryValue]
    total_timeout: Optional[float] = None


FOREVER = 1e9
"""Seconds (31 years) from which a timeout means "no timeout": the OS cannot represent much more (a
socket timeout of 1e10 s overflows ``time_t`` in the sync stack), and nobody means to wait that long."""


def to_timeout(value: TimeoutTypes, param: str = "timeout") -> httpx.Timeout:
    """Normalise a user timeout; refuse negatives and non-numbers with a typed error.

    ``None``, ``inf`` and anything from :data:`FOREVER` seconds up mean no timeout. The fields of an
    :class:`httpx.Timeout` are checked the same way (a 0 or negative one would fail deep in the socket
    layer, differently in sync and async code).
    """
    if isinstance(value, httpx.Timeout):
        fields = {k: _seconds(v, f"{param}.{k}") for k, v in value.as_dict().items()}
        return httpx.Timeout(**fields)
    return httpx.Timeout(_seconds(value, param))


def _seconds(value: object, param: str) -> Optional[float]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value <= 0:
        raise InvalidParameterError(param, value, "a positive number of seconds, an httpx.Timeout, or None")
    return None if value >= FOREVER else float(value)


def check_max_retries(value: object, param: str = "max_retries") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidParameterError(param, value, "an integer >= 0")
    return value


def resolve_config(
    *,
    token: Optional[str],
    base_url: Optional[str],
    environment: Any,
    timeout: Union[TimeoutTypes, NotGiven],
    fallback_timeout: Optional[httpx.Timeout],
    max_retries: int,
    default_headers: Optional[Mapping[str, str]],
    allow_insecure_http: bool,
    env: Mapping[str, str] = os.environ,
) -> ClientConfig:
    """Resolve client settings: explicit argument, then environment variable, then default."""
    token_param = "token"
    if token is None:
        token = env.get(TOKEN_ENV) or None
        token_param = TOKEN_ENV
    if token is not None:
        token = _check_token(token, token_param)
    base_url_param = "base_url"
    if base_url is None:
        base_url = env.get(BASE_URL_ENV) or None
        base_url_param = BASE_URL_ENV
    if base_url is None:
        value = getattr(environment, "value", environment)
        if not isinstance(value, str):
            raise InvalidParameterError("environment", environment, "an Environment member or a URL string")
        base_url = value
    try:
        url = httpx.URL(base_url) if isinstance(base_url, str) else None
    except (httpx.InvalidURL, ValueError):  # IDNAError (a broken xn-- label) is a ValueError
        url = None
    # raw_host: the ASCII form; .host decodes xn-- labels and raises for broken ones.
    problem = host_problem(url.raw_host.decode("ascii")) if url is not None and url.raw_host else None
    if problem is not None:
        raise InvalidParameterError(
            base_url_param,
            base_url,
            "an absolute http(s) URL with a valid host name, e.g. https://api.magichour.ai",
            reason=problem,
        )
    # Paths are appended to the base URL as text, so a query or fragment there would swallow them.
    if (
        url is None
        or url.scheme not in ("http", "https")
        or not url.host
        or "?" in base_url  # also an empty query or fragment: the path would land inside it
        or "#" in base_url
    ):
        raise InvalidParameterError(
            "base_url",
            base_url,
            "an absolute http(s) URL without query or fragment, e.g. https://api.magichour.ai",
        )
    if isinstance(timeout, NotGiven):
        resolved_timeout = fallback_timeout if fallback_timeout is not None else DEFAULT_TIMEOUT
    else:
        resolved_timeout = to_timeout(timeout)
    headers = merge_headers(
        {"User-Agent": USER_AGENT, "Accept": "application/json"},
        _check_headers(default_headers, "default_headers") if default_headers else {},
    )
    return ClientConfig(
        base_url=base_url.rstrip("/"),
        token=token,
        timeout=resolved_timeout,
        max_retries=check_max_retries(max_retries),
        headers=headers,
        allow_insecure_http=bool(allow_insecure_http),
    )


def _check_token(token: object, param: str) -> str:
    # The token goes into a header: a stray newline or non-ASCII character would otherwise fail deep in
    # the HTTP stack with an error that quotes the header, token included. The value is never shown.
    if not isinstance(token, str):
        raise InvalidParameterError(param, "<not shown>", "a string", reason=f"got {type(token).__name__}")
    token = token.strip()  # a trailing newline from a file or a .env is a copy-paste accident
    if not all("!" <= c <= "~" for c in token):
        bearer = token[:7].lower() == "bearer "
        raise InvalidParameterError(
            param,
            "<not shown>",
            "printable ASCII characters without spaces, as issued by Magic Hour",
            reason="pass the token without the 'Bearer ' prefix"
            if bearer
            else "it contains a space, a control or a non-ASCII character",
        )
    return token


_TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key"})


def _check_headers(headers: object, param: str) -> Mapping[str, str]:
    """Header names must be RFC 9110 tokens and values printable ASCII: a CR/LF or non-ASCII character
    would otherwise inject a header or fail later with an error that quotes the (maybe secret) value."""
    if not isinstance(headers, Mapping):
        raise InvalidParameterError(param, headers, "a mapping of header names to string values")
    checked: Dict[str, str] = {}
    items: Mapping[object, object] = headers  # pyright: ignore[reportUnknownVariableType]
    for k, v in items.items():
        if not isinstance(k, str) or not k or not _TOKEN_CHARS.issuperset(k):
            raise InvalidParameterError(
                f"{param} name", k, "a non-empty string of letters, digits and !#$%&'*+-.^_`|~"
            )
        shown = "<not shown>" if k.lower() in _SENSITIVE_HEADERS else v
        if not isinstance(v, str):
            raise InvalidParameterError(f"{param}[{k!r}]", shown, "a string")
        if not all(" " <= c <= "~" or c == "\t" for c in v):
            raise InvalidParameterError(
                f"{param}[{k!r}]",
                shown,
                "printable ASCII (no line breaks or control characters)",
            )
        checked[k] = v
    return checked


def merge_headers(*layers: Mapping[str, str]) -> Dict[str, str]:
    """Merge header mappings, later layers winning; names compare case-insensitively, so an override
    replaces a header instead of sending it twice."""
    merged: Dict[str, Tuple[str, str]] = {}
    for layer in layers:
        for name, value in layer.items():
            merged[name.lower()] = (name, value)
    return dict(merged.values())


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
    headers = _check_headers(options.get("additional_headers", {}), "request_options.additional_headers")
    params = _check_params(options.get("additional_params", {}), "request_options.additional_params")
    total = (
        _seconds(options["total_timeout"], "request_options.total_timeout")
        if "total_timeout" in options
        else None
    )
    return ResolvedOptions(timeout, max_retries, headers, params, total)


_PRIMITIVES = (str, int, float, bool, type(None))


def _as_sequence(value: object) -> Sequence[object]:
    return cast("Sequence[object]", value) if isinstance(value, (list, tuple)) else [value]


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, e.g. from os.fsdecode of undecodable bytes
        return False
    return True


def _check_params(params: object, param: str) -> Mapping[str, QueryValue]:
    """Query parameters: string names; str/int/float/bool/None values, or lists of them (repeated)."""
    if not isinstance(params, Mapping):
        raise InvalidParameterError(param, params, "a mapping of query parameter names to values")
    items: Mapping[object, object] = params  # pyright: ignore[reportUnknownVariableType]
    for k, v in items.items():
        if not isinstance(k, str) or not _encodable(k):
            raise InvalidParameterError(f"{param} name", k, "a string of Unicode text (no lone surrogates)")
        values = _as_sequence(v)
        if not all(isinstance(x, _PRIMITIVES) for x in values):
            raise InvalidParameterError(
                f"{param}[{k!r}]", v, "a str, int, float, bool or None, or a list of them"
            )
        if not all(_encodable(x) for x in values if isinstance(x, str)):
            raise InvalidParameterError(
                f"{param}[{k!r}]", v, "text that can be sent as UTF-8", reason="it contains a lone surrogate"
            )
    return items  # type: ignore[return-value]  # checked above


def _encode_json(body: Any) -> bytes:
    # A lone surrogate (os.fsdecode of undecodable bytes) cannot be UTF-8; a structure nested deeper
    # than the interpreter recurses cannot be serialised: both are bad input, not a crash.
    try:
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    except UnicodeEncodeError:
        raise InvalidParameterError(
            "request body",
            "<not shown>",
            "text that can be sent as UTF-8",
            reason="it contains a lone surrogate",
        ) from None
    except RecursionError:
        raise InvalidParameterError(
            "request body", "<not shown>", "JSON a server can parse", reason="it is nested too deeply"
        ) from None


@functools.lru_cache(maxsize=128)
def _url(base_url: str, path: str) -> httpx.URL:
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
        content = _encode_json(api_request.json)
    url = _url(config.base_url, api_request.path)
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
