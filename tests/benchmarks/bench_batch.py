"""Batch benchmark (run by hand): 10,000 small items against the fake with instant renders.

    python tests/benchmarks/bench_batch.py [--items 10000] [--small 1000] [--jobs 6] [--kills 10]
        [--only scale,kills] [--async] [--json FILE] [--keep DIR]

The fake (``magic_hour.testing``, ``keep_content=False``, renders complete at once) serves on 127.0.0.1
from this process; every batch runs in a child process of its own (this file with ``child``), so that
its peak RSS and CPU time are the runner's alone. Inputs are ``--items`` tiny PNG files, all different.

- ``scale``: batches of ``--small`` items, then of ``--items`` items, each from an empty journal,
  ``--rounds`` times: wall time (median), items per second, peak RSS (the child's ``VmHWM``), the
  child's CPU time per item (the whole runner: journal, HTTP client, flows, threads) and the share of it
  in journal writes; what the journal's writes cost in wall time: the difference with runs alternated
  with them whose journal updates are skipped (the time inside write transactions is no measure: with
  a dozen threads it mostly waits for the GIL, which the others use meanwhile), and what the 'creating'
  record's sync to the disk costs (runs without it). Targets: peak RSS at ``--items`` within 1.25x of
  the one at ``--small`` (flat: the journal holds the state, not lists in memory), journal writes < 5%
  of the wall time.
- ``kills``: a batch of ``--items`` items killed with SIGKILL at ``--kills`` random moments (once a
  random share of the items is done, plus up to a second), resumed each time; then settled as a person would
  (each ``unknown`` item's project looked up by name among those the API has: ``resolve`` with its id if
  found, else as not created) and run to its end. Target: every output present, exactly one project
  per item (counted by the fake), no temporary file left.

Exit 1 when a target is missed. tests/benchmarks/README.md has the last figures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

PNG = b"\x89PNG\r\n\x1a\n"


def _peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM). Not ``ru_maxrss``: on Linux a child's starts at its
    parent's at the fork, and the parent here holds the fake and its thousands of projects."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(args: argparse.Namespace) -> None:
    """Run one batch (the journal's, plus the folder's files) and print its figures as JSON."""
    from magic_hour import AsyncClient, Client
    from magic_hour._client import http_of
    from magic_hour.batches import each_file
    from magic_hour.batches._run import Run, check_options

    options = check_options(
        journal=None,
        output_dir=args.out,
        max_concurrent_jobs=args.jobs,
        max_credits=None,
        retry_failed=False,
        download_outputs=True,
        wait_timeout=None,
        poll_interval=None,
        on_progress=None,
    )
    start, cpu = time.perf_counter(), time.process_time()
    run = Run.open(options, each_file("image_background_remover", args.photos))
    run.journal.durable = not args.no_fsync
    if args.skip_writes:  # what the batch takes without its journal's updates (the counts still kept)
        run.journal._write = lambda values, durable: None  # type: ignore[method-assign]
    if args.use_async:
        import anyio

        from magic_hour.batches._async import run_async

        async def main() -> Any:
            async with AsyncClient(base_url=args.url, token=args.token) as client:
                return await run_async(client, http_of(client), run)

        summary = anyio.run(main)
    else:
        from magic_hour.batches._sync import run_sync

        with Client(base_url=args.url, token=args.token) as client:
            summary = run_sync(client, http_of(client), run)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    figures = {
        "items": summary.total,
        "done": summary.done,
        "wall": wall,
        "cpu": cpu,
        "maxrss_mb": _peak_rss_mb(),
        "journal_seconds": run.journal.write_seconds,
        "journal_cpu": run.journal.write_cpu,
        "journal_writes": run.journal.writes,
        "journal_commits": run.journal.commits,
    }
    print(json.dumps(figures), flush=True)


def _inputs(folder: Path, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        (folder / f"p{i:05d}.png").write_bytes(PNG + i.to_bytes(4, "big") * 16)


def _spawn(
    url: str,
    token: str,
    photos: Path,
    out: Path,
    jobs: int,
    use_async: bool,
    no_fsync: bool = False,
    skip_writes: bool = False,
) -> subprocess.Popen[str]:
    argv = [sys.executable, __file__, "child", url, token, str(photos), str(out), "--jobs", str(jobs)]
    if use_async:
        argv.append("--async")
    if no_fsync:
        argv.append("--no-fsync")
    if skip_writes:
        argv.append("--skip-writes")
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen[str]) -> Dict[str, Any]:
    stdout, stderr = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"child failed ({proc.returncode}):\n{stderr[-3000:]}")
    figures: Dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    return figures


def _batch(
    args: argparse.Namespace, fake: Any, url: str, root: Path, count: int, **how: bool
) -> Dict[str, Any]:
    photos, out = root / "photos", root / f"out-{len(list(root.glob('out-*')))}"
    if not photos.exists():
        _inputs(photos, count)
    before = len(fake.projects)
    figures = _finish(_spawn(url, fake.token, photos, out, args.jobs, args.use_async, **how))
    assert figures["done"] == count and len(fake.projects) - before == count, figures
    return figures


def scale(args: argparse.Namespace, fake: Any, url: str, work: Path) -> Dict[str, Any]:
    """Each size: ``--rounds`` runs with the journal as it is, alternating with runs whose journal
    updates are skipped (the wall time they cost is the difference of the medians), and runs without the
    'creating' record's sync (what the sync costs)."""
    results: Dict[str, Any] = {}
    for count in (args.small, args.items):
        root = work / f"scale-{count}"
        runs: Dict[str, List[Dict[str, Any]]] = {"journal": [], "no_writes": [], "no_fsync": []}
        for _ in range(args.rounds):
            runs["journal"].append(_batch(args, fake, url, root, count))
            runs["no_writes"].append(_batch(args, fake, url, root, count, skip_writes=True))
            runs["no_fsync"].append(_batch(args, fake, url, root, count, no_fsync=True))
        med = {k: statistics.median(r["wall"] for r in v) for k, v in runs.items()}
        figures = dict(runs["journal"][0])
        figures.update(
            wall=med["journal"],
            wall_without_writes=med["no_writes"],
            wall_without_fsync=med["no_fsync"],
            maxrss_mb=max(r["maxrss_mb"] for r in runs["journal"]),
            cpu_ms_per_item=1000 * statistics.median(r["cpu"] for r in runs["journal"]) / count,
            journal_cpu_share=statistics.median(r["journal_cpu"] / r["cpu"] for r in runs["journal"]),
            journal_in_transactions=statistics.median(
                r["journal_seconds"] / r["wall"] for r in runs["journal"]
            ),
            journal_share=(med["journal"] - med["no_writes"]) / med["journal"],
            fsync_share=(med["journal"] - med["no_fsync"]) / med["journal"],
        )
        figures["items_per_s"] = count / figures["wall"]
        results[str(count)] = figures
        print(
            f"{count:>6} items: {figures['wall']:7.1f} s wall (without journal updates "
            f"{figures['wall_without_writes']:.1f} s: {100 * figures['journal_share']:+.1f}%; without the "
            f"creating sync {figures['wall_without_fsync']:.1f} s: {100 * figures['fsync_share']:+.1f}%), "
            f"{figures['items_per_s']:.1f} items/s, peak RSS {figures['maxrss_mb']:.1f} MB, CPU "
            f"{figures['cpu_ms_per_item']:.2f} ms/item ({100 * figures['journal_cpu_share']:.1f}% in journal "
            f"writes), {figures['journal_writes']} writes in {figures['journal_commits']} commits",
            flush=True,
        )
    small, big = results[str(args.small)], results[str(args.items)]
    results["rss_ratio"] = big["maxrss_mb"] / small["maxrss_mb"]
    results["ok"] = results["rss_ratio"] <= 1.25 and big["journal_share"] < 0.05
    print(
        f"peak RSS {args.items} / {args.small}: {results['rss_ratio']:.3f}; ok: {results['ok']}", flush=True
    )
    return results


