"""The public surface: ``__all__`` complete and sorted, compat imports, and a cheap ``import magic_hour``."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, List, Tuple

import pytest

import magic_hour

ROOT = Path(magic_hour.__file__).parent


def isort_style_key(name: str) -> Tuple[int, List[Any]]:
    """The order of ruff's RUF022 ("isort-style"): SCREAMING_SNAKE_CASE first, then CamelCase, then the
    rest (``__version__``, functions); a natural sort (``V2`` before ``V10``) within each group."""
    if len(name) > 1 and name.isupper():
        group = 0
    elif name[:1].isupper():
        group = 1
    else:
        group = 2
    natural = [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]
    return group, natural


def modules_with_all() -> List[ModuleType]:
    modules = [magic_hour]
    for info in pkgutil.walk_packages(magic_hour.__path__, "magic_hour."):
        module = importlib.import_module(info.name)
        if hasattr(module, "__all__"):
            modules.append(module)
    return modules


def run_python(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT.parent, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_all_is_complete() -> None:
    # In a fresh interpreter: what `import magic_hour` alone defines (no submodule imported by a test).
    names = json.loads(
        run_python(
            "import json, types, magic_hour\n"
            "print(json.dumps([n for n, v in vars(magic_hour).items()\n"
            "    if not n.startswith('_') and not isinstance(v, types.ModuleType)]))"
        )
    )
    missing = sorted(set(names) - set(magic_hour.__all__))
    assert not missing, f"public names missing from magic_hour.__all__: {missing}"


def test_every_listed_name_exists() -> None:
    for name in magic_hour.__all__:
        assert getattr(magic_hour, name, None) is not None, name
        assert not inspect.ismodule(getattr(magic_hour, name)), f"{name} is a module"


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, Any] = {}
    exec("from magic_hour import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(magic_hour.__all__)


def test_all_has_no_duplicates() -> None:
    assert len(magic_hour.__all__) == len(set(magic_hour.__all__))


@pytest.mark.parametrize("module", modules_with_all(), ids=lambda m: m.__name__)
def test_all_is_sorted_and_resolves(module: ModuleType) -> None:
    listed = list(module.__all__)
    assert listed == sorted(listed, key=isort_style_key), f"{module.__name__}.__all__ is not isort-sorted"
    for name in listed:
        assert hasattr(module, name), f"{module.__name__}.__all__ lists {name!r}, which does not exist"


def test_the_sort_rule_matches_ruff() -> None:
    """Our key is ruff's RUF022 order: ruff finds nothing to re-sort in any ``__all__`` we checked."""
    files = [str(Path(m.__file__ or "")) for m in modules_with_all()]
    command = [sys.executable, "-m", "ruff", "check", "--isolated", "--select", "RUF022", *files]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(["b", "A", "__x__", "CONST", "V10", "V2"], key=isort_style_key) == [
        "CONST",
        "V2",
        "V10",
        "A",
        "__x__",
        "b",
    ]


def test_compat_names_of_the_official_sdk() -> None:
    from magic_hour import ApiError, AsyncClient, Client, Environment

    assert inspect.isclass(Client) and inspect.isclass(AsyncClient)
    assert issubclass(ApiError, Exception)
    assert Environment.ENVIRONMENT.value == "https://api.magichour.ai"
    import httpx

    response = httpx.Response(404, json={"message": "gone"}, request=httpx.Request("GET", "https://x"))
    err = ApiError("gone", response=response, body={"message": "gone"})
    assert (err.status_code, err.body, err.response) == (404, {"message": "gone"}, response)


