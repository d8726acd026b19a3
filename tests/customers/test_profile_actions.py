"""Saving profile sections through ``update_profile_section``: what changes, what is
recorded (one Activity row, one outbox Event), and that every refusal changes nothing."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models.deletion import ProtectedError

from clientdesk.audit.models import Activity, AppendOnlyError
from clientdesk.audit.record import record
from clientdesk.core.actor import Actor, Source
from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.customers import einvoice, trail
from clientdesk.customers.actions import billing_identity, update_profile_section
from clientdesk.customers.models import Customer, SoftwareLevel
from clientdesk.customers.policy import Section
from clientdesk.customers.sections import section_etag
from clientdesk.events.models import Event
from tests import factories

pytestmark = pytest.mark.django_db

ALPHA = "Alpha Trading Sdn Bhd"  # customer A's name in the ``world`` fixture


# --- helpers ------------------------------------------------------------------------------


def portal(world, persona: str = "a_owner") -> Actor:
    return Actor(world.users[persona], Source.PORTAL)


def staff(world, persona: str = "staff_manager") -> Actor:
    return Actor(world.users[persona], Source.STAFF)


def stored(customer: Customer) -> dict[str, Any]:
    """The customer's row as the database holds it now."""
    return dict(Customer.objects.filter(pk=customer.pk).values().get())


def updated_activity(customer: Customer) -> list[Activity]:
    return list(Activity.objects.filter(customer=customer, verb="customer.updated"))


def updated_events(customer: Customer) -> list[Event]:
    return list(Event.objects.filter(customer=customer, type="customer.updated"))


def latest_event(customer: Customer) -> Event:
    """The newest customer.updated event (by the version it announces: clocks may tie)."""
    return max(updated_events(customer), key=lambda event: event.data["version"])


@contextmanager
def nothing_changes(customer: Customer) -> Iterator[None]:
    """The row, its Activity and its Events are exactly as before the block."""
    before = (
        stored(customer),
        Activity.objects.filter(customer=customer).count(),
        Event.objects.filter(customer=customer).count(),
    )
    yield
    after = (
        stored(customer),
        Activity.objects.filter(customer=customer).count(),
        Event.objects.filter(customer=customer).count(),
    )
    assert after == before


def refused(customer: Customer, code: ErrorCode, **kwargs: Any) -> DomainError:
    """Save and expect a refusal with ``code`` that leaves everything as it was."""
    with nothing_changes(customer), pytest.raises(DomainError) as caught:
        update_profile_section(customer, **kwargs)
    assert caught.value.code == code, caught.value.errors
    assert caught.value.message
    return caught.value


def as_json(value: Any) -> Any:
    return str(value) if isinstance(value, date | Decimal) else value


def decouple_billing(world, **overrides: str) -> None:
    """Staff give customer A billing details of its own (with a reason)."""
    values = {
        "billing_follows_legal": False,
        "billing_name": "Alpha Accounts Payable",
        "billing_line1": "PO Box 1234",
        "billing_city": "Shah Alam",
        "billing_postcode": "40000",
        "billing_state": "Selangor",
        "billing_country": "MY",
        **overrides,
    }
    update_profile_section(
        world.customer_a,
        section="billing",
        values=values,
        actor=staff(world),
        reason="Customer's AP department asked by phone",
    )


LEGAL_ADDRESS = {
    "legal_name": "Alpha Trading Berhad",
    "legal_line1": "Level 5, Menara Alpha",
    "legal_line2": "Jalan Sultan Ismail",
    "legal_city": "Kuala Lumpur",
    "legal_postcode": "50250",
    "legal_state": "Wilayah Persekutuan Kuala Lumpur",
    "country": "MY",
}


def set_legal(world, **overrides: str) -> None:
    update_profile_section(
        world.customer_a,
        section="legal",
        values={**LEGAL_ADDRESS, **overrides},
        actor=staff(world),
        reason="Form 9 and Section 46 notice received",
    )


# --- a valid save of every section --------------------------------------------------------


@dataclass(frozen=True)
class SectionSave:
    section: str
    persona: str
    values: dict[str, Any]
    changes: dict[str, list[Any]]  # what Activity must record: field → [old, new]
    reason: str = ""
    billing_identity_in_event: bool = False

    @property
    def source(self) -> str:
        return "portal" if self.persona.startswith("a_") else "staff"


