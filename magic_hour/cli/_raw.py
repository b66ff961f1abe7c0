"""API calls whose answer the command prints as the API sent it (no model in between).

They go through the SDK's core (auth, retries, timeouts, typed errors), only the parsing differs:
a model re-formats values (a date-time parsed and printed again is not what the API sent).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    from .. import Client

_model_cache: Any = None


def _raw_model() -> Any:
    """A model that keeps any JSON answer as it is (``None`` for an empty body, as a 204's)."""
    global _model_cache
    if _model_cache is None:
        from pydantic import RootModel

        class RawJson(RootModel[Any]):
            @classmethod
            def model_validate_json(cls, json_data: Any, **kwargs: Any) -> RawJson:  # pyright: ignore[reportIncompatibleMethodOverride]
                if not json_data:
                    return cls(None)
                return super().model_validate_json(json_data, **kwargs)

        _model_cache = RawJson
    return _model_cache


def call_json(
    client: Client, method: str, path: str, body: Optional[Any] = None, *, creates: Optional[str] = None
) -> Any:
    """``method path`` with a JSON ``body``; the decoded JSON answer (an ``ApiError`` for a non-2xx).
    ``creates``: the kind of project the call starts (retried only when nothing started)."""
    from .._client import http_of
    from .._core.request import ApiRequest

    request = ApiRequest(method, path, json=body, creates=creates)
    answer = http_of(client).request(request, _raw_model(), None)
    return answer.root


def post_json(client: Client, path: str, body: Any) -> Any:
    return call_json(client, "POST", path, body)
