"""Where a job's outputs go (no I/O but ``exists`` checks): their file names (from the URL's path or the
project's id, sanitised, unique within one call), the caller's ``output`` or directory, and the checks of
the URLs and paths a download is given."""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass, replace
from typing import List, Optional, Sequence, Set, Tuple, cast
from urllib.parse import unquote, urlsplit

from .._core.hosts import url_host_problem
from .._exceptions import DownloadError, InvalidParameterError
from .._redact import invisible, safe_url

MAX_NAME_BYTES = 200
"""Room below the usual 255-byte limit for the temporary file's prefix and suffix."""

_UNSAFE = re.compile(r'[<>:"/\\|?*]')
"""Characters Windows refuses in a name (the invisible ones are replaced before)."""
_WINDOWS_RESERVED = re.compile(
    r"(?i)^(con|prn|aux|nul|com[\d\u00b9\u00b2\u00b3]|lpt[\d\u00b9\u00b2\u00b3]|conin\$|conout\$)(\.|$)"
)


def clean_name(name: str) -> str:
    """``name`` made safe as one file name: no directory parts, no control, format (bidirectional
    overrides, zero-width) or reserved characters, no leading or trailing dots and spaces; ``""`` when
    nothing usable is left."""
    name = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1])
    name = "".join("_" if invisible(c) else c for c in name)
    name = _UNSAFE.sub("_", name).strip().strip(".").strip()
    return name if name.strip("_") else ""


def safe_name(url: str, index: int) -> str:
    """A file name for ``url``: the last segment of its path, decoded and made safe (:func:`clean_name`).

    Not a Windows device name, not empty, at most :data:`MAX_NAME_BYTES` bytes (keeping the extension).
    A URL without a usable name gives ``output-<index>``.
    """
    try:
        path = urlsplit(url).path
    except ValueError:
        path = ""
    name = clean_name(unquote(path))
    if not name or _WINDOWS_RESERVED.match(name):
        name = f"output-{index}" + (f"-{name}" if name else "")
    return _truncate(name)


def _truncate(name: str) -> str:
    if len(name.encode()) <= MAX_NAME_BYTES:
        return name
    stem, ext = os.path.splitext(name)
    if len(ext.encode()) > 20:
        stem, ext = name, ""
    budget = MAX_NAME_BYTES - len(ext.encode())
    return stem.encode()[:budget].decode(errors="ignore") + ext


def unique_names(urls: Sequence[str]) -> List[str]:
    """One safe name per URL; repeated names (compared case-insensitively, for macOS and Windows) get
    ``-1``, ``-2``... before the extension."""
    taken: Set[str] = set()
    names: List[str] = []
    for i, url in enumerate(urls):
        name = safe_name(url, i)
        stem, ext = os.path.splitext(name)
        n = 0
        while name.casefold() in taken:
            n += 1
            name = f"{stem}-{n}{ext}"
        taken.add(name.casefold())
        names.append(name)
    return names


def _extension(url: str, index: int) -> str:
    """The extension of the URL's own name (``.png``), ``""`` when it has none worth keeping."""
    name = safe_name(url, index)
    ext = os.path.splitext(name)[1]
    return ext if name != f"output-{index}" and 1 < len(ext.encode()) <= 20 else ""


def output_names(
    urls: Sequence[str], *, project_id: Optional[str] = None, stem: Optional[str] = None
) -> List[str]:
    """The file names of a project's outputs: a pure function, so that the same inputs always give the
    same names (a batch that names outputs after its inputs finds them again on a rerun).

    The base of the names is ``stem`` (chosen by the caller: ``-o result.png``'s ``result``, a batch
    input's name), else ``project_id`` (what ``generate`` and ``check_result`` use: every job's URL ends
    in ``output.png``, so that results never share a name). One output is ``<base><ext>``, several are
    ``<base>-1<ext>``, ``<base>-2<ext>``..., ``<ext>`` being the extension of the URL's name. Without a
    usable base, the URL's own names (:func:`unique_names`). Names are made safe (:func:`clean_name`).
    """
    base = clean_name(stem or "") or clean_name(project_id or "")
    if not base:
        return unique_names(urls)
    exts = [_extension(url, i) for i, url in enumerate(urls)]
    names = [base + exts[0]] if len(urls) == 1 else [f"{base}-{i}{ext}" for i, ext in enumerate(exts, 1)]
    return [_truncate(f"_{name}" if _WINDOWS_RESERVED.match(name) else name) for name in names]


