"""Sync/async drift: every ``X``/``AsyncX`` pair has the same public methods, signatures and docstrings.

Pairs are found by scanning every module under ``magic_hour`` for classes named ``Async*``; the twin is
``X`` (or ``SyncX``) in the same module. Async-ness is ignored: ``async def`` ~ ``def``, ``aclose`` ~
``close``, ``__aenter__`` ~ ``__enter__``, ``AsyncThing`` ~ ``Thing`` in annotations, and ``await`` /
``async`` in docstring examples.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import pkgutil
import re
from types import ModuleType
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

import magic_hour
from magic_hour import AsyncClient, Client

LIFECYCLE = {
    "aclose": "close",
    "__aenter__": "__enter__",
    "__aexit__": "__exit__",
    "__aiter__": "__iter__",
    "__anext__": "__next__",
}
DUNDERS = {"__init__", "__call__", *LIFECYCLE.values()}


def all_modules() -> List[ModuleType]:
    modules = [magic_hour]
    for info in pkgutil.walk_packages(magic_hour.__path__, "magic_hour."):
        modules.append(importlib.import_module(info.name))
    return modules


def find_pairs() -> List[Tuple[type, type]]:
    pairs: Dict[type, type] = {}
    for module in all_modules():
        for name, obj in vars(module).items():
            if not (inspect.isclass(obj) and name.startswith("Async") and obj.__module__ == module.__name__):
                continue
            base = name[len("Async") :]
            twin = getattr(module, base, None) or getattr(module, "Sync" + base, None)
            assert inspect.isclass(twin), f"{module.__name__}.{name} has no sync twin {base} or Sync{base}"
            pairs[obj] = twin
    return [(sync, async_) for async_, sync in pairs.items()]


PAIRS = find_pairs()


def normalise(text: Optional[str]) -> str:
    text = text or ""
    text = re.sub(r"\b(?:Async|Sync)(?=[A-Z])", "", text)
    text = re.sub(r"\b(?:await|async)\s+", "", text)
    text = re.sub(r"\baclose\b", "close", text)
    text = re.sub(r"\basynchronous(ly)?\b", r"synchronous\1", text)
    return text


def public_members(cls: type) -> Dict[str, Any]:
    members: Dict[str, Any] = {}
    for name in dir(cls):
        if name.startswith("_") and name not in DUNDERS and name not in LIFECYCLE:
            continue
        attr = inspect.getattr_static(cls, name)
        if name == "__init__" and attr is object.__init__:
            continue
        if name in ("__enter__", "__exit__", "__iter__", "__next__", "__call__") and not hasattr(cls, name):
            continue
        members[LIFECYCLE.get(name, name)] = attr
    return members


def describe_signature(fn: Any) -> List[str]:
    sig = inspect.signature(fn)
    parts = [
        f"{p.name}:{p.kind.name}:{normalise(str(p.annotation))}:{p.default!r}"
        for p in sig.parameters.values()
    ]
    parts.append(f"-> {normalise(str(sig.return_annotation))}")
    return parts


def test_pairs_are_found() -> None:
    names = {(s.__name__, a.__name__) for s, a in PAIRS}
    expected = {
        ("Client", "AsyncClient"),
        ("V1Client", "AsyncV1Client"),
        ("FilesClient", "AsyncFilesClient"),
        ("UploadUrlsClient", "AsyncUploadUrlsClient"),
        ("FaceSwapPhotoClient", "AsyncFaceSwapPhotoClient"),
        ("SyncHTTP", "AsyncHTTP"),
        ("SyncJobs", "AsyncJobs"),
        ("SyncDownloader", "AsyncDownloader"),
    }
    assert expected <= names


@pytest.mark.parametrize(("sync", "async_"), PAIRS, ids=[a.__name__ for _, a in PAIRS])
def test_same_public_methods(sync: type, async_: type) -> None:
    assert sorted(public_members(sync)) == sorted(public_members(async_))


@pytest.mark.parametrize(("sync", "async_"), PAIRS, ids=[a.__name__ for _, a in PAIRS])
def test_same_signatures_and_docstrings(sync: type, async_: type) -> None:
    sync_members = public_members(sync)
    async_members = public_members(async_)
    for name in sorted(set(sync_members) & set(async_members)):
        s, a = sync_members[name], async_members[name]
        assert type(s) is type(a), f"{name}: {type(s).__name__} vs {type(a).__name__}"
        if isinstance(s, property):
            assert normalise(s.__doc__) == normalise(a.__doc__), name
            continue
        s_fn = s.__func__ if isinstance(s, (staticmethod, classmethod)) else s
        a_fn = a.__func__ if isinstance(a, (staticmethod, classmethod)) else a
        if not callable(s_fn):
            continue
        assert describe_signature(s_fn) == describe_signature(a_fn), f"{sync.__name__}.{name}"
        if name not in ("__enter__", "__exit__"):
            assert normalise(inspect.getdoc(s_fn)) == normalise(inspect.getdoc(a_fn)), (
                f"{sync.__name__}.{name} docstring"
            )


@pytest.mark.parametrize(("sync", "async_"), PAIRS, ids=[a.__name__ for _, a in PAIRS])
def test_sync_twins_have_no_coroutines(sync: type, async_: type) -> None:
    for name, member in public_members(sync).items():
        assert not inspect.iscoroutinefunction(member), f"{sync.__name__}.{name} is async"


def resource_classes() -> Iterator[Tuple[str, type]]:
    for _, async_ in PAIRS:
        if async_.__module__.startswith("magic_hour.resources"):
            yield async_.__name__, async_


@pytest.mark.parametrize(("name", "cls"), list(resource_classes()))
def test_async_resource_methods_are_coroutines(name: str, cls: type) -> None:
    for method_name, member in public_members(cls).items():
        if method_name.startswith("_") or isinstance(member, property) or not callable(member):
            continue
        # `async def` (an async generator, e.g. saved_items.iter_all, counts: it is iterated with `async for`)
        assert inspect.iscoroutinefunction(member) or inspect.isasyncgenfunction(member), (
            f"{name}.{method_name} must be `async def`"
        )


def attribute_tree(obj: Any, path: str = "client", depth: int = 0) -> Dict[str, str]:
    """The public attributes of a client, recursively, as {path: normalised type name}."""
    tree: Dict[str, str] = {}
    if depth > 5:
        return tree
    lazy = [
        n
        for n in dir(type(obj))
        if isinstance(inspect.getattr_static(type(obj), n), functools.cached_property)
    ]
    for name in sorted({*vars(obj), *lazy}):
        value = getattr(obj, name)  # namespaces under client.v1 are created on first access
        if name.startswith("_") or not type(value).__module__.startswith("magic_hour"):
            continue
        sub = f"{path}.{name}"
        tree[sub] = normalise(type(value).__name__)
        tree.update(attribute_tree(value, sub, depth + 1))
    return tree


def test_both_clients_expose_the_same_resource_tree() -> None:
    sync, async_ = Client(token="t" * 10), AsyncClient(token="t" * 10)
    try:
        sync_tree, async_tree = attribute_tree(sync), attribute_tree(async_)
        assert sync_tree == async_tree
        assert "client.v1.files.upload_urls" in sync_tree
    finally:
        sync.close()
        import anyio

        anyio.run(async_.aclose)


def test_the_checker_sees_drift() -> None:
    """The helpers above must notice a renamed parameter, a changed default or a reworded docstring."""

    class Thing:
        def go(self, *, a: int = 1) -> Thing:
            """Go."""
            return self

        def close(self) -> None:
            """Close it."""

    class AsyncThing:
        async def go(self, *, a: int = 2) -> AsyncThing:
            """Go."""
            return self

        async def aclose(self) -> None:
            """Close it, maybe."""

        async def extra(self) -> None:
            """Only here."""

    sync_members, async_members = public_members(Thing), public_members(AsyncThing)
    assert sorted(sync_members) == ["close", "go"]
    assert sorted(async_members) == ["close", "extra", "go"]
    assert describe_signature(sync_members["go"]) != describe_signature(async_members["go"])
    assert describe_signature(sync_members["close"]) == describe_signature(async_members["close"])
    assert normalise(inspect.getdoc(sync_members["close"])) != normalise(
        inspect.getdoc(async_members["close"])
    )
    assert normalise("res = await client.v1.x(a)  # AsyncClient") == "res = client.v1.x(a)  # Client"