def kills(args: argparse.Namespace, fake: Any, url: str, work: Path) -> Dict[str, Any]:
    from magic_hour import JournalError, batches

    photos, out = work / "kills" / "photos", work / "kills" / "out"
    _inputs(photos, args.items)
    journal = out / "magic-hour-batch.sqlite"
    names = {f"p{i:05d}.png" for i in range(args.items)}
    rng = random.Random(args.seed)
    # Each kill comes when the batch has done a random share of the items (spread over the whole batch),
    # after a random further delay of up to a second: a moment in the middle of some step of some item.
    thresholds = sorted(rng.uniform(0.02, 0.98) * args.items for _ in range(args.kills))
    moments: List[float] = []
    progress: List[int] = []
    for threshold in thresholds:
        proc = _spawn(url, fake.token, photos, out, args.jobs, args.use_async)
        started = time.monotonic()
        while proc.poll() is None:
            with contextlib.suppress(JournalError):
                if journal.exists() and batches.status(journal).done >= threshold:
                    break
            time.sleep(0.05)
        time.sleep(rng.uniform(0, 1))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.communicate()
        moments.append(time.monotonic() - started)
        progress.append(batches.status(journal).done if journal.exists() else 0)
        print(
            f"killed after {moments[-1]:5.1f} s (past {threshold:.0f} done): {progress[-1]} done", flush=True
        )
    status = batches.status(journal)
    unknown_after_kills = status.unknown + status.counts.get("creating", 0)  # creating: the last kill's
    found = settled = 0
    final: Dict[str, Any] = {}
    for _ in range(3):  # a run turns what the last kill left 'creating' into 'unknown': settle, run again
        final = _finish(_spawn(url, fake.token, photos, out, args.jobs, args.use_async))
        by_name: Dict[Optional[str], str] = {p.name: p.id for p in fake.projects}
        unknown = list(batches.items(journal, state="unknown"))
        if not unknown:
            break
        for item in unknown:
            project = by_name.get(item.label)
            found += project is not None
            settled += 1
            batches.resolve(journal, item.key, project_id=project)
    counts = fake.create_counts()
    present = {p.name for p in out.glob("*.png")}
    parts = list(out.rglob("*.part"))
    ok = final["done"] == args.items and present == names and counts == dict.fromkeys(names, 1) and not parts
    result = {
        "kills": len(moments),
        "moments": moments,
        "done_after_each_kill": progress,
        "unknown_after_kills": unknown_after_kills,
        "settled_unknown": settled,
        "unknown_whose_project_existed": found,
        "final_done": final["done"],
        "outputs_present": len(present & names),
        "max_creates_per_item": max(counts.values()) if counts else 0,
        "projects": sum(counts.values()),
        "temporary_files_left": len(parts),
        "ok": ok,
    }
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=10000)
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=6)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=24)
    parser.add_argument("--only", default="scale,kills")
    parser.add_argument("--async", dest="use_async", action="store_true")
    parser.add_argument(
        "--no-fsync", action="store_true", help="scale: the 'creating' record not synced (to compare)"
    )
    parser.add_argument("--json", default=None)
    parser.add_argument("--keep", default=None, help="work in this folder and keep it")
    if sys.argv[1:2] == ["child"]:
        sub = argparse.ArgumentParser()
        for name in ("child", "url", "token", "photos", "out"):
            sub.add_argument(name)
        sub.add_argument("--jobs", type=int, default=6)
        sub.add_argument("--async", dest="use_async", action="store_true")
        sub.add_argument("--no-fsync", action="store_true")
        sub.add_argument("--skip-writes", action="store_true")
        child(sub.parse_args())
        return
    args = parser.parse_args()
    from magic_hour.testing import FakeMagicHour

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-batch-"))
    work.mkdir(parents=True, exist_ok=True)
    results: Dict[str, Any] = {}
    fake = FakeMagicHour(keep_content=False)
    try:
        with fake.serve() as server:
            if "scale" in args.only:
                results["scale"] = scale(args, fake, server.url, work)
            if "kills" in args.only:
                fake.reset()
                results["kills"] = kills(args, fake, server.url, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    sys.exit(0 if all(r.get("ok") for r in results.values()) else 1)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    main()
