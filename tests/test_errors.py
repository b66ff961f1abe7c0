"""Every error status becomes its typed exception, with the body, response and request id kept."""

from __future__ import annotations

import pickle
from typing import Any, List, Type

import httpx
import pytest
import respx
from conftest import SEED_RESPONSE, TOKEN, UPLOAD_URLS_PATH, Flavor, assert_no_secret

from magic_hour import (
    ApiConnectionError,
    ApiError,
    ApiResponseValidationError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    InvalidFileError,
    InvalidParameterError,
    MagicHourError,
    MissingTokenError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)

pytestmark = pytest.mark.anyio

STATUS_ERRORS = [
    (400, BadRequestError),
    (401, AuthenticationError),
    (402, PaymentRequiredError),
    (403, PermissionDeniedError),
    (404, NotFoundError),
    (409, ConflictError),
    (422, UnprocessableEntityError),
    (429, RateLimitError),
    (500, InternalServerError),
    (502, InternalServerError),
    (503, InternalServerError),
    (504, InternalServerError),
    (418, ApiError),  # not mapped: the plain ApiError
    (405, ApiError),
]


async def raised(sdk: Flavor, **client_kwargs: Any) -> Any:
    client_kwargs.setdefault("max_retries", 0)
    with pytest.raises(MagicHourError) as info:
        await sdk.create(sdk.client(**client_kwargs))
    return info.value


@pytest.mark.parametrize(("status", "cls"), STATUS_ERRORS, ids=[str(s) for s, _ in STATUS_ERRORS])
async def test_each_status_raises_its_exception(
    sdk: Flavor, api: respx.MockRouter, status: int, cls: Type[ApiError]
) -> None:
    body = {"message": "The request could not be processed", "code": "E42"}
    api.post(UPLOAD_URLS_PATH).respond(status, json=body, headers={"x-request-id": "req_8f2a"})

    err = await raised(sdk)

    assert type(err) is cls
    assert isinstance(err, ApiError)
    assert err.status_code == status
    assert err.body == body
    assert isinstance(err.response, httpx.Response)
    assert err.response.status_code == status
    assert err.request_id == "req_8f2a"
    text = str(err)
    assert "The request could not be processed" in text
    assert str(status) in text
    assert "req_8f2a" in text
    assert_no_secret(text, repr(err))


@pytest.mark.parametrize(("status", "cls"), STATUS_ERRORS, ids=[str(s) for s, _ in STATUS_ERRORS])
async def test_error_statuses_are_not_swallowed_by_retries(
    sdk: Flavor, api: respx.MockRouter, sleeps: Any, status: int, cls: Type[ApiError]
) -> None:
    """With the default retries, the final answer is still the typed error (retried or not)."""
    api.post(UPLOAD_URLS_PATH).respond(status, json={"message": "nope"})
    err = await raised(sdk, max_retries=2)
    assert type(err) is cls
    assert err.status_code == status


async def test_html_error_body(sdk: Flavor, api: respx.MockRouter) -> None:
    html = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
    api.post(UPLOAD_URLS_PATH).respond(502, text=html, headers={"content-type": "text/html"})

    err = await raised(sdk)

    assert type(err) is InternalServerError
    assert err.body == html  # kept as received
    assert err.request_id is None
    assert str(err) == "502: Bad Gateway"  # a short summary, not a page of markup


TEXT_CHARSETS = [("latin-1", "café"), ("cp1252", "café"), ("utf-16", "café"), ("shift_jis", "カフェ")]
# Binary transforms (bytes to bytes, or str to str for rot13), a name that is no codec, and text codecs
# that cannot decode with errors="replace" (idna, punycode): the body is read as UTF-8 instead.
NOT_TEXT_CHARSETS = [
    "hex",
    "base64",
    "zlib",
    "bz2",
    "rot13",
    "quopri",
    "uu",
    "no-such-codec",
    "idna",
    "punycode",
]


