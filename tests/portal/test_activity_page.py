"""The portal's Activity page: who may see it, what it says, filters, keyset pages, masking,
staff-only rows and a constant number of queries."""

from __future__ import annotations

import re
import zoneinfo
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clientdesk.audit.models import Activity
from clientdesk.audit.record import record
from clientdesk.core.actor import Actor, Source
from clientdesk.customers.actions import update_profile_section
from clientdesk.customers.models import Customer
from tests import factories

from .conftest import activity_url, client_for, set_profile

pytestmark = pytest.mark.django_db


def html(response: Any) -> str:
    return str(response.content.decode())


def entries(page: str) -> list[str]:
    return [
        re.sub(r"\s+", " ", text).strip()
        for text in re.findall(r'<p class="activity-sentence">(.*?)</p>', page, re.S)
    ]


def portal_actor(user: Any) -> Actor:
    return Actor(user=user, source=Source.PORTAL)


def change_billing_email(customer: Customer, user: Any, email: str) -> None:
    update_profile_section(
        customer, section="contact", values={"billing_email": email}, actor=portal_actor(user)
    )


def test_owner_and_admin_see_activity_other_roles_are_refused(world: Any) -> None:
    url = activity_url(world.customer_a)
    for persona in ("a_owner", "a_admin"):
        assert client_for(world.users[persona]).get(url).status_code == 200
    for persona in ("a_billing", "a_technical", "a_member"):
        assert client_for(world.users[persona]).get(url).status_code == 403
    assert client_for(world.users["b_owner"]).get(url).status_code == 404


def test_sidebar_shows_activity_only_to_roles_that_may_see_it(world: Any) -> None:
    home = f"/c/{world.customer_a.number}/"
    owner_page = html(client_for(world.users["a_owner"]).get(home))
    member_page = html(client_for(world.users["a_member"]).get(home))
    assert activity_url(world.customer_a) in owner_page
    assert activity_url(world.customer_a) not in member_page


def test_entries_read_as_sentences_newest_first_with_source_and_reason(world: Any) -> None:
    customer = world.customer_a
    change_billing_email(customer, world.users["a_owner"], "first@alpha.example")
    change_billing_email(customer, world.users["a_admin"], "second@alpha.example")
    staff = Actor(user=world.users["staff_support"], source=Source.STAFF)
    update_profile_section(
        customer,
        section="contact",
        values={"billing_email": "third@alpha.example", "phone": "03-2161 0000"},
        actor=staff,
        reason="Customer asked by phone (ticket 881)",
    )
    page = html(client_for(world.users["a_owner"]).get(activity_url(customer)))
    sentences = entries(page)
    assert sentences[0].endswith("changed Billing email and Phone")
    assert sentences[1] == (
        "a admin changed Billing email from first@alpha.example to second@alpha.example"
    )
    assert sentences[2] == "a owner set Billing email to first@alpha.example"
    assert "Reason:</span> Customer asked by phone (ticket 881)" in page
    # Several lines: each change is listed.
    assert "Changed Billing email from second@alpha.example to third@alpha.example" in page
    assert "Set Phone to 03-2161 0000" in page
    for label in ("Staff", "Portal", "System"):
        assert f'<span class="badge activity-source">{label}</span>' in page


def test_times_are_shown_in_the_customers_time_zone(world: Any) -> None:
    customer = set_profile(world.customer_a, "preferences", timezone="America/New_York")
    change_billing_email(customer, world.users["a_owner"], "tz@alpha.example")
    row = Activity.objects.filter(customer=customer).order_by("-id").first()
    assert row is not None
    local = row.occurred_at.astimezone(zoneinfo.ZoneInfo("America/New_York"))
    page = html(client_for(world.users["a_owner"]).get(activity_url(customer)))
    assert f'datetime="{local.isoformat()}"' in page
    assert f"{local.day} {local:%b %Y, %H:%M}" in page
    assert "America/New York time" in page


def test_identity_numbers_are_masked_for_customers(world: Any) -> None:
    customer = world.customer_a
    update_profile_section(
        customer,
        section="personal",
        values={"full_name": "Aisha Rahman", "id_type": "nric", "id_number": "770305-02-1234"},
        actor=portal_actor(world.users["a_owner"]),
    )
    page = html(client_for(world.users["a_owner"]).get(activity_url(customer)))
    assert "••••••••1234" in page
    assert "770305" not in page


def test_staff_only_rows_never_appear(world: Any) -> None:
    customer = world.customer_a
    staff = Actor(user=world.users["staff_support"], source=Source.STAFF)
    record(
        "note.created",
        actor=staff,
        customer=customer,
        changes={"body": [None, "Secret internal note"]},
        staff_only=True,
    )
    page = html(client_for(world.users["a_owner"]).get(activity_url(customer)))
    assert "Secret internal note" not in page
    assert "note created" not in page


