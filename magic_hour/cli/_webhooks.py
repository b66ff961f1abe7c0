"""``magic-hour webhooks listen`` and ``magic-hour webhooks trigger``: test a webhook handler from the
terminal, as the Stripe CLI lets people test theirs.

``listen`` serves a local endpoint that verifies each request with ``magic_hour.webhooks.unwrap`` and
prints its event (or why it was rejected); ``trigger`` sends a signed example event, built from the
webhook description, to a handler under development and prints its answer. Both read bounded bodies
and never show the secret. The parser part imports nothing of the SDK (``--help`` stays cheap).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import TYPE_CHECKING, Any, Dict, List, cast

from ._output import EXIT_FAILURE, EXIT_OK, PROG, clean, finite, print_json, say
from ._parser import Parser, UsageError, positive_int

if TYPE_CHECKING:
    from ._signals import Run

SECRET_ENV = "MAGIC_HOUR_WEBHOOK_SECRET"
DEFAULT_PORT = 8787
MAX_BODY = 1024 * 1024
"""Bytes of a request body ``listen`` reads (a larger one is answered 413, unread)."""
MAX_ANSWER = 64 * 1024
"""Bytes of a handler's answer ``trigger`` reads and shows."""
SHOWN_ANSWER = 500
"""Characters of that answer printed in text mode."""

LISTEN_EPILOG = f"""\
examples:
  {PROG} webhooks listen                      # http://127.0.0.1:{DEFAULT_PORT}/, secret from ${SECRET_ENV}
  {PROG} webhooks listen --port 9000 --json   # one JSON line per request, for scripts

Every POST (any path) is verified as Magic Hour signs it and answered 200, or 400 with the reason it
was rejected (413 over 1 MiB). stdout gets one line per verified event: type, project id, status
(with --json: one JSON object per request, rejections included). Exit code with --count: 0 if every
request verified, 1 if one was rejected; Ctrl-C ends it (130)."""

TRIGGER_EPILOG = f"""\
examples:
  {PROG} webhooks trigger video.completed --to http://127.0.0.1:8000/webhooks/magic-hour
  {PROG} webhooks trigger image.errored --to http://127.0.0.1:{DEFAULT_PORT}/ --id cm_test_1 --json

The body is the webhook description's example of EVENT (with the status that sends it); it is signed
with the secret and a current timestamp. stdout gets the handler's status code, reason and answer.
Exit code: 0 for a 2xx answer, 1 otherwise (or no answer), 2 usage error."""


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}: 0 (any free port) to 65535")
    return value


def _event_type(text: str) -> str:
    from ..webhooks._examples import event_types

    known = event_types()
    if text not in known:
        raise argparse.ArgumentTypeError(f"invalid event {text!r}; allowed: {', '.join(known)}")
    return text


def _url(text: str) -> str:
    import httpx

    from .._redact import REDACTED, safe_url

    problem = "an http:// or https:// URL"
    if text.startswith(("http://", "https://")) and len(text) > len("https://"):
        try:
            httpx.URL(text)
            return text
        except httpx.InvalidURL as e:
            problem = f"{e}"
            if "@" in text:  # httpx quotes the part it refused, which may be a piece of the password
                problem = re.sub(r"'[^']*'", f"'{REDACTED}'", problem)
    # shown without its user:password or query, which may be the handler's credentials
    raise argparse.ArgumentTypeError(f"invalid URL {safe_url(text)!r}: {problem}")


def _loopback(url: str) -> bool:
    """Whether ``url`` names this machine: a handler there is reached directly, never through the
    environment's HTTP_PROXY (which could not reach it: every trigger failed behind a proxy)."""
    import ipaddress

    import httpx

    host = httpx.URL(url).host
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


SECRET_HELP = (
    f"the webhook secret (default: ${SECRET_ENV}; prefer the variable, a secret on the command line is "
    "visible to other users of this machine)"
)