@pytest.mark.parametrize(("charset", "text"), TEXT_CHARSETS)
async def test_an_error_body_is_read_in_its_declared_charset(
    sdk: Flavor, api: respx.MockRouter, charset: str, text: str
) -> None:
    body = f"{text} is closed".encode(charset)
    api.post(UPLOAD_URLS_PATH).respond(
        503, content=body, headers={"content-type": f"text/plain; charset={charset}"}
    )
    err = await raised(sdk)
    assert err.body == f"{text} is closed"


@pytest.mark.parametrize("charset", NOT_TEXT_CHARSETS)
async def test_an_error_body_in_a_charset_that_is_no_text_encoding_is_read_as_utf8(
    sdk: Flavor, api: respx.MockRouter, charset: str
) -> None:
    body = "café \u00ff".encode() + b" \xff"
    api.post(UPLOAD_URLS_PATH).respond(
        503, content=body, headers={"content-type": f"text/plain; charset={charset}"}
    )
    err = await raised(sdk)
    assert err.body == "café \u00ff \ufffd"


@pytest.mark.parametrize(
    ("status", "content", "expected"),
    [
        (404, b"", "404: Not Found"),
        (400, b"the extension is not allowed", "400: the extension is not allowed"),
        (422, b'{"error": "items must not be empty"}', "422: items must not be empty"),
        (422, b'{"detail": "bad"}', "422: bad"),
        (400, b'{"message": ""}', "400: Bad Request"),
        (400, b'["a", "list"]', "400: Bad Request"),
        (400, b"x" * 1000, "400: " + "x" * 297 + "..."),  # long bodies are cut (and say so)
    ],
)
async def test_error_message_from_the_body(
    sdk: Flavor, api: respx.MockRouter, status: int, content: bytes, expected: str
) -> None:
    api.post(UPLOAD_URLS_PATH).respond(status, content=content)
    err = await raised(sdk)
    assert str(err) == expected
    assert err.message == expected.split(": ", 1)[1]


async def test_body_of_an_error_is_none_when_empty(sdk: Flavor, api: respx.MockRouter) -> None:
    api.post(UPLOAD_URLS_PATH).respond(404)
    err = await raised(sdk)
    assert err.body is None


async def test_a_token_echoed_by_the_server_is_redacted_from_the_message(
    sdk: Flavor, api: respx.MockRouter
) -> None:
    api.post(UPLOAD_URLS_PATH).respond(401, json={"message": f"invalid token {TOKEN}"})
    err = await raised(sdk)
    assert type(err) is AuthenticationError
    assert str(err) == "401: invalid token <redacted>"
    assert_no_secret(str(err), repr(err), err.message)
    assert err.body == {"message": f"invalid token {TOKEN}"}  # the body is data: kept as received


@pytest.mark.parametrize(
    ("content", "body", "in_message"),
    [
        (b"not json at all", "not json at all", "<body>"),
        (b'{"items": [', '{"items": [', "<body>"),
        (b"", None, "<body>"),
        (b'{"items": "nope"}', {"items": "nope"}, "items"),
        (b"[]", [], "<body>"),
        (
            b'{"items": [{"file_path": "a", "upload_url": "https://s/a"}]}',
            {"items": [{"file_path": "a", "upload_url": "https://s/a"}]},
            "items.0.expires_at",
        ),
        (
            b'{"items": [{"expires_at": 5, "file_path": "a", "upload_url": "u"}]}',
            {"items": [{"expires_at": 5, "file_path": "a", "upload_url": "u"}]},
            "items.0.expires_at",
        ),
    ],
)
async def test_a_2xx_that_does_not_fit_the_model(
    sdk: Flavor, api: respx.MockRouter, content: bytes, body: Any, in_message: str
) -> None:
    api.post(UPLOAD_URLS_PATH).respond(200, content=content, headers={"x-request-id": "req_1"})

    err = await raised(sdk)

    assert type(err) is ApiResponseValidationError
    assert isinstance(err, ApiError)
    assert err.status_code == 200
    assert err.body == body
    assert err.request_id == "req_1"
    assert err.response.content == content
    assert "V1FilesUploadUrlsCreateResponse" in str(err)
    assert in_message in str(err)


