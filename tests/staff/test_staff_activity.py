"""The staff-wide activity view: every customer's entries and those with no customer (tax
rules), filters, keyset pages, masking, and staff-only access."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from clientdesk.core.actor import Actor, Source
from clientdesk.customers.actions import update_profile_section
from clientdesk.customers.notes import add_note
from clientdesk.taxes.actions import add_tax_rule
from tests.conftest import World

pytestmark = pytest.mark.django_db

URL = "/staff/activity/"


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def staff(world: World, persona: str = "staff_manager") -> Actor:
    return Actor(world.users[persona], Source.STAFF)


def test_route_name() -> None:
    assert reverse("staff:activity") == URL


def test_lists_entries_of_every_customer_and_tax_rules(world: World) -> None:
    update_profile_section(
        world.customer_b,
        section="contact",
        values={"billing_email": "ap@beta.example"},
        actor=staff(world, "staff_support"),
        reason="Phoned in",
    )
    add_note(world.customer_a, kind="general", body="Called", reason="Check-in", actor=staff(world))
    add_tax_rule(
        country="TH",
        name="VAT",
        rate="7",
        effective_from=datetime.date(2030, 1, 1),
        reason="New rate",
        actor=staff(world),
    )
    page = client_for(world.users["staff_billing"]).get(URL).content.decode()
    assert "changed Billing email" in page or "Billing email" in page
    assert "Beta Services Pte Ltd" in page and "Alpha Trading Sdn Bhd" in page
    assert "added the tax rule" in page and "No customer" in page
    assert "Staff only" in page  # the note's row is marked


def test_filters_and_pages(world: World) -> None:
    for n in range(30):
        add_note(world.customer_a, kind="general", body=f"Note {n}", reason="r", actor=staff(world))
    client = client_for(world.users["staff_support"])
    first = client.get(URL, {"what": "notes"})
    entries = first.context["entries"]
    assert len(entries) == 25 and all(e.verb == "note.added" for e, _ in entries)
    older = client.get(first.context["older_url"])
    assert len(older.context["entries"]) == 5
    seen = {e.id for e, _ in entries} | {e.id for e, _ in older.context["entries"]}
    assert len(seen) == 30
    by_other = client.get(URL, {"who": world.users["staff_support"].pk})
    assert by_other.context["entries"] == []
    odd = client.get(URL, {"what": "'; DROP TABLE x", "who": "abc", "before": "-1"})
    assert odd.status_code == 200 and len(odd.context["ignored"]) == 3


def test_query_count_does_not_grow_with_entries(
    world: World, django_assert_max_num_queries: Any
) -> None:
    client = client_for(world.users["staff_manager"])
    client.get(URL)  # warm the session and MFA lookups
    for n in range(40):
        add_note(world.customer_b, kind="general", body=f"N{n}", reason="r", actor=staff(world))
    with django_assert_max_num_queries(12):
        assert client.get(URL).status_code == 200


def test_customers_and_strangers_never_see_it(client: Client, world: World) -> None:
    assert client_for(world.users["a_owner"]).get(URL).status_code == 404
    assert client.get(URL).status_code == 302  # to sign in
