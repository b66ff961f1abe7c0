"""The hand-written httpx script ``bench_jobs.py`` compares against: the least work that does the job.

One ``httpx.AsyncClient`` (keep-alive pool) for everything; per job: one presign POST for its inputs,
the PUTs concurrently, each streamed from its file in 1 MiB reads with its ``Content-Length``; the
create POST; polls with a fixed sleep between them; the outputs concurrently, each streamed straight to
its final name. Plain ``dict``s, no models, no checks beyond the status codes; blocking file reads and
writes on the loop, as a short script would. It polls on the schedule our ``wait`` uses for renders under
~3 s (a poll, then ``poll_interval`` = 0.25 s of sleep): the comparison measures the implementation, not
the polling policy (which ``bench_jobs.py`` judges by the completion -> first download latency).
"""

from __future__ import annotations

import asyncio
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, List, Tuple

import httpx

CHUNK = 1024 * 1024
DONE = ("complete", "error", "canceled")
Job = Dict[str, Any]


class Runner:
    def __init__(self, spec: Dict[str, Any]) -> None:
        self.base, self.jobs, self.poll = spec["base_url"], spec["jobs"], spec["poll_interval"]
        self.fsync = bool(spec.get("fsync"))
        self.auth = {"Authorization": f"Bearer {spec['token']}"}
        self.transfers: List[Tuple[str, float, float]] = []
        self.loop = asyncio.new_event_loop()
        self.http = self.loop.run_until_complete(self._client())

    async def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=100))

    async def put(self, url: str, path: str) -> None:
        async def body() -> Any:
            with open(path, "rb") as f:
                while chunk := f.read(CHUNK):
                    yield chunk

        start = time.time()
        headers = {"Content-Length": str(os.path.getsize(path))}
        (await self.http.put(url, content=body(), headers=headers)).raise_for_status()
        self.transfers.append(("up", start, time.time()))

    async def get(self, url: str, directory: str) -> None:
        start = time.time()
        path = os.path.join(directory, httpx.URL(url).path.rsplit("/", 1)[-1])
        async with self.http.stream("GET", url) as response:
            response.raise_for_status()
            with open(path, "wb") as f:
                async for chunk in response.aiter_raw(CHUNK):
                    f.write(chunk)
                if self.fsync:  # as durable as ours (sync, then rename); --optimal-no-fsync
                    f.flush()
                    os.fsync(f.fileno())
        self.transfers.append(("down", start, time.time()))

    async def api(self, method: str, path: str, body: Any = None) -> Any:
        response = await self.http.request(method, self.base + path, json=body, headers=self.auth)
        response.raise_for_status()
        return response.json()

    async def job(self, job: Job, wait: bool = True) -> Tuple[str, float]:
        if job["op"] == "face_swap_photo":
            items = [{"extension": p.rsplit(".", 1)[-1], "type": "image"} for p in job["inputs"]]
            got = (await self.api("POST", "/v1/files/upload-urls", {"items": items}))["items"]
            await asyncio.gather(*(self.put(i["upload_url"], p) for i, p in zip(got, job["inputs"])))
            assets = {"source_file_path": got[0]["file_path"], "target_file_path": got[1]["file_path"]}
            body = {"name": "bench", "assets": {**assets, "face_swap_mode": "all-faces"}}
            created = await self.api("POST", "/v1/face-swap-photo", body)
        else:
            style = {"prompt": "a lighthouse at dusk"}
            body = {"name": "bench", "image_count": job["image_count"], "aspect_ratio": "1:1", "style": style}
            created = await self.api("POST", "/v1/ai-image-generator", body)
        project = await self.api("GET", f"/v1/image-projects/{created['id']}")
        while wait and project["status"] not in DONE:
            await asyncio.sleep(self.poll)
            project = await self.api("GET", f"/v1/image-projects/{created['id']}")
        if wait and project["status"] == "complete":
            await asyncio.gather(*(self.get(d["url"], job["out"]) for d in project["downloads"]))
        return created["id"], time.time()

    def __call__(self) -> List[Tuple[str, float]]:
        async def gather() -> List[Tuple[str, float]]:
            return list(await asyncio.gather(*(self.job(job) for job in self.jobs)))

        return self.loop.run_until_complete(gather())


def prepare(spec: Dict[str, Any]) -> Callable[[], List[Tuple[str, float]]]:
    runner = Runner(spec)
    warm = {"op": "face_swap_photo", "inputs": spec["jobs"][0]["warm"], "out": spec["jobs"][0]["out"]}
    runner.loop.run_until_complete(runner.job(warm, wait=False))
    runner.transfers.clear()
    return runner


def calibrate(spec: Dict[str, Any]) -> Dict[str, float]:
    """The best transfer rates of plain sync httpx on this setup, bytes per second: streamed PUTs of
    ``spec["file"]`` and streamed GETs of a project's outputs, 1, 2 and 4 at once (threads), twice each
    (the parent sets latency and render time to 0 and the output size to the file's)."""
    path, size, base = spec["file"], os.path.getsize(spec["file"]), spec["base_url"]
    auth = {"Authorization": f"Bearer {spec['token']}"}
    best = {"up": 0.0, "down": 0.0}
    with httpx.Client(timeout=60) as http, ThreadPoolExecutor(4) as pool:

        def put(url: str) -> None:
            with open(path, "rb") as f:
                http.put(url, content=f, headers={"Content-Length": str(size)}).raise_for_status()

        def get(url: str) -> None:
            name = spec["out"] + "-" + url.split("?", 1)[0].rsplit("/", 1)[-1]
            with http.stream("GET", url) as response, open(name, "wb") as f:
                response.raise_for_status()
                for chunk in response.iter_raw(CHUNK):
                    f.write(chunk)
            os.remove(name)

        def rate(kind: str, fn: Callable[[str], None], urls: List[str]) -> None:
            start = time.perf_counter()
            list(pool.map(fn, urls))
            best[kind] = max(best[kind], len(urls) * size / (time.perf_counter() - start))

        for n in (1, 2, 4) * 2:
            items = [{"extension": "png", "type": "image"}] * n
            got = http.post(base + "/v1/files/upload-urls", json={"items": items}, headers=auth).json()
            rate("up", put, [item["upload_url"] for item in got["items"]])
            body = {"image_count": n, "aspect_ratio": "1:1", "style": {"prompt": "calibration"}}
            pid = http.post(base + "/v1/ai-image-generator", json=body, headers=auth).json()["id"]
            project = http.get(f"{base}/v1/image-projects/{pid}", headers=auth).json()
            rate("down", get, [d["url"] for d in project["downloads"]])
    return best
