"""Pure input checks, run before any request is sent. Errors name the bad value and what is allowed."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, cast

from ._exceptions import InvalidParameterError
from ._extensions import (
    ASSET_TYPES,
    EXTENSIONS,
    NOT_ACCEPTED,
    AssetType,
    describe_allowed,
    normalize_extension,
    type_for_extension,
)

_ITEM_KEYS = ("extension", "type_")


def check_upload_items(items: object) -> List[Dict[str, str]]:
    """Validate and normalise ``items`` for ``upload_urls.create``.

    Returns new dicts ``{"extension": "mp4", "type_": "video"}`` with the extension lower-cased and
    without a leading dot. ``type`` is accepted as a spelling of ``type_``.
    """
    if not isinstance(items, (list, tuple)):
        raise InvalidParameterError(
            "items", items, 'a non-empty list of {"extension": ..., "type_": ...} dicts'
        )
    seq: List[object] = list(items)  # pyright: ignore[reportUnknownArgumentType]
    if not seq:
        raise InvalidParameterError("items", seq, "at least one item", reason="the list is empty")
    return [check_upload_item(item, f"items[{i}]") for i, item in enumerate(seq)]


_VALID = frozenset((ext, t) for t, exts in EXTENSIONS.items() for ext in exts)


def _already_valid(item: object) -> bool:
    """The common case, already normalised (``{"extension": "mp4", "type_": "video"}``): one set lookup."""
    if type(item) is not dict:
        return False
    mapping = cast("Dict[object, object]", item)
    try:
        return len(mapping) == 2 and (mapping.get("extension"), mapping.get("type_")) in _VALID
    except TypeError:  # an unhashable value: the full checks explain it
        return False


def upload_items_schema(cs: Any, items: Any) -> Any:
    """The fast path's schema (:data:`CHECKS`): ``items`` is the strict schema the request core compiled
    for the field (pydantic-core's list of typed dicts with ``extension`` and ``type_``; ``cs`` is
    ``pydantic_core.core_schema``). The schema returned accepts exactly the lists
    :func:`check_upload_items` returns unchanged: not empty, each item a valid, normalised pair. One
    literal per field, chosen by ``type_``, so that each item is checked in Rust. The union raises an
    error of its own: pydantic-core's would hold an unknown tag as ``str(tag)``, and a ``str()`` that
    fails (a 5001-digit int) would go to ``sys.unraisablehook``; the checker names the value anyway."""
    item = items["items_schema"]
    fields = item["fields"]

    def choice(asset_type: AssetType) -> Any:
        extensions = cs.literal_schema(list(EXTENSIONS[asset_type]))
        return {
            **item,
            "fields": {
                **fields,
                "extension": {**fields["extension"], "schema": extensions},
                "type_": {**fields["type_"], "schema": cs.literal_schema([asset_type])},
            },
        }

    union = cs.tagged_union_schema(
        {t: choice(t) for t in ASSET_TYPES},
        discriminator="type_",
        custom_error_type="upload_item",
        custom_error_message="not an upload item of the table",
        strict=True,
    )
    return {**items, "items_schema": union, "min_length": 1}


def check_upload_item(item: object, where: str) -> Dict[str, str]:
    if _already_valid(item):
        return cast("Dict[str, str]", item)
    if not isinstance(item, Mapping):
        raise InvalidParameterError(where, item, 'a dict like {"extension": "mp4", "type_": "video"}')
    item_map: Mapping[Any, Any] = item  # pyright: ignore[reportUnknownVariableType]
    unknown = [k for k in item_map if k not in ("extension", "type_", "type")]
    if unknown:
        raise InvalidParameterError(f"{where} key", unknown[0], "keys " + ", ".join(_ITEM_KEYS))
    asset_type = item_map.get("type_", item_map.get("type"))
    if "type_" in item_map and "type" in item_map and item_map["type"] != item_map["type_"]:
        raise InvalidParameterError(
            f"{where}.type_", item_map["type"], "one of type_ or type", reason="type and type_ disagree"
        )
    if asset_type is None:
        raise InvalidParameterError(f"{where}.type_", None, ", ".join(ASSET_TYPES), reason="missing")
    if asset_type not in ASSET_TYPES:
        raise InvalidParameterError(f"{where}.type_", asset_type, ", ".join(ASSET_TYPES))
    raw_ext = item_map.get("extension")
    if not isinstance(raw_ext, str):
        reason = "missing" if raw_ext is None else f"not a string but {type(raw_ext).__name__}"
        raise InvalidParameterError(
            f"{where}.extension", raw_ext, describe_allowed(asset_type), reason=reason
        )
    ext = normalize_extension(raw_ext)
    if ext not in EXTENSIONS[asset_type]:
        other = type_for_extension(ext)
        hint = f"{ext!r} is an extension for type_ {other!r}" if other is not None else NOT_ACCEPTED.get(ext)
        raise InvalidParameterError(f"{where}.extension", raw_ext, describe_allowed(asset_type), reason=hint)
    return {"extension": ext, "type_": asset_type}


FieldCheck = Tuple[Callable[[Any], Any], Optional[Callable[[Any, Any], Any]]]
"""A field check run before the generic one (it returns the value to send, or raises), and the fast
path's schema of the values the check would return unchanged (``None``: the body takes the slow path)."""

CHECKS: Dict[str, FieldCheck] = {"upload_items": (check_upload_items, upload_items_schema)}
"""The named checks of ``spec/metadata.json`` (``checks``): the generated code hands each to its field's
schema, so the request core runs them without knowing any operation."""
