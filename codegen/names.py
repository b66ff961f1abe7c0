"""Names, as the official package spells them: type names, module names, Python field names."""

from __future__ import annotations

import keyword
import re
from typing import Sequence

# Wire names the official package renames with a trailing underscore: Python keywords, and ``type``
# (a builtin it shadows; ``id`` and other builtins keep their names there, so they keep them here).
_RENAMED_BUILTINS = frozenset({"type"})


def snake(name: str) -> str:
    """``searchWeb`` -> ``search_web``; ``face-swap`` -> ``face_swap``; dots join (``files.upload_urls``)."""
    name = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name)
    return re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()


def pascal(name: str) -> str:
    """``face_swap`` -> ``FaceSwap``; ``v1`` -> ``V1``; ``searchWeb`` -> ``SearchWeb``."""
    return "".join(part[:1].upper() + part[1:] for part in snake(name).split("_") if part)


def py_name(wire: str) -> str:
    """The Python name of a wire field or parameter: snake case, ``type`` -> ``type_``."""
    name = snake(wire)
    if keyword.iskeyword(name) or name in _RENAMED_BUILTINS:
        name += "_"
    return name


def type_name(parts: Sequence[str]) -> str:
    """``["v1", "face_swap", "create", "body", "assets"]`` -> ``V1FaceSwapCreateBodyAssets``."""
    return "".join(pascal(p) for p in parts)


def module_name(parts: Sequence[str]) -> str:
    """``["v1", "face_swap", "create", "body", "assets"]`` -> ``v1_face_swap_create_body_assets``."""
    return "_".join(snake(p) for p in parts)


def class_name(resource: str) -> str:
    """The resource client class: ``face_swap`` -> ``FaceSwapClient``; ``files.upload_urls`` -> ``UploadUrlsClient``."""
    return pascal(resource.rsplit(".", 1)[-1]) + "Client"


def async_class_name(resource: str) -> str:
    return "Async" + class_name(resource)
