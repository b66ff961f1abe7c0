"""Bad input, by property: whatever a caller passes, the SDK answers with a result or a documented typed
error (:class:`~magic_hour.InvalidParameterError` and subclasses) raised before any request is sent;
never an exception from inside httpx, pydantic, the OS or the standard library.

Requests are mocked with respx (``assert_all_mocked``: an unexpected request fails the example), except
for timeouts, which only show their problems on a real socket (``test_random_timeouts_on_a_real_socket``).
Every property runs sync and async (the ``sdk`` fixture); example counts are modest for CI.
"""

from __future__ import annotations

import io
import json
import math
import os
import pathlib
import tempfile
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Tuple

import httpx
import pytest
import respx
from conftest import BASE_URL, TOKEN, UPLOAD_URLS_PATH, Flavor, presign_response
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from magic_hour import ApiTimeoutError, InvalidParameterError, MagicHourError, MissingTokenError
from magic_hour._extensions import ASSET_TYPES, EXTENSIONS, normalize_extension, type_for_extension
from magic_hour.testing import FakeMagicHour, FakeServer

pytestmark = [pytest.mark.anyio, pytest.mark.full]

# CI runs the same 60 examples per property every time (reproducible, fast). To hunt for more, run e.g.
# MAGIC_HOUR_FUZZ=2000 pytest tests/test_properties.py (random examples, that many per property).
_FUZZ = int(os.environ.get("MAGIC_HOUR_FUZZ", "0"))
PROPERTY = settings(
    max_examples=_FUZZ or 60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=not _FUZZ,
    database=None,
)
STORAGE = "https://videos.magichour.ai/"


class Wire:
    """The mocked API and storage of one example: what was sent, if anything."""

    def __init__(self, router: respx.MockRouter) -> None:
        self.presign = router.post(BASE_URL + UPLOAD_URLS_PATH).mock(side_effect=presign_response)
        self.put = router.put(url__startswith=STORAGE).respond(200)
        self.router = router

    @property
    def calls(self) -> int:
        return len(self.router.calls)


def wire() -> Any:
    return respx.mock(assert_all_mocked=True, assert_all_called=False)


async def outcome(sdk: Flavor, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Tuple[Any, Any]:
    """``(result, None)`` or ``(None, error)`` for a MagicHourError; anything else propagates (and fails)."""
    try:
        return await sdk.call(fn, *args, **kwargs), None
    except MagicHourError as exc:
        return None, exc


def assert_refused_before_sending(error: BaseException, w: Wire) -> None:
    assert isinstance(error, InvalidParameterError), f"{type(error).__name__}: {error}"
    assert w.calls == 0, "a request was sent before the input was refused"
    text = str(error)
    assert "allowed" in text and error.param, text  # says what is wrong and what is allowed


# --------------------------------------------------------------------------------------------------- items

TYPES = st.sampled_from([*ASSET_TYPES, "Video", "IMAGE", "", "gif", "document"])
KNOWN_EXTS = [e for exts in EXTENSIONS.values() for e in exts]
EXTS = st.one_of(
    st.sampled_from(KNOWN_EXTS),
    st.sampled_from(KNOWN_EXTS).map(lambda e: "." + e.upper()),
    st.sampled_from(KNOWN_EXTS).map(lambda e: f"  {e}\t"),
    st.sampled_from(
        ["", ".", "..mp4", "mp4.", "exe", "tar.gz", "mp4\x00", "\uff4d\uff50\uff14", "mp\u200b4", "🎬"]
    ),
    st.text(max_size=8),
)
JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.binary(max_size=8),
    st.text(max_size=8),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)
ITEM = st.one_of(
    st.fixed_dictionaries({"extension": EXTS, "type_": TYPES}),
    st.fixed_dictionaries({"extension": EXTS, "type": TYPES}),
    st.fixed_dictionaries({"extension": EXTS, "type_": TYPES, "type": TYPES}),
    st.fixed_dictionaries({"extension": st.one_of(EXTS, JUNK), "type_": st.one_of(TYPES, JUNK)}),
    st.dictionaries(
        st.one_of(
            st.sampled_from(["extension", "type_", "type", "name"]), st.text(max_size=4), st.integers()
        ),
        JUNK,
        max_size=3,
    ),
    JUNK,
)
VALID_ITEM = st.builds(
    lambda t, i, dot: {"extension": ("." if dot else "") + EXTENSIONS[t][i % len(EXTENSIONS[t])], "type_": t},
    st.sampled_from(ASSET_TYPES),
    st.integers(0, 10),
    st.booleans(),
)
ITEMS = st.one_of(
    st.lists(ITEM, max_size=5),
    st.lists(ITEM, max_size=5).map(tuple),
    st.lists(VALID_ITEM, min_size=1, max_size=5),
    st.builds(lambda item, n: [item] * n, VALID_ITEM, st.integers(500, 3000)),  # huge lists
    JUNK,
    st.sets(st.integers(), max_size=3),
    st.builds(lambda: iter([{"extension": "mp4", "type_": "video"}])),
)