def add_webhooks_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """``webhooks listen`` and ``webhooks trigger``."""
    group = commands.add_parser(
        "webhooks",
        help="receive or send test webhook events",
        description="Test a webhook handler: serve a local endpoint that verifies events, or send one.",
    )
    sub = group.add_subparsers(
        title="commands", dest="webhooks_command", metavar="COMMAND", required=True, parser_class=Parser
    )
    listen = sub.add_parser(
        "listen",
        parents=[common],
        help="serve a local endpoint that verifies and prints each event",
        description="Serve a local webhook endpoint on 127.0.0.1: verify each request as Magic Hour "
        "signs it and print its event, or why it was rejected.",
        epilog=LISTEN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    listen.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, metavar="N", help=f"default {DEFAULT_PORT}"
    )
    listen.add_argument("--secret", metavar="S", help=SECRET_HELP)
    listen.add_argument("--count", type=positive_int, metavar="N", help="stop after N requests")
    listen.set_defaults(command_id="webhooks.listen")
    trigger = sub.add_parser(
        "trigger",
        parents=[common],
        help="send a signed example event to a handler",
        description="Send a signed example event to a webhook handler and print its answer.",
        epilog=TRIGGER_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    trigger.add_argument("event", type=_event_type, metavar="EVENT", help="video.completed, image.errored...")
    trigger.add_argument("--to", type=_url, required=True, metavar="URL", help="the handler's URL")
    trigger.add_argument("--secret", metavar="S", help=SECRET_HELP)
    trigger.add_argument("--id", dest="project_id", metavar="ID", help="the payload's project id")
    trigger.set_defaults(command_id="webhooks.trigger")
    listen.leaf = trigger.leaf = True


def _keys(args: argparse.Namespace) -> Any:
    """The secret's keys (``--secret``, else the variable); a usage error when neither is set."""
    from ..webhooks._verify import Keys

    secret = args.secret if args.secret is not None else os.environ.get(SECRET_ENV, "").strip()
    if not secret:
        raise UsageError(f"no webhook secret: set {SECRET_ENV} (export {SECRET_ENV}=...) or pass --secret")
    return Keys(secret)


def _json_line(document: Dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(finite(document), ensure_ascii=True, allow_nan=False) + "\n")
    sys.stdout.flush()


# -------------------------------------------------------------------------------------------------- listen


class _Listener:
    """What the request handler reports to: the keys, the output mode and the tally."""

    def __init__(self, keys: Any, as_json: bool) -> None:
        self.keys = keys
        self.json = as_json
        self.handled = 0
        self.rejected = 0
        self.lock = threading.Lock()

    def verified(self, event: Any, raw: bytes) -> None:
        document: Dict[str, Any] = json.loads(raw)  # as sent (a type the SDK does not know included)
        payload: object = document.get("payload")
        fields: Dict[str, Any] = cast("Dict[str, Any]", payload) if isinstance(payload, dict) else {}
        project_id, status = fields.get("id"), fields.get("status")
        with self.lock:
            if self.json:
                _json_line(
                    {"ok": True, "type": event.type, "id": project_id, "status": status, "event": document}
                )
            else:
                sys.stdout.write("\t".join(clean(f) for f in (event.type, project_id, status)) + "\n")
                sys.stdout.flush()

    def refused(self, reason: str, message: str) -> None:
        with self.lock:
            self.rejected += 1
            if self.json:
                _json_line({"ok": False, "reason": reason, "message": message})
            else:
                say(f"rejected: {reason}: {message}")


class _Handler(BaseHTTPRequestHandler):
    listener: _Listener
    timeout = 10  # seconds a client may take to send its request
    server_version = "magic-hour-webhooks-listen"

    def log_message(self, format: str, *args: Any) -> None:  # (http.server's name)
        pass  # one line per request is printed by the listener, not http.server's access log

    def log_error(self, format: str, *args: Any) -> None:  # (http.server's name)
        # http.server's own refusals (a malformed request, an unsupported method, a client that sent
        # nothing for `timeout` seconds): one line each, like ours.
        message = format % args
        reason = "timeout" if message.startswith("Request timed out") else "bad_request"
        self.listener.refused(reason, message)

    def _answer(self, status: int, message: str) -> None:
        body = json.dumps({"message": message}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # (http.server's name)
        self._answer(405, "this endpoint takes POST requests from Magic Hour")

    def do_POST(self) -> None:
        from ..webhooks import DEFAULT_TOLERANCE, WebhookVerificationError
        from ..webhooks._api import parse_event
        from ..webhooks._verify import verify

        listener = self.listener
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            listener.refused("length_required", "a request without a Content-Length")
            return self._answer(411, "rejected: a Content-Length is required")
        if int(length) > MAX_BODY:
            listener.refused("too_large", f"a body of {length} bytes (at most {MAX_BODY} are read)")
            return self._answer(413, f"rejected: a body over {MAX_BODY} bytes")
        raw = self.rfile.read(int(length))
        try:  # what magic_hour.webhooks.unwrap does, with the keys made once
            verify(raw, self.headers.items(), listener.keys, tolerance=DEFAULT_TOLERANCE, now=None)
            event = parse_event(raw)
        except WebhookVerificationError as e:
            listener.refused(e.reason, str(e))
            return self._answer(400, f"rejected: {e.reason}")
        listener.verified(event, raw)
        self._answer(200, "received")


class _Server(HTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, OSError):  # a client gone before its answer: a line, not a traceback
            say(f"a client closed its connection early ({type(error).__name__})")
        else:
            super().handle_error(request, client_address)


def cmd_listen(args: argparse.Namespace, run: Run) -> int:
    keys = _keys(args)
    listener = _Listener(keys, args.json)
    handler = type("Handler", (_Handler,), {"listener": listener})
    try:
        server = _Server(("127.0.0.1", args.port), handler)
    except OSError as e:
        raise UsageError(f"cannot listen on 127.0.0.1:{args.port}: {e.strerror or e}") from None
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    source = "--secret" if args.secret is not None else f"${SECRET_ENV}"
    say(f"listening on {url} (any path), verifying with the secret of {source}; Ctrl-C to stop")
    if args.json:
        _json_line({"listening": url})
    try:
        while args.count is None or listener.handled < args.count:
            server.handle_request()
            listener.handled += 1
    finally:
        server.server_close()
    return EXIT_FAILURE if listener.rejected else EXIT_OK


# ------------------------------------------------------------------------------------------------- trigger


def cmd_trigger(args: argparse.Namespace, run: Run) -> int:
    import httpx

    from .._redact import safe_url
    from ..webhooks._examples import example_body
    from ..webhooks._verify import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

    keys = _keys(args)
    body = example_body(args.event, {"id": args.project_id} if args.project_id is not None else {})
    timestamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "user-agent": f"{PROG} webhooks trigger",
        SIGNATURE_HEADER: sign(keys, body, timestamp),
        TIMESTAMP_HEADER: str(timestamp),
    }
    project_id = json.loads(body)["payload"]["id"]
    shown = safe_url(args.to)  # a handler may take a password or a token in its URL: never printed
    try:
        with (
            httpx.Client(timeout=args.timeout or 10.0, trust_env=not _loopback(args.to)) as client,
            client.stream("POST", args.to, content=body, headers=headers) as response,
        ):
            kept: List[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                kept.append(chunk[: MAX_ANSWER - size])
                size += len(kept[-1])
                if size >= MAX_ANSWER:
                    break
            status, reason = response.status_code, response.reason_phrase
    except httpx.HTTPError as e:
        message = f"no answer from {shown}: {type(e).__name__}: {e}"
        say(message)
        if args.json:
            print_json({"ok": False, "event": args.event, "id": project_id, "error": {"message": message}})
        return EXIT_FAILURE
    answer = b"".join(kept).decode("utf-8", "replace")
    ok = 200 <= status < 300
    if args.json:
        print_json(
            {"ok": ok, "event": args.event, "id": project_id, "status_code": status, "response": answer}
        )
    else:
        say(f"sent {args.event} ({project_id}) to {shown}")
        shown = answer if len(answer) <= SHOWN_ANSWER else answer[:SHOWN_ANSWER] + "..."
        sys.stdout.write("\t".join(clean(f) for f in (status, reason, shown)) + "\n")
    return EXIT_OK if ok else EXIT_FAILURE


COMMANDS: Dict[str, Any] = {"webhooks.listen": cmd_listen, "webhooks.trigger": cmd_trigger}
