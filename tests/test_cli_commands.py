"""Every command of the catalog, in every mode, in real processes against the fake server on 127.0.0.1.

The command lines are the examples of the generated reference (``docs/cli/reference.md``, one per
command, built from the catalog by ``codegen/cli_docs.py``), so a new operation is covered here as soon
as codegen names it. Each mode runs its commands as one batch of concurrent processes forked by a zygote
(``_cli_procs.py``: real processes without an interpreter start-up each) against a fake of its own, with
renders that end at once (or never, where the mode needs a project still rendering); each command then
gets its own test of what its process printed, wrote and exited with:

- text: jobs and ``download`` write their outputs (PNG/MP4/MP3 by the project's kind) into the working
  directory and print their paths; the inputs reached the create request as uploaded ``api-assets/``
  paths; ``wait`` prints output URLs, ``get`` and plain calls the API's JSON, ``delete`` deletes.
- ``--json``: the job document (id, type, status, credits, outputs, downloaded files that exist, in
  ``--output-dir``).
- ``--no-wait``: ``ID<TAB>TYPE<TAB>STATUS`` of a project still rendering, nothing downloaded.
- ``--no-download`` (with ``-q``): output URLs, nothing written, nothing on stderr.
- a project that ends ``error`` or ``canceled``: exit 1, the error on stderr and in the JSON document.
- an API error (400) on the command's own operation: exit 1, the API's message, ``status_code`` 400.
- Ctrl-C (SIGINT) while a job's output downloads (its temporary file exists), or while the project
  renders: exit 130, ``interrupted``, neither the output nor its temporary file left.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import signal
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import certifi
import pytest
from _cli import REPO, TOKEN, env, make_inputs, reference_examples
from _cli_procs import Child, Result, Zygote

from magic_hour.cli import main
from magic_hour.cli._catalog import load_catalog
from magic_hour.testing import FakeMagicHour, FakeServer

pytestmark = pytest.mark.full

Json = Dict[str, Any]
Key = Tuple[str, str]

CATALOG: Json = load_catalog() or {}
COMMANDS: Dict[Key, Json] = {
    (c["group"], c["name"]): c for c in CATALOG["commands"] if c["action"] != "builtin"
}
EXAMPLES: Dict[Key, List[str]] = {(a[0], a[1]): a for a in reference_examples()}
ALL: List[Key] = list(COMMANDS)
JOBS: List[Key] = [k for k in ALL if COMMANDS[k]["action"] == "create"]
WAITING: List[Key] = JOBS + [k for k in ALL if COMMANDS[k]["action"] in ("wait", "download")]
# A project that fails: every waiting command gets one of the two endings (every kind gets both).
ERRORS, CANCELS = WAITING[0::2], WAITING[1::2]
_API = json.loads((REPO / "magic_hour" / "_data" / "api.json").read_text(encoding="utf-8"))
ROUTES: Dict[str, str] = {
    f"{verb.upper()} {path}": "{resource}.{method}".format(**op["x-magic-hour"])
    for path, verbs in _API["paths"].items()
    for verb, op in verbs.items()
}
OUTPUT = {
    "image": ("png", 0, b"\x89PNG"),
    "face_detection": ("png", 0, b"\x89PNG"),
    "video": ("mp4", 4, b"ftyp"),
}
OUTPUT["audio"] = ("mp3", 0, b"\xff\xfb")
API_ERROR = "refused on purpose by the test"
NOUN = {
    "image": "image project",
    "video": "video project",
    "audio": "audio project",
    "face_detection": "face detection",
}
PROJECT_ERROR = "the render failed on purpose"


def ids(keys: Sequence[Key]) -> List[str]:
    return [f"{g}-{n}" for g, n in keys]


def kind_of(key: Key) -> str:
    return str(COMMANDS[key]["kind"])


# ------------------------------------------------------------------------------------------ the batches


@pytest.fixture(scope="module")
def zygote() -> Iterator[Zygote]:
    with Zygote(env()) as running:
        yield running


@pytest.fixture(scope="module")
def child_env(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, str]:
    """The commands' environment: the token, and a trust store of one certificate (``SSL_CERT_FILE``,
    which httpx honours): every client loads its trust store when it is made, ~50-90 ms of CPU with
    certifi's whole bundle, more than the rest of a command here; these commands only talk http:// to
    127.0.0.1, so the bundle's contents never matter."""
    bundle = Path(certifi.where()).read_text(encoding="ascii")
    one = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n", bundle, flags=re.S)
    assert one is not None
    pem = tmp_path_factory.mktemp("trust") / "one.pem"
    pem.write_text(one.group(0), encoding="ascii")
    return env(TOKEN, SSL_CERT_FILE=str(pem))