def expected_items(items: Any) -> Optional[List[Dict[str, str]]]:
    """An independent oracle: the normalised wire items if ``items`` is valid, else ``None``."""
    if not isinstance(items, (list, tuple)) or not items:
        return None
    out = []
    for item in items:
        if not isinstance(item, Mapping) or any(k not in ("extension", "type_", "type") for k in item):
            return None
        if "type_" in item and "type" in item and item["type"] != item["type_"]:
            return None
        t = item["type_"] if "type_" in item else item.get("type")
        ext = item.get("extension")
        if not isinstance(t, str) or t not in ASSET_TYPES or not isinstance(ext, str):
            return None
        if normalize_extension(ext) not in EXTENSIONS[t]:  # type: ignore[index]
            return None
        out.append({"extension": normalize_extension(ext), "type": t})
    return out


@PROPERTY
@given(items=ITEMS)
@example(items=[{"extension": "mp4", "type_": "video"}] * 10_000)
@example(items=[{"extension": "\udcff", "type_": "video"}])
async def test_create_with_random_items(sdk: Flavor, items: Any) -> None:
    client = sdk.client()
    expected = expected_items(items)
    with wire() as router:
        w = Wire(router)
        result, error = await outcome(sdk, client.v1.files.upload_urls.create, items=items)
    if expected is None:
        assert error is not None, f"accepted invalid items {items!r}"
        assert_refused_before_sending(error, w)
    else:
        assert error is None, f"refused valid items: {error}"
        assert w.presign.call_count == 1
        assert json.loads(w.presign.calls.last.request.content) == {"items": expected}
        assert len(result.items) == len(expected)


# ---------------------------------------------------------------------------------------------- file inputs

NAME_CHARS = st.characters(
    codec="utf-8", categories=["L", "N", "P", "S", "Zs"], include_characters="\x00/\\.:é中🎬"
)
SUFFIXES = st.one_of(
    st.sampled_from(KNOWN_EXTS).map(lambda e: "." + e),
    st.sampled_from(KNOWN_EXTS).map(lambda e: "." + e.upper()),
    st.sampled_from(["", ".", ".exe", ".mp4.exe", ".tar.gz", ". mp4", ".mp4 "]),
)
NAMES = st.builds(lambda stem, suffix: stem + suffix, st.text(NAME_CHARS, max_size=12), SUFFIXES)
CONTENT = st.one_of(st.just(b""), st.binary(min_size=1, max_size=2048))


@st.composite
def file_specs(draw: Any) -> Dict[str, Any]:
    kind = draw(
        st.sampled_from(
            [
                "path",
                "pathlike",
                "bytes-path",
                "missing",
                "directory",
                "binary",
                "binary-seeked",
                "closed",
                "text",
                "stringio",
                "write-only",
                "bytesio",
                "unseekable",
                "unseekable-sized",
                "url",
                "api-assets",
                "junk",
                "long-name",
            ]
        )
    )
    return {
        "kind": kind,
        "name": draw(NAMES),
        "content": draw(CONTENT),
        "offset": draw(st.integers(0, 100)),
        "junk": draw(JUNK),
        "obj_name": draw(st.one_of(NAMES, st.none(), st.integers(), st.binary(max_size=4))),
    }


class Unseekable(io.RawIOBase):
    """A pipe-like stream; ``sized`` gives it a ``len()`` (so it can be uploaded, once)."""

    def __init__(self, data: bytes, name: Any, sized: bool) -> None:
        self._buf = io.BytesIO(data)
        self._sized = sized
        self.name = name

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, b: Any) -> int:
        data = self._buf.read(len(b))
        b[: len(data)] = data
        return len(data)

    def __len__(self) -> int:
        if not self._sized:
            raise TypeError("no len")
        return len(self._buf.getvalue())


