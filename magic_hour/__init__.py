"""The Magic Hour API: ``Client`` and ``AsyncClient``.

from magic_hour import Client

client = Client()  # token from $MAGIC_HOUR_API_TOKEN
res = client.v1.files.upload_urls.create(items=[{"extension": "mp4", "type_": "video"}])
"""

import logging as _logging
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from ._binary_response import BinaryResponse
from ._client import AsyncClient, Client
from ._core.request import NOT_GIVEN, NotGiven, RequestOptions
from ._exceptions import (
    ApiConnectionError,
    ApiError,
    ApiResponseValidationError,
    ApiTimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ConflictError,
    DownloadError,
    DownloadWriteError,
    InsecureTransportError,
    InternalServerError,
    InvalidFileError,
    InvalidParameterError,
    MagicHourError,
    MissingFileError,
    MissingTokenError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    ProjectFailedError,
    ProjectTimeoutError,
    RateLimitError,
    StorageError,
    UnprocessableEntityError,
    UploadError,
    UploadUrlsMismatchError,
)
from ._version import __version__
from .environment import Environment

if _TYPE_CHECKING:
    from ._jobs.events import DownloadProgress, JobDone, JobEvent, ProjectStatus
    from ._upload.flow import UploadProgress
    from ._upload.results import UploadResult

_logging.getLogger("magic_hour").addHandler(_logging.NullHandler())

# Loaded on first access, with the upload engine, so that `import magic_hour` stays cheap.
_LAZY = {
    "UploadProgress": "magic_hour._upload.flow",
    "UploadResult": "magic_hour._upload.results",
    "DownloadProgress": "magic_hour._jobs.events",
    "JobDone": "magic_hour._jobs.events",
    "JobEvent": "magic_hour._jobs.events",
    "ProjectStatus": "magic_hour._jobs.events",
}


def __getattr__(name: str) -> _Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'magic_hour' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "NOT_GIVEN",
    "ApiConnectionError",
    "ApiError",
    "ApiResponseValidationError",
    "ApiTimeoutError",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "BinaryResponse",
    "Client",
    "ClientClosedError",
    "ConflictError",
    "DownloadError",
    "DownloadProgress",
    "DownloadWriteError",
    "Environment",
    "InsecureTransportError",
    "InternalServerError",
    "InvalidFileError",
    "InvalidParameterError",
    "JobDone",
    "JobEvent",
    "MagicHourError",
    "MissingFileError",
    "MissingTokenError",
    "NotFoundError",
    "NotGiven",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "ProjectFailedError",
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
    "__version__",
]
