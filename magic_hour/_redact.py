"""Keeping secrets (the token, signed URL queries, URL credentials) out of messages, reprs and pickles,
and the characters a terminal acts on out of what is shown.

Pure helpers, shared by the core, the upload engine and the error classes. ``httpx`` is imported lazily:
``_exceptions`` imports this module and must stay cheap to import.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING, Any, Iterable, List, Optional, Sequence

if TYPE_CHECKING:
    import httpx

REDACTED = "<redacted>"

MESSAGE_LIMIT = 300
"""Characters of server-provided text (an error body, a storage message) quoted in a message."""

SENSITIVE_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "location"}
)
"""Headers dropped from the requests and responses that errors carry across a pickle."""

_MIN_PREFIX = 4  # a cut that leaves fewer characters of a secret than this reveals nothing useful


_INVISIBLE = frozenset(("Cc", "Cf", "Cs", "Zl", "Zp"))
"""Unicode categories that a terminal or a file manager acts on or hides rather than shows: C0 and C1
controls (ESC starts every escape sequence; U+009B is a one-character ESC [), format characters (the
bidirectional overrides and isolates that make ``invoice\\u202egnp.exe`` show as ``invoiceexe.png``,
zero-width characters, U+FEFF), lone surrogates, and the line and paragraph separators."""


def invisible(char: str) -> bool:
    """Whether ``char`` is acted on or hidden rather than shown (:data:`_INVISIBLE`): text from a server
    shows such a character escaped, and a file name never holds one."""
    return unicodedata.category(char) in _INVISIBLE


def _pieces(secrets: Iterable[Optional[str]]) -> List[str]:
    """The secrets of 8 characters or more, and each word of 8 or more of one that has spaces (a token
    sent as ``"Bearer sk-..."`` or ``"my key sk-..."``: a server may echo only a part), and its words
    joined by single spaces (a text answer's message is read so: ``"a  b\tc"`` shows as ``"a b c"``),
    longest first."""
    found = {p for s in secrets if s for p in (s, " ".join(s.split()), *s.split()) if len(p) >= 8}
    return sorted(found, key=len, reverse=True)


def redact(text: str, secrets: Iterable[Optional[str]], limit: int = MESSAGE_LIMIT) -> str:
    """``text`` with every secret replaced by ``<redacted>``, then cut to ``limit`` characters.

    Redacting first matters: a cut made first may split a secret so that ``replace`` no longer finds
    it. After the cut, a tail that is the beginning of a secret (``... token sk-12ab``) is redacted too.
    """
    live = _pieces(secrets)
    for secret in live:
        text = text.replace(secret, REDACTED)
    if len(text) <= limit:
        return text
    text = text[: limit - 3]
    for secret in live:
        for n in range(min(len(secret), len(text)), _MIN_PREFIX - 1, -1):
            if text.endswith(secret[:n]):
                text = text[:-n] + REDACTED
                break
    return text + "..."


# Preformatted text (httpcore's log records, storage error bodies) quotes URLs with their secrets:
# ``(b'Location', b'https://u:p@host/k?X-Amz-Signature=...')``.
# Patterns, not compiled ones: ``re`` compiles them on first use (an error path), not at import.
_QUERY_IN_TEXT = r"\?(?!<redacted>)[^\s'\"<]+"
_USERINFO_IN_TEXT = r"(?<=//)[^/@\s'\"<]*@"


def scrub_text(text: str) -> str:
    """Every URL query and ``user:password@`` in free text replaced."""
    return re.sub(_USERINFO_IN_TEXT, "", re.sub(_QUERY_IN_TEXT, "?" + REDACTED, text))


def _scrub_bytes(content: bytes) -> bytes:
    return scrub_text(content.decode("latin-1")).encode("latin-1")


def request_of(source: object) -> Optional[httpx.Request]:
    """The request of a response or an httpx error, ``None`` when it was made without one (httpx's
    public ``.request`` raises ``RuntimeError`` then)."""
    import httpx

    try:
        return source.request if isinstance(source, (httpx.Response, httpx.RequestError)) else None
    except RuntimeError:
        return None


def bearer_token(request: Optional[httpx.Request]) -> Optional[str]:
    """The bearer token a request carried, if any."""
    if request is None:
        return None
    auth = request.headers.get("authorization", "")
    return auth[7:].strip() or None if auth[:7].lower() == "bearer " else None


def visible(text: str) -> str:
    """``text`` with every :func:`invisible` character percent-encoded (as httpx sends them), for messages
    and logs: a URL from a server never moves the cursor or reorders what is shown."""
    if text.isascii() and text.isprintable():  # the common case
        return text
    from urllib.parse import quote

    return "".join(quote(c, safe="", errors="replace") if invisible(c) else c for c in text)


# scheme://user:password@ of a URL httpx cannot read as one with a host: everything from // (or the
# start) to the last @, even past a "/", "?" or "#" (an unencoded one in a password makes the URL
# unparseable, and it is still a password).
_ANY_USERINFO = r"(?s)^(\s*(?:[A-Za-z][A-Za-z0-9+.-]*:)?//|\s*).*@"
# What reads as a URL (blanks, an optional scheme, then //) for urls_only: loose on purpose, since a URL a
# parser would refuse may still carry a signature or a password.
_LOOKS_LIKE_URL = r"\s*(?:[A-Za-z][A-Za-z0-9+.-]*:)?//"


def safe_url(
    url: object, *, mark_query: bool = True, mark_credentials: bool = False, urls_only: bool = False
) -> str:
    """A URL (``str`` or ``httpx.URL``) for messages, logs and reprs, as given but for its secrets.

    - ``user:password@`` is dropped, or shown as ``<redacted>@`` with ``mark_credentials`` (a refused
      base URL's message says it carries credentials; a model's repr shows its value's shape).
    - A query or fragment (a signed URL's query is a credential) is shown as ``?<redacted>`` or
      ``#<redacted>`` (a bare ``?`` or ``#`` as is); without ``mark_query`` it is dropped: a value a
      program compares with the part of a URL before ``?``, as ``DownloadError.url``.
    - Invisible characters are percent-encoded (:func:`visible`).
    - With ``urls_only``, a string that does not start as a URL (``scheme://`` or ``//``, after blanks)
      is returned unchanged: a model's repr passes every string field here, prompts included.
    """
    import httpx

    text = str(url)
    if urls_only and isinstance(url, str) and re.match(_LOOKS_LIKE_URL, text) is None:
        return text
    shown_credentials = r"\1" + (REDACTED + "@" if mark_credentials else "")
    try:
        parsed: Optional[httpx.URL] = url if isinstance(url, httpx.URL) else httpx.URL(text)
    except Exception:
        parsed = None
    if parsed is None or not parsed.raw_host:
        text = re.sub(_ANY_USERINFO, shown_credentials, text)
    elif parsed.userinfo:  # the authority (after //, up to / ? #) up to its last @
        start = text.find("//") + 2
        found = re.compile(r"[/?#]").search(text, start)
        at = text.rfind("@", start, found.start() if found else len(text))
        if start >= 2 and at >= 0:
            text = text[:start] + (REDACTED + "@" if mark_credentials else "") + text[at + 1 :]
        else:
            text = re.sub(_ANY_USERINFO, shown_credentials, text)
    cut = re.search(r"[?#]", text)
    if cut is None:
        return visible(text)
    tail = text[cut.start() :]
    if not mark_query:
        tail = ""
    elif len(tail) > 1:
        tail = tail[0] + REDACTED
    return visible(text[: cut.start()]) + tail


def safe_request(request: httpx.Request) -> httpx.Request:
    """A copy of ``request`` safe to keep in a pickle or print: no credentials in the URL or headers.

    The query is replaced (a signed upload URL's query is a credential); the body is dropped.
    """
    import httpx

    url = request.url.copy_with(userinfo=b"")
    if url.query:
        url = url.copy_with(query=REDACTED.encode())
    headers = [(k, v) for k, v in request.headers.multi_items() if k.lower() not in SENSITIVE_HEADERS]
    return httpx.Request(request.method, url, headers=headers)


def safe_response(
    response: httpx.Response, secrets: Sequence[str] = (), *, scrub_urls: bool = False
) -> httpx.Response:
    """A copy of ``response`` (status, headers, body as read) whose request is :func:`safe_request`;
    in the body, ``secrets`` are replaced and, with ``scrub_urls``, URL queries and credentials (a
    storage error body may quote the signed URL)."""
    import httpx

    request = request_of(response)
    try:
        content = response.content
    except httpx.ResponseNotRead:
        content = b""
    for secret in secrets:
        content = content.replace(secret.encode(), REDACTED.encode())
    if scrub_urls:
        content = _scrub_bytes(content)
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in SENSITIVE_HEADERS]
    # Decoded content with the original Content-Encoding would be decoded a second time.
    headers = [(k, v) for k, v in headers if k.lower() not in ("content-encoding", "content-length")]
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=content,
        request=safe_request(request) if request is not None else None,
    )


def sanitized_state(state: dict[str, Any]) -> dict[str, Any]:
    """An error's ``__dict__`` for pickling: requests and responses replaced by safe copies, and a
    token the server echoed redacted from the body too (a pickle travels further than the object)."""
    import httpx

    secrets: List[str] = []
    for value in state.values():
        request = request_of(value) if isinstance(value, httpx.Response) else value
        token = bearer_token(request) if isinstance(request, httpx.Request) else None
        secrets.extend(_pieces([token]))
    out: dict[str, Any] = {}
    for key, value in state.items():
        if isinstance(value, httpx.Response):
            value = safe_response(value, secrets)
        elif isinstance(value, httpx.Request):
            value = safe_request(value)
        elif secrets:
            value = _redact_value(value, secrets)
        out[key] = value
    return out


def _redact_value(value: Any, secrets: Sequence[str]) -> Any:
    """``value`` (a parsed JSON body) with ``secrets`` replaced in its strings."""
    import json

    try:
        text = json.dumps(value)
    except (TypeError, ValueError, RecursionError):
        return value
    if not any(s in text for s in secrets):
        return value
    for secret in secrets:
        text = text.replace(json.dumps(secret)[1:-1], REDACTED)
    return json.loads(text)


def short_repr(value: object, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters (a string keeps its start and its end), and never
    failing: a value whose ``repr`` raises (a huge int, a structure nested 50,000 deep) is described by
    its type."""
    try:
        if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
            return f"<int of {value.bit_length()} bits>"
        text = repr(value)
    except Exception:  # RecursionError, ValueError (int too large), a __repr__ that raises
        return f"<{type(value).__name__}>"
    if len(text) <= limit:
        return text
    if isinstance(value, str):  # the end of a path or name is what tells two apart: keep both ends
        head = (limit - 3) // 2
        return text[:head] + "..." + text[len(text) - (limit - 3 - head) :]
    return text[: limit - 3] + "..."