SECTION_SAVES = [
    SectionSave(
        "personal",
        "a_owner",
        {
            "full_name": "Aisha binti Rahman",
            "date_of_birth": "1977-03-05",
            "nationality": "MY",
            "id_type": "nric",
            "id_number": "770305-02-1234",
        },
        {
            "full_name": ["", "Aisha binti Rahman"],
            "date_of_birth": [None, "1977-03-05"],
            "nationality": ["", "MY"],
            "id_type": ["", "nric"],
            "id_number": ["", "770305021234"],
        },
    ),
    SectionSave(
        "business",
        "a_admin",
        {"trading_name": "Alpha Cloud", "website": "alpha-cloud.example"},
        {
            "trading_name": ["", "Alpha Cloud"],
            "website": ["", "https://alpha-cloud.example"],
            "display_name": [ALPHA, "Alpha Cloud"],
        },
    ),
    SectionSave(
        "business",
        "staff_manager",
        {"registration_number": "2020 01 012345"},
        {"registration_number": ["", "202001012345"]},
        reason="SSM certificate checked",
    ),
    SectionSave(
        "einvoice",
        "a_billing",
        {
            "tin": "c2584563200",
            "sst_number": "w10-1808-32000092",
            "tourism_tax_number": "NA",
            "msic_code": "63111",
            "business_activity": "Cloud hosting",
            "einvoice_email": "AP@Alpha.example",
        },
        {
            "tin": ["", "C2584563200"],
            "sst_number": ["", "W10-1808-32000092"],
            "msic_code": ["", "63111"],
            "business_activity": ["", "Cloud hosting"],
            "einvoice_email": ["", "ap@alpha.example"],
        },
    ),
    SectionSave(
        "contact",
        "a_owner",
        {
            "billing_email": "Billing@Alpha.example",
            "other_emails": "ops@alpha.example, it@alpha.example\nops@alpha.example",
            "phone": "03-7890 1234",
            "mobile": "012-345 6789",
            "postal_line1": "Lot 7, Jalan SS 2/24",
            "postal_city": "Petaling Jaya",
            "postal_postcode": "47300",
            "postal_state": "Selangor",
            "postal_country": "MY",
        },
        {
            "billing_email": ["", "billing@alpha.example"],
            "other_emails": [[], ["ops@alpha.example", "it@alpha.example"]],
            "phone": ["", "+60378901234"],
            "mobile": ["", "+60123456789"],
            "postal_line1": ["", "Lot 7, Jalan SS 2/24"],
            "postal_city": ["", "Petaling Jaya"],
            "postal_postcode": ["", "47300"],
            "postal_state": ["", "MY-10"],
            "postal_country": ["", "MY"],
        },
    ),
    SectionSave(
        "legal",
        "staff_manager",
        LEGAL_ADDRESS,
        {
            "legal_name": [ALPHA, "Alpha Trading Berhad"],
            "legal_line1": ["", "Level 5, Menara Alpha"],
            "legal_line2": ["", "Jalan Sultan Ismail"],
            "legal_city": ["", "Kuala Lumpur"],
            "legal_postcode": ["", "50250"],
            "legal_state": ["", "MY-14"],
            "display_name": [ALPHA, "Alpha Trading Berhad"],
        },
        reason="Form 9 received",
        billing_identity_in_event=True,
    ),
    SectionSave(
        "billing",
        "superuser",
        {
            "billing_follows_legal": "false",
            "billing_name": "Alpha Accounts Payable",
            "billing_line1": "PO Box 1234",
            "billing_city": "Shah Alam",
            "billing_postcode": "40000",
            "billing_state": "MY-10",
            "billing_country": "MY",
        },
        {
            "billing_follows_legal": [True, False],
            "billing_name": ["", "Alpha Accounts Payable"],
            "billing_line1": ["", "PO Box 1234"],
            "billing_city": ["", "Shah Alam"],
            "billing_postcode": ["", "40000"],
            "billing_state": ["", "MY-10"],
            "billing_country": ["", "MY"],
        },
        reason="AP department request, ticket 5521",
        billing_identity_in_event=True,
    ),
    SectionSave(
        "preferences",
        "a_admin",
        {"currency": "SGD", "timezone": "Asia/Singapore", "language": "ms"},
        {
            "currency": ["MYR", "SGD"],
            "timezone": ["Asia/Kuala_Lumpur", "Asia/Singapore"],
            "language": ["en", "ms"],
        },
    ),
    SectionSave(
        "account",
        "staff_billing",
        {"pricing_model": "custom", "price_adjustment_percent": "-10.00"},
        {"pricing_model": ["standard", "custom"], "price_adjustment_percent": [None, "-10.00"]},
        reason="Approved for net-30 terms",
    ),
]


@pytest.mark.parametrize(
    "case", SECTION_SAVES, ids=[f"{c.section}-{c.persona}" for c in SECTION_SAVES]
)
def test_a_valid_save_changes_the_row_and_records_one_activity_and_one_event(world, case) -> None:
    customer = world.customer_a
    actor = portal(world, case.persona) if case.source == "portal" else staff(world, case.persona)
    version = stored(customer)["version"]

    result = update_profile_section(
        customer, section=case.section, values=case.values, actor=actor, reason=case.reason
    )

    assert result.changed and result.changes == case.changes
    row = stored(customer)
    for name, (_, new) in case.changes.items():
        assert as_json(row[name]) == new, name
    assert row["version"] == version + 1

    [activity] = updated_activity(customer)
    assert activity.changes == case.changes
    assert activity.actor == world.users[case.persona]
    assert activity.actor_label == actor.label
    assert activity.source == case.source
    assert activity.reason == case.reason
    assert activity.target_id == str(customer.pk)
    assert not activity.staff_only

    [event] = updated_events(customer)
    assert event.data["changed_fields"] == sorted(case.changes)
    assert event.data["section"] == case.section
    assert event.data["number"] == customer.client_id
    assert event.data["version"] == version + 1
    assert event.data["values"] == {name: new for name, (_, new) in case.changes.items()}
    assert event.actor == {
        "user_id": world.users[case.persona].pk,
        "impersonator_id": None,
        "source": case.source,
    }
    assert ("billing_identity" in event.data) is case.billing_identity_in_event


def test_saving_the_same_values_again_records_nothing(world) -> None:
    customer, owner = world.customer_a, portal(world)
    values = {"phone": "03-7890 1234", "billing_email": "billing@alpha.example"}
    update_profile_section(customer, section="contact", values=values, actor=owner)

    with nothing_changes(customer):
        again = update_profile_section(customer, section="contact", values=values, actor=owner)
        # The same number typed another way is the same number.
        other_form = update_profile_section(
            customer, section="contact", values={"phone": "+60 3-7890 1234"}, actor=owner
        )
        nothing = update_profile_section(customer, section="contact", values={}, actor=owner)

    assert not again.changed and not other_form.changed and not nothing.changed
    assert len(updated_activity(customer)) == 1
    assert len(updated_events(customer)) == 1


def test_re_entering_the_same_amount_in_another_notation_records_nothing(world) -> None:
    customer, billing_staff = world.customer_a, staff(world, "staff_billing")
    values = {"pricing_model": "custom", "price_adjustment_percent": "-10"}
    update_profile_section(
        customer, section="account", values=values, actor=billing_staff, reason="net-30"
    )
    with nothing_changes(customer):
        update_profile_section(
            customer, section="account", values=values, actor=billing_staff, reason="net-30"
        )


def test_a_field_left_out_keeps_its_value(world) -> None:
    customer, owner = world.customer_a, portal(world)
    update_profile_section(
        customer,
        section="contact",
        values={"phone": "03-7890 1234", "mobile": "012-345 6789"},
        actor=owner,
    )
    update_profile_section(customer, section="contact", values={"mobile": ""}, actor=owner)
    row = stored(customer)
    assert (row["phone"], row["mobile"]) == ("+60378901234", "")