class Batch:
    """One mode's run: a fake of its own, a working directory per command, the results."""

    def __init__(
        self, zygote: Zygote, env: Dict[str, str], root: Path, fake: FakeMagicHour, server: FakeServer
    ) -> None:
        self.zygote, self.env, self.root, self.fake, self.server = zygote, env, root, fake, server
        self.results: Dict[Key, Result] = {}
        self.projects: Dict[str, Tuple[str, str]] = {}  # kind -> (a project id, another for delete)

    def argv(self, key: Key, extra: Sequence[str]) -> List[str]:
        argv = [*EXAMPLES[key]]
        if "cuid-example" in argv:
            shared, for_delete = self.projects[kind_of(key)]
            project = for_delete if COMMANDS[key]["action"] == "delete" else shared
            argv = [project if word == "cuid-example" else word for word in argv]
        return ["--base-url", self.server.url, *argv, *extra]

    def start(self, key: Key, extra: Sequence[str]) -> Child:
        cwd = self.root / "-".join(key)
        cwd.mkdir(parents=True, exist_ok=True)
        make_inputs(EXAMPLES[key], cwd)
        return self.zygote.spawn(self.argv(key, extra), cwd, self.env)

    def make_projects(self) -> None:
        """Two projects of each kind the id commands need, started in-process by the kind's first job
        (--no-wait): they are the commands' fixtures, not what is tested."""
        kinds = sorted({kind_of(k) for k in ALL if COMMANDS[k]["args"]})
        made: Dict[str, List[str]] = {}
        for kind in kinds:
            key = next(k for k in JOBS if kind_of(k) == kind)
            cwd = self.root / f"projects-{kind}"
            cwd.mkdir(parents=True)
            make_inputs(EXAMPLES[key], cwd)
            for _ in range(2):
                out = io.StringIO()
                with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(out):
                    patch.chdir(cwd)
                    patch.setenv("SSL_CERT_FILE", self.env["SSL_CERT_FILE"])  # see child_env
                    code = main(["--token", TOKEN, *self.argv(key, ["--json", "--no-wait", "-q"])])
                assert code in (0, 1), out.getvalue()  # 1: already ended error or canceled (those batches)
                made.setdefault(kind, []).append(json.loads(out.getvalue())["id"])
        self.projects = {kind: (a, b) for kind, (a, b) in made.items()}

    def run(
        self,
        keys: Sequence[Key],
        extra: Callable[[Key], Sequence[str]],
        *,
        when: Optional[Callable[[Child], bool]] = None,
        then: Optional[Callable[[Child], None]] = None,
    ) -> Batch:
        results = self.zygote.run_all(keys, lambda key: self.start(key, extra(key)), when=when, then=then)
        self.results = dict(zip(keys, results))
        return self


def batch(
    zygote: Zygote,
    child_env: Dict[str, str],
    factory: pytest.TempPathFactory,
    name: str,
    keys: Sequence[Key],
    extra: Callable[[Key], Sequence[str]],
    *,
    before: Callable[[FakeMagicHour], None] = lambda fake: None,
    after: Callable[[FakeMagicHour], None] = lambda fake: None,
    render_seconds: float = 0.0,
    when: Optional[Callable[[Child], bool]] = None,
    then: Optional[Callable[[Child], None]] = None,
) -> Iterator[Batch]:
    fake = FakeMagicHour(tokens=TOKEN, render_seconds=render_seconds)
    with fake.serve() as server:
        run = Batch(zygote, child_env, factory.mktemp(name), fake, server)
        before(fake)
        if any(COMMANDS[k]["args"] for k in keys):
            run.make_projects()
        after(fake)
        yield run.run(keys, extra, when=when, then=then)


