"""Several writers and several workers at once (PostgreSQL: real row locks, SKIP LOCKED)."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection, transaction
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from clientdesk.core.actor import Actor, Source
from clientdesk.events.models import Event
from clientdesk.events.publish import publish
from clientdesk.webhooks import actions
from clientdesk.webhooks.models import Delivery
from clientdesk.webhooks.worker import Worker
from tests import factories

WRITERS = 8
EVENTS_PER_WRITER = 15


def _together(count: int, work) -> list[str]:
    barrier = threading.Barrier(count, timeout=30)
    errors: list[str] = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            work(index)
        except Exception as error:  # reported by the caller's assertion
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_get_distinct_gap_free_sequences():
    customer = factories.make_customer("Busy Sdn Bhd")

    def write(index: int) -> None:
        for _ in range(EVENTS_PER_WRITER):
            with transaction.atomic():
                publish("customer.updated", actor=Actor.system(), customer=customer, data={})

    assert _together(WRITERS, write) == []
    sequences = sorted(Event.objects.filter(customer=customer).values_list("sequence", flat=True))
    assert sequences == list(range(1, len(sequences) + 1))
    assert len(sequences) == WRITERS * EVENTS_PER_WRITER + 1  # + customer.created


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_workers_never_send_the_same_delivery_twice():
    server = HTTPServer(host="127.0.0.1", threaded=True)
    server.start()
    seen: Counter[str] = Counter()
    lock = threading.Lock()

    def receive(request: Request) -> Response:
        with lock:
            seen[request.headers["webhook-id"]] += 1
        return Response(status=204)

    server.expect_request("/hook").respond_with_handler(receive)
    try:
        manager = Actor(factories.make_staff("manager"), Source.STAFF)
        actions.create_endpoint(
            actor=manager, url=server.url_for("/hook"), target="Billing", event_types=["customer.*"]
        )
        customers = [factories.make_customer(f"Load {n} Sdn Bhd") for n in range(60)]
        assert len(customers) == 60

        def work(index: int) -> None:
            Worker(threads=4, poll_seconds=0.05).run(stop=threading.Event(), idle_exit=True)

        assert _together(3, work) == []
        # A worker may go idle while another still has requests in flight: finish the rest.
        Worker(threads=2).run_once()
    finally:
        server.clear()
        server.stop()
    assert len(seen) == 60
    assert set(seen.values()) == {1}
    assert Delivery.objects.filter(status="delivered").count() == 60
    positions = list(Event.objects.order_by("position").values_list("position", flat=True))
    assert positions == list(range(positions[0], positions[0] + len(positions)))