def test_official_module_paths() -> None:
    """The import paths of the official package name the classes our clients are made of."""
    import httpx

    from magic_hour import AsyncClient, BinaryResponse, Client
    from magic_hour.client import AsyncClient as ClientModuleAsyncClient
    from magic_hour.client import Client as ClientModuleClient
    from magic_hour.resources.v1.files import AsyncFilesClient as ReExportedAsync
    from magic_hour.resources.v1.files import FilesClient as ReExported
    from magic_hour.resources.v1.files.client import AsyncFiles, AsyncFilesClient, Files, FilesClient

    assert (ClientModuleClient, ClientModuleAsyncClient) == (Client, AsyncClient)
    assert (ReExported, ReExportedAsync) == (FilesClient, AsyncFilesClient)
    assert (Files, AsyncFiles) == (FilesClient, AsyncFilesClient)  # the names before the official layout
    client = Client(token="t" * 10)
    try:
        assert type(client.v1.files) is FilesClient
    finally:
        client.close()
    assert type(AsyncClient(token="t" * 10).v1.files) is AsyncFilesClient

    headers = httpx.Headers({"content-type": "image/png", "set-cookie": "session=secret"})
    res = BinaryResponse(content=b"\x89PNG", headers=headers)
    assert (res.content, res.headers) == (b"\x89PNG", headers)
    positional = BinaryResponse(b"abc", httpx.Headers())  # the official constructor's order
    assert positional.content == b"abc" and len(positional.headers) == 0
    assert repr(res) == "BinaryResponse(4 bytes, image/png)" and "secret" not in repr(res)


def test_types_modules() -> None:
    from magic_hour.types import models, params

    assert models.V1FilesUploadUrlsCreateResponse.__module__ == (
        "magic_hour.types.models.v1_files_upload_urls_create_response"
    )
    assert (
        models.V1FilesUploadUrlsCreateResponseItemsItem.__name__ == "V1FilesUploadUrlsCreateResponseItemsItem"
    )
    assert params.V1FilesUploadUrlsCreateBody.__required_keys__ == frozenset({"items"})
    assert params.V1FilesUploadUrlsCreateBodyItemsItem.__required_keys__ == frozenset({"extension", "type_"})
    assert (
        ROOT / "types" / "models" / "v1_files_upload_urls_create_response.py"
    ).is_file()  # the seed's link
    import magic_hour.types as types_pkg

    with pytest.raises(AttributeError):
        _ = types_pkg.nothing_here  # type: ignore[attr-defined]


def test_py_typed_marker() -> None:
    assert (ROOT / "py.typed").is_file()


def test_version() -> None:
    """An upgrade from the official 0.90.x: newer than 0.90.0, inside the pins written for it, and never a
    version the package index could also hold (a local label)."""
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    version = Version(magic_hour.__version__)
    assert str(version) == magic_hour.__version__  # already in PEP 440's normal form
    assert version > Version("0.90.0") and version.local
    for pin in ("==0.90.0", "~=0.90.0", ">=0.90,<0.91", ">=0.90.0"):
        assert SpecifierSet(pin).contains(version), pin


def test_import_is_lazy() -> None:
    """`import magic_hour` must not load the response models or pydantic's model machinery."""
    loaded = json.loads(
        run_python(
            "import json, sys, magic_hour\n"
            "client = magic_hour.Client(token='x' * 10)\n"
            "print(json.dumps(sorted(sys.modules)))"
        )
    )
    assert "magic_hour.types.models" not in loaded
    assert "magic_hour.types.params" not in loaded
    assert "pydantic.main" not in loaded
    # ...and the first call loads them (so the laziness is real, not a missing import).
    loaded = json.loads(
        run_python(
            "import json, sys, respx, magic_hour\n"
            "with respx.mock() as m:\n"
            "    m.post('https://api.magichour.ai/v1/files/upload-urls').respond(200, json={'items': []})\n"
            "    magic_hour.Client(token='x' * 10).v1.files.upload_urls.create("
            "items=[{'extension': 'mp4', 'type_': 'video'}])\n"
            "print(json.dumps(sorted(sys.modules)))"
        )
    )
    assert "magic_hour.types.models" in loaded
    assert "pydantic.main" in loaded


