"""What a batch is asked to do: its jobs, checked before anything is sent, and their identity.

A job is one ``create`` (a tool and its arguments, with local files where the tool takes files). Its
``key`` is its identity in the journal: a rerun given the same jobs finds the same items. By default it
is derived from the job itself: the input file (relative to the folder a glob or folder started from)
for :func:`each_file`, else a hash of the tool and its arguments (the second of two identical jobs is
another item: ``#2``).
"""

from __future__ import annotations

import glob as globbing
import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Set, Tuple, Union, cast

from .._exceptions import InvalidParameterError
from .._extensions import EXTENSIONS, normalize_extension
from .._jobs.inputs import collect
from ._tools import Tool, find_tool

PathArg = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class BatchJob:
    """One job of a batch: ``client.v1.<tool>.create(**params)``, then wait and download.

    Args:
        tool: the operation, by its name under ``client.v1`` (``"image_background_remover"``).
        params: its ``create`` arguments; file fields take local paths (uploaded for you), URLs or
            ``api-assets/...`` paths. Only what JSON can hold: the journal keeps them.
        key: the job's identity in the journal (default: derived from ``tool`` and ``params``).
        output: the name of its output files, without extension, relative to the batch's output folder
            (default: the input file's, or the key). A second output gets ``-2``, and so on.

    Example::

        BatchJob("face_swap_photo", {"assets": {"source_file_path": "me.png",
                                                "target_file_path": "posters/a.jpg"}}, output="a")
    """

    tool: str
    params: Mapping[str, Any] = field(default_factory=lambda: {})
    key: Optional[str] = None
    output: Optional[str] = None


@dataclass(frozen=True)
class Planned:
    """A checked job: what the journal records."""

    key: str
    tool: Tool
    label: str
    stem: str
    params: Dict[str, Any]


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _plain(value: Any, where: str) -> Any:
    """``value`` as JSON can hold it (paths as strings): the journal stores it."""
    if isinstance(value, os.PathLike):
        return os.fspath(cast("os.PathLike[str]", value))
    if isinstance(value, Mapping):
        mapping = cast("Mapping[object, Any]", value)
        out: Dict[str, Any] = {}
        for k, v in mapping.items():
            if not isinstance(k, str):
                raise InvalidParameterError(f"{where}", k, "string keys (the journal stores JSON)")
            out[k] = _plain(v, f"{where}.{k}")
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(cast("Iterable[Any]", value))]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise InvalidParameterError(
        where, value, "a value JSON can hold: str, number, bool, None, list, dict or a path (no file objects)"
    )


def _input_label(tool: Tool, params: Mapping[str, Any]) -> Optional[str]:
    """The first local input file of ``params`` (for names), if any."""
    for found in collect(params, tool.files):
        if isinstance(found.value, str):
            return found.value
    return None


def _stem_of(path: str) -> str:
    stem = os.path.splitext(path)[0].replace("\\", "/").strip("/")
    parts = [p for p in stem.split("/") if p not in ("", ".", "..")]
    return "/".join(parts) or "output"


def check_stem(value: object, where: str) -> str:
    """A job's ``output``: the base of its outputs' names, relative to the output folder (its extension
    comes from each output's URL; not ``_jobs.names.check_output``, which checks a whole file path)."""
    if not isinstance(value, str) or not value.strip() or "\x00" in value or os.path.isabs(value):
        raise InvalidParameterError(
            where, value, "a file name without extension, relative to the output folder"
        )
    parts = value.replace("\\", "/").split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise InvalidParameterError(where, value, "a relative name without '.' or '..' parts")
    return "/".join(parts)


def _is_jobs(value: object) -> bool:
    return isinstance(value, Iterable) and not isinstance(value, (str, bytes, Mapping))