@pytest.fixture(scope="module")
def text(
    zygote: Zygote, child_env: Dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Batch]:
    yield from batch(zygote, child_env, tmp_path_factory, "text", ALL, lambda key: [])


@pytest.fixture(scope="module")
def as_json(
    zygote: Zygote, child_env: Dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Batch]:
    """With ``--output-dir out`` where outputs are downloaded."""

    def extra(key: Key) -> List[str]:
        downloads = COMMANDS[key]["action"] in ("create", "download")
        return ["--json", "--output-dir", "out"] if downloads else ["--json"]

    yield from batch(zygote, child_env, tmp_path_factory, "json", ALL, extra)


@pytest.fixture(scope="module")
def no_wait(
    zygote: Zygote, child_env: Dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Batch]:
    yield from batch(
        zygote, child_env, tmp_path_factory, "nowait", JOBS, lambda key: ["--no-wait"], render_seconds=60
    )


@pytest.fixture(scope="module")
def no_download(
    zygote: Zygote, child_env: Dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Batch]:
    """With ``-q``: no progress at all."""
    yield from batch(
        zygote, child_env, tmp_path_factory, "nodownload", WAITING, lambda key: ["--no-download", "-q"]
    )


@pytest.fixture(scope="module")
def failed(
    zygote: Zygote, child_env: Dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Batch]:
    """Every project ends ``error``: the jobs' own, and those the wait/download commands wait for."""
    yield from batch(
        zygote,
        child_env,
        tmp_path_factory,
        "failed",
        ERRORS,
        lambda key: ["--json"],
        before=_ending("error"),
    )


@pytest.fixture(scope="module")
def canceled(
    zygote: Zygote, child_env: Dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Batch]:
    yield from batch(
        zygote, child_env, tmp_path_factory, "canceled", CANCELS, lambda key: [], before=_ending("canceled")
    )


def _ending(outcome: str) -> Callable[[FakeMagicHour], None]:
    return lambda fake: fake.end_next_projects(outcome, times=1000, message=PROJECT_ERROR)


@pytest.fixture(scope="module")
def api_error(
    zygote: Zygote, child_env: Dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Batch]:
    def arm(fake: FakeMagicHour) -> None:
        routes: Dict[str, int] = {}
        for key in ALL:
            route = ROUTES[COMMANDS[key]["operation"]]
            routes[route] = routes.get(route, 0) + 1
        for route, times in routes.items():
            fake.fail_next(route, 400, times=times, body={"message": API_ERROR})

    yield from batch(zygote, child_env, tmp_path_factory, "apierror", ALL, lambda key: ["--json"], after=arm)


def _busy(child: Child) -> bool:
    """A download is being written (its temporary file exists), or the project is still rendering."""
    if any(p.name.endswith(".part") for p in child.cwd.iterdir()):
        return True
    return any(f": {s} (" in child.stderr_so_far() for s in ("queued", "rendering"))


@pytest.fixture(scope="module")
def interrupted(
    zygote: Zygote, child_env: Dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Batch]:
    """Ctrl-C: the jobs' while their output is being downloaded (the fake holds every download back for
    10 s: the temporary file exists, no byte has come), wait and download while the project renders."""

    def hold_downloads(fake: FakeMagicHour) -> None:
        fake.render_seconds = 0  # the jobs' projects; those of wait and download render for a minute
        fake.set_latency(10, "downloads")

    yield from batch(
        zygote,
        child_env,
        tmp_path_factory,
        "ctrlc",
        WAITING,
        lambda key: [],
        render_seconds=60,
        after=hold_downloads,
        when=_busy,
        then=lambda child: child.signal(signal.SIGINT),
    )


# ------------------------------------------------------------------------------------------ checks