def project_id_of(urls: object) -> Optional[str]:
    """The id of a project (or face detection) given whole to ``download``; ``None`` for URLs or items."""
    if isinstance(urls, (str, list, tuple)):
        return None
    project_id = getattr(urls, "id", None)
    listed = any(isinstance(getattr(urls, a, None), list) for a in ("downloads", "faces"))
    return project_id if listed and isinstance(project_id, str) and project_id else None


def check_output(output: object, overwrite: bool) -> Optional[str]:
    """A file path the caller chose for a job's output (the command's ``-o FILE``): refused before any
    request when it cannot be used, or names an existing file and ``overwrite`` is false."""
    if output is None:
        return None
    if isinstance(output, os.PathLike):
        output = os.fspath(cast("os.PathLike[str]", output))
    if not isinstance(output, str) or "\x00" in output or os.path.basename(output) in ("", ".", ".."):
        raise InvalidParameterError("output", output, "a file path (str or os.PathLike)")
    if os.path.isdir(output):
        raise InvalidParameterError("output", output, "a file path", reason="a directory")
    if not overwrite and os.path.lexists(output):
        raise InvalidParameterError(
            "output",
            output,
            "a file that does not exist yet, or overwrite=True (--overwrite)",
            reason="it exists",
        )
    return output


def check_save(overwrite: object, output: object) -> None:
    """The arguments that say how outputs are saved, checked before any request."""
    if not isinstance(overwrite, bool):
        raise InvalidParameterError("overwrite", overwrite, "True or False")
    check_output(output, overwrite)


@dataclass(frozen=True)
class OutputPlan:
    """How a call's outputs are saved: their ``names`` in ``directory``, whether the caller chose them
    (``exact``: an existing file there is an error) or asked to replace existing files (``overwrite``),
    and how many download at once."""

    directory: Optional[str]
    names: List[str]
    max_concurrency: int
    exact: bool = False
    overwrite: bool = False


def plan_outputs(
    source: object,
    urls: Sequence[str],
    directory: Optional[str],
    max_concurrency: int,
    *,
    overwrite: bool = False,
    output: Optional[str] = None,
) -> OutputPlan:
    """Where the outputs of ``source`` (what ``download`` was given: URLs, items or a project) go: the
    caller's ``output`` (:func:`output_paths`), else ``directory`` under :func:`output_names` (a
    project's id as their base)."""
    check_save(overwrite, output)
    if output is not None:
        folder, names = output_paths(urls, output)
        return OutputPlan(folder, names, max_concurrency, exact=True, overwrite=overwrite)
    names = output_names(urls, project_id=project_id_of(source))
    return OutputPlan(directory, names, max_concurrency, overwrite=overwrite)


@dataclass(frozen=True)
class OutputFile:
    """One output: where it comes from and where it goes (``path`` is what the caller gets back, unless
    its name was taken meanwhile: see :func:`~magic_hour._jobs.disk.place`).

    ``exact``: the caller chose the name (an existing file there is an error, not a reason to pick
    another); ``overwrite``: an existing file of that name is replaced."""

    index: int
    url: str
    directory: str
    name: str
    bare: bool = False
    """No directory was given: ``path`` is the bare name (a given ``"."`` gives ``./name``, as the official
    SDK's ``os.path.join`` does)."""
    exact: bool = False
    overwrite: bool = False

    @property
    def path(self) -> str:
        return self.name if self.bare else os.path.join(self.directory, self.name)

    @property
    def shown(self) -> str:
        return safe_url(self.url, mark_query=False)

    def numbered(self, n: int) -> OutputFile:
        """The same output under ``<name>-<n><ext>``."""
        stem, ext = os.path.splitext(self.name)
        return replace(self, name=f"{stem}-{n}{ext}")


