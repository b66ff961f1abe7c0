"""Keeps upload URLs' secrets (the signed query, a ``user:password@``) out of httpx's and httpcore's logs.

httpx logs every response at INFO as ``HTTP Request: PUT <url> "HTTP/1.1 200 OK"``, query included, and
httpcore logs the response headers at DEBUG (a redirect's ``Location`` is another signed URL). A filter
sits on those loggers and rewrites the records emitted while *our* storage PUT is being sent (a context
variable marks them, in the sending thread or task): URLs become ``<url without query or
credentials>?<redacted>``. Every other record, the application's own httpx traffic included, is left as
it is.
"""

from __future__ import annotations

import contextvars
import logging
from typing import ContextManager

import httpx

from .._redact import safe_url, scrub_text

_SENDING_PUT: contextvars.ContextVar[bool] = contextvars.ContextVar("magic_hour_sending_put", default=False)

HTTPCORE_LOGGERS = ("httpcore.http11", "httpcore.http2", "httpcore.connection", "httpcore.proxy")


class _RedactUploadUrls(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if _SENDING_PUT.get():
            if isinstance(record.args, tuple) and record.args:
                record.args = tuple(_redacted(arg) for arg in record.args)
            if isinstance(record.msg, str):
                record.msg = scrub_text(record.msg)
        return True


def _redacted(arg: object) -> object:
    if isinstance(arg, httpx.URL) and (arg.query or arg.userinfo):
        return safe_url(arg)
    if isinstance(arg, (str, bytes)):
        return scrub_text(arg.decode("latin-1") if isinstance(arg, bytes) else arg)
    return arg


_LOG_FILTER = _RedactUploadUrls()


def install_log_filter() -> None:
    # Checked on every batch, not only at import: logging.config may have rebuilt the loggers since.
    for name in ("httpx", *HTTPCORE_LOGGERS):
        log = logging.getLogger(name)
        if _LOG_FILTER not in log.filters:
            log.addFilter(_LOG_FILTER)


class _Sending:
    # A class, not a @contextmanager generator: it runs once per file of a batch.
    __slots__ = ("_token",)

    def __enter__(self) -> None:
        self._token = _SENDING_PUT.set(True)

    def __exit__(self, *exc: object) -> None:
        _SENDING_PUT.reset(self._token)


def sending_put() -> ContextManager[None]:
    """Marks the log records emitted inside as our storage request's (see the module doc)."""
    return _Sending()