def ok(result: Result) -> None:
    assert result.code == 0, result
    assert "Traceback" not in result.err, result
    assert TOKEN not in result.out + result.err


def check_outputs(paths: Sequence[str], key: Key, directory: Path) -> None:
    """Downloaded files: in ``directory``, complete, of the project's kind; no .part left."""
    ext, offset, magic = OUTPUT[kind_of(key)]
    assert paths, key
    for line in paths:
        path = Path(line)
        assert path.parent == directory and path.suffix == f".{ext}", (key, line)
        assert path.read_bytes()[offset : offset + len(magic)] == magic, (key, line)
    assert not [p for p in directory.iterdir() if p.name.endswith(".part")]


def inputs_only(cwd: Path, key: Key) -> None:
    """Nothing was written: the working directory holds the command's inputs only."""
    names = {p.name for p in cwd.iterdir()}
    assert names <= set(EXAMPLES[key]), (key, names)


@pytest.mark.parametrize("key", ALL, ids=ids(ALL))
def test_text(key: Key, text: Batch) -> None:
    result = text.results[key]
    ok(result)
    action = COMMANDS[key]["action"]
    lines = result.out.splitlines()
    if action in ("create", "download"):
        check_outputs(lines, key, result.cwd)
    if action == "create":
        # the last line: what it came to and what it cost
        last = result.err.splitlines()[-1]
        assert re.fullmatch(
            rf"magic-hour: {NOUN[kind_of(key)]} cm\w+ complete in [\d.]+ s; [\d,]+ credits? charged", last
        )
        # the batch's create of this operation (the projects made before the batch came first)
        body = json.loads(text.fake.requests_to(ROUTES[COMMANDS[key]["operation"]])[-1].body or b"")
        for path in COMMANDS[key]["files"]:
            value: Any = body
            for part in path.replace("[]", "").split("."):
                value = value.get(part) if isinstance(value, dict) else None
            for one in value if isinstance(value, list) else [value]:
                assert one is None or str(one).startswith("api-assets/"), (key, path, one)
    elif action == "wait":
        assert lines and all(line.startswith(text.server.storage_url) for line in lines), result
    elif COMMANDS[key].get("summary") == "account":  # a line for people (--json: the answer)
        assert re.fullmatch(r"[\d,]+ credits left; plan \w+ \(.*\); .+@.+\n", result.out), result
    elif action in ("get", "call"):
        answer = json.loads(result.out)
        if action == "get":
            assert answer["id"] == text.projects[kind_of(key)][0]
    elif action == "delete":
        assert result.out == "" and "deleted" in result.err
        assert text.fake.project(text.projects[kind_of(key)][1]).deleted


@pytest.mark.parametrize("key", ALL, ids=ids(ALL))
def test_json(key: Key, as_json: Batch) -> None:
    result = as_json.results[key]
    ok(result)
    doc = json.loads(result.out)
    action = COMMANDS[key]["action"]
    if action in ("create", "wait", "download"):
        assert doc["ok"] is True and doc["status"] == "complete" and doc["type"] == kind_of(key)
        assert doc["project"]["id"] == doc["id"] and doc["error"] is None
        assert isinstance(doc["credits_charged"], int)
        assert doc["outputs"] and all(u.startswith(as_json.server.storage_url) for u in doc["outputs"])
        if action == "wait":
            assert doc["downloaded"] == []
        else:
            assert len(doc["downloaded"]) == len(doc["outputs"])
            check_outputs(doc["downloaded"], key, result.cwd / "out")
            assert {p.name for p in result.cwd.iterdir()} <= {*EXAMPLES[key], "out"}
    elif action == "delete":
        assert doc == {
            "ok": True,
            "id": as_json.projects[kind_of(key)][1],
            "type": kind_of(key),
            "deleted": True,
        }
    else:
        assert isinstance(doc, dict) and doc


@pytest.mark.parametrize("key", JOBS, ids=ids(JOBS))
def test_no_wait(key: Key, no_wait: Batch) -> None:
    result = no_wait.results[key]
    ok(result)
    project_id, kind, status = result.out.rstrip("\n").split("\t")
    assert kind == kind_of(key) and status in ("queued", "rendering")
    assert no_wait.fake.project(project_id).kind == kind
    inputs_only(result.cwd, key)


