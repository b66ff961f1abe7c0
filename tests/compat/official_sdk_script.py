"""Runs INSIDE the official `magic-hour` SDK's virtual environment (see .ci/official_sdk.sh), never
in ours: both packages are named `magic_hour`. tests/test_official_sdk_compat.py starts our fake's
real server and runs this script with that venv's python; it prints one JSON document to stdout.

Usage: python official_sdk_script.py <dir with sample files>
Environment: MAGIC_HOUR_FAKE_URL (the fake server's URL), MAGIC_HOUR_FAKE_TOKEN (its token).
The official SDK is used exactly as its README shows; nothing here is patched.
"""

import asyncio
import importlib.metadata
import json
import os
import pathlib
import sys

import magic_hour
from magic_hour import AsyncClient, Client

URL = os.environ["MAGIC_HOUR_FAKE_URL"]
TOKEN = os.environ["MAGIC_HOUR_FAKE_TOKEN"]
SAMPLES = pathlib.Path(sys.argv[1])


def items_as_dicts(res):
    return [
        {"file_path": i.file_path, "upload_url": i.upload_url, "expires_at": str(i.expires_at)}
        for i in res.items
    ]


def sync_part():
    client = Client(token=TOKEN, base_url=URL)
    res = client.v1.files.upload_urls.create(
        items=[
            {"extension": "mp4", "type_": "video"},
            {"extension": "mp3", "type_": "audio"},
        ]
    )
    uploaded = {
        "clip.mp4 (str path)": client.v1.files.upload_file(str(SAMPLES / "clip.mp4")),
        "photo.png (pathlib.Path)": client.v1.files.upload_file(SAMPLES / "photo.png"),
    }
    with open(SAMPLES / "voice.wav", "rb") as f:
        uploaded["voice.wav (file object)"] = client.v1.files.upload_file(f)
    try:
        Client(token="not-the-token", base_url=URL).v1.files.upload_urls.create(
            items=[{"extension": "mp4", "type_": "video"}]
        )
        unauthorized = None
    except magic_hour.ApiError as exc:
        unauthorized = {"status_code": exc.status_code, "body": exc.body}
    return {"create": items_as_dicts(res), "uploaded": uploaded, "unauthorized": unauthorized}


async def async_part():
    client = AsyncClient(token=TOKEN, base_url=URL)
    res = await client.v1.files.upload_urls.create(items=[{"extension": "jpg", "type_": "image"}])
    path = await client.v1.files.upload_file(SAMPLES / "photo.png")
    return {"create": items_as_dicts(res), "uploaded": {"photo.png (async)": path}}


result = {
    "sdk_version": importlib.metadata.version("magic-hour"),
    "sdk_file": magic_hour.__file__,
    "sync": sync_part(),
    "async": asyncio.run(async_part()),
}
print(json.dumps(result))
