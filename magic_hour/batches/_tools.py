"""The tools a batch can run: every operation that starts a project, by its name under ``client.v1``.

What a tool needs is already declared by its generated resource module: the create's request schema
(``_CREATE``, an :class:`~magic_hour._core.body.Endpoint` with the kind of project it starts) and the
fields that take uploaded files (``_GENERATE_FILES``, from ``spec/metadata.json``). Nothing is repeated
here; a tool is looked up by name and those two are read from its module.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import re
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Tuple, cast

from .._core.body import Endpoint
from .._exceptions import InvalidParameterError

_PACKAGE = "magic_hour.resources.v1"
_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")

GET_MODELS: Mapping[str, Tuple[str, str]] = {
    "video": ("v1_video_projects_get_response", "V1VideoProjectsGetResponse"),
    "image": ("v1_image_projects_get_response", "V1ImageProjectsGetResponse"),
    "audio": ("v1_audio_projects_get_response", "V1AudioProjectsGetResponse"),
    "face_detection": ("v1_face_detection_get_response", "V1FaceDetectionGetResponse"),
}
"""The model a project of each kind is read into (its ``GET``'s answer)."""


@dataclass(frozen=True)
class Tool:
    """An operation that starts a project: ``client.v1.<name>.create``."""

    name: str
    kind: str
    """The kind of project it starts: ``video``, ``image``, ``audio`` or ``face_detection``."""
    files: Mapping[str, str]
    """Its fields that take an uploaded file (dotted paths, ``[]`` for array items) -> asset type."""
    endpoint: Endpoint

    @property
    def has_name(self) -> bool:
        """Whether its body takes a ``name`` (the project's name in the dashboard)."""
        return self.endpoint.body is not None and "name" in self.endpoint.body.fields

    def check(self, params: Mapping[str, Any]) -> None:
        """Raise :class:`InvalidParameterError` for what its ``create`` can never accept (as it would)."""
        schema = self.endpoint.body
        fields = schema.fields if schema is not None else {}
        for key in params:
            if key not in fields:  # create() takes keyword arguments: an unknown one is a TypeError there
                raise InvalidParameterError(
                    key, params[key], f"an argument of {self.name}.create: " + ", ".join(fields)
                )
        self.endpoint.build(params)

    @property
    def model_module(self) -> str:
        """The module of :meth:`model` under ``magic_hour`` (for ``aload``)."""
        return f"types.models.{GET_MODELS[self.kind][0]}"

    def model(self) -> Any:
        """The pydantic model of a project of this kind."""
        return getattr(importlib.import_module(f"magic_hour.{self.model_module}"), GET_MODELS[self.kind][1])


def _load(name: str) -> Optional[Tool]:
    if not _NAME.match(name):
        return None
    try:
        module = importlib.import_module(f"{_PACKAGE}.{name}.client")
    except ImportError:
        return None
    endpoint = getattr(module, "_CREATE", None)
    files = getattr(module, "_GENERATE_FILES", None)
    if not isinstance(endpoint, Endpoint) or endpoint.creates is None or not isinstance(files, dict):
        return None
    return Tool(name, endpoint.creates, dict(cast(Dict[str, str], files)), endpoint)


@functools.cache
def tool_names() -> Tuple[str, ...]:
    """Every tool's name, sorted (imports every resource module: for messages only)."""
    package = importlib.import_module(_PACKAGE)
    names = [info.name for info in pkgutil.iter_modules(package.__path__) if info.ispkg]
    return tuple(sorted(name for name in names if _load(name) is not None))


@functools.cache
def _cached(name: str) -> Optional[Tool]:
    return _load(name)


def find_tool(name: object, param: str = "tool") -> Tool:
    """The tool called ``name`` (``"image_background_remover"``: the namespace under ``client.v1``)."""
    found = _cached(name) if isinstance(name, str) else None
    if found is None:
        raise InvalidParameterError(
            param, name, "the name of an operation that starts a project: " + ", ".join(tool_names())
        )
    return found