@pytest.mark.parametrize("key", WAITING, ids=ids(WAITING))
def test_no_download(key: Key, no_download: Batch) -> None:
    result = no_download.results[key]
    ok(result)
    lines = result.out.splitlines()
    assert lines and all(line.startswith(no_download.server.storage_url) for line in lines), result
    assert result.err == ""  # -q
    inputs_only(result.cwd, key)
    assert no_download.fake.requests_to("downloads") == []


def test_every_kind_gets_both_endings() -> None:
    assert {kind_of(k) for k in ERRORS} == {kind_of(k) for k in CANCELS} == {kind_of(k) for k in WAITING}


@pytest.mark.parametrize("key", ERRORS, ids=ids(ERRORS))
def test_a_failed_project(key: Key, failed: Batch) -> None:
    result = failed.results[key]
    assert result.code == 1, result
    doc = json.loads(result.out)
    assert doc["ok"] is False and doc["status"] == "error" and doc["downloaded"] == []
    last = re.sub(r" \(\d+ credits? charged\)$", "", result.err.splitlines()[-1])
    if kind_of(key) == "face_detection":  # its answer has no error field: the status says it all
        assert last.endswith(" ended error") and doc["error"] is None
    else:
        assert last.endswith(f" ended error: {PROJECT_ERROR}") and doc["error"]["message"] == PROJECT_ERROR
    inputs_only(result.cwd, key)


@pytest.mark.parametrize("key", CANCELS, ids=ids(CANCELS))
def test_a_canceled_project(key: Key, canceled: Batch) -> None:
    result = canceled.results[key]
    assert result.code == 1, result
    # a face detection has no "canceled" status: the fake shows "error"
    status = "error" if kind_of(key) == "face_detection" else "canceled"
    last = result.err.splitlines()[-1]
    pattern = rf"magic-hour: error: {NOUN[kind_of(key)]} \w+ ended {status}( \(\d+ credits? charged\))?"
    assert re.fullmatch(pattern, last), result
    assert result.out == ""  # text mode: no path, no URL
    inputs_only(result.cwd, key)


@pytest.mark.parametrize("key", ALL, ids=ids(ALL))
def test_an_api_error(key: Key, api_error: Batch) -> None:
    result = api_error.results[key]
    assert result.code == 1, result
    assert result.err.splitlines()[-1].startswith("magic-hour: error: 400") and API_ERROR in result.err
    doc = json.loads(result.out)
    assert doc["ok"] is False and doc["error"]["status_code"] == 400 and API_ERROR in doc["error"]["message"]
    inputs_only(result.cwd, key)


@pytest.mark.parametrize("key", WAITING, ids=ids(WAITING))
def test_ctrl_c(key: Key, interrupted: Batch) -> None:
    result = interrupted.results[key]
    assert result.code == 130, result
    lines = result.err.splitlines()
    notes = lines[lines.index("magic-hour: interrupted") + 1 :]
    group, kind = key[0], kind_of(key)
    resume = "download" if kind != "face_detection" else "wait"
    (project_id,) = {w for w in result.err.split() if re.fullmatch(r"cm[0-9a-f]{24}", w)}
    command = f"magic-hour --base-url {interrupted.server.url} {group} {resume} {project_id}"
    if COMMANDS[key]["action"] == "create":  # interrupted mid-download: the temporary file was removed
        assert "project" in result.err and ": complete (" in result.err, result
        assert f"magic-hour: started {kind.replace('_', ' ')}" in result.err, result
        assert notes[-1].endswith(f"is complete; to get its outputs: {command}"), result
    else:  # while the project renders: it keeps running, and the command to resume it is given
        assert "keeps running on Magic Hour and costs its credits" in notes[0], result
        assert notes[-1] == f"magic-hour: to wait for it and get its outputs: {command}", result
    inputs_only(result.cwd, key)
