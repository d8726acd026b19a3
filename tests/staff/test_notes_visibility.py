"""Staff notes never reach customers: no route a customer can open shows a note's text, its
reason or that it exists, whatever the customer's role; staff see them on the 360."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from clientdesk.audit.models import Activity
from clientdesk.core.actor import Actor, Source
from clientdesk.customers.models import Contact, Invitation
from clientdesk.customers.notes import add_note
from clientdesk.events.models import Event
from tests import factories
from tests.access.harness import GROUPS, entry_for, iter_routes, load_matrix, url_for
from tests.conftest import World

pytestmark = pytest.mark.django_db

BODY = "ZEBRA-CANARY-7731 caller verified by callback"
REASON = "REASON-CANARY-4410 email change"
CUSTOMER_PERSONAS = ["anonymous", *GROUPS["portal"]]


def body_of(response: Any) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode(errors="replace")
    return str(response.content.decode(errors="replace"))


@pytest.fixture
def noted(world: World) -> World:
    """Pinned and plain notes on both customers, with the canary text."""
    support = Actor(user=world.users["staff_support"], source=Source.STAFF)
    for customer in (world.customer_a, world.customer_b):
        add_note(customer, kind="identity_verification", body=BODY, reason=REASON, actor=support)
        add_note(customer, kind="general", body=BODY, reason=REASON, pinned=True, actor=support)
    return world


def route_params(world: World) -> dict[str, str]:
    member = Contact.objects.get(customer=world.customer_a, user=world.users["a_member"])
    invited = factories.make_contact(world.customer_a, portal=False, portal_access=True)
    invitation = Invitation.objects.get(contact=invited)
    matrix = load_matrix()
    params = {k: str(v) for k, v in matrix.get("params", {}).items()}
    params.update(
        customer_a=str(world.customer_a.number),
        customer_b=str(world.customer_b.number),
        contact_a=str(member.pk),
        invitation_a=str(invitation.pk),
    )
    return {k: v.format(**params) for k, v in params.items()}


def test_no_customer_route_shows_a_staff_note(noted: World) -> None:
    """Every route of the access matrix, as anonymous and as every portal persona of both
    customers: the canary never appears (not the body, not the reason)."""
    params = route_params(noted)
    matrix = load_matrix()
    clients: dict[str, Client] = {}
    for persona in CUSTOMER_PERSONAS:
        client = Client(raise_request_exception=False)
        user = noted.persona(persona)
        if user is not None:
            client.force_login(user)
        clients[persona] = client
    swept = 0
    portal_pages_with_content = 0
    for route in iter_routes():
        # A route missing from the matrix fails tests/access; it is still swept here.
        entry = entry_for(route, matrix) or {}
        path = url_for(route, entry, params)
        for persona, client in clients.items():
            response = client.get(path)
            text = body_of(response)
            assert "ZEBRA-CANARY" not in text, f"{route.key} as {persona}"
            assert "REASON-CANARY" not in text, f"{route.key} as {persona}"
            swept += 1
            if route.key.startswith("portal:") and response.status_code == 200:
                portal_pages_with_content += 1
    assert swept > 100
    assert portal_pages_with_content > 20  # the sweep really rendered customer pages


def test_the_customers_activity_never_mentions_notes(noted: World) -> None:
    for persona in ("a_owner", "a_admin"):
        client = Client()
        client.force_login(noted.users[persona])
        base = reverse("portal:activity", args=[noted.customer_a.number])
        for query in ({}, {"what": "account"}, {"what": "notes"}, {"before": "999999999"}):
            page = body_of(client.get(base, query))
            assert "staff note" not in page and "ZEBRA-CANARY" not in page
            assert "Staff notes" not in page  # not even as a filter choice


def test_staff_see_the_canary_on_the_360(noted: World) -> None:
    """The canary is findable where it belongs, so the sweep above can fail."""
    client = Client()
    client.force_login(noted.users["staff_billing"])
    for name in ("staff:customer", "staff:notes", "staff:customer-activity"):
        page = body_of(client.get(reverse(name, args=[noted.customer_a.number])))
        assert "ZEBRA-CANARY" in page, name


def test_note_events_and_activity_carry_no_note_text(noted: World) -> None:
    for event in Event.objects.filter(type="note.added"):
        assert "ZEBRA" not in str(event.data) and event.data["internal"] is True
    rows = Activity.objects.filter(verb="note.added")
    assert rows.count() == 4 and all(row.staff_only for row in rows)
    assert not any("ZEBRA" in str(row.changes) for row in rows)
