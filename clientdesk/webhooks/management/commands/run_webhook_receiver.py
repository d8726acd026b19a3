"""``manage.py run_webhook_receiver``: a tiny local webhook receiver for ``make run``.

It listens on 127.0.0.1 only, checks the Standard Webhooks signature of every POST and
prints one line per event::

    14:02:07 ✓ customer.updated C-100001 #12 changed: phone, email

It answers 204 when the signature is valid and 401 otherwise, so the console's delivery
log shows what a real receiver would do. Signatures are checked with the independent
``standardwebhooks`` package when it is installed (it is a development dependency, so
``make run`` has it); without it, with Clientdesk's own ``webhooks.signing``.

The secret comes from ``--secret``, else ``CLIENTDESK_DEMO_WEBHOOK_SECRET``, else the demo
endpoint's fixed secret (``DEMO_SECRET``, which ``clientdesk/demo/webhooks_demo.py``
registers with the demo endpoint). It lives here, not in the demo app, because the
``webhooks`` layer may not import ``demo``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import os
import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from clientdesk.webhooks import signing

# The demo endpoint's signing secret: "whsec_" + base64 of a fixed 24-byte string. Only
# for the local demo; every real endpoint gets a random secret (signing.new_secret).
DEMO_SECRET = signing.PREFIX + base64.b64encode(b"clientdesk-demo-webhooks").decode()
DEFAULT_PORT = 8001
HOST = "127.0.0.1"  # never reachable from another machine
PATH = "/hooks"
SECRET_ENV = "CLIENTDESK_DEMO_WEBHOOK_SECRET"  # noqa: S105 - a variable name, not a secret
MAX_BODY = 1_000_000  # bytes; Clientdesk's events are a few kilobytes
TOLERANCE_SECONDS = 5 * 60  # the Standard Webhooks timestamp window
REMEMBERED_IDS = 10_000

Verify = Callable[[bytes, dict[str, str]], None]


class InvalidSignature(Exception):
    """The message is not signed with the secret (or its headers are missing or stale)."""


def check_secret(secret: str) -> bytes:
    """The secret's key bytes, or CommandError when it is not a ``whsec_`` secret."""
    try:
        key = base64.b64decode(secret.removeprefix(signing.PREFIX), validate=True)
    except (binascii.Error, ValueError) as error:
        raise CommandError(
            "The secret must be whsec_ followed by base64, as the console shows it."
        ) from error
    if not secret.startswith(signing.PREFIX) or not key:
        raise CommandError("The secret must be whsec_ followed by base64, as the console shows it.")
    return key


def own_verifier(secret: str) -> Verify:
    """Standard Webhooks verification with Clientdesk's own signing code (no extra package)."""

    def verify(body: bytes, headers: dict[str, str]) -> None:
        message_id = headers.get("webhook-id", "")
        raw_timestamp = headers.get("webhook-timestamp", "")
        signatures = headers.get("webhook-signature", "")
        if not (message_id and raw_timestamp and signatures):
            raise InvalidSignature("Missing required headers")
        if not raw_timestamp.isdecimal():
            raise InvalidSignature("Invalid webhook-timestamp")
        timestamp = int(raw_timestamp)
        if abs(time.time() - timestamp) > TOLERANCE_SECONDS:
            raise InvalidSignature("Message timestamp too old or too new")
        expected = signing.signature(
            secret, message_id=message_id, timestamp=timestamp, body=body
        ).encode()
        if not any(hmac.compare_digest(expected, given.encode()) for given in signatures.split()):
            raise InvalidSignature("No matching signature found")

    return verify


def make_verifier(secret: str) -> tuple[Verify, str]:
    """The verification function and the name of what it uses."""
    check_secret(secret)
    try:
        from standardwebhooks import Webhook, WebhookVerificationError
    except ImportError:
        return own_verifier(secret), "clientdesk.webhooks.signing"
    webhook = Webhook(secret)

    def verify(body: bytes, headers: dict[str, str]) -> None:
        try:
            webhook.verify(body, headers, json_parse=False)
        except WebhookVerificationError as error:
            raise InvalidSignature(str(error) or "Invalid signature") from error
        # The package raises ValueError (binascii.Error too) on a malformed header.
        except (ValueError, UnicodeDecodeError) as error:
            raise InvalidSignature("Malformed webhook-signature header") from error

    return verify, "the standardwebhooks package"


def printable(value: Any, *, limit: int = 80) -> str:
    """Text from the network made safe for a terminal: no control characters (no escape
    sequences), one line, bounded length."""
    text = "".join(
        char if unicodedata.category(char)[0] != "C" else "?" for char in str(value)[: limit + 1]
    )
    return text if len(text) <= limit else text[: limit - 1] + "…"


def changed_fields(data: Any) -> list[str]:
    """The fields an event says changed: ``changed_fields`` (customer.updated) or the keys
    of ``changes`` (contact.updated, tax_rule.changed, webhook_endpoint.updated)."""
    if not isinstance(data, dict):
        return []
    if isinstance(data.get("changed_fields"), list):
        return [str(name) for name in data["changed_fields"]]
    if isinstance(data.get("changes"), dict):
        return [str(name) for name in data["changes"]]
    return []