class Built:
    """A file input built from a spec, the bytes an upload of it must send, and what to close after."""

    def __init__(self, value: Any, sent: Optional[bytes], closers: List[Any]) -> None:
        self.value = value
        self.sent = sent  # None: not uploadable as far as the test knows (no byte expectation)
        self.closers = closers


def _write(directory: str, name: str, content: bytes) -> Optional[str]:
    path = os.path.join(directory, name)
    try:
        with open(path, "wb") as f:
            f.write(content)
    except (OSError, ValueError):
        return None  # an impossible name (NUL, too long, a missing directory): passed on as is
    return path


def build(spec: Dict[str, Any], directory: str, from_current_position: Any = False) -> Built:
    """``from_current_position`` is the upload's argument: a seeked file sends only its tail with True."""
    kind, name, content = spec["kind"], spec["name"], spec["content"]
    if kind in ("path", "pathlike", "bytes-path"):
        path = _write(directory, name, content) or os.path.join(directory, name)
        value: Any = path
        if kind == "pathlike":
            value = pathlib.Path(path)
        elif kind == "bytes-path":
            value = os.fsencode(path)
        return Built(value, content, [])
    if kind == "long-name":
        return Built(os.path.join(directory, "x" * 300 + ".mp4"), None, [])
    if kind == "missing":
        return Built(os.path.join(directory, "missing", name), None, [])
    if kind == "directory":
        path = os.path.join(directory, "folder.mp4")
        os.makedirs(path, exist_ok=True)
        return Built(path, None, [])
    if kind in ("binary", "binary-seeked", "closed", "text", "write-only"):
        path = _write(directory, "f" + (os.path.splitext(name)[1] if "\x00" not in name else ".mp4"), content)
        if path is None:
            return Built(name, None, [])
        mode = {"text": "r", "write-only": "ab"}.get(kind, "rb")
        f: Any = open(path, mode)  # noqa: SIM115 (closed by the test)
        offset = min(spec["offset"], len(content)) if kind == "binary-seeked" else 0
        if kind == "binary-seeked":
            f.seek(offset)
        if kind == "closed":
            f.close()
        # Whole, from byte 0, whatever its position; from where it is only when the caller asks.
        return Built(f, content[offset:] if from_current_position is True else content, [f])
    if kind == "stringio":
        s = io.StringIO(content.decode("latin-1"))
        s.name = name  # type: ignore[misc]
        return Built(s, None, [s])
    if kind == "bytesio":
        b = io.BytesIO(content)
        if spec["obj_name"] is not None:
            b.name = spec["obj_name"]  # type: ignore[attr-defined]
        return Built(b, content, [b])
    if kind in ("unseekable", "unseekable-sized"):
        u = Unseekable(content, spec["obj_name"], sized=kind == "unseekable-sized")
        return Built(u, content, [u])
    if kind == "url":
        return Built("https://example.com/" + name, None, [])
    if kind == "api-assets":
        return Built("api-assets/" + name, None, [])
    return Built(spec["junk"], None, [])


def _close(built: List[Built]) -> None:
    for b in built:
        for c in b.closers:
            c.close()


TYPE_ARG = st.one_of(st.none(), st.sampled_from([*ASSET_TYPES, "Video", "doc", ""]), JUNK)
EXT_ARG = st.one_of(st.none(), EXTS, JUNK)
PROGRESS = st.sampled_from([None, "callable", "not-callable"])


def _progress(kind: Optional[str]) -> Any:
    return {None: None, "callable": lambda event: None, "not-callable": "print"}[kind]


def _check_upload(built: Built, result: str, w: Wire) -> None:
    if isinstance(built.value, str) and (built.value.startswith(("http", "api-assets/"))):
        assert result == built.value and w.calls == 0, "a URL or api-assets path is returned as is"
        return
    assert result.startswith("api-assets/")
    assert w.presign.call_count == 1 and w.put.call_count == 1
    put = w.put.calls.last.request
    assert "authorization" not in put.headers
    if built.sent is not None:
        assert put.content == built.sent, "the storage got other bytes than the file's"
        assert put.headers["content-length"] == str(len(built.sent))
    [item] = json.loads(w.presign.calls.last.request.content)["items"]
    assert type_for_extension(item["extension"]) is not None and item["extension"] in EXTENSIONS[item["type"]]


