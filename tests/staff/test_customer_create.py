"""Create customer account (seed 001, "Create Organization"): the staff page, the action
behind it, the country's defaults and tax, and the duplicate warning.

Support and managers create; billing staff get 403. The owner is added in the same
transaction and invited. A likely duplicate (same owner email, registration number or TIN)
is shown with links to the existing customers, and only "Create anyway" goes ahead.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from clientdesk.audit.models import Activity
from clientdesk.core.actor import Actor, Source
from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.customers import actions as customer_actions
from clientdesk.customers.actions import NewOwner, create_customer
from clientdesk.customers.duplicates import duplicate_matches, likely_duplicates
from clientdesk.customers.models import Contact, Customer, Invitation
from clientdesk.customers.reference import defaults_for_country
from clientdesk.customers.roles import Role
from clientdesk.events.models import Event
from tests import factories
from tests.taxes.helpers import add_rule

pytestmark = pytest.mark.django_db

CREATE_URL = "staff:customer-create"
DEFAULTS_URL = "staff:customer-create-defaults"


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def support(world) -> Client:
    return client_for(world.users["staff_support"])


@pytest.fixture
def tax_rules() -> None:
    add_rule("MY", "SST", "6", "2018-09-01")
    add_rule("MY", "SST", "8", "2024-03-01")
    add_rule("SG", "GST", "9", "2024-01-01")


def form_data(**overrides: Any) -> dict[str, str]:
    data = {
        "display_name": "Kedai Runcit Ali Sdn Bhd",
        "kind": "business",
        "country": "MY",
        "currency": "MYR",
        "timezone": "Asia/Kuala_Lumpur",
        "language": "en",
        "pricing_model": "standard",
        "price_adjustment_percent": "",
        "billing_mode": "prepaid",
        "credit_limit": "",
        "registration_number": "",
        "tin": "",
        "owner_first_name": "Ali",
        "owner_last_name": "Hassan",
        "owner_email": "Ali.Hassan@Kedai.example",
    }
    data.update(overrides)
    return data


def new_customers() -> list[Customer]:
    return list(Customer.objects.filter(display_name__startswith="Kedai"))


# --- who may ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("staff_support", 200),
        ("staff_manager", 200),
        ("superuser", 200),
        ("staff_billing", 403),
        ("a_owner", 404),
    ],
)
def test_support_and_managers_open_the_page_billing_gets_403(world, persona, status) -> None:
    client = client_for(world.users[persona])
    assert client.get(reverse(CREATE_URL)).status_code == status
    assert client.get(reverse(DEFAULTS_URL) + "?country=SG").status_code == status


def test_billing_staff_cannot_create_by_posting_either(world) -> None:
    response = client_for(world.users["staff_billing"]).post(reverse(CREATE_URL), form_data())
    assert response.status_code == 403
    assert new_customers() == []


def test_anonymous_visitors_are_sent_to_sign_in() -> None:
    response = Client().get(reverse(CREATE_URL))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --- the walk of seed 001 --------------------------------------------------------------------


@pytest.mark.usefixtures("tax_rules")
def test_a_support_agent_creates_a_customer_with_an_owner_who_is_invited(
    world, support, django_capture_on_commit_callbacks
) -> None:
    page = support.get(reverse(CREATE_URL)).content.decode()
    assert "Tax: <strong>SST 8%</strong>" in page  # Malaysia preselected: its tax shows
    with django_capture_on_commit_callbacks(execute=True):
        response = support.post(
            reverse(CREATE_URL),
            form_data(
                pricing_model="custom",
                price_adjustment_percent="-7.5",
                billing_mode="postpaid",
                credit_limit="5000",
                registration_number="2019 0101 2345",
                tin="c 2584563200",
            ),
        )
    [customer] = new_customers()
    assert response.status_code == 302
    assert response["Location"] == reverse("staff:customer", args=[customer.number])
    flash = [str(m) for m in response.wsgi_request._messages]  # type: ignore[attr-defined]
    invited = "an invitation was sent to ali.hassan@kedai.example."
    assert flash == [f"Customer {customer.client_id} created; {invited}"]
    assert (customer.kind, str(customer.country), customer.currency, customer.timezone) == (
        "business",
        "MY",
        "MYR",
        "Asia/Kuala_Lumpur",
    )
    assert (customer.pricing_model, customer.price_adjustment_percent) == (
        "custom",
        Decimal("-7.50"),
    )
    assert (customer.billing_mode, customer.credit_limit) == ("postpaid", Decimal("5000.00"))
    assert (customer.registration_number, customer.tin) == ("201901012345", "C2584563200")
    assert customer.legal_name == "Kedai Runcit Ali Sdn Bhd"

    [owner] = Contact.objects.filter(customer=customer)
    assert (owner.role, owner.email, owner.full_name, owner.portal_access, owner.user) == (
        Role.OWNER,
        "ali.hassan@kedai.example",
        "Ali Hassan",
        True,
        None,
    )
    [invitation] = Invitation.objects.filter(contact=owner)
    assert invitation.status == Invitation.Status.PENDING
    assert invitation.invited_by == world.users["staff_support"]
    [message] = [m for m in mail.outbox if m.to == ["ali.hassan@kedai.example"]]
    assert customer.display_name in message.subject

    verbs = Counter(Activity.objects.filter(customer=customer).values_list("verb", flat=True))
    assert verbs == Counter(
        ["customer.created", "contact.created", "contact.portal_access_granted", "invitation.sent"]
    )
    created = Activity.objects.get(customer=customer, verb="customer.created")
    assert created.actor == world.users["staff_support"] and created.source == "staff"
    event = Event.objects.get(customer=customer, type="customer.created")
    assert event.data["pricing_model"] == "custom"
    assert event.data["price_adjustment_percent"] == "-7.50"
    assert event.data["credit_limit"] == "5000.00"
    assert Counter(Event.objects.filter(customer=customer).values_list("type", flat=True)) == verbs


@pytest.mark.usefixtures("tax_rules")
def test_the_country_fills_currency_time_zone_and_shows_its_tax(support) -> None:
    response = support.get(reverse(DEFAULTS_URL) + "?country=SG", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<option value="SGD" selected>' in html
    assert '<option value="Asia/Singapore" selected>' in html
    assert 'id="country-tax" hx-swap-oob="innerHTML"' in html
    assert "GST 9%" in html
    assert "HX-Request" in response["Vary"]

    # A country with no defaults and no rule keeps what was chosen and says there is no tax.
    response = support.get(
        reverse(DEFAULTS_URL) + "?country=AQ&currency=EUR&timezone=UTC", HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert '<option value="EUR" selected>' in html
    assert '<option value="UTC" selected>' in html
    assert "No tax rule for this country yet" in html


@pytest.mark.parametrize("query", ["?country=" + "X" * 5000, "?country=%00%01", "?country=ñ", ""])
def test_odd_country_queries_never_fail(support, query) -> None:
    assert support.get(reverse(DEFAULTS_URL) + query).status_code == 200
    assert support.get(reverse(CREATE_URL) + query).status_code == 200


# --- duplicate warning ----------------------------------------------------------------------


@pytest.fixture
def existing(world) -> Customer:
    """Customer A with a registration number and a TIN (its owner is a.owner@example.org)."""
    customer = world.customer_a
    customer_actions.update_profile_section(
        customer,
        section="business",
        values={"registration_number": "201901012345"},
        actor=Actor.system(),
    )
    customer_actions.update_profile_section(
        customer, section="einvoice", values={"tin": "C2584563200"}, actor=Actor.system()
    )
    return customer


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"owner_email": "A.OWNER@example.org"}, "a contact has this email"),
        ({"owner_email": "a.member@EXAMPLE.org"}, "a contact has this email"),
        ({"registration_number": "2019 0101 2345"}, "same registration number"),
        ({"tin": "C 2584 5632 00"}, "same TIN"),
    ],
)
def test_a_likely_duplicate_is_warned_about_and_nothing_is_created(
    support, existing, overrides, reason
) -> None:
    response = support.post(reverse(CREATE_URL), form_data(**overrides))
    assert response.status_code == 200
    html = response.content.decode()
    assert "This may be a customer you already have" in html
    assert f'href="{reverse("staff:customer", args=[existing.number])}"' in html
    assert existing.client_id in html and reason in html
    assert 'name="create_anyway"' in html
    assert new_customers() == []


def test_create_anyway_goes_ahead_for_the_duplicates_shown(support, existing) -> None:
    data = form_data(owner_email="a.owner@example.org", registration_number="201901012345")
    warned = support.post(reverse(CREATE_URL), data)
    assert warned.context["signature"] == str(existing.number)
    # Ticking the box without having been shown the warning does not count.
    assert support.post(reverse(CREATE_URL), {**data, "create_anyway": "on"}).status_code == 200
    assert new_customers() == []
    response = support.post(
        reverse(CREATE_URL), {**data, "create_anyway": "on", "acknowledged": str(existing.number)}
    )
    assert response.status_code == 302
    [customer] = new_customers()
    assert customer.registration_number == "201901012345"
    # The same person may now be a contact of both customers.
    assert Contact.objects.filter(email="a.owner@example.org").count() == 2


def test_a_duplicate_not_shown_before_warns_again(support, existing) -> None:
    other = factories.make_customer("Other Sdn Bhd")
    customer_actions.update_profile_section(
        other, section="einvoice", values={"tin": "C1111111111"}, actor=Actor.system()
    )
    data = form_data(owner_email="a.owner@example.org", tin="C1111111111")
    response = support.post(
        reverse(CREATE_URL), {**data, "create_anyway": "on", "acknowledged": str(existing.number)}
    )
    assert response.status_code == 200
    assert "This may be a customer you already have" in response.content.decode()
    assert new_customers() == []


def test_no_warning_for_a_new_customer(support, existing) -> None:
    response = support.post(
        reverse(CREATE_URL), form_data(registration_number="202001012345", tin="C9999999999")
    )
    assert response.status_code == 302


def test_duplicate_lookups_are_a_constant_number_of_queries(
    world, existing, django_assert_num_queries
) -> None:
    arguments = {
        "owner_email": "a.owner@example.org",
        "registration_number": "201901012345",
        "tin": "C2584563200",
    }
    with django_assert_num_queries(5):
        assert likely_duplicates(**arguments) == [existing]
    for n in range(5):
        customer = factories.make_customer(f"Twin {n}")
        factories.make_contact(customer, "owner", portal=False, email="a.owner@example.org")
    with django_assert_num_queries(5):
        matches = duplicate_matches(**arguments)
    assert len(matches) == 6
    assert matches[0].customer == existing
    assert matches[0].reasons == [
        "a contact has this email",
        "same registration number",
        "same TIN",
    ]
    with django_assert_num_queries(0):
        assert likely_duplicates(owner_email="", registration_number="", tin="") == []


# --- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"pricing_model": "custom"},
            "price_adjustment_percent",
            "Custom pricing needs a percentage.",
        ),
        (
            {"pricing_model": "custom", "price_adjustment_percent": "-150"},
            "price_adjustment_percent",
            "greater than or equal to -100",
        ),
        (
            {"billing_mode": "postpaid", "credit_limit": "-1"},
            "credit_limit",
            "greater than or equal to 0",
        ),
        ({"display_name": ""}, "display_name", "This field is required."),
        ({"display_name": "x" * 10_000}, "display_name", "at most 200 characters"),
        ({"display_name": "Evil\u202eCorp"}, "display_name", "text-direction"),
        ({"country": "XX"}, "country", "Choose one of the options"),
        ({"currency": "ZZZ"}, "currency", "Choose one of the options"),
        ({"kind": "robot"}, "kind", "Choose one of the options"),
        ({"registration_number": "12"}, "registration_number", "SSM"),
        ({"tin": "IG11500200"}, "tin", "IG is the prefix for individuals"),
        ({"owner_email": "not-an-email"}, "owner_email", "valid email"),
        ({"owner_first_name": ""}, "owner_first_name", "This field is required."),
    ],
)
def test_bad_input_is_shown_next_to_the_field_and_nothing_is_created(
    support, overrides, field, message
) -> None:
    response = support.post(reverse(CREATE_URL), form_data(**overrides))
    assert response.status_code == 400
    form = response.context["form"]
    assert any(message in error for error in form.errors.get(field, [])), form.errors
    assert new_customers() == []


def test_a_prepaid_customer_keeps_no_credit_limit_and_standard_pricing_no_adjustment(
    support,
) -> None:
    response = support.post(
        reverse(CREATE_URL),
        form_data(credit_limit="900", price_adjustment_percent="10"),  # prepaid, standard
    )
    assert response.status_code == 302
    [customer] = new_customers()
    assert (customer.credit_limit, customer.price_adjustment_percent) == (None, None)


def test_forged_fields_are_ignored(support) -> None:
    response = support.post(
        reverse(CREATE_URL),
        form_data(status="closed", number="1", first_ledger_entry_at="2020-01-01"),
    )
    assert response.status_code == 302
    [customer] = new_customers()
    assert customer.status == Customer.Status.ACTIVE and customer.number != 1
    assert customer.first_ledger_entry_at is None


def test_unicode_names_are_kept(support) -> None:
    response = support.post(
        reverse(CREATE_URL),
        form_data(
            display_name="Kedai Żółć 株式会社", owner_first_name="Zoë", owner_last_name="Ñúñez"
        ),
    )
    assert response.status_code == 302
    [customer] = new_customers()
    assert customer.display_name == "Kedai Żółć 株式会社"
    assert Contact.objects.get(customer=customer).full_name == "Zoë Ñúñez"


# --- the action ------------------------------------------------------------------------------


def test_currency_and_time_zone_default_from_the_country() -> None:
    customer = create_customer(display_name="Lion Pte Ltd", country="SG", actor=Actor.system())
    assert (customer.currency, customer.timezone) == ("SGD", "Asia/Singapore")
    assert defaults_for_country("sg") == ("SGD", "Asia/Singapore")
    assert defaults_for_country("AQ") is None


def test_a_country_without_defaults_needs_currency_and_time_zone() -> None:
    with pytest.raises(DomainError) as caught:
        create_customer(display_name="Penguin Ltd", country="AQ", actor=Actor.system())
    assert {"currency", "timezone"} <= set(caught.value.errors)
    customer = create_customer(
        display_name="Penguin Ltd",
        country="AQ",
        currency="USD",
        timezone="UTC",
        actor=Actor.system(),
    )
    assert customer.currency == "USD"


@pytest.mark.parametrize(
    ("persona", "source"),
    [
        ("staff_billing", Source.STAFF),
        ("a_owner", Source.PORTAL),
        ("a_owner", Source.API),
        ("staff_support", Source.PORTAL),
    ],
)
def test_the_action_refuses_everyone_but_support_managers_and_the_system(
    world, persona, source
) -> None:
    with pytest.raises(DomainError) as caught:
        create_customer(display_name="Kedai X", actor=Actor(world.users[persona], source))
    assert caught.value.code == ErrorCode.NOT_ALLOWED
    assert new_customers() == []


def test_owner_errors_come_back_per_field_and_nothing_is_written(world) -> None:
    before = (Customer.objects.count(), Activity.objects.count(), Event.objects.count())
    with pytest.raises(DomainError) as caught:
        create_customer(
            display_name="Kedai Y",
            owner=NewOwner(first_name="", last_name="", email="nope"),
            actor=Actor(world.users["staff_manager"], Source.STAFF),
        )
    assert {"owner_first_name", "owner_email"} <= set(caught.value.errors)
    assert (Customer.objects.count(), Activity.objects.count(), Event.objects.count()) == before


def test_without_an_owner_the_old_callers_keep_working() -> None:
    customer = factories.make_customer("Kedai Lama", kind="individual")
    assert customer.full_name == "Kedai Lama" and customer.currency == "MYR"
    assert not Contact.objects.filter(customer=customer).exists()
