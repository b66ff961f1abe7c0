"""Output kind: ``magic_hour/resources/v1/client.py`` (``V1Client`` / ``AsyncV1Client``) and the package
``__init__`` (with the seed's ``V1`` / ``AsyncV1`` names as aliases).

Namespaces are created on first attribute access and cached, so ``Client()`` imports no resource
module; ``files`` is the hand-written ``FilesClient`` (upload engine on top of ``files.upload_urls``).
"""

from __future__ import annotations

from typing import Dict, List

from . import names
from .load import Api
from .pyfmt import HEADER, all_list

PATH = "magic_hour/resources/v1/client.py"
INIT = "magic_hour/resources/v1/__init__.py"
# Hand-written namespaces: attribute -> (module under resources/v1, sync class, async class).
HAND_WRITTEN = {"files": ("files.client", "FilesClient", "AsyncFilesClient")}


def _namespaces(api: Api) -> Dict[str, tuple]:  # type: ignore[type-arg]
    found: Dict[str, tuple] = dict(HAND_WRITTEN)  # type: ignore[type-arg]
    for op in api.operations:
        top = op.resource.split(".")[0]
        if top not in found:
            found[top] = (f"{top}.client", names.class_name(top), names.async_class_name(top))
    return dict(sorted(found.items()))


def _class(name: str, http: str, spaces: Dict[str, tuple], is_async: bool) -> List[str]:  # type: ignore[type-arg]
    out = [
        f"class {name}:",
        '    """Version 1 of the Magic Hour API: one attribute per namespace, created on first use."""',
        "",
        f"    def __init__(self, http: {http}) -> None:",
        "        self._http = http",
    ]
    for attr, (module, sync_cls, async_cls) in spaces.items():
        cls = async_cls if is_async else sync_cls
        out += [
            "",
            "    @cached_property",
            f"    def {attr}(self) -> {cls}:",
            f"        from .{module} import {cls}",
            "",
            f"        return {cls}(self._http)",
        ]
    return out


def render(api: Api) -> Dict[str, str]:
    spaces = _namespaces(api)
    imports = sorted(
        f"    from .{module} import {async_cls}, {sync_cls}"
        for module, sync_cls, async_cls in spaces.values()
    )
    lines = [
        HEADER + '"""``client.v1``: version 1 of the Magic Hour API (namespaces load on first use)."""',
        "",
        "from __future__ import annotations",
        "",
        "from typing import TYPE_CHECKING",
        "",
        "from functools import cached_property",
        "",
        "if TYPE_CHECKING:",
        "    from ..._core.transport import AsyncHTTP, SyncHTTP",
        *imports,
        "",
        all_list(["AsyncV1Client", "V1Client"]),
        "",
        "",
        *_class("V1Client", "SyncHTTP", spaces, False),
        "",
        "",
        *_class("AsyncV1Client", "AsyncHTTP", spaces, True),
    ]
    init = [
        HEADER + '"""``client.v1``: version 1 of the Magic Hour API."""',
        "",
        "from .client import AsyncV1Client, V1Client",
        "",
        "V1 = V1Client",
        "AsyncV1 = AsyncV1Client",
        "",
        all_list(["AsyncV1", "AsyncV1Client", "V1", "V1Client"]),
    ]
    return {PATH: "\n".join(lines) + "\n", INIT: "\n".join(init) + "\n"}
