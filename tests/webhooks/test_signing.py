"""Our signatures, checked by an independent Standard Webhooks implementation."""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from clientdesk.webhooks import actions, signing
from clientdesk.webhooks.models import Delivery, WebhookEndpoint
from clientdesk.webhooks.worker import Job, Worker, attempt, claim
from tests import factories

from .conftest import make_endpoint


def _headers(secret: str, body: bytes, *, message_id: str = "evt_1", at: int | None = None):
    timestamp = int(time.time()) if at is None else at
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signing.signature_header(
            [secret], message_id=message_id, timestamp=timestamp, body=body
        ),
    }


def test_secret_is_standard_and_random() -> None:
    first, second = signing.new_secret(), signing.new_secret()
    assert first.startswith("whsec_") and first != second
    assert signing.hint(first).endswith("…") and len(signing.hint(first)) == 11


def test_independent_verifier_accepts_our_signature() -> None:
    secret = signing.new_secret()
    body = '{"type":"contact.updated","data":{"name":"Zürich 東京"}}'.encode()
    verified = Webhook(secret).verify(body, _headers(secret, body))
    assert verified["type"] == "contact.updated"


def test_tampered_body_and_stale_timestamp_are_rejected() -> None:
    secret = signing.new_secret()
    body = b'{"type":"customer.updated"}'
    headers = _headers(secret, body)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b'{"type":"customer.deleted"}', headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(body, headers)
    stale = _headers(secret, body, at=int(time.time()) - 3600)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, stale)


def test_secret_is_encrypted_at_rest(manager, customer) -> None:
    endpoint, secret = make_endpoint(manager, "http://127.0.0.1:9/hook")
    stored = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert secret not in stored.secret_encrypted
    assert secret.removeprefix("whsec_") not in stored.secret_encrypted
    assert signing.decrypt(stored.secret_encrypted) == secret
    assert stored.secret_hint == signing.hint(secret)


def _claim_one() -> Job:
    return claim(limit=10, now=timezone.now(), in_flight=Counter(), per_endpoint=10)[0]


def test_rotation_signs_with_both_secrets_during_the_grace_period(manager, customer) -> None:
    endpoint, old = make_endpoint(manager, "http://127.0.0.1:9/hook")
    endpoint, new = actions.rotate_secret(actor=manager, endpoint=endpoint)
    assert new != old
    factories.make_contact(customer, "billing", portal=False)
    Worker(threads=1).relay_all()

    job = _claim_one()
    assert set(job.secrets) == {old, new}
    headers = _headers_for(job)
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(new).verify(job.body, headers)
    Webhook(old).verify(job.body, headers)

    # After the 24-hour grace period only the new secret signs.
    with time_machine.travel(timezone.now() + timedelta(hours=25), tick=False):
        Delivery.objects.update(status=Delivery.Status.PENDING, next_attempt_at=timezone.now())
        assert _claim_one().secrets == (new,)


def _headers_for(job: Job) -> dict[str, str]:
    timestamp = int(time.time())
    return {
        "webhook-id": job.message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signing.signature_header(
            list(job.secrets), message_id=job.message_id, timestamp=timestamp, body=job.body
        ),
    }


def test_attempt_refuses_without_network_when_url_became_private(settings) -> None:
    settings.CLIENTDESK_WEBHOOK_ALLOWED_NETWORKS = []
    job = Job(1, 1, "http://127.0.0.1:9/hook", "evt_1", b"{}", (signing.new_secret(),))
    outcome = attempt(job)
    assert outcome.response.status_code is None
    assert "private or reserved" in outcome.response.error
