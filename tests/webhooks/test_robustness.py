"""The worker keeps going whatever one delivery, one endpoint or one turn throws at it."""

from __future__ import annotations

import threading
from datetime import timedelta

from django.utils import timezone

from clientdesk.webhooks import actions, worker
from clientdesk.webhooks.models import Delivery, WebhookEndpoint
from clientdesk.webhooks.worker import Worker
from tests import factories

from .conftest import deliver, make_endpoint


def test_a_huge_retry_after_is_capped_not_fatal(httpserver, manager, customer):
    make_endpoint(manager, httpserver.url_for("/hook"), event_types=["contact.*"])
    httpserver.expect_request("/hook").respond_with_data(
        "", status=429, headers={"Retry-After": "99999999999999"}
    )
    factories.make_contact(customer, "billing", portal=False)
    deliver()
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.next_attempt_at - timezone.now() <= timedelta(hours=12)


def test_a_secret_that_no_longer_decrypts_fails_that_delivery_only(httpserver, manager, customer):
    broken, _ = make_endpoint(manager, httpserver.url_for("/a"), event_types=["contact.*"])
    make_endpoint(manager, httpserver.url_for("/b"), event_types=["contact.*"], target="WHOIS")
    WebhookEndpoint.objects.filter(pk=broken.pk).update(secret_encrypted="not-a-fernet-token")
    httpserver.expect_request("/a").respond_with_data("ok")
    httpserver.expect_request("/b").respond_with_data("ok")
    factories.make_contact(customer, "billing", portal=False)
    deliver()
    assert [request.path for request, _ in httpserver.log] == ["/b"]
    failed = Delivery.objects.get(endpoint=broken)
    assert failed.status == Delivery.Status.PENDING  # retried later, not stuck in "sending"
    assert "decrypted" in failed.attempt_log.get().error


def test_an_international_host_name_is_sent_as_punycode():
    from clientdesk.webhooks import destinations

    assert destinations.parse("https://bücher.example/hook")[1] == "xn--bcher-kva.example"


def test_a_failing_turn_is_logged_and_the_loop_goes_on(httpserver, manager, customer, monkeypatch):
    make_endpoint(manager, httpserver.url_for("/hook"), event_types=["contact.*"])
    httpserver.expect_request("/hook").respond_with_data("ok")
    factories.make_contact(customer, "billing", portal=False)
    real_relay = worker.relay
    calls = {"n": 0}

    def flaky_relay(**kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database went away")
        return real_relay(**kwargs)

    monkeypatch.setattr(worker, "relay", flaky_relay)
    stop = threading.Event()
    timer = threading.Timer(10, stop.set)  # a safety net: the run ends by itself when idle
    timer.start()
    try:
        stats = Worker(threads=2, poll_seconds=0.05).run(stop=stop, idle_exit=True)
    finally:
        timer.cancel()
    assert calls["n"] >= 2
    assert stats.delivered == 1


def test_a_switched_off_endpoint_parks_its_queue_and_gets_it_back(httpserver, manager, customer):
    endpoint, _ = make_endpoint(manager, httpserver.url_for("/hook"), event_types=["contact.*"])
    httpserver.expect_request("/hook").respond_with_data("no", status=500)
    factories.make_contact(customer, "billing", portal=False)
    deliver()
    actions.set_endpoint_active(actor=manager, endpoint=endpoint, active=False)
    parked = Delivery.objects.get()
    assert parked.next_attempt_at == actions.PARKED_UNTIL  # out of the queue's way
    assert not Worker(threads=1)._anything_due()
    endpoint.refresh_from_db()
    actions.set_endpoint_active(actor=manager, endpoint=endpoint, active=True)
    assert Delivery.objects.get().next_attempt_at <= timezone.now()
