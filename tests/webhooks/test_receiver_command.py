"""`manage.py run_webhook_receiver` (the local receiver of `make run`) and the demo endpoint.

The command runs for real, in a subprocess on a free port; the delivery worker of this
process sends it events, as `make run` does with `run_webhooks`.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from clientdesk.customers import contact_actions
from clientdesk.demo.webhooks_demo import DEMO_URL, seed_webhook_endpoint
from clientdesk.webhooks import signing
from clientdesk.webhooks.management.commands import run_webhook_receiver as receiver_command
from clientdesk.webhooks.management.commands.run_webhook_receiver import (
    DEMO_SECRET,
    Receiver,
    make_verifier,
)
from clientdesk.webhooks.models import Delivery, DeliveryAttempt, WebhookEndpoint
from clientdesk.webhooks.worker import Worker
from tests import factories

from .conftest import make_endpoint

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 20.0
CONTACTS = ["contact.*"]


@dataclass
class RunningReceiver:
    process: subprocess.Popen[str]
    url: str = ""
    banner: str = ""
    lines: queue.Queue[str] = field(default_factory=queue.Queue)

    def wait_for(self, pattern: str) -> str:
        """The next printed line matching ``pattern`` (earlier lines are passed over)."""
        deadline = time.monotonic() + TIMEOUT
        seen = []
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                continue
            seen.append(line)
            if re.search(pattern, line):
                return line
        raise AssertionError(f"no line matching {pattern!r}; the receiver printed {seen}")


def start_receiver(*args: str, env: dict[str, str] | None = None) -> RunningReceiver:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", receiver_command.SECRET_ENV)
    }
    environment |= {"DJANGO_SETTINGS_MODULE": "config.settings.test", **(env or {})}
    process = subprocess.Popen(
        [sys.executable, "-u", "manage.py", "run_webhook_receiver", "--port", "0", *args],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
    )
    running = RunningReceiver(process)

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            running.lines.put(line.rstrip("\n"))

    threading.Thread(target=pump, daemon=True).start()
    running.banner = running.wait_for(r"Receiving webhooks at")
    found = re.search(r"(http://127\.0\.0\.1:\d+/hooks)", running.banner)
    assert found, running.banner
    running.url = found.group(1)
    return running


@pytest.fixture
def receiver() -> Iterator[RunningReceiver]:
    running = start_receiver("--secret", DEMO_SECRET)
    yield running
    running.process.terminate()
    running.process.wait(timeout=10)


def with_demo_secret(endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """As the demo seed does: the endpoint signs with the receiver's secret."""
    endpoint.secret_encrypted = signing.encrypt(DEMO_SECRET)
    endpoint.secret_hint = signing.hint(DEMO_SECRET)
    endpoint.save(update_fields=["secret_encrypted", "secret_hint"])
    return endpoint


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def signed_headers(secret: str, body: bytes, *, message_id: str = "evt_test") -> dict[str, str]:
    timestamp = int(time.time())
    return {
        "Content-Type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signing.signature_header(
            [secret], message_id=message_id, timestamp=timestamp, body=body
        ),
    }


# --- the command, end to end --------------------------------------------------------------


def test_a_change_reaches_the_receiver_verified_and_printed(receiver, manager, customer) -> None:
    endpoint = with_demo_secret(make_endpoint(manager, receiver.url, event_types=CONTACTS)[0])
    contact = factories.make_contact(customer, "billing", portal=False)
    contact_actions.update_contact(
        contact, values={"job_title": "Finance Lead"}, actor=factories.SYSTEM
    )

    stats = Worker(threads=2).run_once()

    deliveries = list(Delivery.objects.filter(endpoint=endpoint).select_related("event"))
    assert {d.event.type for d in deliveries} == {"contact.created", "contact.updated"}
    assert {(d.status, d.last_status_code) for d in deliveries} == {("delivered", 204)}
    assert stats.delivered == 2 and stats.failed_attempts == 0
    updated = next(d.event for d in deliveries if d.event.type == "contact.updated")
    line = receiver.wait_for(r"contact\.updated")
    assert re.fullmatch(
        rf"\d\d:\d\d:\d\d ✓ contact\.updated {customer.client_id} #{updated.sequence} "
        r"changed: job_title",
        line,
    ), line
    assert "standardwebhooks" in receiver.banner and signing.hint(DEMO_SECRET) in receiver.banner