def test_first_requests_load_neither_webhooks_nor_the_upload_engine() -> None:
    """A sync and an async client's first requests leave the webhooks package and the upload engine
    (``magic_hour._upload``) unloaded: neither is needed to call the API. ``client.webhooks`` and an
    upload load them, for both clients."""
    first, later = json.loads(
        run_python(
            "import asyncio, json, sys, tempfile, respx, magic_hour\n"
            "items = [{'extension': 'mp4', 'type_': 'video'}]\n"
            "api = 'https://api.magichour.ai'\n"
            "answer = {'items': [{'upload_url': 'https://s.example/k', 'file_path': 'api-assets/k.mp4',"
            " 'expires_at': '2099-01-01T00:00:00Z'}]}\n"
            "with respx.mock() as m:\n"
            "    m.post(api + '/v1/files/upload-urls').respond(200, json=answer)\n"
            "    m.put('https://s.example/k').respond(200)\n"
            "    sync = magic_hour.Client(token='x' * 10)\n"
            "    sync.v1.files.upload_urls.create(items=items)\n"
            "    async def first():\n"
            "        client = magic_hour.AsyncClient(token='x' * 10)\n"
            "        await client.v1.files.upload_urls.create(items=items)\n"
            "        return client\n"
            "    async_ = asyncio.run(first())\n"
            "    first = sorted(sys.modules)\n"
            "    f = tempfile.NamedTemporaryFile(suffix='.mp4')\n"
            "    f.write(b'x'); f.flush()\n"
            "    paths = [sync.v1.files.upload_file(f.name), asyncio.run(async_.v1.files.upload_file(f.name))]\n"
            "    assert paths == ['api-assets/k.mp4'] * 2 and len(m.calls) == 6, (paths, len(m.calls))\n"
            "print(json.dumps([first, [type(c.webhooks).__name__ for c in (sync, async_)]]))"
        )
    )
    assert "magic_hour._client" in first and "magic_hour.types.models" in first  # the calls were made
    assert [m for m in first if m.startswith(("magic_hour.webhooks", "magic_hour._upload"))] == []
    assert later == ["Webhooks", "Webhooks"]
    # Nor the errors of creates, uploads, jobs, webhooks and batch journals (loaded when first named), nor
    # the client's bound on file transfers (made by its first transfer).
    assert [m for m in first if m.startswith("magic_hour._errors.")] == [
        "magic_hour._errors.api",
        "magic_hour._errors.base",
    ]
    assert "magic_hour._core.transfers" not in first


LAZY_ERRORS = {
    "creates": ["ProjectMayExistError", "ProjectMayExistServerError", "ProjectMayExistTimeoutError"],
    "files": ["StorageError", "UploadError", "UploadUrlsMismatchError"],
    "jobs": ["DownloadWriteError", "ProjectFailedError", "DownloadStatusError", "ProjectTimeoutError"],
    "webhooks": ["MissingWebhookSecretError", "WebhookSignatureError", "WebhookVerificationError"],
    "batches": ["JournalError", "JournalInUseError"],
}
# Each way a program can reach an error class first: the package, the error tree's module, a star
# import, the module that defines it, and the subpackage that raises it.
FIRST_PATHS = {
    "package": "from magic_hour import {name} as cls",
    "tree": "import magic_hour._exceptions as e; cls = e.{name}",
    "star": "from magic_hour._exceptions import *; cls = {name}",
    "definition": "from magic_hour._errors.{group} import {name} as cls",
    "user": "import magic_hour.{user}",
}


@pytest.mark.full  # a subprocess battery: 20 fresh interpreters, ~3 s of CPU
@pytest.mark.parametrize("first", list(FIRST_PATHS))
@pytest.mark.parametrize("group", list(LAZY_ERRORS))
def test_lazily_loaded_errors_are_the_same_classes_whichever_path_loads_them(group: str, first: str) -> None:
    """The errors a first request never raises are loaded on first use; whichever import loads them, every
    path gives the same class, named ``magic_hour._exceptions.<name>``, in the tree and in ``dir()``."""
    name = LAZY_ERRORS[group][0]
    user = {"webhooks": "webhooks", "batches": "batches", "creates": "_core.retry"}.get(
        group, "_upload.batch"
    )
    if first == "user" and group == "jobs":
        user = "_jobs.runner"
    code = (
        "import json, sys, httpx, magic_hour, magic_hour._exceptions as tree\n"
        f"loaded_before = 'magic_hour._errors.{group}' in sys.modules\n"
        + FIRST_PATHS[first].format(name=name, group=group, user=user)
        + "\n"
        f"import magic_hour._errors.{group} as defining\n"
        "out = {'before': loaded_before, 'listed': sorted(set(tree.__all__) - set(dir(tree)))}\n"
        f"for n in {LAZY_ERRORS[group]!r}:\n"
        "    c = getattr(defining, n)\n"
        "    out[n] = [c is getattr(magic_hour, n) is getattr(tree, n), c.__module__, c.__qualname__,\n"
        "              issubclass(c, magic_hour.MagicHourError)]\n"
        "print(json.dumps(out))\n"
    )
    out = json.loads(run_python(code))
    assert out.pop("before") is False  # `import magic_hour._exceptions` alone does not load the group
    assert out.pop("listed") == []  # dir() lists every name of __all__, loaded or not
    assert out == {n: [True, "magic_hour._exceptions", n, True] for n in LAZY_ERRORS[group]}