async def test_a_2xx_is_not_retried_even_when_invalid(
    sdk: Flavor, api: respx.MockRouter, sleeps: Any
) -> None:
    route = api.post(UPLOAD_URLS_PATH).respond(200, content=b"oops")
    with pytest.raises(ApiResponseValidationError):
        await sdk.create(sdk.client())
    assert route.call_count == 1
    assert sleeps == []


async def test_other_2xx_statuses_are_success(sdk: Flavor, api: respx.MockRouter) -> None:
    api.post(UPLOAD_URLS_PATH).respond(201, json=SEED_RESPONSE)
    res = await sdk.create(sdk.client())
    assert len(res.items) == 2


async def test_a_redirect_is_an_error_not_followed(sdk: Flavor, api: respx.MockRouter) -> None:
    """The token must not follow a redirect to wherever it points."""
    route = api.post(UPLOAD_URLS_PATH).respond(307, headers={"location": "https://evil.example/steal"})
    err = await raised(sdk)
    assert type(err) is ApiError
    assert err.status_code == 307
    assert route.call_count == 1


def test_error_tree() -> None:
    for cls in (
        BadRequestError,
        AuthenticationError,
        PaymentRequiredError,
        PermissionDeniedError,
        NotFoundError,
        ConflictError,
        UnprocessableEntityError,
        RateLimitError,
        InternalServerError,
        ApiResponseValidationError,
    ):
        assert issubclass(cls, ApiError)
    assert issubclass(ApiError, MagicHourError)
    assert issubclass(ApiConnectionError, MagicHourError)
    assert not issubclass(ApiConnectionError, ApiError)


async def test_errors_survive_pickling(sdk: Flavor, api: respx.MockRouter, sleeps: Any) -> None:
    """Errors cross process boundaries (ProcessPoolExecutor pickles them) with their attributes."""
    route = api.post(UPLOAD_URLS_PATH)
    errors: List[MagicHourError] = []
    for outcome in (
        httpx.Response(404, json={"message": "gone"}, headers={"x-request-id": "r1"}),
        httpx.Response(200, content=b"not json"),
        httpx.ConnectError("refused"),
    ):
        route.mock(side_effect=[outcome])
        with pytest.raises(MagicHourError) as info:
            await sdk.create(sdk.client(max_retries=0))
        errors.append(info.value)
    with pytest.raises(MagicHourError) as info:
        await sdk.create(sdk.client(), items=[{"extension": "exe", "type_": "video"}])
    errors.append(info.value)
    with pytest.raises(MagicHourError) as info:
        await sdk.create(sdk.client(token=None))
    errors.append(info.value)

    assert [type(e) for e in errors] == [
        NotFoundError,
        ApiResponseValidationError,
        ApiConnectionError,
        InvalidParameterError,
        MissingTokenError,
    ]
    for err in errors:
        copy = pickle.loads(pickle.dumps(err))
        assert type(copy) is type(err)
        assert str(copy) == str(err)
        assert vars(copy).keys() == vars(err).keys()
    not_found = pickle.loads(pickle.dumps(errors[0]))
    assert (not_found.status_code, not_found.body, not_found.request_id) == (404, {"message": "gone"}, "r1")
    assert not_found.response.status_code == 404
    bad_input = pickle.loads(pickle.dumps(errors[3]))
    assert (bad_input.param, bad_input.value) == ("items[0].extension", "exe")


async def test_a_long_value_is_shown_by_both_ends_and_a_file_path_whole(sdk: Flavor, tmp_path: Any) -> None:
    client = sdk.client(token=TOKEN)
    with pytest.raises(InvalidParameterError) as info:  # refused before any request
        await sdk.call(client.v1.image_projects.get, id="p" * 100 + "/../the-end")
    shown = str(info.value)
    assert "'ppp" in shown and "/../the-end'" in shown and "..." in shown  # cut in the middle, both ends kept
    assert len(shown) < 300
    bare = tmp_path / ("d" * 120) / "recording"  # no extension: refused before any request
    bare.parent.mkdir()
    bare.write_bytes(b"ID3")
    with pytest.raises(InvalidFileError) as file_info:
        await sdk.call(client.v1.files.upload_file, bare)
    assert repr(str(bare)) in str(file_info.value)
