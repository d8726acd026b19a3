"""Masked identity numbers: staff reveal them on purpose, every reveal is recorded, only
sensitive fields can be revealed, and bad input is a clear error (never a 500)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from clientdesk.audit.models import Activity
from clientdesk.core.actor import Actor, Source
from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.customers import trail
from clientdesk.customers.actions import update_profile_section
from clientdesk.customers.models import Customer
from clientdesk.customers.reveal import REVEALED_VERB, reveal_field, revealable_fields
from clientdesk.events.models import Event
from tests import factories

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
SYSTEM = Actor.system()


@pytest.fixture
def siti(world: Any) -> Customer:
    customer = factories.make_customer("Siti Aminah", kind="individual")
    factories.make_contact(customer, "owner", user=factories.make_user("siti@example.org"))
    update_profile_section(
        customer,
        section="personal",
        values={"id_type": "nric", "id_number": "770305021234", "date_of_birth": "1977-03-05"},
        actor=SYSTEM,
    )
    return Customer.objects.get(pk=customer.pk)


def staff(world: Any, persona: str = "staff_support") -> Actor:
    return Actor(user=world.users[persona], source=Source.STAFF)


def client_for(user: Any, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def reveal_url(customer: Customer) -> str:
    return reverse("staff:customer-reveal", args=[customer.number])


def reveals(customer: Customer) -> list[Activity]:
    return list(Activity.objects.filter(customer=customer, verb=REVEALED_VERB))


# --- the action -------------------------------------------------------------------------------


def test_a_reveal_returns_the_clear_value_and_is_recorded_staff_only(
    world: Any, siti: Customer
) -> None:
    events_before = Event.objects.count()
    assert reveal_field(siti, field="id_number", actor=staff(world)) == "770305-02-1234"
    assert reveal_field(siti, field="date_of_birth", actor=staff(world)) == "5 Mar 1977"
    first, second = sorted(reveals(siti), key=lambda row: row.id)
    assert first.staff_only and first.actor == world.users["staff_support"]
    assert first.source == "staff" and first.target_id == str(siti.pk)
    assert first.changes == {"field": [None, "id_number"]}  # the name, never the value
    assert "770305" not in str(first.changes) and "1977" not in str(second.changes)
    assert Event.objects.count() == events_before  # reading is not a state change


def test_the_staff_trail_says_who_revealed_what(world: Any, siti: Customer) -> None:
    reveal_field(siti, field="id_number", actor=staff(world))
    [entry] = trail.customer_trail(siti, for_customer=False, group="reveals").entries
    assert entry.sentence == f"{staff(world).label} revealed the Identity document number"
    customers_view = trail.customer_trail(siti, for_customer=True).entries
    assert all(e.verb != REVEALED_VERB for e in customers_view)


@pytest.mark.parametrize(
    "field", ["full_name", "tin", "email", "", "id_number\x00", "x" * 10000, "__class__"]
)
def test_only_sensitive_fields_can_be_revealed(world: Any, siti: Customer, field: str) -> None:
    with pytest.raises(DomainError) as caught:
        reveal_field(siti, field=field, actor=staff(world))
    assert caught.value.code == ErrorCode.INVALID and caught.value.field == "field"
    assert reveals(siti) == []


def test_only_staff_reveal(world: Any, siti: Customer) -> None:
    for actor in (
        Actor(user=world.users["a_owner"], source=Source.PORTAL),
        Actor(user=world.users["a_owner"], source=Source.STAFF),  # not staff, whatever it claims
        SYSTEM,
    ):
        with pytest.raises(DomainError) as caught:
            reveal_field(siti, field="id_number", actor=actor)
        assert caught.value.code == ErrorCode.NOT_ALLOWED
    assert reveals(siti) == []


def test_the_sensitive_fields_are_the_policys() -> None:
    customer = Customer(kind="individual")
    assert revealable_fields(customer) == ["date_of_birth", "id_number"]


# --- the page ---------------------------------------------------------------------------------


def test_reveal_without_javascript_shows_the_profile_with_the_value(
    world: Any, siti: Customer
) -> None:
    client = client_for(world.users["staff_billing"])  # every staff role may reveal
    profile = client.get(reverse("staff:customer", args=[siti.number])).content.decode()
    assert "770305-02-1234" not in profile and "••••••••••1234" in profile
    response = client.post(reveal_url(siti), {"field": "id_number"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "770305-02-1234" in page
    assert "Revealed · recorded in Activity" in page
    assert "5 Mar 1977" not in page  # only the field asked for
    assert len(reveals(siti)) == 1
    assert (
        response["Cache-Control"].startswith("no-store") or "no-store" in response["Cache-Control"]
    )


def test_reveal_with_htmx_swaps_just_that_row(world: Any, siti: Customer) -> None:
    client = client_for(world.users["staff_support"])
    response = client.post(reveal_url(siti), {"field": "date_of_birth"}, **HTMX)
    assert response.status_code == 200
    fragment = response.content.decode()
    assert "<html" not in fragment
    assert fragment.strip().startswith(
        '<div class="kv-row c360-row-revealed" id="row-date_of_birth">'
    )
    assert "5 Mar 1977" in fragment and 'role="status"' in fragment
    assert "Vary" in response and "HX-Request" in response["Vary"]


def test_the_reveal_button_is_a_post_form_for_each_masked_row(world: Any, siti: Customer) -> None:
    page = (
        client_for(world.users["staff_support"])
        .get(reverse("staff:customer", args=[siti.number]))
        .content.decode()
    )
    action = reveal_url(siti)
    assert page.count(f'<form class="c360-reveal" method="post" action="{action}"') == 2
    assert 'aria-label="Reveal Identity document number"' in page
    assert 'aria-label="Reveal Date of birth"' in page
    assert 'name="csrfmiddlewaretoken"' in page


def test_get_is_not_allowed_and_csrf_is_required(world: Any, siti: Customer) -> None:
    client = client_for(world.users["staff_support"])
    assert client.get(reveal_url(siti)).status_code == 405
    strict = client_for(world.users["staff_support"], enforce_csrf_checks=True)
    assert strict.post(reveal_url(siti), {"field": "id_number"}).status_code == 403
    assert reveals(siti) == []


@pytest.mark.parametrize("field", ["tin", "", "nope", "x" * 100000, "\u202e"])
def test_a_bad_field_is_a_clear_error(world: Any, siti: Customer, field: str) -> None:
    client = client_for(world.users["staff_support"])
    response = client.post(reveal_url(siti), {"field": field}, **HTMX)
    assert response.status_code == 400
    assert "Only masked values" in response.content.decode()
    response = client.post(reveal_url(siti), {"field": field}, follow=True)
    assert response.status_code == 200
    assert "Only masked values" in response.content.decode()
    assert reveals(siti) == []


def test_customers_and_strangers_cannot_reveal(world: Any, siti: Customer) -> None:
    assert Client().post(reveal_url(siti), {"field": "id_number"}).status_code == 302
    owner = client_for(world.users["a_owner"])
    assert owner.post(reveal_url(siti), {"field": "id_number"}).status_code == 404
    staff_client = client_for(world.users["staff_support"])
    assert (
        staff_client.post("/staff/customers/999999/reveal/", {"field": "id_number"}).status_code
        == 404
    )
    assert reveals(siti) == []


def test_the_activity_tab_lists_reveals_and_the_customer_never_sees_them(
    world: Any, siti: Customer
) -> None:
    client = client_for(world.users["staff_manager"])
    client.post(reveal_url(siti), {"field": "id_number"})
    page = client.get(reverse("staff:customer-activity", args=[siti.number])).content.decode()
    assert "revealed the Identity document number" in page and "Staff only" in page
    assert "770305" not in page  # the trail masks identity numbers for staff too
    admin = factories.make_user("aisha@example.org")
    factories.make_contact(siti, "admin", user=admin)
    portal = client_for(admin).get(reverse("portal:activity", args=[siti.number])).content.decode()
    assert "revealed" not in portal