def plan_jobs(jobs: Iterable[Union[BatchJob, Mapping[str, Any]]]) -> Iterator[Planned]:
    """Check every job as its ``create`` would (before anything is sent) and give it its key.

    Raises :class:`InvalidParameterError` naming the job (``jobs[3].params.assets.image_file_path``):
    at once when ``jobs`` is no iterable, else as the bad job is reached."""
    if not _is_jobs(jobs):
        raise InvalidParameterError("jobs", jobs, "an iterable of BatchJob (or dicts with tool, params)")
    return _planned(jobs)


def _planned(jobs: Iterable[Union[BatchJob, Mapping[str, Any]]]) -> Iterator[Planned]:
    seen: Set[str] = set()
    repeats: Dict[str, int] = {}
    for i, job in enumerate(cast("Iterable[object]", jobs)):
        where = f"jobs[{i}]"
        if isinstance(job, Mapping):
            job = _job_from_mapping(cast("Mapping[str, Any]", job), where)
        if not isinstance(job, BatchJob):
            raise InvalidParameterError(where, job, "a BatchJob, or a dict with tool, params, key, output")
        tool = find_tool(job.tool, f"{where}.tool")
        if not isinstance(job.params, Mapping):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise InvalidParameterError(
                f"{where}.params", job.params, "a dict of the tool's create arguments"
            )
        params = cast(Dict[str, Any], _plain(job.params, f"{where}.params"))
        try:
            tool.check(params)
            input_file = _input_label(tool, params)  # also checks that every local file exists
        except InvalidParameterError as exc:
            exc.param = f"{where}.params.{exc.param}"
            exc.args = (f"{where}: {exc.args[0]}",)
            raise
        if job.key is not None:
            if not isinstance(job.key, str) or not job.key:  # pyright: ignore[reportUnnecessaryIsInstance]
                raise InvalidParameterError(f"{where}.key", job.key, "a non-empty string")
            key = job.key
        else:
            digest = hashlib.sha256(_canonical([tool.name, params]).encode()).hexdigest()[:16]
            key = f"{tool.name}-{digest}"
            repeats[key] = repeats.get(key, 0) + 1
            if repeats[key] > 1:
                key = f"{key}#{repeats[key]}"
        if key in seen:
            raise InvalidParameterError(f"{where}.key", key, "a key no other job of the batch has")
        seen.add(key)
        label = job.key or input_file or key
        if job.output is not None:
            stem = check_stem(job.output, f"{where}.output")
        elif input_file is not None and job.key is None:
            stem = _stem_of(os.path.basename(input_file))
        else:
            stem = _stem_of(key.replace("#", "-"))
        yield Planned(key, tool, label, stem, params)


def _job_from_mapping(data: Mapping[str, Any], where: str) -> BatchJob:
    unknown = set(data) - {"tool", "params", "key", "output"}
    if unknown:
        raise InvalidParameterError(
            f"{where}.{sorted(unknown)[0]}", data[sorted(unknown)[0]], "tool, params, key, output"
        )
    if "tool" not in data:
        raise InvalidParameterError(
            f"{where}.tool", None, "the name of an operation that starts a project", reason="missing"
        )
    return BatchJob(data["tool"], data.get("params") or {}, data.get("key"), data.get("output"))


# ---------------------------------------------------------------------------------------------- files


def _file_field(tool: Tool, field_path: Optional[str]) -> Tuple[str, Tuple[str, ...]]:
    """The field that takes each file, and its asset types."""
    if field_path is not None:
        if field_path not in tool.files:
            raise InvalidParameterError(
                "field", field_path, ", ".join(tool.files) or "(this tool takes no files)"
            )
        return field_path, tool.files[field_path]
    required = [p for p in tool.files if "[]" not in p and _required(tool, p)]
    candidates = required if len(required) == 1 else [p for p in tool.files if "[]" not in p]
    if len(candidates) != 1:
        raise InvalidParameterError(
            "field",
            None,
            "the file field that takes each file: " + (", ".join(tool.files) or "none"),
            reason="this tool has several" if candidates else "this tool takes no files",
        )
    return candidates[0], tool.files[candidates[0]]


