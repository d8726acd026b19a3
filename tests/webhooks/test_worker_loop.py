"""The long-running worker: a slow endpoint holds a few threads, never the healthy ones."""

from __future__ import annotations

import threading
import time

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from clientdesk.events.models import Event
from clientdesk.webhooks.models import Delivery
from clientdesk.webhooks.worker import Worker
from tests import factories

from .conftest import make_endpoint


@pytest.fixture
def receivers():
    """Two threaded receivers (the default test server answers one request at a time)."""
    servers = [HTTPServer(host="127.0.0.1", threaded=True) for _ in range(2)]
    for server in servers:
        server.start()
    yield servers
    for server in servers:
        server.clear()
        server.stop()


def test_a_slow_endpoint_does_not_delay_a_healthy_one(receivers, manager, customer):
    slow_server, fast_server = receivers
    lock = threading.Lock()
    in_flight = {"slow": 0, "most": 0}
    finished: dict[str, list[float]] = {"slow": [], "fast": []}

    def slow(request: Request) -> Response:
        with lock:
            in_flight["slow"] += 1
            in_flight["most"] = max(in_flight["most"], in_flight["slow"])
        time.sleep(0.4)
        with lock:
            in_flight["slow"] -= 1
            finished["slow"].append(time.monotonic())
        return Response(status=204)

    def fast(request: Request) -> Response:
        finished["fast"].append(time.monotonic())
        return Response(status=204)

    # The slow endpoint is registered first: its deliveries come first in the queue.
    make_endpoint(manager, slow_server.url_for("/slow"), event_types=["contact.*"], target="cPanel")
    make_endpoint(manager, fast_server.url_for("/fast"), event_types=["contact.*"], target="WHOIS")
    slow_server.expect_request("/slow").respond_with_handler(slow)
    fast_server.expect_request("/fast").respond_with_handler(fast)
    for _ in range(8):
        factories.make_contact(customer, "member", portal=False)

    stats = Worker(threads=4, per_endpoint=2, poll_seconds=0.05).run(
        stop=threading.Event(), idle_exit=True
    )

    assert stats.delivered == 16
    assert Delivery.objects.filter(status="delivered").count() == 16
    assert in_flight["most"] == 2  # the cap held
    # Every healthy delivery was done before the slow endpoint got through its third.
    assert max(finished["fast"]) < sorted(finished["slow"])[2]


def test_the_relay_numbers_events_in_order_without_gaps(manager, customer, other_customer):
    for target in (customer, other_customer, customer):
        factories.make_contact(target, "member", portal=False)
    Worker(threads=1).relay_all()
    events = list(Event.objects.order_by("position"))
    positions = [event.position for event in events]
    assert positions == list(range(positions[0], positions[0] + len(events)))
    for who in (customer, other_customer):
        sequences = [event.sequence for event in events if event.customer_id == who.pk]
        assert sequences == list(range(1, len(sequences) + 1))
    assert all(e.sequence is None for e in events if e.customer_id is None)
    assert Worker(threads=1).relay_all() == 0
