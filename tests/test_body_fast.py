"""The compiled fast path of the body (``_core/compiled.py``) against the generic checker (``to_wire``).

The fast path may only accept: whatever it accepts, the checker accepts too, and the JSON it sends is the
value the checker's ``json.dumps`` sends; whatever else goes to the checker, whose refusals (and their
messages) are therefore unchanged. Checked by property over every operation's body schema, with bodies
that are mostly valid and mutated at random (wrong JSON types, missing and unknown keys, wire names,
``None``, tuples, subclasses, big integers, floats, odd text).
"""

from __future__ import annotations

import enum
import importlib
import json
import os
import pkgutil
import sys
from typing import Any, Dict, List, Tuple

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import magic_hour.resources
from magic_hour import InvalidParameterError
from magic_hour._core.body import Endpoint, to_wire
from magic_hour._core.config import NOT_GIVEN
from magic_hour._core.request import ApiRequest
from magic_hour._core.schema import STR, Arr, Obj, Scalar, Schema
from magic_hour._extensions import EXTENSIONS


def _endpoints() -> Dict[str, Endpoint]:
    found: Dict[str, Endpoint] = {}
    for info in pkgutil.walk_packages(magic_hour.resources.__path__, "magic_hour.resources."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, Endpoint) and value.body is not None:
                found[f"{info.name.rsplit('.', 1)[0]}.{name}"] = value
    return found


ENDPOINTS = _endpoints()


class Colour(str, enum.Enum):
    RED = "red"


class Count(enum.IntEnum):
    ONE = 1


class Text(str):
    pass


_EXTS = sorted({e for exts in EXTENSIONS.values() for e in exts})
_ODD: List[Any] = [None, NOT_GIVEN, 1, 0, 2**70, 10**5000, 1.5, 2.0, float("nan"), float("-inf"), True, "s"]
_ODD += ["", (), [], {}, ("a",)]
_ODD += [b"x", Colour.RED, Count.ONE, Text("t"), {"k": 1}, [1], object()]
_TEXT = st.one_of(
    st.text(max_size=6),
    st.sampled_from(["a", 'é\u2028\x00\x1f\x7f"\\/', "\ud800", Colour.RED, Text("t")]),
    st.sampled_from(_EXTS + [e.upper() for e in _EXTS] + ["." + e for e in _EXTS] + ["exe", "video"]),
    st.sampled_from(["video", "audio", "image", "gif", "Video"]),
)
_JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=3)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=2),
        st.tuples(inner),
        st.dictionaries(st.one_of(st.text(max_size=2), st.integers()), inner, max_size=2),
    ),
    max_leaves=5,
)


def _valid(schema: Schema) -> st.SearchStrategy[Any]:
    if isinstance(schema, Scalar):
        kind = schema.kind
        base: st.SearchStrategy[Any] = {
            "str": _TEXT,
            "int": st.one_of(st.integers(-(2**70), 2**70), st.just(Count.ONE), st.just(3.0)),
            "num": st.one_of(st.integers(), st.floats(), st.just(Count.ONE)),
            "bool": st.booleans(),
            "any": _JSON,
        }[kind]
    elif isinstance(schema, Arr):
        item = _value(schema.item)
        base = st.one_of(st.lists(item, max_size=3), st.lists(item, max_size=2).map(tuple))
    else:
        base = _object(schema)
    return st.one_of(base, st.none()) if schema.nullable else base


def _rarely(
    common: st.SearchStrategy[Any], rare: st.SearchStrategy[Any], one_in: int
) -> st.SearchStrategy[Any]:
    return st.tuples(st.integers(0, one_in - 1), common, rare).map(lambda t: t[2] if t[0] == 0 else t[1])


def _value(schema: Schema) -> st.SearchStrategy[Any]:
    # Mostly valid; now and then a value of another shape, where the checker must have the last word.
    # Mutations are rare, so that most bodies are valid but for one field.
    return _rarely(_valid(schema), st.sampled_from(_ODD), 12)