def _required(tool: Tool, path: str) -> bool:
    schema: Any = tool.endpoint.body
    for part in path.split("."):
        fields = getattr(schema, "fields", None)
        if not isinstance(fields, dict) or part not in fields:
            return False
        _, required, schema = cast("Dict[str, Tuple[str, bool, Any]]", fields)[part]
        if not required:
            return False
    return True


def _set(params: Dict[str, Any], path: str, value: str) -> Dict[str, Any]:
    out = dict(params)
    node = out
    parts = path.split(".")
    for part in parts[:-1]:
        child = node.get(part)
        node[part] = dict(cast(Mapping[str, Any], child)) if isinstance(child, Mapping) else {}
        node = node[part]
    node[parts[-1]] = value
    return out


def accepts(asset_types: Tuple[str, ...], path: str) -> bool:
    """Whether a file field of ``asset_types`` (``("image",)``, ``("image", "video")``...) takes
    ``path``'s extension."""
    ext = normalize_extension(os.path.splitext(path)[1])
    return any(ext in extensions for kind, extensions in EXTENSIONS.items() if kind in asset_types)


def walk_files(root: str) -> Iterator[str]:
    """Every file under ``root``, in a stable order (sorted per folder; hidden ones skipped)."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield os.path.join(folder, name)


def glob_root(pattern: str) -> str:
    parts = pattern.replace("\\", "/").split("/")
    fixed: List[str] = []
    for part in parts:
        if globbing.has_magic(part):
            break
        fixed.append(part)
    root = "/".join(fixed)
    return root if root else "."


def each_file(
    tool: str,
    files: Union[PathArg, Iterable[PathArg]],
    *,
    field: Optional[str] = None,
    params: Optional[Mapping[str, Any]] = None,
) -> Iterator[BatchJob]:
    """One :class:`BatchJob` of ``tool`` per file: the same ``params``, each file in ``field``.

    ``files``: a folder (every file under it whose extension the field takes), a glob pattern
    (``"photos/**/*.jpg"``) or paths. ``field``: the file field (``"assets.image_file_path"``); by
    default the tool's only required one. Each job's key is the file's path relative to the folder (or
    to the glob's first folder), and its outputs keep that relative path (``photos/a/b.jpg`` ->
    ``out/a/b.png``), so two files of the same name never share an output.

    Example::

        jobs = magic_hour.batches.each_file("image_background_remover", "photos/")
    """
    found = find_tool(tool)
    path, asset_types = _file_field(found, field)
    if params is not None and not isinstance(params, Mapping):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise InvalidParameterError("params", params, "a dict of the tool's other create arguments")
    return _each(tool, files, path, asset_types, dict(params or {}))


def _each(
    tool: str,
    files: Union[PathArg, Iterable[PathArg]],
    path: str,
    asset_types: Tuple[str, ...],
    base: Dict[str, Any],
) -> Iterator[BatchJob]:
    listed: Iterable[Tuple[str, str]]
    if isinstance(files, (str, os.PathLike)):
        given = os.fspath(files)
        if os.path.isdir(given):
            listed = ((p, os.path.relpath(p, given)) for p in walk_files(given) if accepts(asset_types, p))
        elif globbing.has_magic(given):
            root = glob_root(given)
            listed = (
                (p, os.path.relpath(p, root))
                for p in sorted(globbing.iglob(given, recursive=True))
                if os.path.isfile(p)
            )
        else:
            listed = [(given, os.path.basename(given))]
    elif isinstance(files, Iterable):  # pyright: ignore[reportUnnecessaryIsInstance]
        listed = ((os.fspath(p), os.path.basename(os.fspath(p))) for p in files)
    else:
        raise InvalidParameterError("files", files, "a folder, a glob pattern, or a list of paths")
    for file, relative in listed:
        relative = relative.replace(os.sep, "/")
        yield BatchJob(tool, _set(base, path, file), key=relative, output=_stem_of(relative))
