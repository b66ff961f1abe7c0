"""The Magic Hour API: ``Client`` and ``AsyncClient``.

from magic_hour import Client

client = Client()  # token from $MAGIC_HOUR_API_TOKEN
res = client.v1.files.upload_urls.create(items=[{"extension": "mp4", "type_": "video"}])
"""

import logging as _logging
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any
from typing import List as _List

from ._version import __version__

if _TYPE_CHECKING:
    from . import client as client
    from . import environment as environment
    from . import helpers as helpers
    from . import resources as resources
    from . import types as types
    from ._binary_response import BinaryResponse
    from ._client import AsyncClient, Client
    from ._core.config import NOT_GIVEN, NotGiven
    from ._core.request import RequestOptions
    from ._exceptions import (
        ApiConnectionError,
        ApiError,
        ApiResponseValidationError,
        ApiTimeoutError,
        AuthenticationError,
        BadRequestError,
        ClientClosedError,
        ConflictError,
        DownloadConnectionError,
        DownloadDecodingError,
        DownloadError,
        DownloadStatusError,
        DownloadTimeoutError,
        DownloadWriteError,
        InsecureTransportError,
        InternalServerError,
        InvalidFileError,
        InvalidParameterError,
        JournalError,
        JournalInUseError,
        MagicHourError,
        MissingFileError,
        MissingTokenError,
        MissingWebhookSecretError,
        NotFoundError,
        PaymentRequiredError,
        PermissionDeniedError,
        ProjectFailedError,
        ProjectMayExistConnectionError,
        ProjectMayExistError,
        ProjectMayExistResponseError,
        ProjectMayExistServerError,
        ProjectMayExistStatusError,
        ProjectMayExistTimeoutError,
        ProjectTimeoutError,
        RateLimitError,
        StorageError,
        UnprocessableEntityError,
        UploadError,
        UploadUrlsMismatchError,
        WebhookInvalidHeaderError,
        WebhookMissingHeaderError,
        WebhookPayloadError,
        WebhookSignatureError,
        WebhookTimestampError,
        WebhookVerificationError,
    )
    from ._jobs.events import DownloadProgress, JobDone, JobEvent, ProjectStatus
    from ._upload.batch import UploadResult
    from ._upload.flow import UploadProgress
    from .batches import BatchItem, BatchJob, BatchSummary, BatchUpdate
    from .environment import Environment

_logging.getLogger("magic_hour").addHandler(_logging.NullHandler())