@PROPERTY
@given(
    spec=file_specs(),
    type_=TYPE_ARG,
    extension=EXT_ARG,
    progress=PROGRESS,
    from_current_position=st.one_of(st.booleans(), JUNK),
)
@example(
    spec={"kind": "path", "name": "a\x00b.mp4", "content": b"x", "offset": 0, "junk": None, "obj_name": None},
    type_=None,
    extension=None,
    progress=None,
    from_current_position=False,
)
@example(
    spec={"kind": "path", "name": "\udcff.mp4", "content": b"x", "offset": 0, "junk": None, "obj_name": None},
    type_=None,
    extension=None,
    progress=None,
    from_current_position=False,
)
async def test_upload_file_with_random_inputs(
    sdk: Flavor, spec: Dict[str, Any], type_: Any, extension: Any, progress: Any, from_current_position: Any
) -> None:
    client = sdk.client()
    with tempfile.TemporaryDirectory() as directory:
        built = build(spec, directory, from_current_position)
        try:
            with wire() as router:
                w = Wire(router)
                result, error = await outcome(
                    sdk,
                    client.v1.files.upload_file,
                    built.value,
                    type_=type_,
                    extension=extension,
                    on_progress=_progress(progress),
                    from_current_position=from_current_position,
                )
        finally:
            _close([built])
    if error is not None:
        assert_refused_before_sending(error, w)
        return
    assert progress != "not-callable", "a progress callback that is not callable was accepted"
    _check_upload(built, result, w)


@PROPERTY
@given(
    specs=st.lists(file_specs(), max_size=6),
    container=st.sampled_from(["list", "tuple", "generator", "str", "dict", "none"]),
    max_concurrency=st.one_of(st.integers(-2, 200), st.just(10**12), JUNK),
    progress=PROGRESS,
)
async def test_upload_files_with_random_inputs(
    sdk: Flavor, specs: List[Dict[str, Any]], container: str, max_concurrency: Any, progress: Any
) -> None:
    client = sdk.client()
    with tempfile.TemporaryDirectory() as directory:
        built = [build(s, directory) for s in specs]
        values = [b.value for b in built]
        files: Any = {
            "list": values,
            "tuple": tuple(values),
            "generator": (v for v in values),
            "str": os.path.join(directory, "a.mp4"),
            "dict": dict(enumerate(values)),
            "none": None,
        }[container]
        try:
            with wire() as router:
                w = Wire(router)
                result, error = await outcome(
                    sdk,
                    client.v1.files.upload_files,
                    files,
                    max_concurrency=max_concurrency,
                    on_progress=_progress(progress),
                )
        finally:
            _close(built)
    if error is not None:
        assert_refused_before_sending(error, w)
        return
    assert container in ("list", "tuple")
    assert isinstance(max_concurrency, int) and not isinstance(max_concurrency, bool) and max_concurrency >= 1
    assert progress != "not-callable" or not built
    assert len(result) == len(built)
    uploads = [
        b for b in built if not (isinstance(b.value, str) and b.value.startswith(("http", "api-assets/")))
    ]
    assert w.put.call_count == len(uploads)
    assert w.presign.call_count == (1 if uploads else 0)
    sent = sorted(c.request.content for c in w.put.calls)
    assert sent == sorted(b.sent for b in uploads if b.sent is not None) or any(
        b.sent is None for b in uploads
    )


# ------------------------------------------------------------------------------------------------- options

HEADER_TEXT = st.text(st.characters(codec="utf-8", categories=["L", "N", "P", "S", "Zs", "Cc"]), max_size=12)
TIMEOUTS = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-5, 10**15),
    st.sampled_from([0, 0.001, 1e-300, 1e12, 1e300, math.inf, -math.inf]),
    st.builds(httpx.Timeout, st.one_of(st.none(), st.floats(-1, 100))),
    JUNK,
)
RETRIES = st.one_of(st.integers(-3, 10**6), st.just(10**30), JUNK)
REQUEST_OPTIONS = st.one_of(
    st.none(),
    JUNK,
    st.fixed_dictionaries(
        {},
        optional={
            "timeout": TIMEOUTS,
            "max_retries": RETRIES,
            "additional_headers": st.one_of(
                st.dictionaries(HEADER_TEXT, st.one_of(HEADER_TEXT, JUNK), max_size=3), JUNK
            ),
            "additional_params": st.one_of(
                st.dictionaries(
                    HEADER_TEXT,
                    st.one_of(HEADER_TEXT, st.integers(), st.lists(st.integers(), max_size=2), JUNK),
                    max_size=3,
                ),
                JUNK,
            ),
            "retries": st.integers(),  # an unknown key
        },
    ),
)