def test_names_in_any_script_are_kept_as_typed(world) -> None:
    update_profile_section(
        world.customer_a,
        section="personal",
        values={"full_name": "Zoë Ñúñez 张伟 محمد"},
        actor=portal(world),
    )
    assert stored(world.customer_a)["full_name"] == "Zoë Ñúñez 张伟 محمد"


# --- bad input: a clear message next to the field, and nothing changed -------------------

HUGE = "9" * 10_000
MY_ADDRESS = {
    "postal_line1": "Lot 7, Jalan SS 2/24",
    "postal_city": "Petaling Jaya",
    "postal_postcode": "47300",
    "postal_state": "Selangor",
    "postal_country": "MY",
}


def bad(case_id: str, section: str, values: dict[str, Any], field_name: str, by: str = "a_owner"):
    """One refused save: who sends what to which section, and the field the message is for."""
    return pytest.param(section, by, values, field_name, id=case_id)


NRIC = {"id_type": "nric"}
MANAGER = "staff_manager"
BRN = "registration_number"

INVALID_SAVES = [
    bad("nric-month-13", "personal", {**NRIC, "id_number": "771305-02-1234"}, "id_number"),
    bad("nric-birthplace", "personal", {**NRIC, "id_number": "770305-00-1234"}, "id_number"),
    bad("nric-without-type", "personal", {"id_number": "770305-02-1234"}, "id_type"),
    bad(
        "nric-other-birth-date",
        "personal",
        {**NRIC, "id_number": "770305-02-1234", "date_of_birth": "1980-01-01"},
        "date_of_birth",
    ),
    bad("dob-future", "personal", {"date_of_birth": "2999-01-01"}, "date_of_birth"),
    bad("dob-30-feb", "personal", {"date_of_birth": "1977-02-30"}, "date_of_birth"),
    bad("name-rtl-override", "personal", {"full_name": "Ali\u202eabaB"}, "full_name"),
    bad("name-nul", "personal", {"full_name": "Ali\x00Baba"}, "full_name"),
    bad("name-line-break", "personal", {"full_name": "Ali\nBaba"}, "full_name"),
    bad("nationality-unknown", "personal", {"nationality": "XX"}, "nationality"),
    bad("trading-name-bidi", "business", {"trading_name": "Alpha\u2067Cloud"}, "trading_name"),
    bad("website", "business", {"website": "not a website"}, "website"),
    bad("brn-type-99", "business", {BRN: "201999012345"}, BRN, MANAGER),
    bad("brn-future", "business", {BRN: "209901012345"}, BRN, MANAGER),
    bad("brn-garbage", "business", {BRN: "ACME-1"}, BRN, MANAGER),
    bad("tin-of-individual", "einvoice", {"tin": "IG11500200"}, "tin"),
    bad("tin-no-prefix", "einvoice", {"tin": "2584563200"}, "tin"),
    bad("sst", "einvoice", {"sst_number": "W10180832000092"}, "sst_number"),
    bad("tourism-tax", "einvoice", {"tourism_tax_number": "141-1809"}, "tourism_tax_number"),
    bad("msic-unknown", "einvoice", {"msic_code": "99999"}, "msic_code"),
    bad("msic-four-digits", "einvoice", {"msic_code": "6201"}, "msic_code"),
    bad("einvoice-email", "einvoice", {"einvoice_email": "ap at alpha"}, "einvoice_email"),
    bad("phone-too-short", "contact", {"phone": "12345"}, "phone"),
    bad("phone-other-country", "contact", {"phone": "6123 4567"}, "phone"),
    bad("mobile-is-landline", "contact", {"mobile": "03-7890 1234"}, "mobile"),
    bad("other-email", "contact", {"other_emails": "ops@alpha.example, nope"}, "other_emails"),
    bad(
        "other-emails-too-many",
        "contact",
        {"other_emails": " ".join(f"e{i}@alpha.example" for i in range(6))},
        "other_emails",
    ),
    bad("country-unknown", "contact", {**MY_ADDRESS, "postal_country": "XX"}, "postal_country"),
    bad("state-unknown", "contact", {**MY_ADDRESS, "postal_state": "MY-99"}, "postal_state"),
    bad("state-missing", "contact", {**MY_ADDRESS, "postal_state": ""}, "postal_state"),
    bad("postcode", "contact", {**MY_ADDRESS, "postal_postcode": "4730"}, "postal_postcode"),
    bad("address-incomplete", "contact", {"postal_line1": "Lot 7"}, "postal_city"),
    bad("address-control", "contact", {**MY_ADDRESS, "postal_line1": "Lot\x07"}, "postal_line1"),
    bad("legal-state", "legal", {**LEGAL_ADDRESS, "legal_state": "MY-99"}, "legal_state", MANAGER),
    bad("legal-country", "legal", {**LEGAL_ADDRESS, "country": "XX"}, "country", MANAGER),
    bad("legal-name-blank", "legal", {**LEGAL_ADDRESS, "legal_name": " "}, "legal_name", MANAGER),
    bad("currency", "preferences", {"currency": "XYZ"}, "currency"),
    bad("timezone", "preferences", {"timezone": "Mars/Olympus_Mons"}, "timezone"),
    bad("language", "preferences", {"language": "tlh"}, "language"),
    bad("software-level", "preferences", {"software_level": "999999"}, "software_level"),
    bad(
        "custom-pricing-without-percentage",
        "account",
        {"pricing_model": "custom"},
        "price_adjustment_percent",
        MANAGER,
    ),
]


@pytest.mark.parametrize(("section", "persona", "values", "field_name"), INVALID_SAVES)
def test_invalid_values_are_refused_with_a_message_per_field(
    world, section, persona, values, field_name
) -> None:
    actor = portal(world, persona) if persona.startswith("a_") else staff(world, persona)
    reason = "" if actor.source == Source.PORTAL else "checked with the customer"

    error = refused(
        world.customer_a,
        ErrorCode.INVALID,
        section=section,
        values=values,
        actor=actor,
        reason=reason,
    )

    assert field_name in error.errors, error.errors
    assert all(message.strip() for message in error.errors[field_name])


