"""``magic-hour webhooks listen`` and ``magic-hour webhooks trigger``: trigger reaches listen through real
sockets (real processes), each answers as documented, both read bounded bodies and show no secret."""

from __future__ import annotations

import http.client
import json
import select
import socket
import subprocess
import threading
import time
from typing import IO, Any, Dict, Iterator, List, Tuple

import pytest
from _cli import PY, REPO, env
from _webhook_servers import serve_asgi
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse

import magic_hour.webhooks as webhooks
from magic_hour.cli import main
from magic_hour.testing import sign_webhook, webhook_body

SECRET = "whsec_cli-listen-0123456789abcdef"
WRONG = "whsec_cli-wrong-9876543210fedcba"


def read_line(stream: IO[str], timeout: float = 20) -> str:
    ready, _, _ = select.select([stream], [], [], timeout)
    assert ready, "no line in time"
    return stream.readline()


@pytest.mark.full  # four magic-hour processes (~2.5 s); the in-process tests below cover each side
def test_trigger_reaches_listen_through_real_sockets() -> None:
    listen = subprocess.Popen(
        [PY, "-m", "magic_hour", "webhooks", "listen", "--port", "0", "--count", "3", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(MAGIC_HOUR_WEBHOOK_SECRET=SECRET),
        cwd=REPO,
    )
    try:
        assert listen.stdout is not None
        url = json.loads(read_line(listen.stdout))["listening"]
        assert url.startswith("http://127.0.0.1:")

        def trigger(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
            command = [PY, "-m", "magic_hour", "webhooks", "trigger", *args, "--to", url + "hooks"]
            return subprocess.run(
                command, capture_output=True, text=True, env=env(**extra), timeout=60, cwd=REPO
            )

        sent = trigger("video.completed", "--id", "cm_cli_1", MAGIC_HOUR_WEBHOOK_SECRET=SECRET)
        forged = trigger("image.errored", "--secret", WRONG, "--json")
        other = trigger("audio.started", "--json", "--secret", SECRET)
        out, err = listen.communicate(timeout=30)
    finally:
        listen.kill()
    assert (sent.returncode, forged.returncode, other.returncode) == (0, 1, 0)
    assert sent.stdout == '200\tOK\t{"message": "received"}\n'
    assert "sent video.completed (cm_cli_1) to " + url + "hooks" in sent.stderr
    assert json.loads(forged.stdout) == {
        "ok": False,
        "event": "image.errored",
        "id": "cuid-example",
        "status_code": 400,
        "response": '{"message": "rejected: signature_mismatch"}',
    }
    assert json.loads(other.stdout)["ok"] is True
    lines = [json.loads(line) for line in out.splitlines()]
    assert [(d["ok"], d.get("type"), d.get("id"), d.get("reason")) for d in lines] == [
        (True, "video.completed", "cm_cli_1", None),
        (False, None, None, "signature_mismatch"),
        (True, "audio.started", "cuid-example", None),
    ]
    assert lines[0]["status"] == "complete" and lines[0]["event"]["payload"]["downloads"]
    assert listen.returncode == 1  # one request was rejected
    shown = out + err + "".join(p.stdout + p.stderr for p in (sent, forged, other))
    assert SECRET not in shown and WRONG not in shown
    assert "Traceback" not in shown


def start_listener(count: int, *extra: str) -> Tuple[str, threading.Thread, List[int]]:
    """``webhooks listen --count N`` run by ``main`` in a thread: its address, the thread, and (once it
    ended) its exit code. Requests retry until it listens (see :func:`post`)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code: List[int] = []
    argv = ["webhooks", "listen", "--port", str(port), "--count", str(count), "--secret", SECRET, *extra]
    thread = threading.Thread(target=lambda: code.append(main(argv)))
    thread.start()
    return f"127.0.0.1:{port}", thread, code


def post(
    address: str, body: bytes, headers: Dict[str, str], method: str = "POST"
) -> Tuple[int, Dict[str, Any]]:
    host, port = address.split(":")
    for _ in range(100):  # the listener may be between two requests
        try:
            connection = http.client.HTTPConnection(host, int(port), timeout=10)
            connection.request(method, "/anything", body=body, headers=headers)
            response = connection.getresponse()
            return response.status, json.loads(response.read())
        except ConnectionRefusedError:
            time.sleep(0.02)
    raise AssertionError("the listener never answered")


def test_listen_prints_a_verified_event(capsys: pytest.CaptureFixture[str]) -> None:
    address, thread, code = start_listener(1)
    body = webhook_body("image.completed", id="cm_img")
    assert post(address, body, sign_webhook(body, secret=SECRET)) == (200, {"message": "received"})
    thread.join(20)
    assert code == [0]
    assert capsys.readouterr().out == "image.completed\tcm_img\tcomplete\n"


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda b: (b, sign_webhook(b, secret=WRONG)), "signature_mismatch"),
        (lambda b: (b, sign_webhook(b, secret=SECRET, timestamp=1_000_000_000)), "timestamp_too_old"),
        (lambda b: (b, {}), "missing_header"),
        (lambda b: (b"nope", sign_webhook(b"nope", secret=SECRET)), "invalid_json"),
    ],
)
def test_listen_rejects_with_the_reason(capsys: pytest.CaptureFixture[str], make: Any, reason: str) -> None:
    address, thread, code = start_listener(1)
    body, headers = make(webhook_body("video.errored"))
    assert post(address, body, headers) == (400, {"message": f"rejected: {reason}"})
    thread.join(20)
    assert code == [1]
    out = capsys.readouterr()
    assert out.out == "" and f"rejected: {reason}" in out.err and SECRET not in out.err


def read_all(sock: socket.socket) -> bytes:
    """What the listener answers, up to its closing the connection."""
    chunks = []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def test_listen_reads_no_body_over_1_mib_and_needs_a_length(capsys: pytest.CaptureFixture[str]) -> None:
    address, thread, code = start_listener(3, "--json")
    host, port = address.split(":")
    assert post(address, b"", {}, method="GET")[0] == 405  # waits until it listens
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        # announces 2 GiB and sends 10 bytes: answered at once, nothing more read
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2147483648\r\n\r\n0123456789")
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.0 413") and b"rejected: a body over 1048576 bytes" in answer
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
        )
        assert read_all(sock).startswith(b"HTTP/1.0 411")
    thread.join(20)
    assert code == [1]
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [d.get("reason") for d in lines[1:]] == ["too_large", "length_required"]


def test_listen_reports_clients_that_misbehave_in_one_line_each(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client gone before its answer printed socketserver's traceback; a malformed request or one that
    stalled printed nothing. Each is now one line, and the listener carries on."""
    import struct

    from magic_hour.cli import _webhooks

    monkeypatch.setattr(_webhooks._Handler, "timeout", 0.5)  # seconds a client may stall (10 by default)
    address, thread, code = start_listener(5)
    host, port = address.split(":")
    assert post(address, b"", {}, method="GET")[0] == 405  # waits until it listens
    with socket.create_connection((host, int(port)), timeout=10) as sock:  # gone with a reset
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
    with socket.create_connection((host, int(port)), timeout=10) as sock:  # 3 bytes of 100, then nothing
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
        assert read_all(sock) == b""
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"GARBAGE\r\n\r\n")
        assert b"400" in read_all(sock)
    body = webhook_body("audio.completed", id="cm_after")
    assert post(address, body, sign_webhook(body, secret=SECRET))[0] == 200
    thread.join(20)
    assert code == [1]
    out = capsys.readouterr()
    assert out.out == "audio.completed\tcm_after\tcomplete\n"
    assert "Traceback" not in out.err and "Exception occurred" not in out.err
    assert "rejected: timeout: Request timed out" in out.err
    assert "rejected: bad_request: code 400, message Bad request syntax ('GARBAGE')" in out.err


def test_listen_without_a_secret_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MAGIC_HOUR_WEBHOOK_SECRET", raising=False)
    assert main(["webhooks", "listen", "--port", "0", "--count", "1"]) == 2
    assert "no webhook secret: set MAGIC_HOUR_WEBHOOK_SECRET" in capsys.readouterr().err
    assert main(["webhooks", "trigger", "video.started", "--to", "http://127.0.0.1:9/"]) == 2


def test_listen_on_a_port_in_use_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["webhooks", "listen", "--port", str(port), "--secret", SECRET]) == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