@PROPERTY
@given(
    token=st.one_of(st.just(TOKEN), HEADER_TEXT, JUNK),
    timeout=TIMEOUTS,
    max_retries=RETRIES,
    default_headers=st.one_of(
        st.none(), st.dictionaries(HEADER_TEXT, st.one_of(HEADER_TEXT, JUNK), max_size=2), JUNK
    ),
    request_options=REQUEST_OPTIONS,
)
async def test_random_options(
    sdk: Flavor, token: Any, timeout: Any, max_retries: Any, default_headers: Any, request_options: Any
) -> None:
    with wire() as router:
        w = Wire(router)
        try:
            client = sdk.client(
                token=token, timeout=timeout, max_retries=max_retries, default_headers=default_headers
            )
        except MagicHourError as exc:
            assert_refused_before_sending(exc, w)
            return
        _, error = await outcome(
            sdk,
            client.v1.files.upload_urls.create,
            items=[{"extension": "png", "type_": "image"}],
            request_options=request_options,
        )
    if isinstance(error, MissingTokenError):  # no token, or a blank one
        assert (token is None or not token.strip()) and w.calls == 0
        return
    if error is not None:
        assert_refused_before_sending(error, w)
        return
    assert w.presign.call_count == 1
    sent = w.presign.calls.last.request
    assert sent.headers["authorization"] == f"Bearer {token.strip()}"
    for k, v in (request_options or {}).get("additional_headers", {}).items():
        assert sent.headers[k] == v


# Timeouts are numbers that reach the socket layer: only a real socket shows what an odd one does there.
REAL_TIMEOUTS = st.one_of(
    st.floats(min_value=1.0, allow_nan=False, allow_infinity=True),
    st.sampled_from([1e9, 1e12, 1e300, math.inf, 2**63, 10**20]),
    st.builds(
        httpx.Timeout,
        st.one_of(st.none(), st.floats(-5, 1e15)),
        connect=st.one_of(st.none(), st.floats(-5, 1e15)),
    ),
)


@pytest.fixture
def real_server() -> Iterator[FakeServer]:
    with FakeMagicHour(tokens=TOKEN).serve() as server:
        yield server


@settings(PROPERTY, max_examples=_FUZZ or 25)
@given(timeout=REAL_TIMEOUTS, where=st.sampled_from(["client", "request"]))
async def test_random_timeouts_on_a_real_socket(
    sdk: Flavor, real_server: FakeServer, timeout: Any, where: str
) -> None:
    sent_before = len(real_server.fake.requests)
    options = None
    client = None
    try:
        if where == "client":
            client = sdk.client(base_url=real_server.url, timeout=timeout, max_retries=0)
        else:
            client = sdk.client(base_url=real_server.url, max_retries=0)
            options = {"timeout": timeout}
        result, error = await outcome(
            sdk,
            client.v1.files.upload_urls.create,
            items=[{"extension": "png", "type_": "image"}],
            request_options=options,
        )
    except InvalidParameterError:
        result, error = None, InvalidParameterError("x", None, "y")
    finally:
        # Closed here: one left to the garbage collector warns about its socket in a later test.
        if client is not None:
            await sdk.close(client)
    if isinstance(error, InvalidParameterError):
        assert len(real_server.fake.requests) == sent_before, "refused after sending"
        fields = timeout.as_dict().values() if isinstance(timeout, httpx.Timeout) else [timeout]
        assert any(f is not None and not f > 0 for f in fields), f"a valid timeout was refused: {timeout}"
        return
    if isinstance(error, ApiTimeoutError):  # legitimate for a timeout of a few milliseconds
        fields = timeout.as_dict().values() if isinstance(timeout, httpx.Timeout) else [timeout]
        assert min(f for f in fields if f is not None) < 1.0, error
        return
    assert error is None, f"{type(error).__name__}: {error}"
    assert len(result.items) == 1


def test_the_strategies_reach_both_outcomes() -> None:
    """The oracle is not vacuous: the item strategy yields valid and invalid lists."""
    assert expected_items([{"extension": ".MP4", "type_": "video"}]) == [
        {"extension": "mp4", "type": "video"}
    ]
    assert expected_items([{"extension": "mp4", "type_": "audio"}]) is None
    assert expected_items([]) is None
    assert expected_items([{"extension": "mp4", "type": "video", "type_": "video"}]) is not None
