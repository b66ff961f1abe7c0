"""Client settings and the checks of what the caller gives: :func:`resolve_config` (argument >
environment > default), the token, the base URL, headers, query parameters and timeouts. A bad name or
value is an :class:`InvalidParameterError` naming it, raised before anything is sent: never an injected
header, nor an error from deep inside httpx that quotes a secret.

Pure; :mod:`.request` builds each call's request from what is resolved here.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Dict, Mapping, NamedTuple, Optional, Sequence, Tuple, Union, cast

import httpx

from .._exceptions import InvalidParameterError
from .._redact import safe_url
from .._version import __version__
from ..environment import Environment
from .codings import ACCEPT_ENCODING
from .hosts import host_problem

TOKEN_ENV = "MAGIC_HOUR_API_TOKEN"
BASE_URL_ENV = "MAGIC_HOUR_BASE_URL"
DEFAULT_MAX_RETRIES = 2
DEFAULT_MAX_TRANSFERS = 8
"""File transfers in flight per client by default (``_core/transfers.py``): enough to keep a link busy
from a few ms to a few hundred ms away (each streams 1 MiB chunks), few enough that memory stays flat
(a transfer holds a few MiB at most) whatever the number of calls."""
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
USER_AGENT = f"magic-hour-python/{__version__}"

TimeoutTypes = Union[float, int, httpx.Timeout, None]


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


# A NamedTuple, not a frozen dataclass: as immutable and comparable, and made at import in a tenth of the
# time (a first request pays for every class its imports define).
class ClientConfig(NamedTuple):
    """Everything a client resolved at construction (argument > environment > default)."""

    base_url: str
    token: Optional[str]
    timeout: httpx.Timeout
    max_retries: int
    headers: Mapping[str, str]
    allow_insecure_http: bool = False
    max_concurrent_transfers: Optional[int] = DEFAULT_MAX_TRANSFERS
    """File transfers (upload PUTs and downloads) in flight at once across all calls of the client;
    ``None``: no client-wide bound (see ``_core/transfers.py``)."""

    def __repr__(self) -> str:  # never the token
        shown = ", ".join(f"{k}={v!r}" for k, v in zip(self._fields, self) if k != "token")
        return f"ClientConfig({shown})"


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
        fields = {k: check_seconds(v, f"{param}.{k}") for k, v in value.as_dict().items()}
        return httpx.Timeout(**fields)
    return httpx.Timeout(check_seconds(value, param))


def check_seconds(value: object, param: str) -> Optional[float]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value <= 0:
        raise InvalidParameterError(param, value, "a positive number of seconds, an httpx.Timeout, or None")
    return None if value >= FOREVER else float(value)


def check_max_retries(value: object, param: str = "max_retries") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidParameterError(param, value, "an integer >= 0")
    return value


def check_max_transfers(value: object, param: str = "max_concurrent_transfers") -> Optional[int]:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise InvalidParameterError(param, value, "an integer >= 1, or None for no client-wide bound")
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
    max_concurrent_transfers: Optional[int] = DEFAULT_MAX_TRANSFERS,
) -> ClientConfig:
    """Resolve client settings: explicit argument, then environment variable, then default."""
    token_param = "token"
    if token is None:
        token = env.get(TOKEN_ENV) or None
        token_param = TOKEN_ENV
    if token is not None:
        token = _check_token(token, token_param)
    base_url_param = "base_url"
    # Any environment but the default was chosen in code, so it outranks $MAGIC_HOUR_BASE_URL (the official
    # package never reads that variable: Environment.MOCK_SERVER must reach the mock server there and here).
    chosen = getattr(environment, "value", environment) != Environment.ENVIRONMENT.value
    if base_url is None and not chosen:
        base_url = env.get(BASE_URL_ENV) or None
        base_url_param = BASE_URL_ENV
    if base_url is None:
        value = getattr(environment, "value", environment)
        if not isinstance(value, str):
            raise InvalidParameterError("environment", environment, "an Environment member or a URL string")
        base_url, base_url_param = value, "environment"
    check_base_url(base_url, base_url_param)
    if isinstance(timeout, NotGiven):
        resolved_timeout = fallback_timeout if fallback_timeout is not None else DEFAULT_TIMEOUT
    else:
        resolved_timeout = to_timeout(timeout)
    headers = merge_headers(
        {"User-Agent": USER_AGENT, "Accept": "application/json", "Accept-Encoding": ACCEPT_ENCODING},
        check_headers(default_headers, "default_headers") if default_headers else {},
    )
    return ClientConfig(
        base_url=base_url.rstrip("/"),
        token=token,
        timeout=resolved_timeout,
        max_retries=check_max_retries(max_retries),
        headers=headers,
        allow_insecure_http=bool(allow_insecure_http),
        max_concurrent_transfers=check_max_transfers(max_concurrent_transfers),
    )


def check_base_url(base_url: object, param: str = "base_url") -> str:
    """An absolute http(s) URL with a valid host, no query or fragment, and no credentials.

    ``user:password@`` is refused: httpx would send it as ``Authorization: Basic`` in place of the API's
    bearer token (every call would fail with 401). Messages never show it.
    """
    try:
        url = httpx.URL(base_url) if isinstance(base_url, str) else None
    except (httpx.InvalidURL, ValueError):  # IDNAError (a broken xn-- label) is a ValueError
        url = None
    # The message is about the credentials or the query it shows (where they are, not what they are).
    shown = safe_url(base_url, mark_credentials=True) if isinstance(base_url, str) else base_url
    if url is not None and url.userinfo:
        raise InvalidParameterError(
            param,
            shown,
            "an absolute http(s) URL without credentials, e.g. https://api.magichour.ai",
            reason="it carries a user name or password, which would be sent as Basic auth in place of the "
            "API token; for a proxy that needs credentials, lend an httpx client with proxy=...",
        )
    # raw_host: the ASCII form; .host decodes xn-- labels and raises for broken ones.
    problem = host_problem(url.raw_host.decode("ascii")) if url is not None and url.raw_host else None
    if problem is not None:
        raise InvalidParameterError(
            param,
            shown,
            "an absolute http(s) URL with a valid host name, e.g. https://api.magichour.ai",
            reason=problem,
        )
    # Paths are appended to the base URL as text, so a query or fragment there would swallow them.
    if (
        url is None
        or not isinstance(base_url, str)
        or url.scheme not in ("http", "https")
        or not url.host
        or "?" in base_url  # also an empty query or fragment: the path would land inside it
        or "#" in base_url
    ):
        raise InvalidParameterError(
            param,
            shown,
            "an absolute http(s) URL without query or fragment, e.g. https://api.magichour.ai",
        )
    return base_url


def _check_token(token: object, param: str) -> str:
    # Refused here only what an HTTP header can never carry: a line break would inject a header, and
    # a control or non-ASCII character fails deep in the HTTP stack with an error that quotes the
    # header, token included. Anything else is sent as given (a wrong token, "my api key", a
    # "Bearer ..." prefix: the API answers 401, as it does to the official SDK). Never shown.
    if not isinstance(token, str):
        raise InvalidParameterError(param, "<not shown>", "a string", reason=f"got {type(token).__name__}")
    token = token.strip()  # a trailing newline from a file or a .env is a copy-paste accident
    if not all(" " <= c <= "~" or c == "\t" for c in token):
        raise InvalidParameterError(
            param,
            "<not shown>",
            "ASCII characters an HTTP header can carry",
            reason="it contains a line break, a control or a non-ASCII character",
        )
    return token


QueryValue = Union[str, int, float, bool, None, Sequence[Union[str, int, float, bool, None]]]

_TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key"})


def check_headers(headers: object, param: str) -> Mapping[str, str]:
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


_PRIMITIVES = (str, int, float, bool, type(None))


def _as_sequence(value: object) -> Sequence[object]:
    return cast("Sequence[object]", value) if isinstance(value, (list, tuple)) else [value]


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, e.g. from os.fsdecode of undecodable bytes
        return False
    return True


def _printable(number: int) -> bool:
    try:
        int.__repr__(number)
    except ValueError:  # more digits than sys.get_int_max_str_digits() allows
        return False
    return True


def check_params(params: object, param: str) -> Mapping[str, QueryValue]:
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
        if not all(_printable(x) for x in values if isinstance(x, int)):
            raise InvalidParameterError(
                f"{param}[{k!r}]",
                v,
                f"integers of at most {sys.get_int_max_str_digits()} digits",
                reason="too long to write",
            )
    return items  # type: ignore[return-value]  # checked above