def output_files(urls: Sequence[str], plan: OutputPlan) -> List[OutputFile]:
    """One :class:`OutputFile` per URL, as ``plan`` names them."""
    folder = plan.directory if plan.directory is not None else os.curdir
    bare = plan.directory is None
    return [
        OutputFile(i, url, folder, name, bare, plan.exact, plan.overwrite)
        for i, (url, name) in enumerate(zip(urls, plan.names))
    ]


def output_paths(urls: Sequence[str], output: str) -> Tuple[Optional[str], List[str]]:
    """(directory, names) of outputs saved as the caller's ``output``: that name for one output;
    ``<stem>-1<ext>``, ``<stem>-2<ext>``... (each with its own extension) for several. The directory is
    ``None`` for a bare name (the paths returned are then bare too)."""
    directory, name = os.path.split(output)
    if len(urls) == 1:
        return directory or None, [name]
    return directory or None, output_names(urls, stem=os.path.splitext(name)[0] or name)


def check_urls(urls: object, directory: Optional[str] = None) -> List[str]:
    """A list of absolute http(s) URLs (a single string is accepted as a list of one).

    A URL the caller gave that cannot be used is an :class:`InvalidParameterError`; one the API gave (an
    item's ``.url``: a project's ``downloads``, a face detection's ``faces``) is the server's fault, a
    :class:`DownloadError` naming where it was to be written (``directory``)."""
    if not isinstance(urls, (str, list, tuple)):  # a project (or face detection) itself
        found: List[List[object]] = []
        for attribute in ("downloads", "faces"):
            value = getattr(urls, attribute, None)
            if isinstance(value, list):
                found.append(cast("List[object]", value))
        if found:
            urls = next((x for x in found if x), found[0])
    if isinstance(urls, str):
        items: List[object] = [urls]
    elif isinstance(urls, (list, tuple)):
        items = list(cast("Sequence[object]", urls))
    else:
        raise InvalidParameterError(
            "urls", urls, "a URL, a list of URLs or of items with .url (project downloads), or a project"
        )
    out: List[str] = []
    for i, item in enumerate(items):
        url = item if isinstance(item, str) else getattr(item, "url", None)
        # url_host_problem: a URL httpx cannot parse ("http://[::1") raised a bare httpx.InvalidURL
        if (
            isinstance(url, str)
            and url.lower().startswith(("http://", "https://"))
            and url_host_problem(url) is None
        ):
            out.append(url)
            continue
        shown = safe_url(url, mark_query=False) if isinstance(url, str) else item
        if not isinstance(item, str) and hasattr(item, "url"):
            shown = safe_url(url, mark_query=False) if isinstance(url, str) else repr(url)
            name = safe_name(url if isinstance(url, str) else "", i)
            path = name if directory is None else os.path.join(directory, name)
            raise DownloadError(
                f"downloading output {i} to {path} failed: the API gave a download URL the SDK cannot "
                f"use ({shown[:200]!r}: not an absolute http(s) URL with a valid host); nothing was sent",
                url=shown,
                path=path,
            )
        raise InvalidParameterError(f"urls[{i}]", shown, "an absolute http(s) URL, or an item with .url")
    return out


def check_directory(directory: object) -> Optional[str]:
    """A download directory: ``None`` and ``""`` are the current one (as in the official SDK)."""
    if isinstance(directory, os.PathLike):
        directory = os.fspath(cast("os.PathLike[str]", directory))
    if directory is None or directory == "":
        return None
    if not isinstance(directory, str) or "\x00" in directory:
        raise InvalidParameterError(
            "download_directory",
            directory,
            "a directory path (str or os.PathLike), or None or '' (the current one)",
        )
    return directory