def _object(schema: Obj) -> st.SearchStrategy[Dict[Any, Any]]:
    parts: List[st.SearchStrategy[List[Tuple[Any, Any]]]] = []
    for py, (wire, required, sub) in schema.fields.items():
        value = _value(sub)
        names = (
            st.just((py,))
            if wire == py
            else _rarely(st.just((py,)), st.sampled_from([(wire,), (py, wire)]), 8)
        )
        present = st.tuples(names, value, value).map(
            lambda t: [(k, t[1] if i == 0 else t[2]) for i, k in enumerate(t[0])]
        )
        absent = st.sampled_from([[], [(py, NOT_GIVEN)], [(py, None)]])
        parts.append(_rarely(present, absent, 15) if required else st.one_of(present, absent))
    extra = st.sampled_from(["unknown", "Name", "prompt", 1]).flatmap(
        lambda k: st.tuples(st.just(k), _value(STR))
    )
    return st.tuples(st.tuples(*parts), _rarely(st.just([]), extra.map(lambda e: [e]), 15), st.randoms()).map(
        _assemble
    )


def _assemble(drawn: Tuple[Tuple[List[Tuple[Any, Any]], ...], List[Tuple[Any, Any]], Any]) -> Dict[Any, Any]:
    fields, extra, rnd = drawn
    pairs = [pair for part in fields for pair in part] + extra
    rnd.shuffle(pairs)  # the checker keeps the caller's order, the fast path the schema's
    return dict(pairs)


def _canonical(encoded: Any) -> str:
    # The same JSON value, compared type for type (3 and 3.0, 1 and true differ), keys in any order.
    return json.dumps(json.loads(encoded), sort_keys=True)


def _slow(endpoint: Endpoint, body: Dict[Any, Any]) -> Tuple[str, Any]:
    assert endpoint.body is not None
    try:
        value = to_wire(endpoint.body, body)
        return "ok", _canonical(json.dumps(value, ensure_ascii=False, allow_nan=False).encode())
    except InvalidParameterError as exc:
        return "refused", (exc.param, str(exc))
    except (TypeError, ValueError) as exc:  # what JSON cannot carry (NaN, a lone surrogate, an object())
        return "unencodable", type(exc).__name__


_CASES = st.one_of(
    [st.tuples(st.just(name), _object(e.body)) for name, e in sorted(ENDPOINTS.items())]  # type: ignore[arg-type]
)
_FUZZ = int(os.environ.get("MAGIC_HOUR_FUZZ", "0"))


@pytest.mark.full
@settings(max_examples=_FUZZ or 600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_CASES)
@example(
    ("magic_hour.resources.v1.files.upload_urls.CREATE", {"items": [{"extension": "MP4", "type_": "video"}]})
)
@example(("magic_hour.resources.v1.files.upload_urls.CREATE", {"items": []}))
@example(
    ("magic_hour.resources.v1.files.upload_urls.CREATE", {"items": [{"extension": "mp3", "type_": "video"}]})
)
def test_fast_path_accepts_only_what_the_checker_accepts_and_sends_the_same_json(
    case: Tuple[str, Dict[Any, Any]],
) -> None:
    name, body = case
    endpoint = ENDPOINTS[name]
    assert endpoint.body is not None
    expected = _slow(endpoint, body)
    fast = endpoint._encode(endpoint.body, body)  # pyright: ignore[reportPrivateUsage]
    if fast is not None:
        assert expected[0] == "ok", (name, body, fast, expected)
        assert _canonical(fast) == expected[1]
    # The endpoint as a whole: the same JSON, or the checker's own refusal.
    if expected[0] == "refused":
        with pytest.raises(InvalidParameterError) as info:
            endpoint.build(body)
        assert (info.value.param, str(info.value)) == expected[1]
        return
    if expected[0] == "unencodable":  # refused too, naming the field (tests/test_hostile_inputs.py)
        with pytest.raises(InvalidParameterError):
            endpoint.build(body)
        return
    request = endpoint.build(body)
    assert expected[0] == "ok" and request.json is None and request.json_bytes is not None
    assert _canonical(request.json_bytes) == expected[1]


