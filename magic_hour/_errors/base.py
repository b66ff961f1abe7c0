"""The root of the error tree, and the errors about what the caller gave (before any request).

Import them from :mod:`magic_hour._exceptions` (or :mod:`magic_hour`): that module holds the tree.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple, Type

from .._redact import sanitized_state, short_repr

HOME = "magic_hour._exceptions"
"""The public home of every error class: tracebacks, reprs and pickles name it, whichever module of
``_errors`` defines the class and whichever import loaded it."""


def publish(*objects: Any) -> None:
    """Give each class (or pickle helper) :data:`HOME` as its module, as the split modules' classes had
    before the split, so that a pickle names a path every version can load."""
    for obj in objects:
        obj.__module__ = HOME


class MagicHourError(Exception):
    """Base class of every error raised by this SDK."""

    def __reduce__(self) -> Tuple[Any, ...]:
        # Subclasses take keyword-only or no arguments, so the default (``cls(*args)``) cannot rebuild
        # them: an error crossing a process boundary (ProcessPoolExecutor, multiprocessing) would turn
        # into a TypeError. Rebuild from the message and attributes instead, without ``__init__``.
        # Requests and responses are replaced by copies without credentials (the Authorization header,
        # a signed query): a pickle goes to other processes, queues and disks.
        return (rebuild_error, (type(self), self.args, sanitized_state(self.__dict__)))


def rebuild_error(cls: Type[MagicHourError], args: Tuple[Any, ...], state: Dict[str, Any]) -> MagicHourError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


rebuild_error.__qualname__ = "_rebuild_error"  # pickles name magic_hour._exceptions._rebuild_error


class InvalidParameterError(MagicHourError, ValueError):
    """A parameter has a value the API does not accept. Raised before any request is sent.

    ``param`` names the parameter (``"items[1].extension"``), ``value`` is what was given and
    ``allowed`` describes what is accepted.
    """

    _shown_limit = 80
    """How much of ``value`` the message shows (a huge value must not make a huge message)."""

    def __init__(self, param: str, value: object, allowed: str, *, reason: Optional[str] = None) -> None:
        self.param = param
        self.value = value
        self.allowed = allowed
        self.reason = reason
        why = f" ({reason})" if reason else ""
        super().__init__(f"invalid {param}: {short_repr(value, self._shown_limit)}{why}; allowed: {allowed}")


class InvalidFileError(InvalidParameterError):
    """A file given to ``upload_file``/``upload_files`` cannot be uploaded (named in the message)."""

    _shown_limit = 4096  # the user's own path, whole (PATH_MAX), so they can tell which file it is


class MissingFileError(InvalidFileError, FileNotFoundError):
    """The path given to ``upload_file``/``upload_files`` does not exist (or is a symlink to nothing).

    Also a :class:`FileNotFoundError` whose message starts as the official SDK's (``File not found:
    <path>``). ``errno`` and ``filename`` stay ``None``, as there, so that ``str()`` is that message.
    """

    def __init__(self, path: str, *, param: str = "file") -> None:
        super().__init__(param, path, "a path to an existing file", reason="no such file")
        shown = path if path.isprintable() else repr(path)
        self.args = (f"File not found: {shown}; allowed: a path to an existing file",)

    def __reduce__(self) -> Tuple[Any, ...]:
        # Rebuilt by its constructor: an OSError subclass cannot be made by the generic rebuild's
        # ``cls.__new__(cls)``. Its state is the path and plain strings, nothing secret.
        return (type(self), (self.value,), dict(self.__dict__))


class MissingTokenError(MagicHourError):
    """No API token: pass ``token=`` or set ``MAGIC_HOUR_API_TOKEN``."""

    def __init__(self) -> None:
        super().__init__(
            "no API token: pass Client(token=...) or set the MAGIC_HOUR_API_TOKEN environment variable"
        )


class InsecureTransportError(MagicHourError):
    """The token would travel in clear text over ``http://`` to a host that is not loopback."""


class ClientClosedError(MagicHourError, RuntimeError):
    """The client (or the ``httpx_client`` it was lent) was used after it was closed."""

    def __init__(self, message: str = "") -> None:
        super().__init__(
            message
            or "this client is closed: make a new Client, or keep using it inside `with Client() as client:`"
        )


publish(
    rebuild_error,
    MagicHourError,
    InvalidParameterError,
    InvalidFileError,
    MissingFileError,
    MissingTokenError,
    InsecureTransportError,
    ClientClosedError,
)