def test_a_delivery_signed_with_another_secret_gets_401(receiver, manager, customer) -> None:
    endpoint, _other_secret = make_endpoint(manager, receiver.url, event_types=CONTACTS)
    factories.make_contact(customer, "billing", portal=False)

    Worker(threads=2).run_once()

    delivery = Delivery.objects.get(endpoint=endpoint)
    assert delivery.last_status_code == 401
    assert delivery.status == "pending"  # a failed attempt: retried on the schedule
    assert DeliveryAttempt.objects.get(delivery=delivery).status_code == 401
    line = receiver.wait_for(r"contact\.created")
    assert " ✗ contact.created " in line and "signature refused" in line


def test_forged_tampered_and_stale_requests_get_401(receiver) -> None:
    body = json.dumps({"type": "customer.updated", "customer": "C-100001", "sequence": 3})
    raw = body.encode()
    good = signed_headers(DEMO_SECRET, raw)
    assert post(receiver.url, raw, good) == 204
    receiver.wait_for(r"✓ customer\.updated C-100001 #3")

    forged = {**good, "webhook-signature": "v1," + base64.b64encode(b"x" * 32).decode()}
    assert post(receiver.url, raw, forged) == 401
    assert post(receiver.url, raw.replace(b"3}", b"4}"), good) == 401
    assert post(receiver.url, raw, {**good, "webhook-signature": "garbage"}) == 401
    stale = {**good, "webhook-timestamp": str(int(time.time()) - 3600)}
    assert post(receiver.url, raw, stale) == 401
    no_headers = {"Content-Type": "application/json"}
    assert post(receiver.url, raw, no_headers) == 401
    for _ in range(5):
        assert "✗ customer.updated" in receiver.wait_for(r"signature refused")


def test_the_receiver_points_out_redeliveries_and_older_events(receiver) -> None:
    newer = json.dumps({"type": "contact.updated", "customer": "C-100009", "sequence": 8}).encode()
    older = json.dumps({"type": "contact.updated", "customer": "C-100009", "sequence": 7}).encode()
    assert post(receiver.url, newer, signed_headers(DEMO_SECRET, newer, message_id="evt_8")) == 204
    assert post(receiver.url, newer, signed_headers(DEMO_SECRET, newer, message_id="evt_8")) == 204
    assert post(receiver.url, older, signed_headers(DEMO_SECRET, older, message_id="evt_7")) == 204
    assert receiver.wait_for(r"#8").endswith("#8")
    assert "again (same webhook-id" in receiver.wait_for(r"#8")
    assert "out of order: #8 came first" in receiver.wait_for(r"#7")


def test_the_secret_comes_from_the_environment_when_not_given() -> None:
    other = signing.new_secret()
    running = start_receiver(env={receiver_command.SECRET_ENV: other})
    try:
        assert signing.hint(other) in running.banner
        body = b'{"type":"note.added","customer":"C-100002","sequence":1}'
        assert post(running.url, body, signed_headers(other, body)) == 204
        assert post(running.url, body, signed_headers(DEMO_SECRET, body)) == 401
    finally:
        running.process.terminate()
        running.process.wait(timeout=10)


# --- verification, in this process --------------------------------------------------------