class Receiver:
    """What the HTTP handler threads share: the verifier, the output and a little memory
    (webhook-ids already seen, the highest sequence per customer) to point out
    redeliveries and events that arrive after newer ones of the same customer, which a real
    receiver must handle (docs/events.md, "Newer or older?")."""

    def __init__(self, verify: Verify, write: Callable[[str], None]) -> None:
        self.verify = verify
        self._write = write
        self._lock = threading.Lock()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._latest: dict[str, int] = {}

    def handle(self, body: bytes, headers: dict[str, str]) -> int:
        try:
            self.verify(body, headers)
        except InvalidSignature as error:
            self.write_line(body, valid=False, note=f"signature refused: {error}")
            return HTTPStatus.UNAUTHORIZED
        self.write_line(body, valid=True, note=self._remember(body, headers))
        return HTTPStatus.NO_CONTENT

    def _remember(self, body: bytes, headers: dict[str, str]) -> str:
        event = _parse(body)
        message_id = headers.get("webhook-id", "")
        customer, sequence = event.get("customer"), event.get("sequence")
        with self._lock:
            if message_id in self._seen:
                return "again (same webhook-id: a receiver skips it)"
            self._seen[message_id] = None
            if len(self._seen) > REMEMBERED_IDS:
                self._seen.popitem(last=False)
            if isinstance(customer, str) and isinstance(sequence, int):
                latest = self._latest.get(customer, 0)
                if sequence < latest:
                    return f"out of order: #{latest} came first"
                self._latest[customer] = sequence
        return ""

    def write_line(self, body: bytes, *, valid: bool, note: str = "") -> None:
        event = _parse(body)
        parts = [
            datetime.now().astimezone().strftime("%H:%M:%S"),
            "✓" if valid else "✗",
            printable(event.get("type") or "?"),
            printable(event.get("customer") or "-"),
        ]
        if event.get("sequence") is not None:
            parts.append(f"#{printable(event['sequence'])}")
        fields = changed_fields(event.get("data"))
        if fields:
            parts.append("changed: " + printable(", ".join(fields), limit=200))
        if note:
            parts.append(f"— {printable(note, limit=120)}")
        with self._lock:
            self._write(" ".join(parts))


def _parse(body: bytes) -> dict[str, Any]:
    try:
        event = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return {}
    return event if isinstance(event, dict) else {}


def build_server(port: int, receiver: Receiver) -> ThreadingHTTPServer:
    """An HTTP server on 127.0.0.1:``port`` (0: any free port) that feeds ``receiver``."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "ClientdeskReceiver/1"
        protocol_version = "HTTP/1.1"  # keep-alive, as the worker's connection pool expects

        def do_POST(self) -> None:
            length = self.headers.get("Content-Length", "")
            if not length.isdecimal():
                self.close_connection = True
                self._answer(HTTPStatus.LENGTH_REQUIRED, "Send a Content-Length.\n")
                return
            if int(length) > MAX_BODY:
                self.close_connection = True
                self._answer(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "Too large.\n")
                return
            body = self.rfile.read(int(length))
            headers = {key.lower(): value for key, value in self.headers.items()}
            status = receiver.handle(body, headers)
            self._answer(status, "" if status == HTTPStatus.NO_CONTENT else "Bad signature.\n")

        def do_GET(self) -> None:
            self._answer(
                HTTPStatus.OK,
                "Clientdesk's local webhook receiver: events are POSTed here and printed "
                "in the terminal that runs it.\n",
            )

        def _answer(self, status: int, text: str) -> None:
            payload = text.encode()
            self.send_response(status)
            if status != HTTPStatus.NO_CONTENT:
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if payload:
                self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the receiver prints its own line per event."""

    server = ThreadingHTTPServer((HOST, port), Handler)
    server.daemon_threads = True
    return server


class Command(BaseCommand):
    help = "Receive webhooks on 127.0.0.1 and print each event with its signature check."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})"
        )
        parser.add_argument(
            "--secret",
            default="",
            help=f"the endpoint's whsec_… secret (default: ${SECRET_ENV}, else the demo secret)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        secret = options["secret"] or os.environ.get(SECRET_ENV, "") or DEMO_SECRET
        verify, verifier = make_verifier(secret)
        if not 0 <= options["port"] <= 65535:
            raise CommandError("The port must be between 0 and 65535.")
        receiver = Receiver(verify, self._print)
        try:
            server = build_server(options["port"], receiver)
        except OSError as error:
            raise CommandError(f"Cannot listen on {HOST}:{options['port']}: {error}") from error
        port = server.server_address[1]
        self._print(
            f"Receiving webhooks at http://{HOST}:{port}{PATH} "
            f"(signatures checked with {verifier}, secret {signing.hint(secret)}). Ctrl-C to stop."
        )
        try:
            server.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()

    def _print(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()  # one line at a time, also into a pipe (honcho, tests)