# --- trigger against a handler ------------------------------------------------------------------------------

HANDLER = FastAPI()
RECEIVED: List[Any] = []


@HANDLER.post("/hook")
async def hook(request: Request) -> JSONResponse:
    try:
        event = webhooks.unwrap(await request.body(), request.headers, secret=SECRET)
    except webhooks.WebhookVerificationError as e:
        return JSONResponse({"message": e.reason}, status_code=400)
    RECEIVED.append(event)
    return JSONResponse({"message": "thanks"})


@HANDLER.post("/big")
async def big(request: Request) -> PlainTextResponse:
    return PlainTextResponse("y" * 100_000, status_code=500)


@pytest.fixture(scope="module")
def handler_url() -> Iterator[str]:
    yield from serve_asgi(HANDLER)


def test_trigger_sends_a_signed_example_and_prints_the_answer(
    handler_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    RECEIVED.clear()
    assert (
        main(
            [
                "webhooks",
                "trigger",
                "image.completed",
                "--to",
                handler_url + "/hook",
                "--secret",
                SECRET,
                "--id",
                "cm_t",
            ]
        )
        == 0
    )
    out = capsys.readouterr()
    assert out.out == '200\tOK\t{"message":"thanks"}\n'
    [event] = RECEIVED
    assert isinstance(event, webhooks.ImageCompletedWebhookEvent) and event.payload.id == "cm_t"
    assert SECRET not in out.out + out.err


def test_trigger_exits_1_on_a_rejection_and_bounds_the_answer(
    handler_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["webhooks", "trigger", "video.started", "--to", handler_url + "/hook", "--secret", WRONG]) == 1
    )
    assert capsys.readouterr().out == '400\tBad Request\t{"message":"signature_mismatch"}\n'
    assert (
        main(
            [
                "--json",
                "webhooks",
                "trigger",
                "video.started",
                "--to",
                handler_url + "/big",
                "--secret",
                SECRET,
            ]
        )
        == 1
    )
    document = json.loads(capsys.readouterr().out)
    assert document["status_code"] == 500 and document["response"] == "y" * 65536
    assert (
        main(["webhooks", "trigger", "video.started", "--to", handler_url + "/big", "--secret", SECRET]) == 1
    )
    assert capsys.readouterr().out == "500\tInternal Server Error\t" + "y" * 500 + "...\n"


