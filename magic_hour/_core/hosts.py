"""Host names: which ones are well-formed, which are this machine, and where a request really goes.

Pure checks (which proxy a request goes through is ``owned.proxy_host``'s).
"""

from __future__ import annotations

import functools
import ipaddress
import os
from typing import Optional

import httpx

from .._exceptions import InsecureTransportError


@functools.lru_cache(maxsize=256)  # pure; asked on every call to an http:// base URL (ipaddress is slow)
def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address (``127.0.0.0/8``, ``::1``).

    ``*.localhost`` names are not trusted: RFC 6761 reserves them for loopback, but the system resolver
    sends them to DNS on many systems, so a name like ``api.localhost`` may reach another machine.
    ``localhost`` itself is answered by the hosts file everywhere.
    """
    if host == "localhost" or host == "localhost.":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@functools.lru_cache(maxsize=256)  # pure; a batch's upload URLs share one host (IDNA and ipaddress are slow)
def host_problem(host: str) -> Optional[str]:
    """Why ``host`` cannot be connected to (empty or over-long labels, a broken ``xn--`` label), or
    ``None`` when it is fine. These fail only when a request is sent, deep in the socket layer, with a
    ``UnicodeError``; here they are found where the URL comes in."""
    bare = host.strip("[]")
    try:
        ipaddress.ip_address(bare)
        return None
    except ValueError:
        pass
    if not host:
        return "no host name"
    name = host[:-1] if host.endswith(".") else host
    if len(name) > 253:
        return "the host name is longer than 253 characters"
    for label in name.split("."):
        if not label:
            return "the host name has an empty label (two dots in a row, or a leading dot)"
        if len(label) > 63:
            return f"the host name has a label longer than 63 characters ({label[:20]}...)"
    try:
        name.encode("idna")  # what the socket layer does before resolving
        for label in name.split("."):
            if label[:4].lower() == "xn--":
                label.encode("ascii").decode("idna")
    except (UnicodeError, ValueError):
        return "the host name is not valid IDNA (a broken xn-- label?)"
    return None


def url_host_problem(url: str) -> Optional[str]:
    """:func:`host_problem` for a URL string (``"not a URL"`` when httpx cannot parse it)."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError):  # IDNAError is a ValueError
        return "not a valid URL"
    return host_problem(parsed.raw_host.decode("ascii"))


def check_cleartext(proxy: Optional[str], request: httpx.Request) -> None:
    """Refuse to send a plain-http request carrying the token through a proxy (``proxy``: its host, or
    ``None``) on another machine.

    The base URL may be this machine, but with ``HTTP_PROXY`` set (httpx honours it by default) the
    request, token included, goes in clear text to the proxy first.
    """
    if proxy is not None and not is_loopback(proxy):
        source = "HTTP_PROXY/ALL_PROXY" if any(k.lower().endswith("_proxy") for k in os.environ) else "proxy="
        raise InsecureTransportError(
            f"refusing to send the API token in clear text to http://{request.url.host} through the proxy "
            f"{proxy} (from {source}); use https, unset the proxy (or set NO_PROXY), or pass "
            "allow_insecure_http=True if you really mean it"
        )