def test_filters_by_who_and_what(world: Any) -> None:
    customer = world.customer_a
    change_billing_email(customer, world.users["a_owner"], "owner@alpha.example")
    change_billing_email(customer, world.users["a_admin"], "admin@alpha.example")
    client = client_for(world.users["a_owner"])
    url = activity_url(customer)

    page = html(client.get(url, {"who": world.users["a_admin"].pk}))
    assert entries(page) == [
        "a admin changed Billing email from owner@alpha.example to admin@alpha.example"
    ]
    assert f'<option value="{world.users["a_admin"].pk}" selected>' in page

    page = html(client.get(url, {"what": "contacts"}))
    assert entries(page) and all("added the contact" in s for s in entries(page))
    page = html(client.get(url, {"what": "profile"}))
    assert len(entries(page)) == 2


def test_filters_by_dates_in_the_customers_time_zone(world: Any) -> None:
    customer = world.customer_a
    change_billing_email(customer, world.users["a_owner"], "today@alpha.example")
    client = client_for(world.users["a_owner"])
    today = timezone.now().astimezone(zoneinfo.ZoneInfo(customer.timezone)).date()
    url = activity_url(customer)

    page = html(client.get(url, {"from": today.isoformat(), "to": today.isoformat()}))
    assert any("today@alpha.example" in s for s in entries(page))
    tomorrow = (today + timedelta(days=1)).isoformat()
    page = html(client.get(url, {"from": tomorrow}))
    assert entries(page) == []
    assert "No activity matches these filters" in page
    yesterday = (today - timedelta(days=1)).isoformat()
    assert entries(html(client.get(url, {"to": yesterday}))) == []


@pytest.mark.parametrize(
    "query",
    [
        {"who": "999999"},
        {"who": "not-a-number"},
        {"what": "<script>"},
        {"from": "2024-02-30"},
        {"to": "yesterday"},
        {"from": "0001-01-01"},
        {"from": "2025-05-02", "to": "2025-05-01"},
        {"before": "abc"},
        {"before": "-5"},
        {"before": "99999999999999999999999999"},
    ],
)
def test_invalid_filters_are_ignored_with_a_message(world: Any, query: dict[str, str]) -> None:
    response = client_for(world.users["a_owner"]).get(activity_url(world.customer_a), query)
    assert response.status_code == 200
    page = html(response)
    assert "Some filters were ignored" in page
    assert "<script>" not in page.split('id="main"')[1]


def test_another_customers_people_cannot_be_chosen(world: Any) -> None:
    response = client_for(world.users["a_owner"]).get(
        activity_url(world.customer_a), {"who": world.users["b_owner"].pk}
    )
    assert "Some filters were ignored" in html(response)
    assert "b owner" not in html(response)


def test_older_entries_use_a_keyset_cursor_and_keep_the_filters(world: Any) -> None:
    customer = world.customer_a
    owner = world.users["a_owner"]
    for n in range(30):
        change_billing_email(customer, owner, f"n{n}@alpha.example")
    client = client_for(owner)
    url = activity_url(customer)
    first = html(client.get(url, {"what": "profile"}))
    assert len(entries(first)) == 25
    assert "n29@alpha.example" in entries(first)[0]
    older = re.search(r'<a class="button" href="([^"]+)" rel="next">', first)
    assert older is not None
    link = older.group(1).replace("&amp;", "&")
    assert "what=profile" in link and "before=" in link

    second = html(client.get(link))
    assert len(entries(second)) == 5
    assert "n4@alpha.example" in entries(second)[0]
    assert entries(second)[-1] == "a owner set Billing email to n0@alpha.example"
    assert 'rel="next"' not in second
    assert "Newest entries" in second


def _count(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def test_activity_costs_the_same_queries_whatever_the_contacts_and_rows(
    world: Any, django_assert_num_queries: Any, django_assert_max_num_queries: Any
) -> None:
    customer = world.customer_a
    client = client_for(world.users["a_owner"])
    url = activity_url(customer)
    client.get(url)
    baseline = _count(client, url)
    # 7 for the request plumbing + membership, people for the "who" filter, one page of
    # activity, the customer switcher's list.
    with django_assert_max_num_queries(11):
        client.get(url)

    for _ in range(25):
        factories.make_contact(customer, "member")  # with sign-ins: all in the "who" list
    system = Actor.system()
    for n in range(200):
        record(
            "customer.updated",
            actor=system,
            customer=customer,
            target=customer,
            changes={"trading_name": [f"Old {n}", f"New {n}"], "website": [None, "x.example"]},
        )
    with django_assert_num_queries(baseline):
        response = client.get(url)
    assert len(entries(html(response))) == 25