def short_messages_for(world, section: str, name: str) -> list[str]:
    error = refused(
        world.customer_a,
        ErrorCode.INVALID,
        section=section,
        values={name: HUGE},
        actor=portal(world),
    )
    return error.errors[name]


@pytest.mark.parametrize(
    ("section", "name"),
    [
        ("personal", "full_name"),
        ("personal", "date_of_birth"),
        ("business", "trading_name"),
        ("business", "website"),
        ("einvoice", "tin"),
        ("einvoice", "sst_number"),
        ("einvoice", "business_activity"),
        ("einvoice", "einvoice_email"),
        ("contact", "phone"),
        ("contact", "other_emails"),
        ("contact", "postal_line1"),
        ("contact", "postal_postcode"),
        pytest.param("einvoice", "msic_code"),
        pytest.param("contact", "postal_country"),
        pytest.param("preferences", "timezone"),
    ],
)
def test_a_10_000_character_value_is_refused_with_a_short_message(world, section, name) -> None:
    messages = short_messages_for(world, section, name)
    assert messages
    assert all(len(message) < 300 for message in messages), messages


def test_a_customer_born_in_2001_can_give_their_nric_and_birth_date(world) -> None:
    update_profile_section(
        world.customer_a,
        section="personal",
        values={
            "full_name": "Nur Aina",
            "date_of_birth": "2001-01-01",
            "id_type": "nric",
            "id_number": "010101-14-1235",
        },
        actor=portal(world),
    )
    assert stored(world.customer_a)["date_of_birth"] == date(2001, 1, 1)


# --- forged fields (mass assignment) and the wrong people ---------------------------------

PHONE = {"phone": "03-7890 1234"}

FORGED_SAVES = [
    bad("status", "contact", {**PHONE, "status": "closed"}, "status"),
    bad("legal-name-in-contact", "contact", {**PHONE, "legal_name": "Evil Bhd"}, "legal_name"),
    bad("primary-email", "contact", {"primary_email": "evil@example.org"}, "primary_email"),
    bad("unknown-key", "contact", {**PHONE, "is_superuser": True}, "is_superuser"),
    bad("display-name", "contact", {"display_name": "Evil"}, "display_name"),
    bad("version", "contact", {"version": 99}, "version"),
    bad("credit-limit-in-contact", "contact", {**PHONE, "credit_limit": "1e6"}, "credit_limit"),
    bad("credit-limit", "account", {"credit_limit": "1000000"}, "credit_limit"),
    bad("kind", "account", {"kind": "individual"}, "kind", "a_admin"),
    bad("pricing", "account", {"pricing_model": "custom"}, "pricing_model", "a_billing"),
    bad(
        "registration-number",
        "business",
        {"trading_name": "X", "registration_number": "202001012345"},
        "registration_number",
    ),
    bad("legal-name", "legal", {"legal_name": "Evil Bhd"}, "legal_name"),
    bad("decouple", "billing", {"billing_follows_legal": False}, "billing_follows_legal"),
    bad("billing-role-contact", "contact", PHONE, "phone", "a_billing"),
    bad("technical-einvoice", "einvoice", {"tin": "C2584563200"}, "tin", "a_technical"),
    bad("member-preferences", "preferences", {"timezone": "UTC"}, "timezone", "a_member"),
    bad("support-approval", "legal", {"legal_name": "Evil Bhd"}, "legal_name", "staff_support"),
    bad("support-staff-field", "account", {"credit_limit": "100"}, "credit_limit", "staff_support"),
    bad("billing-staff-direct", "contact", PHONE, "phone", "staff_billing"),
    bad(
        "manager-primary-email",
        "contact",
        {"primary_email": "x@y.example"},
        "primary_email",
        MANAGER,
    ),
    bad("superuser-status", "account", {"status": "closed"}, "status", "superuser"),
]


@pytest.mark.parametrize(("section", "persona", "values", "field_name"), FORGED_SAVES)
def test_a_save_with_a_field_the_actor_may_not_change_is_refused_whole(
    world, section, persona, values, field_name
) -> None:
    actor = portal(world, persona) if persona.startswith("a_") else staff(world, persona)
    reason = "" if actor.source == Source.PORTAL else "customer asked"

    error = refused(
        world.customer_a,
        ErrorCode.NOT_ALLOWED,
        section=section,
        values=values,
        actor=actor,
        reason=reason,
    )

    assert field_name in error.errors
    assert error.errors[field_name][0]


def test_a_section_with_nothing_the_role_may_change_is_refused(world) -> None:
    error = refused(
        world.customer_a,
        ErrorCode.NOT_ALLOWED,
        section="contact",
        values={},
        actor=portal(world, "a_technical"),
    )
    assert error.message == "You cannot change Contact Information."


@pytest.mark.parametrize("persona", ["b_owner", "b_admin"])
def test_a_portal_user_of_another_customer_finds_no_such_customer(world, persona) -> None:
    refused(
        world.customer_a,
        ErrorCode.NOT_FOUND,
        section="contact",
        values={"phone": "03-7890 1234"},
        actor=portal(world, persona),
    )


def test_a_contact_without_portal_access_finds_no_such_customer(world) -> None:
    user = factories.make_user("offline@alpha.example")
    factories.make_contact(world.customer_a, "admin", user=None, portal=False)
    refused(
        world.customer_a,
        ErrorCode.NOT_FOUND,
        section="contact",
        values={"phone": "03-7890 1234"},
        actor=Actor(user, Source.PORTAL),
    )
    refused(
        world.customer_a,
        ErrorCode.NOT_FOUND,
        section="contact",
        values={"phone": "03-7890 1234"},
        actor=Actor(None, Source.API),
    )