def test_lazily_loaded_errors_unpickle_where_they_are_not_loaded_yet() -> None:
    """A pickle names ``magic_hour._exceptions.<name>`` (and ``_rebuild_write_error``): it loads in a
    process that has not loaded the class's module, and rebuilds the same error."""
    import base64
    import pickle

    import httpx

    from magic_hour import DownloadWriteError, JournalInUseError, StorageError, WebhookSignatureError

    request = httpx.Request("PUT", "https://storage.example/k?X-Amz-Signature=secret")
    errors = [
        StorageError("refused", response=httpx.Response(403, request=request)),
        DownloadWriteError("disk full", url="https://cdn.example/out.png", path="/tmp/out.png", errno=28),
        JournalInUseError("in use", path="/tmp/j.sqlite", owner="pid 1"),
        WebhookSignatureError("no secret gives this signature"),
    ]
    blob = base64.b64encode(pickle.dumps(errors)).decode()
    assert b"magic_hour._errors" not in base64.b64decode(blob)
    out = json.loads(
        run_python(
            "import base64, json, pickle, sys, magic_hour\n"
            f"errors = pickle.loads(base64.b64decode({blob!r}))\n"
            "print(json.dumps([[type(e).__name__, type(e) is getattr(magic_hour, type(e).__name__), str(e),\n"
            "    getattr(e, 'errno', None), getattr(e, 'owner', None)] for e in errors]))"
        )
    )
    assert out == [
        ["StorageError", True, str(errors[0]), None, None],
        ["DownloadWriteError", True, str(errors[1]), 28, None],
        ["JournalInUseError", True, "in use", None, "pid 1"],
        ["WebhookSignatureError", True, str(errors[3]), None, None],
    ]


def test_params_validate_by_either_name_and_dump_wire_names() -> None:
    import pydantic

    from magic_hour.types import params

    adapter = pydantic.TypeAdapter(params.V1FilesUploadUrlsCreateBody)
    for spelling in ("type_", "type"):
        value = adapter.validate_python({"items": [{"extension": "mp4", spelling: "video"}]})
        assert value == {"items": [{"extension": "mp4", "type_": "video"}]}
    wire = adapter.dump_python(value, by_alias=True, mode="json")
    assert wire == {"items": [{"extension": "mp4", "type": "video"}]}


def test_the_error_tree_is_drawn_whole_in_its_docstring_and_in_the_docs() -> None:
    # docs/client.md shows the tree of magic_hour/_exceptions.py's docstring: the same lines, and every
    # public error class in them (the docs had lost the webhook, batch and download branches).
    from magic_hour import _exceptions

    doc = _exceptions.__doc__ or ""
    tree = [line[4:] for line in doc.split("The tree::\n\n", 1)[1].split("\n\n", 1)[0].splitlines()]
    page = (ROOT.parent / "docs" / "client.md").read_text(encoding="utf-8")
    assert page.split("```text\n", 1)[1].split("```", 1)[0].splitlines() == tree
    drawn = {m.group(1) for line in tree if (m := re.match(r"^[│├└─ ]*([A-Z]\w+)", line))}
    assert drawn == set(_exceptions.__all__), set(_exceptions.__all__) ^ drawn
