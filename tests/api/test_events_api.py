"""API v1 event feed: relayed events after a position, in webhook envelopes, scoped by key."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clientdesk.core.actor import Actor, Source
from clientdesk.customers import notes
from clientdesk.events.feed import relay
from clientdesk.events.models import Event
from clientdesk.webhooks import actions as webhooks
from clientdesk.webhooks.payload import envelope

from .conftest import ApiClient, customer_token, staff_token

pytestmark = pytest.mark.django_db

FEED = "/api/v1/events"


def staff_note(world: Any, customer: Any) -> None:
    notes.add_note(
        customer,
        kind="general",
        body="Internal",
        reason="Phone call",
        actor=Actor(world.users["staff_support"], Source.STAFF),
    )


def read_all(api: ApiClient, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    after = 0
    for _ in range(100):
        page = api.get(FEED, after=after, **params)
        assert page.status_code == 200, page.content
        body = page.json()
        items += body["items"]
        after = body["next_after"]
        if not body["has_more"]:
            return items
    raise AssertionError("the feed never ended")


@pytest.fixture
def relayed(world: Any) -> Any:
    """A's and B's history so far, a staff note on each, an event without a customer —
    all relayed; then one more event of A that is not relayed yet."""
    staff_note(world, world.customer_a)
    staff_note(world, world.customer_b)
    webhooks.create_endpoint(
        actor=Actor(world.users["staff_manager"], Source.STAFF),
        url="http://127.0.0.1:9/hook",
        target="Billing",
    )
    relay()
    staff_note(world, world.customer_a)  # committed but not relayed: not in the feed yet
    return world


def test_an_unrestricted_staff_key_reads_everything_relayed(
    relayed: Any, manager_api: ApiClient
) -> None:
    items = read_all(manager_api, limit=3)
    expected = [
        envelope(event)
        for event in Event.objects.filter(position__isnull=False)
        .select_related("customer")
        .order_by("position")
    ]
    # The manager key itself was made after the relay: it is not relayed either.
    assert len(expected) > 10
    assert items == expected
    assert [item["position"] for item in items] == sorted(item["position"] for item in items)
    assert any(item["customer"] is None for item in items)
    assert Event.objects.filter(position__isnull=True).count() == 2  # reading never relays
    last = items[-1]["position"]
    tail = manager_api.get(FEED, after=last).json()
    assert tail == {"items": [], "next_after": last, "has_more": False}
    relay()
    fresh = manager_api.get(FEED, after=last).json()["items"]
    assert {item["type"] for item in fresh} == {"note.added", "api_key.created"}


def test_a_customer_key_sees_its_own_events_but_not_staff_work(
    relayed: Any, a_owner_api: ApiClient
) -> None:
    relay()  # the key's own creation event too
    items = read_all(a_owner_api)
    a = relayed.customer_a
    assert items and {item["customer"] for item in items} == {a.client_id}
    types = {item["type"] for item in items}
    assert "note.added" not in types
    assert {"customer.created", "contact.created", "api_key.created"} <= types
    visible = Event.objects.filter(customer=a, position__isnull=False).exclude(type="note.added")
    assert len(items) == visible.count()
    # Another customer's id is not found, its own is accepted.
    assert a_owner_api.get(FEED, customer=relayed.customer_b.client_id).status_code == 404
    own = a_owner_api.get(FEED, customer=a.client_id).json()["items"]
    assert own == items[: len(own)]


def test_a_staff_key_limited_to_some_customers_sees_only_theirs(relayed: Any) -> None:
    only_b = ApiClient(staff_token(relayed.users["staff_support"], customers=[relayed.customer_b]))
    items = read_all(only_b)
    assert items and {item["customer"] for item in items} == {relayed.customer_b.client_id}
    assert "note.added" in {item["type"] for item in items}  # staff see staff work
    assert only_b.get(FEED, customer=relayed.customer_a.client_id).status_code == 404


def test_filters_by_customer_and_type(relayed: Any, manager_api: ApiClient) -> None:
    a = relayed.customer_a.client_id
    contacts = read_all(manager_api, customer=a, type="contact.*")
    assert contacts and all(
        item["customer"] == a and item["type"].startswith("contact.") for item in contacts
    )
    created = read_all(manager_api, type="customer.created")
    assert {item["customer"] for item in created} == {
        relayed.customer_a.client_id,
        relayed.customer_b.client_id,
    }
    for bad in (
        {"type": "nonsense"},
        {"type": "contact"},
        {"type": "nosuch.*"},
        {"limit": 501},
        {"limit": 0},
        {"after": -1},
        {"after": "x"},
        {"after": 2**63},
    ):
        response = manager_api.get(FEED, **bad)
        assert response.status_code == 400, bad
        assert response["Content-Type"] == "application/problem+json"
    assert manager_api.get(FEED, customer="C-999999").status_code == 404
    assert manager_api.get(FEED, customer="not a client").status_code == 404


def test_the_feed_costs_the_same_however_many_events(world: Any, manager_api: ApiClient) -> None:
    relay()

    def count(**params: Any) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert manager_api.get(FEED, limit=500, **params).status_code == 200
        return len(queries)

    count()  # the key's first use records when it was used
    few, few_filtered = count(), count(customer=world.customer_a.client_id)
    for _ in range(20):
        staff_note(world, world.customer_a)
    relay()
    assert count() == few
    assert count(customer=world.customer_a.client_id) == few_filtered


def test_the_scope_is_needed(world: Any) -> None:
    no_scope = ApiClient(
        customer_token(world.users["a_owner"], world.customer_a, ["customers:read"])
    )
    response = no_scope.get(FEED)
    assert response.status_code == 403 and "events:read" in response.json()["detail"]
    assert ApiClient(None).get(FEED).status_code == 401
