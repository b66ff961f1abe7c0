"""``--max-concurrent-transfers``: the client's ``max_concurrent_transfers`` from the command line.

Counted on the wire: the fake's real server on 127.0.0.1 answers each transfer (upload PUT, output
download) after a latency, and counts, as each transfer arrives, the transfers it has received and not
yet answered (the count only grows at an arrival, so the largest of these is the peak). The server
answers before the client releases its slot, so what it sees never exceeds what the client lets
through. So that reaching the expected count does not depend on how the threads are scheduled (a
loaded machine once started the sixth upload after the first had been answered: a peak of 4 instead of
6), the first transfers are also held until the expected number are in flight (or :data:`GATHER`
seconds pass): a bound that lets fewer through fails (the count never gets there), one that lets more through
fails too (the latency keeps the first ones in flight while the others arrive). The control runs (no
bound, a larger bound) show the count reaches more when the bound allows it, so a bound that failed to
reach the client would fail the test.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
from pathlib import Path
from typing import Any, List, Tuple

import pytest
from _cli import TOKEN

from magic_hour.cli import main
from magic_hour.cli._complete import GLOBAL, TAKES_VALUE
from magic_hour.cli._parser import global_options
from magic_hour.testing import FakeMagicHour
from magic_hour.testing._exchange import Exchange

pytestmark = pytest.mark.full

LATENCY = 0.3
"""Seconds the fake waits before answering each transfer: the transfers allowed to overlap do."""


GATHER = 10.0
"""Seconds a transfer waits at most for the expected number to be in flight (only a broken bound waits
that long)."""


class Peak:
    """Counts the transfers in flight at the fake (received, not answered) as each one arrives, and holds
    the first ones until ``expected`` are in flight at once (at most :data:`GATHER` seconds)."""

    def __init__(self, fake: FakeMagicHour, expected: int) -> None:
        self._fake = fake
        self._expected = expected
        self._arrived = threading.Condition()
        self.peak = 0
        self._begin: Any = fake.begin_request

    def _in_flight(self) -> int:
        records = self._fake.requests_to("storage") + self._fake.requests_to("downloads")
        return sum(1 for r in records if r.status is None and r.fault is None)

    def begin_request(self, *args: Any, **kwargs: Any) -> Exchange:
        exchange: Exchange = self._begin(*args, **kwargs)  # recorded: counted in flight from here
        if exchange.record.route not in ("storage", "downloads"):
            return exchange
        with self._arrived:
            self.peak = max(self.peak, self._in_flight())
            self._arrived.notify_all()
            # Held until the expected number were in flight at once (then nothing is held any more).
            self._arrived.wait_for(lambda: self.peak >= self._expected, GATHER)
        return exchange

    def __enter__(self) -> Peak:
        self._fake.begin_request = self.begin_request  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        del self._fake.begin_request


@pytest.fixture
def fake() -> FakeMagicHour:
    fake = FakeMagicHour(tokens=TOKEN)
    fake.set_latency(LATENCY, "storage")
    fake.set_latency(LATENCY, "downloads")
    return fake


@pytest.fixture
def files(tmp_path: Path) -> List[Path]:
    out = []
    for i in range(6):
        path = tmp_path / f"photo{i}.png"
        path.write_bytes(os.urandom(3000 + i))
        out.append(path)
    return out


def _main(
    fake: FakeMagicHour, argv: List[str], capsys: pytest.CaptureFixture[str], expected: int
) -> Tuple[int, str, str, int]:
    with fake.serve() as server, Peak(fake, expected) as peak:
        code = main(["--base-url", server.url, *argv])
    out, err = capsys.readouterr()
    return code, out, err, peak.peak


@pytest.mark.parametrize(
    ("option", "expected"),
    [(["--max-concurrent-transfers", "2"], 2), (["--max-concurrent-transfers", "none"], 6), ([], 6)],
    ids=["bound-2", "none", "default-8"],
)
def test_upload_transfers_in_flight_never_exceed_the_bound(
    option: List[str],
    expected: int,
    fake: FakeMagicHour,
    files: List[Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MAGIC_HOUR_API_TOKEN", TOKEN)
    argv = [*option, "files", "upload", *map(str, files), "--concurrency", "6"]
    code, out, err, peak = _main(fake, argv, capsys, expected)
    assert code == 0, err
    assert peak == expected
    stored = out.splitlines()
    assert [fake.file(p).content for p in stored] == [f.read_bytes() for f in files]
    # The progress line says how many go at once: --concurrency within the bound.
    assert f"uploading 6 files (18.0 kB), {expected} at a time" in err


@pytest.mark.parametrize(("value", "expected"), [("1", 1), ("none", 2)])
def test_a_jobs_uploads_share_the_bound_given_after_the_command(
    value: str,
    expected: int,
    fake: FakeMagicHour,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MAGIC_HOUR_API_TOKEN", TOKEN)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "source.png").write_bytes(os.urandom(2000))
    (tmp_path / "target.png").write_bytes(os.urandom(2001))
    job = ["image", "face-swap", "--source", "source.png", "--target", "target.png", "--json"]
    code, out, err, peak = _main(fake, [*job, "--max-concurrent-transfers", value], capsys, expected)
    assert code == 0, err
    assert peak == expected
    assert len(fake.requests_to("storage")) == 2
    assert [Path(p).read_bytes() for p in json.loads(out)["downloaded"]]


@pytest.mark.parametrize(("value", "expected"), [("2", 2), ("none", 4)])
def test_a_jobs_downloads_share_the_bound(
    value: str,
    expected: int,
    fake: FakeMagicHour,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MAGIC_HOUR_API_TOKEN", TOKEN)
    monkeypatch.chdir(tmp_path)
    job = [
        "--max-concurrent-transfers",
        value,
        "image",
        "generate",
        "--image-count",
        "4",
        "--prompt",
        "a cat",
    ]
    code, out, err, peak = _main(fake, [*job, "--json"], capsys, expected)
    assert code == 0, err
    assert peak == expected
    downloaded = json.loads(out)["downloaded"]
    assert len(downloaded) == 4 and len(fake.requests_to("downloads")) == 4
    assert all(Path(p).stat().st_size > 0 for p in downloaded)


@pytest.mark.parametrize("value", ["0", "-1", "1.5", "abc", "", "8x", "null"])
@pytest.mark.parametrize("where", ["before", "after"])
def test_bad_values_are_usage_errors_before_any_request(
    value: str, where: str, fake: FakeMagicHour, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    option = ["--max-concurrent-transfers", value]
    upload = ["files", "upload", str(tmp_path / "missing.png")]
    argv = [*option, *upload] if where == "before" else [*upload, *option]
    with fake.serve() as server:
        assert main(["--base-url", server.url, "--token", TOKEN, *argv]) == 2
        out, err = capsys.readouterr()
        assert not fake.requests
    assert (
        f"error: argument --max-concurrent-transfers: invalid value {value!r}: "
        "an integer >= 1, or none for no bound\n" in err
    )
    assert "Traceback" not in err
    assert out == ""


def test_a_bad_value_with_json_is_a_json_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--json", "--max-concurrent-transfers", "0", "files", "upload", "x.png"]) == 2
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is False
    assert "invalid value '0': an integer >= 1, or none for no bound" in doc["error"]["message"]


def test_every_global_option_is_known_to_completion_and_to_the_generator() -> None:
    """Completion offers every global option (and knows those that take a value), and the generator
    gives a body field whose flag would shadow one its full path instead (``codegen/cli_catalog.py``)."""
    from codegen.cli_catalog import RESERVED

    parser = global_options(with_defaults=True)
    for action in parser._actions:  # pyright: ignore[reportPrivateUsage]
        long = [s for s in action.option_strings if s.startswith("--")]
        assert long, action
        assert long[0] in GLOBAL
        assert long[0] in RESERVED
        takes_value = action.nargs != 0 and not isinstance(action, argparse._StoreTrueAction)  # pyright: ignore[reportPrivateUsage]
        assert (long[0] in TAKES_VALUE) == takes_value, long[0]
