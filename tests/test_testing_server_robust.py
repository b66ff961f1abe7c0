"""The fake's real server under hostile input and starvation (issue 12, item 14), over real sockets:
a non-ASCII ``Authorization`` header and absolute-form request targets get 401 (not 500); running out
of file descriptors does not spin a core, and the server recovers when descriptors come back."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
from typing import Iterator, Tuple

import pytest
from _servers import recv_head

from magic_hour.testing import FakeMagicHour, FakeServer

pytestmark = pytest.mark.full


def _raw(server: FakeServer, request: bytes) -> Tuple[int, bytes]:
    """Send ``request`` on a fresh connection; the status and body of the answer."""
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(request)
        data = recv_head(sock)
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
    return int(head.split(b" ", 2)[1]), body


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeMagicHour() as fake, fake.serve() as running:
        yield running


@pytest.mark.parametrize(
    "value",
    [b"Bearer t\xc3\xa9st-token", b"Bearer \xff\xfe", "Bearer test-token\u00e9".encode("latin-1")],
    ids=["utf-8", "bytes", "latin-1"],
)
@pytest.mark.parametrize("path", ["/v1/account", "/v1/files/upload-urls", "/v1/face-swap-photo"])
def test_non_ascii_authorization_is_401(server: FakeServer, value: bytes, path: str) -> None:
    method = b"GET" if path == "/v1/account" else b"POST"
    request = method + b" " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nAuthorization: " + value
    status, body = _raw(server, request + b"\r\nContent-Length: 2\r\n\r\n{}")
    assert (status, json.loads(body)) == (401, {"message": "Unauthorized"})
    assert server.errors == []


@pytest.mark.parametrize("host", ["127.0.0.1", "api.magichour.ai", "evil.example:8080"])
def test_absolute_form_targets_are_served_like_origin_form(server: FakeServer, host: str) -> None:
    target = f"http://{host}/v1/account".encode()
    status, body = _raw(server, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (status, json.loads(body)) == (401, {"message": "Unauthorized"})
    auth = f"Authorization: Bearer {server.token}\r\n".encode()
    status, body = _raw(server, b"GET " + target + b"?x=1 HTTP/1.1\r\nHost: x\r\n" + auth + b"\r\n")
    assert status == 200 and "credits" in json.loads(body)
    assert server.fake.requests[-1].path == "/v1/account"
    assert server.errors == []


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/ai-image-generator", '{"image_count": 1%s, "style": {"prompt": "x"}}', "image_count"),
        ("/v1/ai-image-generator", '{"image_count": -1%s, "style": {"prompt": "x"}}', "image_count"),
        (
            "/v1/ai-face-editor",
            '{"assets": {"image_file_path": "api-assets/a.png"}, "style": {"eyebrow_direction": 1%s}}',
            "eyebrow_direction",
        ),
    ],
    ids=["integer", "negative", "nested"],
)
def test_an_integer_beyond_a_float_is_refused_not_a_crash(
    server: FakeServer, path: str, body: str, field: str
) -> None:
    """10**400 is valid JSON (Python reads integers of up to 4,300 digits): the fake compared it as a
    float and answered 500 (OverflowError), which a create takes for "the project may exist"."""
    data = (body % ("0" * 400)).encode()
    auth = f"Authorization: Bearer {server.token}\r\n".encode()
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n".encode()
    status, answer = _raw(server, head + auth + f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
    assert status == 422 and field in json.loads(answer)["message"]
    assert server.errors == []
    assert server.fake.projects == []


@pytest.mark.parametrize("target", [b"*", b"v1/account", b"%%%"])
def test_other_request_targets_are_400(server: FakeServer, target: bytes) -> None:
    status, body = _raw(server, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 400 and b"request target" in body
    assert server.errors == []


_STARVE = textwrap.dedent(
    """
    import resource, socket, sys, time, httpx
    from magic_hour.testing import FakeMagicHour

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (128, hard))
    fake = FakeMagicHour()
    server = fake.serve()
    clients = []
    try:
        while True:  # take every descriptor; the server's accept() now fails with EMFILE
            clients.append(socket.create_connection((server.host, server.port)))
    except OSError:
        pass
    time.sleep(0.3)
    start = time.process_time()
    time.sleep(1.5)
    cpu = time.process_time() - start
    for sock in clients:
        sock.close()
    with httpx.Client() as http:
        status = http.get(server.url + "/v1/account", headers={"Authorization": "Bearer test-token"}).status_code
    server.stop()
    print(cpu, len(clients), status)
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_NOFILE is POSIX")
def test_running_out_of_descriptors_does_not_spin_and_recovers() -> None:
    result = subprocess.run([sys.executable, "-c", _STARVE], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    cpu, clients, status = result.stdout.split()
    assert int(clients) > 10
    # Spinning on accept() burns ~1.5 s of CPU here; backing off costs a few milliseconds.
    assert float(cpu) < 0.2, f"the accept loop used {cpu} s of CPU in 1.5 s while starved"
    assert status == "200"
