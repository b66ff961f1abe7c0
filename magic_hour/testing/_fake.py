"""``FakeMagicHour``: the fake's public face (state and knobs from ``_state``, plus its front-ends)."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any, Optional, Type

import httpx
from typing_extensions import Self

from ._exchange import TRANSPORT_BASE_URL
from ._server import FakeServer
from ._state import FakeState
from ._transport import FakeTransport
from ._webhooks import WebhookControls

if TYPE_CHECKING:
    from .. import AsyncClient, Client

__all__ = ["FakeMagicHour"]


class FakeMagicHour(FakeState, WebhookControls):
    """An in-memory Magic Hour API and object storage, for tests. Nothing leaves the process.

    It answers every operation of the API description shipped in the package
    (``magic_hour/_data/api.json``): bearer auth (401), bodies and query checked against the
    operation's schema (400/422 ``{"message": ...}`` naming the field), 200 shaped like the
    documented example with fresh ids. A POST that creates a project starts a :class:`Project`
    (``queued`` -> ``rendering`` -> ``complete`` on the fake's clock, see ``queue_seconds`` and
    ``render_seconds``; default: complete at once) whose outputs are real PNG/MP4/MP3 files at signed
    download URLs; ``GET``/``DELETE`` on its project path work (404 for other ids); lists with a
    ``cursor`` page through :meth:`seed`-ed items. Projects made before the test are added with
    :meth:`seed_project` (any id, kind, status, outputs, error) and moved with
    :meth:`set_project_status`; :meth:`on_project_change` tells of every status change. Webhooks:
    :meth:`add_webhook_endpoint` (a URL or your ASGI/WSGI app) gets signed events as projects start,
    complete or fail (none on cancel), retried with backoff; :attr:`webhook_deliveries` records them.
    ``mock_server=True`` behaves as the official SDK's hosted mock server (``Environment.MOCK_SERVER``):
    any token, and any project id answers (see :attr:`mock_server`). ``POST /v1/files/upload-urls`` hands out one signed
    upload URL per item, in order, and storage keeps the bytes PUT to them like S3 does
    (``Content-Length`` required, no chunked bodies, no ``Authorization`` header, signature and
    expiry checked, S3-style XML errors).

    Run it two ways, with the same behaviour (both share :meth:`begin_request`):

    * as an httpx transport, no sockets: :meth:`client` / :meth:`async_client` (a configured
      :class:`magic_hour.Client` / :class:`~magic_hour.AsyncClient`), :meth:`httpx_client`,
      :meth:`async_httpx_client` or :meth:`transport`. The API is at :attr:`base_url`
      (``https://api.magichour.test``), storage at ``https://storage.magichour.test``; any other
      host raises :class:`httpx.ConnectError`.
    * as a real HTTP/1.1 server on 127.0.0.1 in a background thread: :meth:`serve` returns a
      :class:`FakeServer` (a context manager) with ``.url``; storage is ``<url>/storage/...``.

    Args:
        tokens: the accepted API token, or several (default ``"test-token"``); others get 401.
        spool_dir: store uploaded files under this directory instead of memory
            (``StoredFile.path``); use it for big files.
        keep_content: keep the bytes of uploads in memory (default). With ``False`` and no
            ``spool_dir`` only size and SHA-256 are kept (for benchmarks).
        max_upload_size: storage answers 413 to a larger ``Content-Length`` (default 5 GiB).
        url_ttl: seconds an upload URL stays valid (default 3600).
        max_items: answer 422 when a request asks for more URLs than this (default: no limit).
        render_seconds, queue_seconds: how long a new project renders, and waits before that
            (default 0: complete at once); on the fake's clock (:meth:`advance_clock`).
        mock_server: behave as the hosted mock server of the official SDK (also an attribute).

    ``keep_content``, ``max_upload_size``, ``url_ttl``, ``max_items``, ``render_seconds``,
    ``queue_seconds``, ``output_size`` (bytes of each new output; default tiny) and ``ranges``
    (downloads honour ``Range``, default ``True``) are also
    attributes; change them at any time (``fake.max_upload_size = 10``). ``fake.token`` is the (first) accepted token.

    Inspection (all thread-safe, each returns a snapshot):
        :attr:`requests` (every :class:`RecordedRequest`), :meth:`requests_to` (one route:
        ``"upload_urls"``, ``"storage"``, ``"downloads"``, ``"image_projects.get"``..., ``"api"``),
        :attr:`projects` / :meth:`project` (every :class:`Project` created),
        :attr:`files` (``{file_path: StoredFile}``), :attr:`issued` (every :class:`IssuedUrl`).

    Fault knobs (each applies to the next matching requests, then disarms):
        :meth:`fail_next` (status, headers such as ``Retry-After``, body), :meth:`set_latency`,
        :meth:`expire_next_urls`, :meth:`advance_clock`, :meth:`drop_next_uploads`,
        :meth:`malformed_next_responses`, :meth:`wrong_item_count_next`,
        :meth:`end_next_projects` (``"error"`` / ``"canceled"``), :meth:`drop_next_downloads`;
        :meth:`reset_faults`
        and :meth:`reset` undo them. Storage failures and drops take ``per_file=True`` to hit the
        first N PUTs of each file (deterministic with concurrent uploads).

    Storage answers (S3-style ``<Error><Code>...</Code><Message>...</Message></Error>`` bodies):
        400 ``InvalidArgument`` when an ``Authorization`` header is sent; 400 ``IncompleteBody``
        when the body is shorter or longer than ``Content-Length``; 411 ``MissingContentLength``;
        501 ``NotImplemented`` for ``Transfer-Encoding: chunked``; 403 ``SignatureDoesNotMatch``
        for a tampered URL; 403 ``AccessDenied`` with message ``Request has expired`` for an
        expired one (test ``b"Request has expired" in response.content`` to tell expiry from
        other 403s); 413 ``EntityTooLarge``; 405 for methods other than PUT; 200 with an ``ETag``.

    Example::

        from magic_hour.testing import FakeMagicHour

        fake = FakeMagicHour()
        with fake.client() as client:
            res = client.v1.files.upload_urls.create(items=[{"extension": "mp4", "type_": "video"}])
        assert fake.requests[0].json == {"items": [{"extension": "mp4", "type": "video"}]}

        with FakeMagicHour().serve() as server:
            print(server.url)  # http://127.0.0.1:<port>
    """

    @property
    def base_url(self) -> str:
        """The API base URL for the transport mode (no sockets): ``https://api.magichour.test``.

        For the real server, use ``fake.serve().url``.
        """
        return TRANSPORT_BASE_URL

    def transport(self) -> FakeTransport:
        """An httpx transport (sync and async) that answers for :attr:`base_url` and the storage host."""
        return FakeTransport(self)

    def httpx_client(self, **kwargs: Any) -> httpx.Client:
        """An :class:`httpx.Client` wired to this fake (``kwargs`` go to httpx)."""
        return httpx.Client(transport=self.transport(), **kwargs)

    def async_httpx_client(self, **kwargs: Any) -> httpx.AsyncClient:
        """An :class:`httpx.AsyncClient` wired to this fake (``kwargs`` go to httpx)."""
        return httpx.AsyncClient(transport=self.transport(), **kwargs)

    def client(self, **kwargs: Any) -> Client:
        """A :class:`magic_hour.Client` talking to this fake through the transport (no sockets).

        ``kwargs`` go to ``Client`` (e.g. ``max_retries=0``); ``token`` defaults to :attr:`token`.
        """
        from .. import Client

        kwargs.setdefault("token", self.token)
        return Client(base_url=self.base_url, httpx_client=self.httpx_client(), **kwargs)

    def async_client(self, **kwargs: Any) -> AsyncClient:
        """A :class:`magic_hour.AsyncClient` talking to this fake through the transport (no sockets)."""
        from .. import AsyncClient

        kwargs.setdefault("token", self.token)
        return AsyncClient(base_url=self.base_url, httpx_client=self.async_httpx_client(), **kwargs)

    def serve(self, *, host: str = "127.0.0.1", port: int = 0) -> FakeServer:
        """Start a real HTTP/1.1 server for this fake in a background thread (port 0: any free port).

        Returns the running :class:`FakeServer`; use it as a context manager, or call ``.stop()``.
        """
        server = FakeServer(self, host=host, port=port)
        with self._lock:
            self._closers.append(server.stop)
        return server

    def close(self) -> None:
        """Stop every server started by :meth:`serve`."""
        with self._lock:
            closers, self._closers = self._closers, []
        for stop in closers:
            stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        spool = self.spool_dir
        return (
            f"FakeMagicHour(requests={len(self._requests)}, files={len(self._storage.files)}, "
            f"spool_dir={str(spool) if spool else None!r})"
        )
