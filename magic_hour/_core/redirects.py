"""Redirects of API calls, followed by the SDK rather than by httpx.

httpx reads (and inflates) each redirect's body whole when it follows redirects itself, so a small
compressed body on a ``302`` can cost gigabytes. So an API call is always sent with ``follow_redirects=False``, and
:func:`send_following` / :func:`asend_following` (what the drivers of :mod:`.transport` send with)
follow the redirect's ``next_request`` (httpx's public one) themselves, closing each redirect with its
body unread. They follow only:

- through a client lent with ``follow_redirects=True``, at most its ``max_redirects`` (the SDK's own
  client follows none: the API does not redirect, and a redirect is then the answer, an ``ApiError``);
- to the same origin, or from ``http`` to ``https`` on the same host: where httpx keeps the
  ``Authorization`` header. An answer from another host is not the API's, so a redirect there is the
  answer (an ``ApiError`` with its status) and that host gets no request at all.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Union

import httpx

from .deadline import CURRENT, lent_timeouts


def send_following(client: httpx.Client, request: httpx.Request, **kwargs: Any) -> httpx.Response:
    """``client.send(request, stream=True, **kwargs)``, and the redirects it may follow (see above)."""
    limit = redirect_limit(client, kwargs)
    response = client.send(request, stream=True, **kwargs)
    hops = 0
    while (following := next_hop(response, hops, limit)) is not None:
        response.close()  # unread
        hops += 1
        response = client.send(_within_budget(following), stream=True, **kwargs)
    return response


async def asend_following(client: httpx.AsyncClient, request: httpx.Request, **kwargs: Any) -> httpx.Response:
    """:func:`send_following` for an :class:`httpx.AsyncClient`."""
    limit = redirect_limit(client, kwargs)
    response = await client.send(request, stream=True, **kwargs)
    hops = 0
    while (following := next_hop(response, hops, limit)) is not None:
        await response.aclose()  # unread
        hops += 1
        response = await client.send(_within_budget(following), stream=True, **kwargs)
    return response


def _within_budget(request: httpx.Request) -> httpx.Request:
    # A lent client's timeouts were cut to what was left of the call for the first request; each hop
    # gets what is left now (our own pool's connections keep the call's deadline themselves).
    budget = CURRENT.get()
    if budget is not None and budget.call_deadline is not None:
        lent_timeouts(request, budget)
    return request


def redirect_limit(client: Union[httpx.Client, httpx.AsyncClient], kwargs: Dict[str, Any]) -> int:
    """How many redirects a call may follow, ``kwargs`` (for ``client.send``) set to let httpx follow
    none. A caller that chose ``follow_redirects`` itself (uploads, downloads) follows nothing here."""
    if "follow_redirects" in kwargs:
        return 0
    kwargs["follow_redirects"] = False
    return client.max_redirects if client.follow_redirects else 0


def next_hop(
    response: httpx.Response, hops: int, limit: int, *, any_origin: bool = False
) -> Optional[httpx.Request]:
    """The request to send after ``response`` (whose body is then closed unread), or ``None`` when
    ``response`` is the answer: no redirect, ``limit`` hops already followed, or another origin (unless
    ``any_origin``: a download, which carries no token, follows a redirect anywhere)."""
    following = response.next_request
    if following is None or hops >= limit:
        return None
    return following if any_origin or _keeps_token(response.request.url, following.url) else None


def _keeps_token(origin: httpx.URL, target: httpx.URL) -> bool:
    if target.host != origin.host:
        return False
    if (target.scheme, target.port) == (origin.scheme, origin.port):
        return True
    # httpx's URL.port is None for the scheme's default port.
    return (
        origin.scheme == "http" and target.scheme == "https" and origin.port is None and target.port is None
    )
