"""Runs INSIDE the official `magic-hour` SDK's virtual environment (see .ci/official_sdk.sh), never in
ours: tests/test_official_arguments.py runs it with that venv's python.

Sends each case of the JSON file in argv[1] through the official SDK, with an httpx.MockTransport that
records the request and answers 500 (nothing leaves the process), and prints for each case what reached
the wire (method, path, query, JSON body) or, when the SDK refused before sending, "refused".
"""

import contextlib
import functools
import json
import sys

import httpx

from magic_hour import Client

sent = []


def record(request):
    body = json.loads(request.content) if request.content else None
    sent.append(
        {"method": request.method, "path": request.url.path, "query": dict(request.url.params), "json": body}
    )
    return httpx.Response(500, json={"message": "recorded"})


client = Client(
    token="t",
    base_url="https://api.example.test",
    httpx_client=httpx.Client(transport=httpx.MockTransport(record)),
)
with open(sys.argv[1], encoding="utf-8") as f:
    cases = json.load(f)["cases"]
out = {}
for case in cases:
    before = len(sent)
    with contextlib.suppress(Exception):  # a refusal, or the recorded 500
        functools.reduce(getattr, case["call"].split("."), client)(**case["kwargs"])
    out[case["name"]] = sent[before] if len(sent) > before else "refused"
json.dump(out, sys.stdout)
