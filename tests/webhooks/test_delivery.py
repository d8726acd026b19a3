"""Delivery against a real local HTTP server: success, failures, retries, 410, isolation."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone
from standardwebhooks.webhooks import Webhook
from werkzeug import Request, Response

from clientdesk.audit.models import Activity
from clientdesk.core.actor import Actor
from clientdesk.customers import contact_actions
from clientdesk.events.models import Event
from clientdesk.webhooks import schedule, sending
from clientdesk.webhooks.models import Delivery, WebhookEndpoint
from tests import factories

from .conftest import deliver, make_endpoint

CONTACTS = ["contact.*"]


def _bodies(httpserver) -> list[dict]:
    return [json.loads(request.get_data()) for request, _ in httpserver.log]


def test_an_edit_reaches_the_receiver_signed_with_its_sequence(httpserver, manager, customer):
    endpoint, secret = make_endpoint(manager, httpserver.url_for("/hook"), event_types=CONTACTS)
    httpserver.expect_request("/hook", method="POST").respond_with_data("thanks")
    contact = factories.make_contact(customer, "billing", portal=False)
    contact_actions.update_contact(
        contact, values={"job_title": "Finance Manager"}, actor=Actor.system()
    )
    deliver()

    assert len(httpserver.log) == 2
    for request, _ in httpserver.log:
        assert request.headers["Content-Type"] == "application/json"
        Webhook(secret).verify(request.get_data(), dict(request.headers))  # raises if wrong
    # Deliveries run in parallel: order comes from the sequence, not from arrival.
    created, updated = sorted(_bodies(httpserver), key=lambda body: body["sequence"])
    assert (created["type"], updated["type"]) == ("contact.created", "contact.updated")
    assert created["customer"] == updated["customer"] == customer.client_id
    assert updated["sequence"] == created["sequence"] + 1
    assert updated["data"]["changes"]["job_title"][1] == "Finance Manager"
    assert updated["actor"]["source"] == "system"
    assert {request.headers["webhook-id"] for request, _ in httpserver.log} == {
        created["id"],
        updated["id"],
    }
    delivery = Delivery.objects.get(event_id=Event.objects.get(type="contact.updated").pk)
    assert delivery.status == Delivery.Status.DELIVERED
    attempt = delivery.attempt_log.get()
    assert (attempt.status_code, attempt.response_excerpt) == (200, "thanks")
    assert endpoint.deliveries.filter(status="delivered").count() == 2


def test_failure_retries_on_the_schedule_then_fails(httpserver, manager, customer):
    make_endpoint(manager, httpserver.url_for("/hook"), event_types=CONTACTS)
    httpserver.expect_request("/hook").respond_with_data("database down", status=500)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        factories.make_contact(customer, "billing", portal=False)
        deliver()
        delivery = Delivery.objects.get()
        for step, expected in enumerate(schedule.RETRY_DELAYS, start=1):
            delivery.refresh_from_db()
            assert delivery.status == Delivery.Status.PENDING
            assert delivery.attempts == step
            waited = delivery.next_attempt_at - timezone.now()
            assert expected * 0.8 <= waited <= expected * 1.2, (step, waited)
            clock.move_to(delivery.next_attempt_at - timedelta(seconds=1))
            deliver()  # not due yet: nothing sent
            assert len(httpserver.log) == step
            clock.move_to(delivery.next_attempt_at)
            deliver()
        delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.attempts == schedule.MAX_ATTEMPTS == len(httpserver.log) == 8
    assert delivery.last_status_code == 500
    assert list(delivery.attempt_log.values_list("number", flat=True)) == list(range(1, 9))
    assert delivery.attempt_log.last().response_excerpt == "database down"
    total = sum(schedule.RETRY_DELAYS, timedelta())
    assert timedelta(hours=20) < total < timedelta(hours=30)  # "over about a day"


def test_429_retry_after_is_honoured(httpserver, manager, customer):
    make_endpoint(manager, httpserver.url_for("/hook"), event_types=CONTACTS)
    httpserver.expect_ordered_request("/hook").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "120"}
    )
    httpserver.expect_ordered_request("/hook").respond_with_data("ok")
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        factories.make_contact(customer, "billing", portal=False)
        deliver()
        delivery = Delivery.objects.get()
        assert delivery.next_attempt_at - timezone.now() == timedelta(seconds=120)
        clock.shift(timedelta(seconds=119))
        deliver()
        assert len(httpserver.log) == 1
        clock.shift(timedelta(seconds=1))
        deliver()
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DELIVERED
    assert list(delivery.attempt_log.values_list("status_code", flat=True)) == [429, 200]


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("0", 0),
        ("45", 45),
        ("999999", 12 * 3600),
        ("99999999999999", 12 * 3600),  # would overflow timedelta
        ("9" * 5000, 12 * 3600),
        ("soon", None),
        ("", None),
    ],
)
def test_retry_after_parsing(value, seconds):
    now = timezone.now()
    delay = schedule.retry_after(value, now=now)
    assert (delay.total_seconds() if delay is not None else None) == seconds


def test_retry_after_as_an_http_date():
    now = timezone.now().replace(microsecond=0)
    when = now + timedelta(minutes=3)
    delay = schedule.retry_after(when.strftime("%a, %d %b %Y %H:%M:%S GMT"), now=now)
    assert delay == timedelta(minutes=3)


def test_a_redirect_is_a_failure_and_not_followed(httpserver, manager, customer):
    make_endpoint(manager, httpserver.url_for("/hook"), event_types=CONTACTS)
    httpserver.expect_request("/hook").respond_with_data(
        "", status=301, headers={"Location": httpserver.url_for("/elsewhere")}
    )
    httpserver.expect_request("/elsewhere").respond_with_data("ok")
    factories.make_contact(customer, "billing", portal=False)
    deliver()
    assert [request.path for request, _ in httpserver.log] == ["/hook"]
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.PENDING
    assert "redirects are not followed" in delivery.last_error


def test_410_switches_the_endpoint_off_and_tells_the_managers(
    httpserver, manager, customer, django_capture_on_commit_callbacks
):
    endpoint, _ = make_endpoint(manager, httpserver.url_for("/hook"), event_types=CONTACTS)
    httpserver.expect_request("/hook").respond_with_data("gone", status=410)
    factories.make_contact(customer, "billing", portal=False)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        deliver()
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert "410" in endpoint.disabled_reason
    assert Delivery.objects.get().status == Delivery.Status.FAILED
    assert Activity.objects.filter(verb="webhook_endpoint.disabled", actor=None).exists()
    assert Event.objects.filter(type="webhook_endpoint.disabled").exists()
    assert [message.to for message in mail.outbox if "switched off" in message.subject] == [
        [manager.user.email]
    ]
    # Later events are not queued for a switched-off endpoint.
    factories.make_contact(customer, "member", portal=False)
    deliver()
    assert Delivery.objects.count() == 1


def test_receiver_down_is_retried(manager, customer):
    make_endpoint(manager, "http://127.0.0.1:9/hook", event_types=CONTACTS)  # discard port: closed
    factories.make_contact(customer, "billing", portal=False)
    deliver()
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.last_status_code is None
    assert "refused" in delivery.attempt_log.get().error


def test_a_slow_receiver_times_out(httpserver, manager, customer, monkeypatch):
    monkeypatch.setattr(sending, "TIMEOUT_SECONDS", 0.3)

    def slow(request: Request) -> Response:
        time.sleep(1.0)
        return Response("late")

    make_endpoint(manager, httpserver.url_for("/hook"), event_types=CONTACTS)
    httpserver.expect_request("/hook").respond_with_handler(slow)
    factories.make_contact(customer, "billing", portal=False)
    deliver()
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.PENDING
    assert "No answer within" in delivery.attempt_log.get().error
    assert delivery.attempt_log.get().duration_ms < 1000


def test_an_endpoint_failing_for_days_is_switched_off(httpserver, manager, customer, settings):
    endpoint, _ = make_endpoint(manager, httpserver.url_for("/hook"), event_types=CONTACTS)
    httpserver.expect_request("/hook").respond_with_data("no", status=503)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        factories.make_contact(customer, "billing", portal=False)
        deliver()
        endpoint.refresh_from_db()
        assert endpoint.failing_since == start and endpoint.is_active
        clock.shift(timedelta(days=settings.CLIENTDESK_WEBHOOK_DISABLE_AFTER_DAYS, seconds=1))
        factories.make_contact(customer, "member", portal=False)
        deliver()
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert "5 days" in endpoint.disabled_reason


def test_a_success_ends_the_failure_streak(httpserver, manager, customer):
    endpoint, _ = make_endpoint(manager, httpserver.url_for("/hook"), event_types=CONTACTS)
    httpserver.expect_ordered_request("/hook").respond_with_data("no", status=500)
    httpserver.expect_ordered_request("/hook").respond_with_data("ok")
    with time_machine.travel(timezone.now(), tick=False) as clock:
        factories.make_contact(customer, "billing", portal=False)
        deliver()
        endpoint.refresh_from_db()
        assert endpoint.failing_since is not None
        clock.shift(timedelta(seconds=10))
        deliver()
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None


def test_customer_isolation(httpserver, manager, customer, other_customer):
    """B's endpoint never sees A's events; an unrestricted one sees both."""
    make_endpoint(
        manager, httpserver.url_for("/b"), customers=[other_customer.client_id], target="cPanel"
    )
    make_endpoint(manager, httpserver.url_for("/all"), event_types=CONTACTS, target="WHOIS")
    httpserver.expect_request("/b").respond_with_data("ok")
    httpserver.expect_request("/all").respond_with_data("ok")
    factories.make_contact(customer, "billing", portal=False)
    factories.make_contact(other_customer, "billing", portal=False)
    deliver()
    seen = {}
    for request, _ in httpserver.log:
        seen.setdefault(request.path, []).append(json.loads(request.get_data())["customer"])
    assert seen["/b"] == [other_customer.client_id]
    assert sorted(seen["/all"]) == sorted([customer.client_id, other_customer.client_id])


def test_subscriptions_and_registration_time(httpserver, manager, customer):
    factories.make_contact(customer, "member", portal=False)  # before the endpoint existed
    make_endpoint(manager, httpserver.url_for("/hook"), event_types=["ledger.entry_posted"])
    httpserver.expect_request("/hook").respond_with_data("ok")
    factories.make_contact(customer, "billing", portal=False)  # not subscribed
    deliver()
    assert httpserver.log == []
    assert not Delivery.objects.exists()


def test_replay_sends_a_failed_delivery_again_with_the_same_id(httpserver, manager, customer):
    from clientdesk.webhooks import actions

    make_endpoint(manager, httpserver.url_for("/hook"), event_types=CONTACTS)
    httpserver.expect_ordered_request("/hook").respond_with_data("gone", status=410)
    httpserver.expect_ordered_request("/hook").respond_with_data("ok")
    factories.make_contact(customer, "billing", portal=False)
    deliver()
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED
    endpoint = WebhookEndpoint.objects.get()
    actions.set_endpoint_active(actor=manager, endpoint=endpoint, active=True)
    support = Actor(factories.make_staff("support"), manager.source)
    assert actions.replay_deliveries(actor=support, deliveries=[delivery], customer=customer) == 1
    deliver()
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DELIVERED
    first, second = (request.headers["webhook-id"] for request, _ in httpserver.log)
    assert first == second
    assert Activity.objects.filter(verb="webhook.deliveries_replayed", customer=customer).exists()


def test_prune_keeps_recent_and_failed_deliveries(httpserver, manager, customer, settings):
    from clientdesk.webhooks.tasks import prune

    make_endpoint(manager, httpserver.url_for("/hook"), event_types=CONTACTS)
    httpserver.expect_request("/hook").respond_with_data("ok")
    factories.make_contact(customer, "billing", portal=False)
    deliver()
    failed = Delivery.objects.get()
    factories.make_contact(customer, "member", portal=False)
    deliver()
    Delivery.objects.filter(pk=failed.pk).update(status=Delivery.Status.FAILED)
    later = timezone.now() + timedelta(days=settings.CLIENTDESK_WEBHOOK_DELIVERED_DAYS + 1)
    with time_machine.travel(later, tick=False):
        assert prune() == 1
    assert list(Delivery.objects.values_list("pk", flat=True)) == [failed.pk]
    with time_machine.travel(later + timedelta(days=90), tick=False):
        assert prune() == 1
    assert not Delivery.objects.exists()
