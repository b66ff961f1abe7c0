"""The SDK client a command runs with (token, options, ``--mock``: the fake on 127.0.0.1, logging), and
the calls whose answer is printed as the API sent it.

Those go through the SDK's core (auth, retries, timeouts, typed errors); only the parsing differs, since
a model re-formats values (a date-time parsed and printed again is not what the API sent).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from typing import TYPE_CHECKING, Any, Dict, Generator, Optional, Sequence

from ._output import TOKEN_ENV, clean, say
from ._parser import UNSET

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


class _StderrHandler(logging.Handler):
    """Writes to the current ``sys.stderr`` (so log lines go above rich's live progress display) and
    removes the token from every line, whatever logged it."""

    def __init__(self, secrets: Sequence[str]) -> None:
        super().__init__(logging.DEBUG)
        self._secrets = [s for s in secrets if s]
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            for secret in self._secrets:
                line = line.replace(secret, "<token>")
            sys.stderr.write(clean(line, lines=True) + "\n")
            sys.stderr.flush()
        except Exception:  # pragma: no cover - logging must never break the command
            self.handleError(record)


def configure_logging(args: argparse.Namespace) -> None:
    """With ``-v``, the SDK's log lines on stderr, without the token."""
    if not args.verbose:
        return
    logger = logging.getLogger("magic_hour")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(_StderrHandler([t for t in (args.token, os.environ.get(TOKEN_ENV)) if t]))
    logger.propagate = False


def token(args: argparse.Namespace) -> Optional[str]:
    """``--token``, else ``$MAGIC_HOUR_API_TOKEN``; ``None`` when neither is set (or blank)."""
    value: Optional[str] = args.token if args.token is not None else os.environ.get(TOKEN_ENV)
    return value.strip() if value is not None and value.strip() else None


@contextlib.contextmanager
def open_client(args: argparse.Namespace) -> Generator[Client, None, None]:
    """The client for this run (raises ``MissingTokenError`` before any request when there is no token)."""
    from .. import Client, MissingTokenError

    options: Dict[str, Any] = {}
    if args.timeout is not None:
        options["timeout"] = args.timeout
    if args.max_retries is not None:
        options["max_retries"] = args.max_retries
    if args.max_concurrent_transfers is not UNSET:
        options["max_concurrent_transfers"] = args.max_concurrent_transfers
    if args.mock:
        from ..testing import FakeMagicHour
        from ._mock import MockState, mock_render_seconds

        # Only sizes and hashes are kept: a big file "uploaded" to the mock does not fill the memory.
        fake = FakeMagicHour(keep_content=False, render_seconds=mock_render_seconds())
        state = MockState()
        state.restore(fake)
        # Saved at each change (an interrupted job's project is there for the resume command) and at
        # the end (deletions are no status change).
        fake.on_project_change(lambda change: state.save(fake))
        try:
            with fake.serve() as server:
                if not getattr(args, "quiet", False):
                    say(f"using a local mock server at {server.url}; no request leaves this machine")
                with Client(token=fake.token, base_url=server.url, **options) as client:
                    yield client
        finally:
            state.save(fake)
        return
    value = token(args)
    if value is None:
        raise MissingTokenError()
    with Client(token=value, base_url=args.base_url, **options) as client:
        yield client