def test_trigger_without_an_answer_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    assert (
        main(
            [
                "--json",
                "webhooks",
                "trigger",
                "audio.completed",
                "--to",
                f"http://127.0.0.1:{port}/",
                "--secret",
                SECRET,
            ]
        )
        == 1
    )
    document = json.loads(capsys.readouterr().out)
    assert document["ok"] is False and "ConnectError" in document["error"]["message"]


def test_trigger_reaches_a_local_handler_past_the_environments_proxy(
    handler_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With HTTP_PROXY set (as behind a company proxy), a trigger to 127.0.0.1 went to the proxy, which
    cannot reach this machine's handler: 'no answer from http://127.0.0.1:...' for every trigger."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        proxy = f"http://127.0.0.1:{closed.getsockname()[1]}"  # refuses: a request through it fails
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    RECEIVED.clear()
    assert (
        main(["webhooks", "trigger", "audio.errored", "--to", handler_url + "/hook", "--secret", SECRET]) == 0
    )
    assert len(RECEIVED) == 1 and capsys.readouterr().out.startswith("200\tOK\t")

    from magic_hour.cli._webhooks import _loopback

    local = [
        "http://127.0.0.1:8000/h",
        "http://127.9.0.1/",
        "http://[::1]:8000/",
        "http://localhost/",
        "https://app.localhost/",
    ]
    assert all(_loopback(u) for u in local)
    assert not any(
        _loopback(u) for u in ["https://hooks.example.com/", "http://10.0.0.5/", "http://localhost.example/"]
    )


def test_trigger_shows_no_credential_of_the_handler_url(
    handler_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A handler protected by basic auth or a token in its query: the URL is used as given, and shown
    without them (it was printed whole, in the 'sent' line and the 'no answer' message)."""
    RECEIVED.clear()
    host = handler_url.split("//", 1)[1]
    url = f"http://hook-user:pw-hunter2-secret@{host}/hook?token=tok-hunter2-secret"
    assert main(["webhooks", "trigger", "video.started", "--to", url, "--secret", SECRET]) == 0
    assert len(RECEIVED) == 1
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        refused = url.replace(host, f"127.0.0.1:{closed.getsockname()[1]}")
    assert main(["--json", "webhooks", "trigger", "video.started", "--to", refused, "--secret", SECRET]) == 1
    for bad in ("ftp" + url[4:], url.replace(host, "[::1")):  # usage errors quote the URL
        assert main(["webhooks", "trigger", "video.started", "--to", bad, "--secret", SECRET]) == 2
    out = capsys.readouterr()
    assert "sent video.started (cuid-example) to " + handler_url + "/hook?<redacted>" in out.err
    assert "no answer from http://127.0.0.1:" in out.out + out.err
    assert "invalid URL 'http://[::1/hook?<redacted>': Invalid port" in out.err  # was an internal error
    assert "hunter2" not in out.out + out.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["video.paused", "--to", "http://127.0.0.1:9/"], "invalid event 'video.paused'"),
        (["video.started", "--to", "ftp://x"], "invalid URL 'ftp://x'"),
        (["video.started"], "the following arguments are required: --to"),
    ],
)
def test_trigger_usage_errors(args: List[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["webhooks", "trigger", *args, "--secret", SECRET]) == 2
    assert message in capsys.readouterr().err


def test_listen_port_must_be_a_port(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["webhooks", "listen", "--port", "70000"]) == 2
    assert "invalid port '70000'" in capsys.readouterr().err


# --------------------------------------------------------------------------------------- shell completion


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["web"], ["webhooks"]),
        (["webhooks", ""], ["listen", "trigger"]),
        (["webhooks", "trigger", "video.c"], ["video.completed"]),
        (["webhooks", "trigger", "--to", "http://127.0.0.1:8787/", "image.e"], ["image.errored"]),
        (["webhooks", "trigger", "video.started", "--i"], ["--id"]),
        (["webhooks", "trigger", "--secret", ""], []),  # a value of yours: nothing to offer
        (["webhooks", "listen", "--c"], ["--count"]),
        (["webhooks", "listen", "--port", ""], []),
        (["webhooks", "listen", "--port", "0", "--s"], ["--secret"]),
    ],
)
def test_completion_knows_the_webhooks_commands(words: List[str], expected: List[str]) -> None:
    from magic_hour.cli._complete import candidates

    assert candidates(words) == expected


@pytest.mark.parametrize("command", ["listen", "trigger"])
def test_completion_offers_every_option_of_the_webhooks_commands(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import re

    from magic_hour.cli._complete import GLOBAL, candidates

    main(["webhooks", command, "--help"])
    options = set(re.findall(r"(?m)^  (?:-[a-z], )?(--[a-z-]+)", capsys.readouterr().out))
    assert {"--secret", "--help"} <= options
    # the global options are offered too, and listed once, by magic-hour --help
    assert options | set(GLOBAL) == set(candidates(["webhooks", command, "--"]))
    if command == "trigger":
        assert candidates(["webhooks", "trigger", ""]) == sorted(webhooks.EVENT_TYPES)


@pytest.mark.parametrize(
    "url",
    [
        # A password with an unencoded "/": no URL parses (httpx reads "pw-hunter2" as the port).
        "https://hook-user:pw-hunter2/secret@hooks.example/hook?token=tok-hunter2",
        # A leading blank: httpx parses it as a relative path, user:password included.
        " https://hook-user:pw-hunter2-secret@hooks.example/hook",
    ],
)
def test_a_refused_handler_url_is_quoted_without_its_credentials(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["webhooks", "trigger", "video.started", "--to", url, "--secret", SECRET]) == 2
    err = capsys.readouterr().err
    assert "invalid URL" in err and "hooks.example/hook" in err
    assert "hunter2" not in err
    if url.startswith("https"):  # the port httpx quotes: the one marker of a hidden secret
        assert "Invalid port: '<redacted>'" in err
