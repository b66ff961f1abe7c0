"""Every error the SDK raises derives from :class:`MagicHourError`.

The tree::

    MagicHourError
    ├── InvalidParameterError (also a ValueError)  bad input, raised before any request is sent
    │   └── InvalidFileError                       a file that cannot be uploaded (bad extension, no name...)
    │       └── MissingFileError (also a FileNotFoundError)  no such path (or a dangling symlink)
    ├── MissingTokenError                          no token given and $MAGIC_HOUR_API_TOKEN is unset
    ├── InsecureTransportError                     refusing to send the token over plain http
    ├── ClientClosedError (also a RuntimeError)    the client was used after close()/aclose()
    ├── MissingWebhookSecretError                  no webhook secret given and $MAGIC_HOUR_WEBHOOK_SECRET is unset
    ├── WebhookVerificationError (also a ValueError)  a request to your webhook endpoint failed a check; .reason
    │   ├── WebhookMissingHeaderError              a signing header is absent; .header
    │   ├── WebhookInvalidHeaderError              ...or malformed (not 64 hex digits, not Unix seconds)
    │   ├── WebhookSignatureError                  no secret gives its signature (wrong secret, altered body)
    │   ├── WebhookTimestampError                  signed further than the tolerance from now (replay, clock)
    │   └── WebhookPayloadError                    authentic, but not JSON or not an event
    ├── ApiError                                   the API answered; .status_code .body .response .request_id
    │   ├── BadRequestError              400
    │   ├── AuthenticationError          401
    │   ├── PaymentRequiredError         402
    │   ├── PermissionDeniedError        403
    │   ├── NotFoundError                404
    │   ├── ConflictError                409
    │   ├── UnprocessableEntityError     422
    │   ├── RateLimitError               429
    │   ├── InternalServerError          5xx
    │   │   └── ProjectMayExistServerError   ...to a create (also a ProjectMayExistError)
    │   ├── ProjectMayExistStatusError   408 or 303 to a create (also a ProjectMayExistError)
    │   └── ApiResponseValidationError   a 2xx whose body is not JSON or does not fit the model
    │       └── ProjectMayExistResponseError ...to a create (also a ProjectMayExistError)
    ├── ApiConnectionError (also an httpx.TransportError)  no response: DNS, refused, reset...
    │   ├── ApiTimeoutError (also an httpx.TimeoutException) ...or the timeout ran out
    │   │   └── ProjectMayExistTimeoutError  ...waiting for a create's answer (also the one below)
    │   └── ProjectMayExistConnectionError   ...after a create was sent (also a ProjectMayExistError)
    ├── ProjectMayExistError                 a create was sent and may have started a project (and
    │                                        spent credits): not retried; .operation .kind
    ├── StorageError (also an httpx.HTTPStatusError)  the storage refused an upload PUT; .status_code
    │                                              .response .request
    ├── UploadUrlsMismatchError (also a ValueError)  upload-urls answered with unusable URLs (count, scheme)
    ├── UploadError                                some uploads of a batch failed; .results per file
    ├── ProjectFailedError                         a project ended in error or canceled; .project .code
    ├── ProjectTimeoutError (also a TimeoutError)  wait() gave up; .project holds the last status seen
    ├── DownloadError                              an output could not be downloaded; .url (no query) .path
    │   ├── DownloadStatusError (also an httpx.HTTPStatusError)  ...the host answered an error status;
    │   │                                          .status_code .response .request
    │   ├── DownloadConnectionError (also an httpx.TransportError)  ...no usable answer: refused, reset,
    │   │   │                                      a body cut short; .request
    │   │   └── DownloadTimeoutError (also an httpx.TimeoutException)  ...or the timeout ran out
    │   ├── DownloadDecodingError (also an httpx.DecodingError)  ...a Content-Encoding that does not
    │   │                                          decode within bounds (corrupt, a bomb, unknown)
    │   └── DownloadWriteError (also an OSError)   ...or not written: disk full, directory not writable
    └── JournalError                               a batch journal cannot be used; .path
        └── JournalInUseError                      ...another run holds it; .owner

Other status codes (405, 418, ...) raise a plain :class:`ApiError`. Messages never include the token
or the signed query of an upload URL.

A create (a call that starts a project and spends credits) is retried only when the answer proves
that nothing started; any other failure raises a :class:`ProjectMayExistError`, as one of the five
classes drawn under the error the same failure raises elsewhere, so that ``except ProjectMayExistError``
catches every such case and ``except InternalServerError`` (or ``ApiError``, ``httpx.HTTPError``...)
still catches each.

The second base classes are what the official ``magic-hour`` package raises in the same situation, so
that an ``except FileNotFoundError`` / ``ValueError`` / ``httpx.HTTPStatusError`` / ``httpx.HTTPError``
written for it still catches ours (``docs/migrating.md`` has the table).

The classes live in ``magic_hour/_errors/`` (``base``: the root and bad input; ``api``: the API's
answers and connection failures; ``files``: uploads; ``jobs``: projects and downloads; ``creates``:
a create whose outcome is unknown; ``webhooks``: webhook verification; ``batches``: batch journals); this module is their public
home: import them from here (or from :mod:`magic_hour`). All but ``base`` and ``api`` load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List

from ._errors.api import (
    ApiConnectionError,
    ApiError,
    ApiResponseValidationError,
    ApiTimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)
from ._errors.api import (
    error_class_for_status as error_class_for_status,
)
from ._errors.base import (
    ClientClosedError,
    InsecureTransportError,
    InvalidFileError,
    InvalidParameterError,
    MagicHourError,
    MissingFileError,
    MissingTokenError,
    rebuild_error,
)

if TYPE_CHECKING:
    from ._errors.batches import JournalError, JournalInUseError
    from ._errors.creates import (
        ProjectMayExistConnectionError,
        ProjectMayExistError,
        ProjectMayExistResponseError,
        ProjectMayExistServerError,
        ProjectMayExistStatusError,
        ProjectMayExistTimeoutError,
    )
    from ._errors.files import (
        StorageError,
        UploadError,
        UploadUrlsMismatchError,
    )
    from ._errors.jobs import (
        DownloadConnectionError,
        DownloadDecodingError,
        DownloadError,
        DownloadStatusError,
        DownloadTimeoutError,
        DownloadWriteError,
        ProjectFailedError,
        ProjectTimeoutError,
    )
    from ._errors.webhooks import (
        MissingWebhookSecretError,
        WebhookInvalidHeaderError,
        WebhookMissingHeaderError,
        WebhookPayloadError,
        WebhookSignatureError,
        WebhookTimestampError,
        WebhookVerificationError,
    )

_rebuild_error = rebuild_error  # what pickles of the errors name (``_errors.base.publish``)
del rebuild_error

# The errors of creates whose outcome is unknown, uploads, jobs and downloads, webhooks and batch
# journals are loaded on first use (PEP 562): a first request needs only those above, and each class
# costs its definition at import. The class is the same object whichever path loads it, and names this
# module as its home (``_errors.base.publish``).
_LAZY: Dict[str, str] = {
    "DownloadConnectionError": "jobs",
    "DownloadDecodingError": "jobs",
    "DownloadError": "jobs",
    "DownloadStatusError": "jobs",
    "DownloadTimeoutError": "jobs",
    "DownloadWriteError": "jobs",
    "JournalError": "batches",
    "JournalInUseError": "batches",
    "MissingWebhookSecretError": "webhooks",
    "ProjectFailedError": "jobs",
    "ProjectMayExistConnectionError": "creates",
    "ProjectMayExistError": "creates",
    "ProjectMayExistResponseError": "creates",
    "ProjectMayExistServerError": "creates",
    "ProjectMayExistStatusError": "creates",
    "ProjectMayExistTimeoutError": "creates",
    "ProjectTimeoutError": "jobs",
    "StorageError": "files",
    "UploadError": "files",
    "UploadUrlsMismatchError": "files",
    "WebhookInvalidHeaderError": "webhooks",
    "WebhookMissingHeaderError": "webhooks",
    "WebhookPayloadError": "webhooks",
    "WebhookSignatureError": "webhooks",
    "WebhookTimestampError": "webhooks",
    "WebhookVerificationError": "webhooks",
    "_rebuild_write_error": "jobs",  # what pickles of a DownloadWriteError name
}

if not TYPE_CHECKING:  # static checkers see the imports above, and flag a name this module lacks

    def __getattr__(name: str) -> Any:
        group = _LAZY.get(name)
        if group is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        import importlib

        module = importlib.import_module(f"{__package__}._errors.{group}")
        value = getattr(module, name.lstrip("_"))
        globals()[name] = value
        return value


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "ApiConnectionError",
    "ApiError",
    "ApiResponseValidationError",
    "ApiTimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConflictError",
    "DownloadConnectionError",
    "DownloadDecodingError",
    "DownloadError",
    "DownloadStatusError",
    "DownloadTimeoutError",
    "DownloadWriteError",
    "InsecureTransportError",
    "InternalServerError",
    "InvalidFileError",
    "InvalidParameterError",
    "JournalError",
    "JournalInUseError",
    "MagicHourError",
    "MissingFileError",
    "MissingTokenError",
    "MissingWebhookSecretError",
    "NotFoundError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "ProjectFailedError",
    "ProjectMayExistConnectionError",
    "ProjectMayExistError",
    "ProjectMayExistResponseError",
    "ProjectMayExistServerError",
    "ProjectMayExistStatusError",
    "ProjectMayExistTimeoutError",
    "ProjectTimeoutError",
    "RateLimitError",
    "StorageError",
    "UnprocessableEntityError",
    "UploadError",
    "UploadUrlsMismatchError",
    "WebhookInvalidHeaderError",
    "WebhookMissingHeaderError",
    "WebhookPayloadError",
    "WebhookSignatureError",
    "WebhookTimestampError",
    "WebhookVerificationError",
]
