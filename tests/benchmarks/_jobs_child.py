"""One case of ``bench_jobs.py``, in a fresh process: run the jobs, print one JSON line of measurements.

    python _jobs_child.py '<spec as JSON>'

``spec["tool"]`` is ``"calibrate"`` (the best transfer rates of plain httpx, for the floor), ``"sdk"`` (whatever ``magic_hour`` this interpreter imports: ours with
``PYTHONPATH`` set to a checkout, or the official package in its own venv; the calls are the same, which
is the compatibility promise) or ``"optimal"`` (``_jobs_optimal.py``: plain httpx). ``spec["mode"]`` is
``"sync"`` (several jobs: one thread each, one shared client) or ``"async"`` (``asyncio.gather``, one
client). Every job of the case starts at once.

Before the timed part, a warm-up ``generate(..., wait_for_completion=False)`` with two 1 KiB inputs fills
the connection pool and loads what the upload and create path imports lazily (a service runs many jobs
with one warm client; the first-call cost is ``bench_first_call.py``'s business). Then the peak RSS is
reset (``/proc/self/clear_refs``) and the jobs run. Printed: wall and CPU seconds (``process_time``:
every thread of this process, none of the server's), RSS before and peak after (KiB), and for each job
the project id and the ``time.time()`` its call returned; the optimal script adds when each transfer
was in flight.

This file imports no ``magic_hour`` at module level: the official venv runs it too.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, List, Tuple

Job = Dict[str, Any]


def status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def reset_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current RSS (Linux >= 4.0)
    except OSError:
        pass


def _generate_kwargs(job: Job) -> Tuple[str, Dict[str, Any]]:
    common = {"name": "bench", "download_directory": job["out"]}
    if job["op"] == "face_swap_photo":
        source, target = job["inputs"]
        assets = {"source_file_path": source, "target_file_path": target, "face_swap_mode": "all-faces"}
        return "face_swap_photo", {"assets": assets, **common}
    style = {"prompt": "a lighthouse at dusk"}
    return "ai_image_generator", {
        "image_count": job["image_count"],
        "aspect_ratio": "1:1",
        "style": style,
        **common,
    }


def _warm_job(job: Job) -> Job:
    return {"op": "face_swap_photo", "inputs": job["warm"], "out": job["out"]}


def sdk_sync(spec: Dict[str, Any]) -> Callable[[], List[Tuple[str, float]]]:
    from magic_hour import Client

    client = Client(token=spec["token"], base_url=spec["base_url"], **spec.get("client_kwargs", {}))
    jobs: List[Job] = spec["jobs"]

    def one(job: Job, **extra: Any) -> Tuple[str, float]:
        name, kwargs = _generate_kwargs(job)
        res = getattr(client.v1, name).generate(**kwargs, **extra)
        return res.id, time.time()

    one(_warm_job(jobs[0]), wait_for_completion=False)

    def run() -> List[Tuple[str, float]]:
        if len(jobs) == 1:
            return [one(jobs[0])]
        with ThreadPoolExecutor(len(jobs)) as pool:
            return list(pool.map(one, jobs))

    return run


def sdk_async(spec: Dict[str, Any]) -> Callable[[], List[Tuple[str, float]]]:
    from magic_hour import AsyncClient

    jobs: List[Job] = spec["jobs"]
    loop = asyncio.new_event_loop()
    client = loop.run_until_complete(_make_async_client(AsyncClient, spec))

    async def one(job: Job, **extra: Any) -> Tuple[str, float]:
        name, kwargs = _generate_kwargs(job)
        res = await getattr(client.v1, name).generate(**kwargs, **extra)
        return res.id, time.time()

    loop.run_until_complete(one(_warm_job(jobs[0]), wait_for_completion=False))

    async def gather() -> List[Tuple[str, float]]:
        return list(await asyncio.gather(*(one(job) for job in jobs)))

    return lambda: loop.run_until_complete(gather())


async def _make_async_client(cls: Any, spec: Dict[str, Any]) -> Any:
    # made on the loop, as users do; client_kwargs: ours only (bench_jobs --transfers)
    return cls(token=spec["token"], base_url=spec["base_url"], **spec.get("client_kwargs", {}))


def main() -> None:
    spec = json.loads(sys.argv[1])
    if spec["tool"] == "calibrate":
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from _jobs_optimal import calibrate

        print(json.dumps(calibrate(spec)), flush=True)
        return
    if spec["tool"] == "optimal":
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from _jobs_optimal import prepare

        run = prepare(spec)
    else:
        run = (sdk_sync if spec["mode"] == "sync" else sdk_async)(spec)
    rss_base = status_kib("VmRSS")
    reset_peak()
    cpu0, wall0, started = time.process_time(), time.perf_counter(), time.time()
    if spec.get("profile"):
        import cProfile
        import pstats

        profile = cProfile.Profile()
        returns = profile.runcall(run)
        stats = pstats.Stats(profile, stream=sys.stderr)
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(40)
    else:
        returns = run()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    peak = status_kib("VmHWM")
    transfers = getattr(run, "transfers", [])
    result = {"wall": wall, "cpu": cpu, "rss_base_kib": rss_base, "rss_peak_kib": peak, "started": started}
    result.update({"returns": returns, "transfers": transfers})
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