@pytest.mark.parametrize("reason", ["", "   "])
def test_staff_must_say_why(world, reason) -> None:
    error = refused(
        world.customer_a,
        ErrorCode.INVALID,
        section="contact",
        values={"phone": "03-7890 1234"},
        actor=staff(world, "staff_support"),
        reason=reason,
    )
    assert error.field == "reason"
    assert error.errors == {"reason": ["Say why you are making this change."]}


def test_a_portal_user_cannot_act_through_the_staff_source(world) -> None:
    refused(
        world.customer_a,
        ErrorCode.NOT_ALLOWED,
        section="contact",
        values={"phone": "03-7890 1234"},
        actor=Actor(world.users["a_owner"], Source.STAFF),
        reason="I am staff, honestly",
    )


def test_a_staff_manager_applies_approval_fields_and_the_reason_is_recorded(world) -> None:
    reason = "  Verified the SSM certificate by video call  "
    update_profile_section(
        world.customer_a,
        section="business",
        values={"registration_number": "202001012345"},
        actor=staff(world),
        reason=reason,
    )
    [activity] = updated_activity(world.customer_a)
    assert activity.reason == reason.strip()
    assert activity.source == "staff"
    assert stored(world.customer_a)["registration_number"] == "202001012345"


def test_login_as_records_the_staff_member_behind_the_customer(world) -> None:
    support = world.users["staff_support"]
    actor = Actor(world.users["a_owner"], Source.PORTAL, impersonator=support, ip="203.0.113.7")
    update_profile_section(
        world.customer_a, section="contact", values={"phone": "03-7890 1234"}, actor=actor
    )
    [activity] = updated_activity(world.customer_a)
    assert activity.impersonator == support
    assert activity.actor_label == f"{support} as {world.users['a_owner']}"
    assert activity.ip == "203.0.113.7"
    assert updated_events(world.customer_a)[0].actor["impersonator_id"] == support.pk


def test_a_suspended_account_refuses_portal_saves_but_not_staff_ones(world) -> None:
    Customer.objects.filter(pk=world.customer_a.pk).update(status=Customer.Status.SUSPENDED)
    refused(
        world.customer_a,
        ErrorCode.NOT_ALLOWED,
        section="contact",
        values={"phone": "03-7890 1234"},
        actor=portal(world),
    )
    update_profile_section(
        world.customer_a,
        section="contact",
        values={"phone": "03-7890 1234"},
        actor=staff(world, "staff_support"),
        reason="customer called from the registered number",
    )
    assert stored(world.customer_a)["phone"] == "+60378901234"


def test_the_currency_cannot_change_once_the_ledger_has_started(world) -> None:
    first_entry = datetime(2026, 1, 5, tzinfo=UTC)
    Customer.objects.filter(pk=world.customer_a.pk).update(first_ledger_entry_at=first_entry)
    for actor, reason in ((portal(world), ""), (staff(world), "customer asked")):
        error = refused(
            world.customer_a,
            ErrorCode.NOT_ALLOWED,
            section="preferences",
            values={"currency": "SGD"},
            actor=actor,
            reason=reason,
        )
        assert "first ledger entry" in error.errors["currency"][0]
    update_profile_section(
        world.customer_a, section="preferences", values={"timezone": "UTC"}, actor=portal(world)
    )
    assert stored(world.customer_a)["timezone"] == "UTC"


def test_software_level_choices_exclude_retired_levels_but_keep_the_customers_own(world) -> None:
    current = SoftwareLevel.objects.create(label="4.0 SP2", position=20)
    retired = SoftwareLevel.objects.create(label="3.0", position=10, is_active=False)
    owner = portal(world)

    update_profile_section(
        world.customer_a, section="preferences", values={"software_level": current.pk}, actor=owner
    )
    assert updated_activity(world.customer_a)[0].changes == {"software_level": [None, "4.0 SP2"]}
    error = refused(
        world.customer_a,
        ErrorCode.INVALID,
        section="preferences",
        values={"software_level": retired.pk},
        actor=owner,
    )
    assert "software_level" in error.errors

    Customer.objects.filter(pk=world.customer_a.pk).update(software_level=retired)
    update_profile_section(
        world.customer_a, section="preferences", values={"language": "ms"}, actor=owner
    )
    assert stored(world.customer_a)["software_level_id"] == retired.pk


# --- billing follows legal ----------------------------------------------------------------


def test_billing_identity_follows_every_legal_change(world) -> None:
    set_legal(world)
    customer = Customer.objects.get(pk=world.customer_a.pk)

    assert billing_identity(customer) == {
        "name": "Alpha Trading Berhad",
        "line1": "Level 5, Menara Alpha",
        "line2": "Jalan Sultan Ismail",
        "city": "Kuala Lumpur",
        "postcode": "50250",
        "state": "MY-14",
        "country": "MY",
    }
    row = stored(customer)
    assert all(row[f"billing_{part}"] == "" for part in ("name", "line1", "city", "postcode"))
    [event] = updated_events(customer)
    assert event.data["billing_identity"] == billing_identity(customer)

    set_legal(world, legal_city="Putrajaya", legal_postcode="62000", legal_state="MY-16")
    customer.refresh_from_db()
    assert billing_identity(customer)["city"] == "Putrajaya"
    assert latest_event(customer).data["billing_identity"]["state"] == "MY-16"


def test_decoupled_billing_keeps_its_own_details_when_legal_changes(world) -> None:
    set_legal(world)
    decouple_billing(world)
    customer = Customer.objects.get(pk=world.customer_a.pk)
    own = {
        "name": "Alpha Accounts Payable",
        "line1": "PO Box 1234",
        "line2": "",
        "city": "Shah Alam",
        "postcode": "40000",
        "state": "MY-10",
        "country": "MY",
    }
    assert not customer.billing_follows_legal
    assert billing_identity(customer) == own
    assert latest_event(customer).data["billing_identity"] == own

    set_legal(world, legal_name="Alpha Holdings Berhad")
    customer.refresh_from_db()
    assert billing_identity(customer) == own
    assert "billing_identity" not in latest_event(customer).data


