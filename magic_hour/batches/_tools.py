"""The tools a batch can run: every operation that starts a project, by its name under ``client.v1``.

What a tool needs is declared once, by codegen, in the table :data:`magic_hour.resources.v1.tools.TOOLS`
(its project kind, its file fields from ``spec/metadata.json``, loaders of its create endpoint and of
its project's model). Nothing is repeated here: a tool is looked up by name in that table, and its
resource module is imported only when the tool is used.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Tuple

from .._core.body import Endpoint
from .._exceptions import InvalidParameterError
from ..resources.v1.tools import TOOLS, ToolInfo


@dataclass(frozen=True)
class Tool:
    """An operation that starts a project: ``client.v1.<name>.create``."""

    name: str
    kind: str
    """The kind of project it starts: ``video``, ``image``, ``audio`` or ``face_detection``."""
    files: Mapping[str, Tuple[str, ...]]
    """Its fields that take an uploaded file (dotted paths, ``[]`` for array items) -> its asset types."""
    endpoint: Endpoint
    info: ToolInfo

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
        return self.info.model_module

    def model(self) -> Any:
        """The pydantic model of a project of this kind."""
        return self.info.model()


def tool_names() -> Tuple[str, ...]:
    """Every tool's name, sorted."""
    return tuple(sorted(TOOLS))


@functools.cache
def _cached(name: str) -> Optional[Tool]:
    info = TOOLS.get(name)
    if info is None:
        return None
    return Tool(info.name, info.kind, info.files, info.endpoint(), info)


def find_tool(name: object, param: str = "tool") -> Tool:
    """The tool called ``name`` (``"image_background_remover"``: the namespace under ``client.v1``)."""
    found = _cached(name) if isinstance(name, str) else None
    if found is None:
        raise InvalidParameterError(
            param, name, "the name of an operation that starts a project: " + ", ".join(tool_names())
        )
    return found