def test_every_closed_body_is_compiled() -> None:
    """The fast path is live for every operation whose body has no open object (``additionalProperties``)
    anywhere, with the installed pydantic-core; open bodies keep the checker alone."""

    def is_open(schema: Schema) -> bool:
        if isinstance(schema, Obj):
            return schema.open or any(is_open(sub) for _, _, sub in schema.fields.values())
        return isinstance(schema, Arr) and is_open(schema.item)

    compiled = {}
    for name, endpoint in ENDPOINTS.items():
        assert endpoint.body is not None
        endpoint._encode(endpoint.body, {})  # pyright: ignore[reportPrivateUsage]  # compiles it
        compiled[name] = endpoint._fast is not None  # pyright: ignore[reportPrivateUsage]
    assert {n for n, ok in compiled.items() if not ok} == {n for n, e in ENDPOINTS.items() if is_open(e.body)}  # type: ignore[arg-type]
    assert sum(compiled.values()) >= 30


@pytest.mark.parametrize(
    ("body", "wire"),
    [
        (
            {"items": [{"extension": "mp4", "type_": "video"}]},
            b'{"items":[{"extension":"mp4","type":"video"}]}',
        ),
        (
            {"items": [{"type_": "image", "extension": "png"}]},
            b'{"items":[{"extension":"png","type":"image"}]}',
        ),
    ],
)
def test_fast_path_sends_wire_names_in_schema_order(body: Dict[str, Any], wire: bytes) -> None:
    endpoint = ENDPOINTS["magic_hour.resources.v1.files.upload_urls.CREATE"]
    request = endpoint.build(body)
    assert (request.json_bytes, request.json) == (wire, None)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (
            {"assets": {"target_file_path": "t", "face_mappings": [{"new_face": 1, "original_face": "o"}]}},
            "assets.face_mappings[0].new_face",
        ),
        (
            {"assets": {"target_file_path": "t", "face_mappings": [{"original_face": "o"}]}},
            "assets.face_mappings[0].new_face",
        ),
        ({"assets": {"target_file_path": "t", "sauce_file_path": "s"}}, "assets key"),
        ({"assets": {"target_file_path": "t"}, "name": 3}, "name"),
    ],
)
def test_refusals_keep_the_full_path(body: Dict[str, Any], param: str) -> None:
    endpoint = ENDPOINTS["magic_hour.resources.v1.face_swap_photo.CREATE"]
    with pytest.raises(InvalidParameterError) as info:
        endpoint.build(body)
    assert info.value.param == param


def test_floats_and_tuples_take_the_checker_and_keep_their_bytes() -> None:
    endpoint = Endpoint(
        "POST", "/v1/x", body=Obj("B", {"n": ("n", True, Scalar("num")), "l": ("l", False, Arr(STR))})
    )
    assert endpoint.build({"n": 1, "l": ["a"]}).json_bytes == b'{"n":1,"l":["a"]}'
    slow = endpoint.build({"n": 1e16, "l": ("a",)})
    assert (slow.json_bytes, slow.json) == (b'{"n":1e+16,"l":["a"]}', None)
    assert endpoint.build({"n": 2**64}).json_bytes == b'{"n":18446744073709551616}'  # the checker's


def test_api_request_is_unchanged_for_bodiless_operations() -> None:
    endpoint = Endpoint("GET", "/v1/things/{id}")
    assert endpoint.build(path={"id": "a"}) == ApiRequest("GET", "/v1/things/a")


def test_an_unknown_key_in_a_list_item_takes_the_checker() -> None:
    """The items of a top-level list of objects ignore unknown keys in the validator and are counted
    instead (``compiled.py``): a key the schema does not know, in any item, still reaches the checker."""
    item = Obj("I", {"a": ("a", True, STR), "b_": ("b", False, Arr(STR))})
    endpoint = Endpoint("POST", "/v1/x", body=Obj("B", {"l": ("l", True, Arr(item)), "n": ("n", False, STR)}))
    items: List[Dict[str, Any]] = [{"a": str(i), "b_": ["x"]} for i in range(50)]
    assert (
        endpoint.build({"l": items}).json_bytes
        == json.dumps({"l": [{"a": str(i), "b": ["x"]} for i in range(50)]}, separators=(",", ":")).encode()
    )
    assert endpoint._encode(endpoint.body, {"l": items}) is not None  # pyright: ignore[reportPrivateUsage]
    for odd in (
        {"a": "1", "c": "x"},
        {"a": "1", "b": ["x"]},
        {"a": "1", 2: "x"},
        {"a": "1", "b_": [], "b": []},
    ):
        body = {"l": [*items[:37], odd, *items[37:]]}
        assert endpoint._encode(endpoint.body, body) is None, odd  # pyright: ignore[reportPrivateUsage]
        if "b" in odd and "b_" not in odd:  # the wire name is the checker's to accept
            assert json.loads(endpoint.build(body).json_bytes or b"")["l"][37] == {"a": "1", "b": ["x"]}
            continue
        with pytest.raises(InvalidParameterError) as info:
            endpoint.build(body)
        assert info.value.param.startswith("l[37]"), (odd, info.value.param)
    upload = ENDPOINTS["magic_hour.resources.v1.files.upload_urls.CREATE"]
    many = [{"extension": "mp4", "type_": "video"}] * 99 + [{"extension": "mp4", "type_": "video", "x": 1}]
    with pytest.raises(InvalidParameterError) as info:
        upload.build({"items": many})
    assert info.value.param == "items[99] key"