def test_decoupling_needs_a_complete_billing_name_and_address(world) -> None:
    error = refused(
        world.customer_a,
        ErrorCode.INVALID,
        section="billing",
        values={"billing_follows_legal": False, "billing_name": "Alpha AP"},
        actor=staff(world),
        reason="customer asked",
    )
    assert {"billing_line1", "billing_city", "billing_postcode", "billing_country"} <= set(
        error.errors
    )


def test_re_coupling_clears_the_billing_copy(world) -> None:
    set_legal(world)
    decouple_billing(world)

    result = update_profile_section(
        world.customer_a,
        section="billing",
        # Values sent along with "follow legal" are not kept: no copy may drift.
        values={"billing_follows_legal": True, "billing_name": "Stale AP name"},
        actor=staff(world),
        reason="customer asked to use the registered address again",
    )

    row = stored(world.customer_a)
    assert row["billing_follows_legal"] is True
    billing_columns = ("name", "line1", "line2", "city", "postcode", "state", "country")
    assert {part: row[f"billing_{part}"] for part in billing_columns} == dict.fromkeys(
        billing_columns, ""
    )
    assert result.changes["billing_follows_legal"] == [False, True]
    assert result.changes["billing_name"] == ["Alpha Accounts Payable", ""]
    customer = Customer.objects.get(pk=world.customer_a.pk)
    assert billing_identity(customer)["name"] == "Alpha Trading Berhad"
    assert latest_event(customer).data["billing_identity"] == billing_identity(customer)


def test_the_database_refuses_a_billing_copy_while_billing_follows_legal(world) -> None:
    following = Customer.objects.filter(pk=world.customer_a.pk)
    with pytest.raises(IntegrityError), transaction.atomic():
        following.update(billing_name="Copy that could drift")
    with pytest.raises(IntegrityError), transaction.atomic():
        following.update(billing_city="Ipoh")
    assert stored(world.customer_a)["billing_name"] == ""


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("billing_line2", "Floor 2"),
        ("billing_postcode", "40000"),
        ("billing_state", "MY-10"),
        ("billing_country", "SG"),
    ],
)
def test_the_database_refuses_every_billing_column_while_billing_follows_legal(
    world, column, value
) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.filter(pk=world.customer_a.pk).update(**{column: value})


# --- the name the account is listed under -------------------------------------------------


def test_a_business_is_listed_under_its_trading_name_else_its_legal_name(world) -> None:
    owner = portal(world)
    update_profile_section(
        world.customer_a, section="business", values={"trading_name": "AlphaCloud"}, actor=owner
    )
    assert stored(world.customer_a)["display_name"] == "AlphaCloud"

    set_legal(world)  # the trading name still wins
    assert stored(world.customer_a)["display_name"] == "AlphaCloud"

    update_profile_section(
        world.customer_a, section="business", values={"trading_name": ""}, actor=owner
    )
    assert stored(world.customer_a)["display_name"] == "Alpha Trading Berhad"
    assert updated_activity(world.customer_a)[0].changes["display_name"] == [
        "AlphaCloud",
        "Alpha Trading Berhad",
    ]


def test_an_individual_is_listed_under_their_full_name(world) -> None:
    customer = factories.make_customer("Aisha Rahman", kind=Customer.Kind.INDIVIDUAL)
    owner = factories.make_contact(customer, "owner")
    actor = Actor(owner.user, Source.PORTAL)

    update_profile_section(
        customer, section="personal", values={"full_name": "Aisha binti Rahman"}, actor=actor
    )
    assert stored(customer)["display_name"] == "Aisha binti Rahman"
    refused(
        customer,
        ErrorCode.INVALID,
        section="personal",
        values={"full_name": ""},
        actor=actor,
    )
    refused(
        customer,
        ErrorCode.NOT_ALLOWED,
        section="business",
        values={"trading_name": "Aisha's Bakes"},
        actor=actor,
    )


# --- section versions (ETags) -------------------------------------------------------------


def test_a_save_against_a_stale_section_version_is_refused(world) -> None:
    customer = world.customer_a
    owners_etag = section_etag(customer, Section.CONTACT)
    update_profile_section(
        customer,
        section="contact",
        values={"phone": "03-7890 1234"},
        actor=portal(world, "a_admin"),
    )

    error = refused(
        customer,
        ErrorCode.STALE_VERSION,
        section="contact",
        values={"phone": "03-2222 3333"},
        actor=portal(world),
        etag=owners_etag,
    )
    assert "Someone else saved this section" in error.message
    assert stored(customer)["phone"] == "+60378901234"


def test_the_current_section_version_saves(world) -> None:
    customer = world.customer_a
    etag = section_etag(customer, Section.CONTACT)
    update_profile_section(
        customer,
        section="contact",
        values={"phone": "03-7890 1234"},
        actor=portal(world),
        etag=etag,
    )
    fresh = Customer.objects.get(pk=customer.pk)
    assert section_etag(fresh, Section.CONTACT) != etag
    update_profile_section(
        fresh,
        section="contact",
        values={"phone": "03-2222 3333"},
        actor=portal(world),
        etag=section_etag(fresh, Section.CONTACT),
    )
    assert stored(customer)["phone"] == "+60322223333"


def test_a_save_in_another_section_does_not_make_this_one_stale(world) -> None:
    customer = world.customer_a
    contact_etag = section_etag(customer, Section.CONTACT)
    update_profile_section(
        customer,
        section="business",
        values={"trading_name": "AlphaCloud"},
        actor=portal(world, "a_admin"),
    )
    set_legal(world)  # also moves the billing identity, which follows legal

    update_profile_section(
        customer,
        section="contact",
        values={"phone": "03-7890 1234"},
        actor=portal(world),
        etag=contact_etag,
    )
    assert stored(customer)["phone"] == "+60378901234"


