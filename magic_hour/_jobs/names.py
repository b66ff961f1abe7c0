"""Pure naming of downloaded files: from the URL's path, sanitised, unique within one call."""

from __future__ import annotations

import os
import re
import unicodedata
from typing import List, Optional, Sequence, Set, cast
from urllib.parse import quote, unquote, urlsplit

from .._core.hosts import url_host_problem
from .._exceptions import DownloadError, InvalidParameterError

MAX_NAME_BYTES = 200
"""Room below the usual 255-byte limit for the temporary file's prefix and suffix."""

_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
_WINDOWS_RESERVED = re.compile(
    r"(?i)^(con|prn|aux|nul|com[\d\u00b9\u00b2\u00b3]|lpt[\d\u00b9\u00b2\u00b3]|conin\$|conout\$)(\.|$)"
)

_INVISIBLE = frozenset(("Cc", "Cf", "Cs", "Zl", "Zp"))
"""Unicode categories that a terminal or a file manager acts on or hides rather than shows: C0 and C1
controls (U+009B starts an escape sequence in some terminals), format characters (the bidirectional
overrides and isolates that make ``invoice\\u202egnp.exe`` show as ``invoiceexe.png``, zero-width
characters, U+FEFF), lone surrogates, and the line and paragraph separators."""


def _invisible(char: str) -> bool:
    return unicodedata.category(char) in _INVISIBLE


def visible(text: str) -> str:
    """``text`` with every character of :data:`_INVISIBLE` percent-encoded (as httpx sends them), for
    messages and logs: a URL from a server never moves the cursor or reorders what is shown."""
    if text.isascii() and text.isprintable():  # the common case
        return text
    return "".join(quote(c, safe="", errors="replace") if _invisible(c) else c for c in text)


def redact(url: str) -> str:
    """The URL without query, fragment or ``user:password@`` (a download URL's signature is a credential),
    its invisible characters made visible (:func:`visible`)."""
    return visible(re.sub(r"(?<=//)[^/@]*@", "", url.split("?", 1)[0].split("#", 1)[0]))


def safe_name(url: str, index: int) -> str:
    """A file name for ``url``: the last segment of its path, decoded and made safe.

    No directory parts (``..``, ``/``, ``\\``, drive letters), no control, format (bidirectional
    overrides, zero-width) or reserved characters, no leading dots (hidden files) or trailing dots and
    spaces, not empty, at most :data:`MAX_NAME_BYTES` bytes (keeping the extension). A URL without a
    usable name gives ``output-<index>``.
    """
    try:
        path = urlsplit(url).path
    except ValueError:
        path = ""
    name = unquote(path).replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFC", name)
    name = "".join("_" if _invisible(c) else c for c in name)
    name = _UNSAFE.sub("_", name).strip().strip(".").strip()
    if not name.strip("_") or _WINDOWS_RESERVED.match(name):
        name = f"output-{index}" + (f"-{name}" if name.strip("_") else "")
    return _truncate(name)


def _truncate(name: str) -> str:
    if len(name.encode()) <= MAX_NAME_BYTES:
        return name
    stem, ext = os.path.splitext(name)
    if len(ext.encode()) > 20:
        stem, ext = name, ""
    budget = MAX_NAME_BYTES - len(ext.encode())
    return stem.encode()[:budget].decode(errors="ignore") + ext


def unique_names(urls: Sequence[str]) -> List[str]:
    """One safe name per URL; repeated names (compared case-insensitively, for macOS and Windows) get
    ``-1``, ``-2``... before the extension."""
    taken: Set[str] = set()
    names: List[str] = []
    for i, url in enumerate(urls):
        name = safe_name(url, i)
        stem, ext = os.path.splitext(name)
        n = 0
        while name.casefold() in taken:
            n += 1
            name = f"{stem}-{n}{ext}"
        taken.add(name.casefold())
        names.append(name)
    return names


def check_urls(urls: object, directory: Optional[str] = None) -> List[str]:
    """A list of absolute http(s) URLs (a single string is accepted as a list of one).

    A URL the caller gave that cannot be used is an :class:`InvalidParameterError`; one the API gave (an
    item's ``.url``: a project's ``downloads``, a face detection's ``faces``) is the server's fault, a
    :class:`DownloadError` naming where it was to be written (``directory``)."""
    for attribute in ("downloads", "faces"):  # a project (or face detection) itself
        if not isinstance(urls, (str, list, tuple)) and isinstance(getattr(urls, attribute, None), list):
            urls = getattr(urls, attribute)
    if isinstance(urls, str):
        items: List[object] = [urls]
    elif isinstance(urls, (list, tuple)):
        items = list(cast("Sequence[object]", urls))
    else:
        raise InvalidParameterError(
            "urls", urls, "a URL, a list of URLs or of items with .url (project downloads), or a project"
        )
    out: List[str] = []
    for i, item in enumerate(items):
        url = item if isinstance(item, str) else getattr(item, "url", None)
        # url_host_problem: a URL httpx cannot parse ("http://[::1") raised a bare httpx.InvalidURL
        if (
            isinstance(url, str)
            and url.lower().startswith(("http://", "https://"))
            and url_host_problem(url) is None
        ):
            out.append(url)
            continue
        shown = redact(url) if isinstance(url, str) else item
        if not isinstance(item, str) and hasattr(item, "url"):
            shown = redact(url) if isinstance(url, str) else repr(url)
            name = safe_name(url if isinstance(url, str) else "", i)
            path = name if directory is None else os.path.join(directory, name)
            raise DownloadError(
                f"downloading output {i} to {path} failed: the API gave a download URL the SDK cannot "
                f"use ({shown[:200]!r}: not an absolute http(s) URL with a valid host); nothing was sent",
                url=shown,
                path=path,
            )
        raise InvalidParameterError(f"urls[{i}]", shown, "an absolute http(s) URL, or an item with .url")
    return out


def check_directory(directory: object) -> Optional[str]:
    """A download directory: ``None`` and ``""`` are the current one (as in the official SDK)."""
    if isinstance(directory, os.PathLike):
        directory = os.fspath(cast("os.PathLike[str]", directory))
    if directory is None or directory == "":
        return None
    if not isinstance(directory, str) or "\x00" in directory:
        raise InvalidParameterError(
            "download_directory",
            directory,
            "a directory path (str or os.PathLike), or None or '' (the current one)",
        )
    return directory


def check_concurrency(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidParameterError("max_concurrency", value, "an integer >= 1")
    return value