def test_the_upload_items_schema_accepts_what_their_check_leaves_unchanged() -> None:
    """The fast path of ``upload_urls.create`` checks the extension table with the hook's schema
    (``_validation.upload_items_schema``): of plain strings, it takes exactly the items
    ``check_upload_items`` returns as given, for every pair of known and odd spellings; it never takes
    one the check would change or refuse (a str subclass is the checker's on pydantic-core 2.18)."""
    from magic_hour._validation import check_upload_items

    endpoint = ENDPOINTS["magic_hour.resources.v1.files.upload_urls.CREATE"]
    assert endpoint.body is not None
    types = ["video", "audio", "image", "gif", "Video", "", Text("video")]
    extensions = [*_EXTS, "MP4", ".mp4", "exe", "", Text("png")]
    bodies: List[Any] = [[{"extension": e, "type_": t}] for t in types for e in extensions]
    bodies += [[], [{"extension": "mp4", "type_": "video"}, {"extension": "mp3", "type_": "video"}]]
    bodies += [
        [{"extension": "mp4", "type": "video"}],
        [{"extension": "mp4"}],
        [{"extension": 4, "type_": "video"}],
    ]
    accepted = 0
    for items in bodies:
        try:
            unchanged = check_upload_items(items) == items
        except InvalidParameterError:
            unchanged = False
        fast = endpoint._encode(endpoint.body, {"items": items})  # pyright: ignore[reportPrivateUsage]
        plain = all(type(v) is str for item in items for v in item.values())
        assert (fast is not None) == unchanged if plain else (fast is None or unchanged), items
        if fast is not None:
            accepted += plain
            wire = [{"extension": i["extension"], "type": i["type_"]} for i in items]
            assert json.loads(fast) == {"items": wire}
    assert accepted == sum(len(exts) for exts in EXTENSIONS.values())  # every pair of the table


class _Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no text")

    __repr__ = __str__


@pytest.mark.parametrize(
    "odd", [10**5000, _Unprintable()], ids=["a 5001-digit int", "an object str() fails on"]
)
@pytest.mark.parametrize("field", ["type_", "extension"])
def test_an_upload_item_that_cannot_be_shown_is_refused_without_an_unraisable_error(
    field: str, odd: Any
) -> None:
    """pydantic-core's tagged union writes the tag it does not know with ``str()`` into its error, and a
    ``str()`` that fails goes to ``sys.unraisablehook`` ("Exception ignored in ...", a failure under
    ``filterwarnings = error``). The fast path's union raises its own error instead: the body goes to the
    checker, which refuses it as before."""
    endpoint = ENDPOINTS["magic_hour.resources.v1.files.upload_urls.CREATE"]
    assert endpoint.body is not None
    item: Dict[str, Any] = {"extension": "mp4", "type_": "video", field: odd}
    unraisable: List[Any] = []
    hook = sys.unraisablehook
    sys.unraisablehook = unraisable.append
    try:
        fast = endpoint._encode(endpoint.body, {"items": [item]})  # pyright: ignore[reportPrivateUsage]
        with pytest.raises(InvalidParameterError) as info:
            endpoint.build({"items": [item]})
    finally:
        sys.unraisablehook = hook
    assert fast is None
    assert [(u.exc_type, type(u.object)) for u in unraisable] == []
    assert info.value.param == f"items[0].{field}"