def test_the_same_version_cannot_be_saved_twice(world) -> None:
    customer = world.customer_a
    etag = section_etag(customer, Section.EINVOICE)
    update_profile_section(
        customer, section="einvoice", values={"msic_code": "62010"}, actor=portal(world), etag=etag
    )
    refused(
        customer,
        ErrorCode.STALE_VERSION,
        section="einvoice",
        values={"msic_code": "63111"},
        actor=portal(world, "a_billing"),
        etag=etag,
    )
    assert stored(customer)["msic_code"] == "62010"


def test_the_section_version_ignores_who_reads_it_and_the_unstored_primary_email(world) -> None:
    customer = world.customer_a
    before = section_etag(customer, Section.CONTACT)
    owner = world.users["a_owner"]
    owner.email = "new.login@alpha.example"
    owner.save()
    assert section_etag(Customer.objects.get(pk=customer.pk), Section.CONTACT) == before


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_people_saving_the_same_section_at_once_one_wins_one_is_told(world) -> None:
    """Both editors start from the same version and press Save together: the row lock
    queues the second save, which then sees the first one's change and is refused."""
    customer = world.customer_a
    etag = section_etag(customer, Section.CONTACT)
    outcomes: dict[str, str] = {}

    def save(persona: str, email: str) -> None:
        try:
            update_profile_section(
                Customer.objects.get(pk=customer.pk),
                section="contact",
                values={"billing_email": email},
                actor=portal(world, persona),
                etag=etag,
            )
            outcomes[persona] = "saved"
        except DomainError as error:
            outcomes[persona] = error.code
        finally:
            connection.close()

    threads = [
        threading.Thread(target=save, args=("a_owner", "owner@alpha.example")),
        threading.Thread(target=save, args=("a_admin", "admin@alpha.example")),
    ]
    # Hold the row so that both saves are inside the action, waiting on the lock, before
    # either may go on: the race is real, not two saves one after the other.
    with transaction.atomic():
        Customer.objects.select_for_update().get(pk=customer.pk)
        for thread in threads:
            thread.start()
        wait_for_lock_waiters(2)
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes.values()) == ["saved", ErrorCode.STALE_VERSION]
    [winner] = [persona for persona, outcome in outcomes.items() if outcome == "saved"]
    assert stored(customer)["billing_email"] == f"{winner.removeprefix('a_')}@alpha.example"
    assert len(updated_activity(customer)) == 1
    assert len(updated_events(customer)) == 1