# Every public name is loaded on first access (PEP 562): `import magic_hour` imports neither httpx nor
# pydantic, so that what needs none of them (the `magic-hour` command's --help and --version, a
# subpackage such as magic_hour.testing's helpers) starts fast. `from magic_hour import Client` works
# as before; static checkers see the imports above.
_LAZY = {
    "ApiConnectionError": "magic_hour._exceptions",
    "ApiError": "magic_hour._exceptions",
    "ApiResponseValidationError": "magic_hour._exceptions",
    "ApiTimeoutError": "magic_hour._exceptions",
    "AsyncClient": "magic_hour._client",
    "AuthenticationError": "magic_hour._exceptions",
    "BadRequestError": "magic_hour._exceptions",
    "BatchItem": "magic_hour.batches",
    "BatchJob": "magic_hour.batches",
    "BatchSummary": "magic_hour.batches",
    "BatchUpdate": "magic_hour.batches",
    "BinaryResponse": "magic_hour._binary_response",
    "Client": "magic_hour._client",
    "ClientClosedError": "magic_hour._exceptions",
    "ConflictError": "magic_hour._exceptions",
    "DownloadConnectionError": "magic_hour._exceptions",
    "DownloadDecodingError": "magic_hour._exceptions",
    "DownloadError": "magic_hour._exceptions",
    "DownloadProgress": "magic_hour._jobs.events",
    "DownloadStatusError": "magic_hour._exceptions",
    "DownloadTimeoutError": "magic_hour._exceptions",
    "DownloadWriteError": "magic_hour._exceptions",
    "Environment": "magic_hour.environment",
    "InsecureTransportError": "magic_hour._exceptions",
    "InternalServerError": "magic_hour._exceptions",
    "InvalidFileError": "magic_hour._exceptions",
    "InvalidParameterError": "magic_hour._exceptions",
    "JobDone": "magic_hour._jobs.events",
    "JobEvent": "magic_hour._jobs.events",
    "JournalError": "magic_hour._exceptions",
    "JournalInUseError": "magic_hour._exceptions",
    "MagicHourError": "magic_hour._exceptions",
    "MissingFileError": "magic_hour._exceptions",
    "MissingTokenError": "magic_hour._exceptions",
    "MissingWebhookSecretError": "magic_hour._exceptions",
    "NOT_GIVEN": "magic_hour._core.config",
    "NotFoundError": "magic_hour._exceptions",
    "NotGiven": "magic_hour._core.config",
    "PaymentRequiredError": "magic_hour._exceptions",
    "PermissionDeniedError": "magic_hour._exceptions",
    "ProjectFailedError": "magic_hour._exceptions",
    "ProjectMayExistConnectionError": "magic_hour._exceptions",
    "ProjectMayExistError": "magic_hour._exceptions",
    "ProjectMayExistResponseError": "magic_hour._exceptions",
    "ProjectMayExistServerError": "magic_hour._exceptions",
    "ProjectMayExistStatusError": "magic_hour._exceptions",
    "ProjectMayExistTimeoutError": "magic_hour._exceptions",
    "ProjectStatus": "magic_hour._jobs.events",
    "ProjectTimeoutError": "magic_hour._exceptions",
    "RateLimitError": "magic_hour._exceptions",
    "RequestOptions": "magic_hour._core.request",
    "StorageError": "magic_hour._exceptions",
    "UnprocessableEntityError": "magic_hour._exceptions",
    "UploadError": "magic_hour._exceptions",
    "UploadProgress": "magic_hour._upload.flow",
    "UploadResult": "magic_hour._upload.batch",
    "UploadUrlsMismatchError": "magic_hour._exceptions",
    "WebhookInvalidHeaderError": "magic_hour._exceptions",
    "WebhookMissingHeaderError": "magic_hour._exceptions",
    "WebhookPayloadError": "magic_hour._exceptions",
    "WebhookSignatureError": "magic_hour._exceptions",
    "WebhookTimestampError": "magic_hour._exceptions",
    "WebhookVerificationError": "magic_hour._exceptions",
}


# The submodules the official package has loaded after `import magic_hour` (`magic_hour.types.models`
# without its own import), loaded here on first access instead.
_SUBMODULES = ("client", "environment", "helpers", "resources", "types")


def __getattr__(name: str) -> _Any:
    import importlib

    if name in _SUBMODULES:
        return importlib.import_module(f"magic_hour.{name}")  # the import sets the attribute too
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'magic_hour' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> _List[str]:
    return sorted(set(globals()) | set(__all__) | set(_SUBMODULES))


__all__ = [
    "NOT_GIVEN",
    "ApiConnectionError",
    "ApiError",
    "ApiResponseValidationError",
    "ApiTimeoutError",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "BatchItem",
    "BatchJob",
    "BatchSummary",
    "BatchUpdate",
    "BinaryResponse",
    "Client",
    "ClientClosedError",
    "ConflictError",
    "DownloadConnectionError",
    "DownloadDecodingError",
    "DownloadError",
    "DownloadProgress",
    "DownloadStatusError",
    "DownloadTimeoutError",
    "DownloadWriteError",
    "Environment",
    "InsecureTransportError",
    "InternalServerError",
    "InvalidFileError",
    "InvalidParameterError",
    "JobDone",
    "JobEvent",
    "JournalError",
    "JournalInUseError",
    "MagicHourError",
    "MissingFileError",
    "MissingTokenError",
    "MissingWebhookSecretError",
    "NotFoundError",
    "NotGiven",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "ProjectFailedError",
    "ProjectMayExistConnectionError",
    "ProjectMayExistError",
    "ProjectMayExistResponseError",
    "ProjectMayExistServerError",
    "ProjectMayExistStatusError",
    "ProjectMayExistTimeoutError",
    "ProjectStatus",
    "ProjectTimeoutError",
    "RateLimitError",
    "RequestOptions",
    "StorageError",
    "UnprocessableEntityError",
    "UploadError",
    "UploadProgress",
    "UploadResult",
    "UploadUrlsMismatchError",
    "WebhookInvalidHeaderError",
    "WebhookMissingHeaderError",
    "WebhookPayloadError",
    "WebhookSignatureError",
    "WebhookTimestampError",
    "WebhookVerificationError",
    "__version__",
]
