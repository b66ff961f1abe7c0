"""API calls whose answer the command prints as the API sent it (no model in between).

They go through the SDK's core (auth, retries, timeouts, typed errors), only the parsing differs:
a model re-formats values (a date-time parsed and printed again is not what the API sent).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    from .. import Client


def call_json(client: Client, method: str, path: str, body: Optional[Any] = None) -> Any:
    """``method path`` with a JSON ``body``; the decoded JSON answer (an ``ApiError`` for a non-2xx)."""
    from pydantic import RootModel

    from .._core.request import ApiRequest

    http = client._http  # pyright: ignore[reportPrivateUsage]
    answer = http.request(ApiRequest(method, path, json=body), RootModel[Any], None)
    return answer.root


def post_json(client: Client, path: str, body: Any) -> Any:
    return call_json(client, "POST", path, body)