def wait_for_lock_waiters(count: int, timeout: float = 15.0) -> None:
    """Wait until ``count`` other PostgreSQL sessions are blocked on a lock."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            # pg_locks, not pg_stat_activity: the latter is a snapshot for the whole
            # transaction, and this one holds the row until the waiters show up.
            cursor.execute("SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted")
            if cursor.fetchone()[0] >= count:
                return
            time.sleep(0.02)
    pytest.fail(f"{count} saves never queued on the customer's row lock")


# --- e-invoice readiness ------------------------------------------------------------------


def test_a_new_business_lists_what_e_invoicing_still_needs(world) -> None:
    readiness = einvoice.readiness(Customer.objects.get(pk=world.customer_a.pk))
    assert not readiness.ready
    assert readiness.missing == (
        "Tax identification number (TIN)",
        "Company registration number (Business Details)",
        "Registered address",
        "MSIC code",
        "Phone or mobile number (Contact Information)",
    )


def test_a_business_with_every_detail_is_ready_for_e_invoicing(world) -> None:
    owner = portal(world)
    update_profile_section(
        world.customer_a,
        section="einvoice",
        values={"tin": "C2584563200", "msic_code": "63111", "sst_number": "NA"},
        actor=owner,
    )
    update_profile_section(
        world.customer_a, section="contact", values={"phone": "03-7890 1234"}, actor=owner
    )
    update_profile_section(
        world.customer_a,
        section="business",
        values={"registration_number": "202001012345"},
        actor=staff(world),
        reason="SSM certificate",
    )
    set_legal(world)

    customer = Customer.objects.get(pk=world.customer_a.pk)
    assert einvoice.readiness(customer).missing == ()
    assert einvoice.readiness(customer).ready
    assert einvoice.registration(customer) == ("BRN", "202001012345")


def test_an_individual_is_identified_by_their_document_and_needs_an_ig_tin(world) -> None:
    customer = factories.make_customer("Aisha Rahman", kind=Customer.Kind.INDIVIDUAL)
    Customer.objects.filter(pk=customer.pk).update(
        id_type="nric",
        id_number="770305021234",
        tin="C2584563200",  # a company TIN: wrong for a person
        msic_code="00000",
        mobile="+60123456789",
        legal_line1="12 Jalan Mawar",
        legal_city="Ipoh",
    )
    customer.refresh_from_db()

    readiness = einvoice.readiness(customer)
    assert einvoice.registration(customer) == ("NRIC", "770305021234")
    assert readiness.missing == (
        "A TIN in the right form for this type of customer",
        "E-invoice email",  # no owner contact, so no primary email to fall back on
    )

    Customer.objects.filter(pk=customer.pk).update(tin="IG11500200", einvoice_email="a@x.example")
    customer.refresh_from_db()
    assert einvoice.readiness(customer).ready


# --- the activity trail -------------------------------------------------------------------


def test_the_trail_says_in_words_who_changed_what(world) -> None:
    customer = world.customer_a
    update_profile_section(
        customer, section="contact", values={"phone": "03-7890 1234"}, actor=portal(world)
    )
    update_profile_section(
        customer, section="contact", values={"phone": "012-345 6789"}, actor=portal(world)
    )
    update_profile_section(customer, section="contact", values={"phone": ""}, actor=portal(world))

    cleared, changed, added = trail.customer_trail(customer, for_customer=True, limit=3).entries
    assert added.sentence == "a owner set Phone to 03-7890 1234"
    assert changed.sentence == "a owner changed Phone from 03-7890 1234 to 012-345 6789"
    assert cleared.sentence == "a owner cleared Phone (was 012-345 6789)"
    assert added.source == "Portal"


def test_a_save_of_several_fields_reads_as_one_entry(world) -> None:
    update_profile_section(
        world.customer_a,
        section="preferences",
        values={"currency": "SGD", "timezone": "Asia/Singapore"},
        actor=portal(world),
    )
    update_profile_section(
        world.customer_a,
        section="einvoice",
        values={
            "tin": "C2584563200",
            "msic_code": "62010",
            "business_activity": "Software",
            "einvoice_email": "ap@alpha.example",
        },
        actor=portal(world),
    )
    many, two = trail.customer_trail(world.customer_a, for_customer=True, limit=2).entries
    assert two.sentence == "a owner changed Currency and Time zone"
    assert [line.new for line in two.lines] == ["SGD — Singapore Dollar", "Asia/Singapore"]
    assert many.sentence == (
        "a owner changed Tax identification number (TIN), MSIC code and 2 more fields"
    )
    assert many.lines[1].new == "62010 — Computer programming activities"


def test_staff_changes_show_their_source_and_reason(world) -> None:
    set_legal(world)
    [entry] = trail.customer_trail(world.customer_a, for_customer=True, limit=1).entries
    assert entry.source == "Staff console"
    assert entry.reason == "Form 9 and Section 46 notice received"
    assert entry.actor == staff(world).label


def test_customers_see_identity_numbers_and_birth_dates_masked_staff_see_them(world) -> None:
    update_profile_section(
        world.customer_a,
        section="personal",
        values={"date_of_birth": "1977-03-05", "id_type": "nric", "id_number": "770305021234"},
        actor=portal(world),
    )
    customer = Customer.objects.get(pk=world.customer_a.pk)

    def lines(*, for_customer: bool) -> dict[str, str]:
        [entry] = trail.customer_trail(customer, for_customer=for_customer, limit=1).entries
        return {line.label: line.new for line in entry.lines}

    seen_by_customer = lines(for_customer=True)
    assert seen_by_customer["Identity document number"] == "••••••••••1234"
    assert seen_by_customer["Date of birth"] == "•••"  # nothing of the date shows
    assert seen_by_customer["Identity document"] == "MyKad / NRIC"  # not sensitive
    seen_by_staff = lines(for_customer=False)
    assert seen_by_staff["Identity document number"] == "770305-02-1234"
    assert seen_by_staff["Date of birth"] == "5 Mar 1977"


def test_staff_only_rows_stay_out_of_the_customers_trail(world) -> None:
    customer = world.customer_a
    note = record(
        "note.added",
        actor=staff(world, "staff_support"),
        customer=customer,
        target=customer,
        reason="Caller failed the security questions",
        staff_only=True,
    )
    customer_ids = [e.id for e in trail.customer_trail(customer, for_customer=True).entries]
    staff_ids = [e.id for e in trail.customer_trail(customer, for_customer=False).entries]
    assert note.id not in customer_ids
    assert note.id in staff_ids
    assert set(customer_ids) < set(staff_ids)


def test_the_trail_pages_newest_first_without_gaps_or_repeats(world) -> None:
    customer = world.customer_a
    for n in range(7):
        update_profile_section(
            customer,
            section="contact",
            values={"billing_email": f"billing{n}@alpha.example"},
            actor=portal(world),
        )
    expected = list(
        Activity.objects.filter(customer=customer, staff_only=False)
        .order_by("-id")
        .values_list("id", flat=True)
    )
    assert len(expected) == 1 + 5 + 7  # opened, five contacts added, seven saves

    pages: list[list[int]] = []
    before = None
    while True:
        page = trail.customer_trail(customer, for_customer=True, before=before, limit=4)
        pages.append([entry.id for entry in page.entries])
        if page.next_before is None:
            break
        assert page.next_before == page.entries[-1].id
        before = page.next_before

    assert [len(ids) for ids in pages] == [4, 4, 4, 1]
    assert [entry_id for ids in pages for entry_id in ids] == expected


def test_a_trail_that_fits_one_page_has_no_next_page(world) -> None:
    rows = Activity.objects.filter(customer=world.customer_a).count()
    page = trail.customer_trail(world.customer_a, for_customer=True, limit=rows)
    assert len(page.entries) == rows
    assert page.next_before is None


def test_the_trail_filters_by_group_and_actor(world) -> None:
    update_profile_section(
        world.customer_a, section="contact", values={"phone": "03-7890 1234"}, actor=portal(world)
    )
    set_legal(world)
    profile = trail.customer_trail(world.customer_a, for_customer=True, group="profile").entries
    assert len(profile) == 2
    by_manager = trail.customer_trail(
        world.customer_a, for_customer=True, actor_id=world.users["staff_manager"].pk
    ).entries
    assert [entry.reason for entry in by_manager] == ["Form 9 and Section 46 notice received"]


# --- Activity is append-only --------------------------------------------------------------


def test_the_activity_of_a_save_can_be_neither_changed_nor_removed(world) -> None:
    update_profile_section(
        world.customer_a, section="contact", values={"phone": "03-7890 1234"}, actor=portal(world)
    )
    [activity] = updated_activity(world.customer_a)
    original = dict(activity.changes)

    activity.changes = {"phone": ["", "+60399999999"]}
    with pytest.raises(AppendOnlyError):
        activity.save()
    with pytest.raises(AppendOnlyError):
        activity.delete()
    rows = Activity.objects.filter(pk=activity.pk)
    with pytest.raises(AppendOnlyError):
        rows.update(reason="tidied up")
    with pytest.raises(AppendOnlyError):
        rows.delete()
    # These two write inside their own atomic block: give each a savepoint to roll back to.
    with pytest.raises(AppendOnlyError), transaction.atomic():
        Activity.objects.bulk_update([activity], ["changes"])
    with pytest.raises(AppendOnlyError), transaction.atomic():
        Activity.objects.update_or_create(pk=activity.pk, defaults={"reason": "x"})
    # Nor by removing what it points at: the customer and the actor are protected.
    with pytest.raises(ProtectedError), transaction.atomic():
        Customer.objects.get(pk=world.customer_a.pk).delete()
    with pytest.raises(ProtectedError), transaction.atomic():
        world.users["a_owner"].delete()

    assert Activity.objects.get(pk=activity.pk).changes == original