@pytest.fixture(params=["standardwebhooks", "own"])
def verifier(request, monkeypatch):
    if request.param == "own":  # production has no standardwebhooks: the fallback
        monkeypatch.setitem(sys.modules, "standardwebhooks", None)
    verify, name = make_verifier(DEMO_SECRET)
    assert ("standardwebhooks" in name) == (request.param == "standardwebhooks")
    return verify


def test_both_verifiers_accept_rotation_and_refuse_forgeries(verifier) -> None:
    body = '{"type":"customer.updated","data":{"city":"Zürich 東京"}}'.encode()
    headers = signed_headers(DEMO_SECRET, body)
    headers = {key.lower(): value for key, value in headers.items()}
    verifier(body, headers)  # valid: no exception
    old = signing.new_secret()
    rotated = signing.signature_header(
        [old, DEMO_SECRET],
        message_id=headers["webhook-id"],
        timestamp=int(headers["webhook-timestamp"]),
        body=body,
    )
    verifier(body, {**headers, "webhook-signature": rotated})  # the second signature matches
    refused = [
        (body + b" ", headers),
        (body, {**headers, "webhook-signature": signed_headers(old, body)["webhook-signature"]}),
        (body, {**headers, "webhook-signature": "v1,%%%not-base64"}),
        (body, {**headers, "webhook-signature": "nocomma"}),
        (body, {**headers, "webhook-timestamp": str(int(time.time()) - 3600)}),
        (body, {**headers, "webhook-timestamp": "yesterday"}),
        (body, {"webhook-id": "evt_test"}),
    ]
    for forged_body, forged_headers in refused:
        with pytest.raises(receiver_command.InvalidSignature):
            verifier(forged_body, forged_headers)


def test_printed_lines_carry_no_terminal_escapes() -> None:
    lines: list[str] = []
    receiver = Receiver(make_verifier(DEMO_SECRET)[0], lines.append)
    body = json.dumps(
        {"type": "\x1b[2J\x1b[31mpwned", "customer": "C-1\nC-2", "sequence": 1}
    ).encode()
    assert receiver.handle(body, {}) == 401
    assert receiver.handle(b"\xff not json", {}) == 401
    assert len(lines) == 2
    assert all("\x1b" not in line and "\n" not in line for line in lines)
    assert " ✗ ?[2J?[31mpwned C-1?C-2 #1 " in lines[0]
    assert " ✗ ? - — signature refused" in lines[1]


def test_a_secret_that_is_not_a_signing_secret_is_refused() -> None:
    with pytest.raises(CommandError, match="whsec_"):
        call_command("run_webhook_receiver", "--secret", "whsec_%%%", "--port", "0")
    with pytest.raises(CommandError, match="whsec_"):
        call_command("run_webhook_receiver", "--secret", "not-a-secret", "--port", "0")


# --- the demo endpoint ----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_demo_endpoint_is_registered_once_with_the_receiver_secret() -> None:
    first = seed_webhook_endpoint()
    assert first.created and not first.problem and first.endpoint is not None
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.url == DEMO_URL == "http://127.0.0.1:8001/hooks"
    assert endpoint.target == "Billing" and endpoint.is_active
    assert endpoint.event_types == []  # every event, so any portal edit shows up
    assert signing.decrypt(endpoint.secret_encrypted) == DEMO_SECRET
    assert endpoint.secret_hint == signing.hint(DEMO_SECRET)
    assert base64.b64decode(DEMO_SECRET.removeprefix("whsec_")) == b"clientdesk-demo-webhooks"

    again = seed_webhook_endpoint()
    assert not again.created and again.endpoint == endpoint
    assert WebhookEndpoint.objects.count() == 1


@pytest.mark.django_db
def test_no_demo_endpoint_where_plain_http_is_refused(settings) -> None:
    settings.CLIENTDESK_WEBHOOK_ALLOW_HTTP = False
    result = seed_webhook_endpoint()
    assert result.endpoint is None and not result.created
    assert "https" in result.problem
    assert not WebhookEndpoint.objects.exists()
