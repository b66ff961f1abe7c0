"""``FakeState``: what the fake knows (config, records, storage) and how it routes a request.

The front-ends (``_transport``, ``_server``) depend on this module; it depends on neither.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import httpx

from .._exceptions import InvalidParameterError
from ._api import Api, Router, seed_items
from ._exchange import DEFAULT_TOKEN, Exchange
from ._faults import Faults
from ._knobs import FIXED_ROUTES, FaultKnobs, Route
from ._projects import ProjectControls, ProjectStore
from ._records import IssuedUrl, RecordedRequest, StoredFile
from ._spec import load_spec
from ._storage import Storage, UploadUrls

__all__ = ["DEFAULT_MAX_UPLOAD_SIZE", "DEFAULT_URL_TTL", "FakeState"]

DEFAULT_MAX_UPLOAD_SIZE = 5 * 1024**3  # a single S3 PUT can hold up to 5 GiB
DEFAULT_URL_TTL = 3600.0


def _check_seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise InvalidParameterError(name, value, "a number of seconds >= 0")
    return float(value)


def _check_positive(name: str, value: object, allowed: str, *, integer: bool = False) -> None:
    ok_types = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, ok_types) or not value > 0:
        raise InvalidParameterError(name, value, allowed)


class FakeState(ProjectControls, FaultKnobs):
    """The fake's state, inspection and request routing (see :class:`FakeMagicHour` for the docs)."""

    def __init__(
        self,
        *,
        tokens: Union[str, Iterable[str]] = DEFAULT_TOKEN,
        spool_dir: Union[str, os.PathLike[str], None] = None,
        keep_content: bool = True,
        max_upload_size: int = DEFAULT_MAX_UPLOAD_SIZE,
        url_ttl: float = DEFAULT_URL_TTL,
        max_items: Optional[int] = None,
        render_seconds: float = 0.0,
        queue_seconds: float = 0.0,
        mock_server: bool = False,
    ) -> None:
        token_list = [tokens] if isinstance(tokens, str) else list(tokens)
        if not token_list or not all(isinstance(t, str) and t for t in token_list):
            raise InvalidParameterError("tokens", "<not shown>", "a non-empty string or list of strings")
        _check_positive("max_upload_size", max_upload_size, "an integer > 0 (bytes)", integer=True)
        _check_positive("url_ttl", url_ttl, "a number of seconds > 0")
        if max_items is not None:
            _check_positive("max_items", max_items, "an integer > 0, or None", integer=True)
        _check_seconds("render_seconds", render_seconds)
        _check_seconds("queue_seconds", queue_seconds)
        self._tokens = tuple(token_list)
        spool = Path(spool_dir) if spool_dir is not None else None
        if spool is not None:
            spool.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._clock_offset = 0.0
        self._faults = Faults()
        self._requests: List[RecordedRequest] = []
        self._closers: List[Callable[[], None]] = []  # stop() of the servers started by serve()
        self._storage = Storage(
            self._lock,
            lambda: self._faults,
            self.now,
            spool_dir=spool,
            keep_content=bool(keep_content),
            max_upload_size=max_upload_size,
            url_ttl=float(url_ttl),
        )
        self._upload_urls = UploadUrls(self._storage, self._lock, lambda: self._faults, max_items)
        spec = load_spec()
        self._projects = ProjectStore(spec, self._storage, self._lock)
        self._projects.mock_server = bool(mock_server)
        self._api = Api(
            spec,
            self._tokens,
            self._storage,
            self._upload_urls,
            self._lock,
            lambda: self._faults,
            self._projects,
        )
        self._api.render_seconds, self._api.queue_seconds = float(render_seconds), float(queue_seconds)
        self._routes = tuple(sorted({*FIXED_ROUTES, *spec.routes}))
        self._router = Router(self._api, self._storage, self._lock, lambda: self._faults, self._requests)

    # ------------------------------------------------------------------ configuration

    @property
    def token(self) -> str:
        """The (first) accepted API token."""
        return self._tokens[0]

    @property
    def tokens(self) -> Tuple[str, ...]:
        """Every accepted API token."""
        return self._tokens

    @property
    def spool_dir(self) -> Optional[Path]:
        """Where uploaded files are written, if spooling."""
        return self._storage.spool_dir

    @property
    def keep_content(self) -> bool:
        """Keep the bytes of uploads in memory (when not spooling)."""
        return self._storage.keep_content

    @keep_content.setter
    def keep_content(self, value: bool) -> None:
        self._storage.keep_content = bool(value)

    @property
    def max_upload_size(self) -> int:
        """Storage answers 413 to a larger ``Content-Length``."""
        return self._storage.max_upload_size

    @max_upload_size.setter
    def max_upload_size(self, value: int) -> None:
        self._storage.max_upload_size = value

    @property
    def url_ttl(self) -> float:
        """Seconds an upload URL stays valid."""
        return self._storage.url_ttl

    @url_ttl.setter
    def url_ttl(self, value: float) -> None:
        self._storage.url_ttl = float(value)

    @property
    def max_items(self) -> Optional[int]:
        """``upload-urls`` answers 422 when asked for more URLs than this (``None``: no limit)."""
        return self._upload_urls.max_items

    @max_items.setter
    def max_items(self, value: Optional[int]) -> None:
        self._upload_urls.max_items = value

    @property
    def ranges(self) -> bool:
        """Downloads honour ``Range`` (206, ``Accept-Ranges: bytes``); ``False``: always the whole 200."""
        return self._storage.ranges

    @ranges.setter
    def ranges(self, value: bool) -> None:
        self._storage.ranges = bool(value)

    @property
    def output_size(self) -> Optional[int]:
        """Bytes of each output file of new projects (``None``: tiny; valid PNG/MP4/MP3 either way)."""
        return self._projects.output_size

    @output_size.setter
    def output_size(self, value: Optional[int]) -> None:
        if value is not None:
            _check_positive("output_size", value, "an integer > 0 (bytes), or None (tiny)", integer=True)
        self._projects.output_size = value

    @property
    def echo_inputs(self) -> bool:
        """New projects output their first uploaded input of the output's kind (the bytes a test
        uploaded come back as the result), where there is one; default ``False``: made-up media."""
        return self._api.echo_inputs

    @echo_inputs.setter
    def echo_inputs(self, value: bool) -> None:
        self._api.echo_inputs = bool(value)

    @property
    def render_seconds(self) -> float:
        """How long a new project stays ``rendering`` (after ``queue_seconds``) on the fake's clock."""
        return self._api.render_seconds

    @render_seconds.setter
    def render_seconds(self, value: float) -> None:
        self._api.render_seconds = _check_seconds("render_seconds", value)

    @property
    def queue_seconds(self) -> float:
        """How long a new project stays ``queued`` on the fake's clock."""
        return self._api.queue_seconds

    @queue_seconds.setter
    def queue_seconds(self, value: float) -> None:
        self._api.queue_seconds = _check_seconds("queue_seconds", value)

    # ------------------------------------------------------------------ inspection

    @property
    def requests(self) -> List[RecordedRequest]:
        """Every request received, oldest first (a snapshot)."""
        with self._lock:
            return list(self._requests)

    def requests_to(self, route: Route) -> List[RecordedRequest]:
        """The requests of one route (``"upload_urls"``, ``"storage"``, ``"downloads"``,
        ``"image_projects.get"``...; ``"api"``: every API operation)."""
        self._check_route(route)
        with self._lock:
            if route == "api":
                return [r for r in self._requests if r.operation is not None]
            return [r for r in self._requests if r.route == route]

    def seed(
        self, route: Route, items: Optional[Sequence[Any]] = None, *, count: Optional[int] = None
    ) -> List[Any]:
        """Add items to a paginated list (``"saved_items.list"``): ``items`` as given, or ``count``
        items built from the documented example (fresh ids; enum fields take each value in turn).
        Returns the added items; the list pages them (``limit``, ``next_cursor``) in this order."""
        self._check_route(route)
        added = seed_items(self._api.spec, route, items, count)
        with self._lock:
            self._api.seeded.setdefault(route, []).extend(added)
        return added

    @property
    def files(self) -> Dict[str, StoredFile]:
        """The stored files by ``file_path`` (a snapshot)."""
        with self._lock:
            return dict(self._storage.files)

    def file(self, file_path: str) -> StoredFile:
        """The stored file at ``file_path``; raises :class:`KeyError` naming what is stored."""
        with self._lock:
            files = self._storage.files
            try:
                return files[file_path]
            except KeyError:
                raise KeyError(f"{file_path!r} is not stored; stored: {sorted(files)}") from None

    @property
    def issued(self) -> List[IssuedUrl]:
        """Every upload URL handed out, oldest first."""
        with self._lock:
            return list(self._storage.issued)

    def now(self) -> float:
        """The fake's clock (``time.time()`` moved by :meth:`advance_clock`)."""
        return time.time() + self._clock_offset

    def advance_clock(self, seconds: float) -> None:
        """Move the fake's clock forward: URLs issued earlier expire, and projects move on, as if that
        time had passed."""
        super().advance_clock(seconds)
        self._projects.flush()

    def reset(self) -> None:
        """Forget requests, issued URLs, stored files, projects and seeded items; disarm every knob."""
        with self._lock:
            self._faults = Faults()
            self._requests.clear()
            self._storage.files.clear()
            self._storage.issued.clear()
            self._storage.outputs.clear()
            self._projects.clear()
            self._api.seeded.clear()
            self._clock_offset = 0.0

    # ------------------------------------------------------------------ the handler

    def begin_request(
        self,
        method: str,
        url: str,
        headers: Union[httpx.Headers, Iterable[Tuple[str, str]]],
        *,
        storage_base: str,
        api_base: str = "",
    ) -> Exchange:
        """Start handling a request (for front-ends; tests don't need this).

        ``url`` is the absolute URL as the client sent it, ``storage_base`` the URL prefix under which
        this front-end serves storage (upload URLs are issued under it), ``api_base`` the URL under
        which it serves the API when that has a path (the hosted mock server's URL).
        """
        self._projects.flush()  # changes the clock made since the last request, told before this one
        return self._router.begin(method, url, headers, storage_base, api_base)
