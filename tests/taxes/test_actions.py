"""Tax rule and exemption actions: managers only, one Activity row and one outbox event per
change, periods never overlap, and a refusal changes nothing."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import IntegrityError, transaction

from clientdesk.audit.models import Activity
from clientdesk.core.actor import Actor, Source
from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.events.models import Event
from clientdesk.taxes import actions
from clientdesk.taxes.models import TaxExemption, TaxRule
from clientdesk.taxes.rules import applicable_tax

from .helpers import SYSTEM, add_rule, day, staff

pytestmark = pytest.mark.django_db

TODAY = datetime.datetime(2025, 6, 1, 12, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _frozen_today():
    with time_machine.travel(TODAY, tick=False):
        yield


def periods(country: str) -> list[tuple[str, str, str | None]]:
    return [
        (
            str(r.rate),
            r.effective_from.isoformat(),
            r.effective_to.isoformat() if r.effective_to else None,
        )
        for r in TaxRule.objects.filter(country=country).order_by("effective_from")
    ]


# --- rules -------------------------------------------------------------------------------


def test_a_manager_adds_a_rule_with_activity_and_event(world) -> None:
    rule = actions.add_tax_rule(
        country="my",
        name=" SST ",
        rate="8",
        effective_from=day("2024-03-01"),
        reason="Budget 2024",
        actor=staff(world.users["staff_manager"]),
    )
    assert (rule.country_code, rule.name, rule.rate, rule.effective_to) == (
        "MY",
        "SST",
        Decimal("8.00"),
        None,
    )
    activity = Activity.objects.get(verb="tax_rule.added")
    assert activity.customer is None and activity.reason == "Budget 2024"
    assert activity.changes["rate"] == [None, "8.00"]
    event = Event.objects.get(type="tax_rule.added")
    assert event.data == {
        "id": rule.pk,
        "country": "MY",
        "name": "SST",
        "rate": "8.00",
        "effective_from": "2024-03-01",
        "effective_to": None,
        "replaces": None,
    }


def test_a_new_rate_ends_the_open_rule_the_day_before(world) -> None:
    old = add_rule("MY", "SST", "6", "2018-09-01")
    new = actions.add_tax_rule(
        country="MY",
        name="SST",
        rate="8",
        effective_from=day("2024-03-01"),
        actor=staff(world.users["staff_manager"]),
    )
    assert periods("MY") == [("6.00", "2018-09-01", "2024-02-29"), ("8.00", "2024-03-01", None)]
    ended = Event.objects.get(type="tax_rule.ended")
    assert (ended.data["id"], ended.data["replaced_by"]) == (old.pk, new.pk)
    assert Event.objects.get(type="tax_rule.added", data__id=new.pk).data["replaces"] == old.pk
    assert Activity.objects.filter(verb="tax_rule.ended").count() == 1


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2018-09-01", None),  # same start as the open rule
        ("2017-01-01", None),  # open-ended before it: would run into it
        ("2017-01-01", "2018-09-01"),  # ends on its first day
        ("2019-01-01", "2019-12-31"),  # inside a closed period
    ],
)
def test_overlapping_periods_are_refused_and_nothing_changes(start, end) -> None:
    add_rule("MY", "SST", "5", "2010-01-01", "2018-08-31")
    add_rule("MY", "SST", "6", "2018-09-01", "2024-02-29")
    add_rule("MY", "SST", "8", "2024-03-01")
    before = (periods("MY"), Event.objects.count(), Activity.objects.count())
    with pytest.raises(DomainError) as caught:
        add_rule("MY", "SST", "7", start, end)
    assert caught.value.code == ErrorCode.CONFLICT
    assert "overlaps" in caught.value.message
    assert (periods("MY"), Event.objects.count(), Activity.objects.count()) == before


def test_a_rule_before_the_history_fits_when_it_ends_in_time() -> None:
    add_rule("MY", "SST", "6", "2018-09-01")
    add_rule("MY", "GST", "6", "2015-04-01", "2018-05-31")
    add_rule("MY", "Tax holiday", "0", "2018-06-01", "2018-08-31")
    assert [p[1] for p in periods("MY")] == ["2015-04-01", "2018-06-01", "2018-09-01"]


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"rate": "-1"}, "rate"),
        ({"rate": "100.01"}, "rate"),
        ({"rate": "8.005"}, "rate"),
        ({"rate": "eight"}, "rate"),
        ({"rate": "NaN"}, "rate"),
        ({"rate": "1e400"}, "rate"),
        ({"name": ""}, "name"),
        ({"name": "x" * 41}, "name"),
        ({"name": "\u202e"}, "name"),  # only a bidi override: nothing left
        ({"country": "XX"}, "country"),
        ({"country": "Malaysia" * 100}, "country"),
        ({"effective_from": "2024-01-01"}, "effective_from"),  # a string, not a date
        ({"effective_to": day("2023-12-31")}, "effective_to"),  # before the start
    ],
)
def test_bad_rule_values_are_refused_with_a_message_on_the_field(values, field) -> None:
    arguments = {
        "country": "MY",
        "name": "SST",
        "rate": "8",
        "effective_from": day("2024-01-01"),
        "effective_to": None,
        **values,
    }
    with pytest.raises(DomainError) as caught:
        actions.add_tax_rule(**arguments, actor=SYSTEM)
    assert caught.value.code == ErrorCode.INVALID
    assert field in caught.value.errors
    assert not TaxRule.objects.exists()


@pytest.mark.parametrize("persona", ["staff_support", "staff_billing", "a_owner"])
def test_only_managers_keep_tax_rules(world, persona) -> None:
    rule = add_rule("MY", "SST", "8", "2024-03-01")
    source = Source.PORTAL if persona == "a_owner" else Source.STAFF
    actor = Actor(world.users[persona], source)
    for attempt in (
        lambda: actions.add_tax_rule(
            country="SG", name="GST", rate="9", effective_from=day("2024-01-01"), actor=actor
        ),
        lambda: actions.end_tax_rule(rule, effective_to=day("2030-01-01"), actor=actor),
        lambda: actions.change_tax_rule(rule, values={"name": "X"}, reason="r", actor=actor),
    ):
        with pytest.raises(DomainError) as caught:
            attempt()
        assert caught.value.code == ErrorCode.NOT_ALLOWED
    assert TaxRule.objects.count() == 1


def test_superusers_keep_tax_rules_too(world) -> None:
    rule = actions.add_tax_rule(
        country="SG",
        name="GST",
        rate="9",
        effective_from=day("2024-01-01"),
        actor=staff(world.users["superuser"]),
    )
    assert rule.pk


def test_a_rule_in_force_keeps_its_rate_and_start_but_its_name_can_be_corrected(world) -> None:
    rule = add_rule("MY", "SST", "8", "2024-03-01")
    manager = staff(world.users["staff_manager"])
    with pytest.raises(DomainError) as caught:
        actions.change_tax_rule(
            rule,
            values={"rate": "10", "effective_from": day("2024-04-01")},
            reason="typo",
            actor=manager,
        )
    assert set(caught.value.errors) == {"rate", "effective_from"}
    actions.change_tax_rule(
        rule, values={"name": "Sales and Service Tax"}, reason="Full name", actor=manager
    )
    rule.refresh_from_db()
    assert (rule.name, rule.rate) == ("Sales and Service Tax", Decimal("8.00"))
    activity = Activity.objects.get(verb="tax_rule.changed")
    assert activity.changes == {"name": ["SST", "Sales and Service Tax"]}
    assert activity.reason == "Full name"
    assert Event.objects.get(type="tax_rule.changed").data["changes"] == activity.changes


def test_a_scheduled_rule_can_be_corrected_entirely_but_not_into_an_overlap(world) -> None:
    add_rule("MY", "SST", "8", "2024-03-01", "2025-12-31")
    scheduled = add_rule("MY", "SST", "10", "2026-01-01")
    manager = staff(world.users["staff_manager"])
    actions.change_tax_rule(
        scheduled,
        values={"rate": "9.5", "effective_from": day("2026-02-01")},
        reason="Gazette corrected",
        actor=manager,
    )
    assert periods("MY")[-1] == ("9.50", "2026-02-01", None)
    with pytest.raises(DomainError) as caught:
        actions.change_tax_rule(
            scheduled, values={"effective_from": day("2025-12-01")}, reason="x", actor=manager
        )
    assert caught.value.code == ErrorCode.CONFLICT
    with pytest.raises(DomainError) as caught:
        actions.change_tax_rule(scheduled, values={"rate": "9"}, reason="", actor=manager)
    assert "reason" in caught.value.errors
    with pytest.raises(DomainError) as caught:
        actions.change_tax_rule(scheduled, values={"country": "SG"}, reason="x", actor=manager)
    assert caught.value.code == ErrorCode.INVALID
    assert periods("MY")[-1] == ("9.50", "2026-02-01", None)


def test_ending_a_rule_in_force_cannot_rewrite_the_past(world) -> None:
    rule = add_rule("MY", "SST", "8", "2024-03-01")
    manager = staff(world.users["staff_manager"])
    with pytest.raises(DomainError) as caught:
        actions.end_tax_rule(rule, effective_to=day("2025-05-31"), actor=manager)
    assert "effective_to" in caught.value.errors
    with pytest.raises(DomainError):
        actions.end_tax_rule(rule, effective_to=day("2024-01-01"), actor=manager)
    actions.end_tax_rule(
        rule, effective_to=day("2025-06-30"), reason="SST abolished", actor=manager
    )
    assert periods("MY") == [("8.00", "2024-03-01", "2025-06-30")]
    event = Event.objects.get(type="tax_rule.ended")
    assert event.data["effective_to"] == "2025-06-30"
    # Ending it again on the same day is not a second change.
    actions.end_tax_rule(rule, effective_to=day("2025-06-30"), actor=manager)
    assert Event.objects.filter(type="tax_rule.ended").count() == 1


def test_the_database_refuses_a_second_open_rule_and_a_reversed_period() -> None:
    add_rule("MY", "SST", "8", "2024-03-01")
    with pytest.raises(IntegrityError), transaction.atomic():
        TaxRule.objects.create(country="MY", name="X", rate=1, effective_from=day("2025-01-01"))
    with pytest.raises(IntegrityError), transaction.atomic():
        TaxRule.objects.create(
            country="SG",
            name="X",
            rate=1,
            effective_from=day("2025-01-01"),
            effective_to=day("2024-01-01"),
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        TaxRule.objects.create(
            country="SG",
            name="X",
            rate=101,
            effective_from=day("2025-01-01"),
            effective_to=day("2026-01-01"),
        )


# --- exemptions --------------------------------------------------------------------------


def test_a_manager_exempts_a_customer_staff_only(world) -> None:
    add_rule("MY", "SST", "8", "2024-03-01")
    customer = world.customer_a
    manager = staff(world.users["staff_manager"])
    exemption = actions.exempt_customer(
        customer, reference=" KE/2025/042 ", reason="Labuan entity", actor=manager
    )
    assert (exemption.reference, exemption.reason, exemption.set_by) == (
        "KE/2025/042",
        "Labuan entity",
        world.users["staff_manager"],
    )
    activity = Activity.objects.get(verb="tax_exemption.set", customer=customer)
    assert activity.staff_only is True
    assert activity.changes == {
        "tax_exempt": [False, True],
        "exemption_reference": [None, "KE/2025/042"],
    }
    event = Event.objects.get(type="tax_exemption.set", customer=customer)
    assert event.data["reference"] == "KE/2025/042" and event.data["internal"] is True
    assert applicable_tax(customer).exempt is True  # type: ignore[union-attr]

    # A new reference replaces the old one: still one exemption per customer.
    actions.exempt_customer(customer, reference="KE/2026/001", reason="Renewed", actor=manager)
    assert TaxExemption.objects.filter(customer=customer).count() == 1
    # The same values again: nothing changes.
    actions.exempt_customer(customer, reference="KE/2026/001", reason="Renewed", actor=manager)
    assert Activity.objects.filter(verb="tax_exemption.set").count() == 2

    actions.unexempt_customer(customer, reason="Certificate expired", actor=manager)
    assert not TaxExemption.objects.filter(customer=customer).exists()
    removed = Activity.objects.get(verb="tax_exemption.removed")
    assert removed.staff_only and removed.reason == "Certificate expired"
    assert Event.objects.filter(type="tax_exemption.removed", customer=customer).count() == 1
    assert applicable_tax(customer).exempt is False  # type: ignore[union-attr]
    # Not exempt any more: removing again is not an error and records nothing.
    actions.unexempt_customer(customer, reason="again", actor=manager)
    assert Activity.objects.filter(verb="tax_exemption.removed").count() == 1


@pytest.mark.parametrize(
    ("reference", "reason", "field"),
    [
        ("", "r", "reference"),
        ("x" * 101, "r", "reference"),
        ("REF", "", "reason"),
        ("REF", "r" * 501, "reason"),
    ],
)
def test_an_exemption_needs_a_reference_and_a_reason(world, reference, reason, field) -> None:
    with pytest.raises(DomainError) as caught:
        actions.exempt_customer(world.customer_a, reference=reference, reason=reason, actor=SYSTEM)
    assert field in caught.value.errors
    assert not TaxExemption.objects.exists()


@pytest.mark.parametrize("persona", ["staff_support", "staff_billing"])
def test_only_managers_exempt_customers(world, persona) -> None:
    actor = staff(world.users[persona])
    with pytest.raises(DomainError) as caught:
        actions.exempt_customer(world.customer_a, reference="R", reason="r", actor=actor)
    assert caught.value.code == ErrorCode.NOT_ALLOWED
    actions.exempt_customer(world.customer_a, reference="R", reason="r", actor=SYSTEM)
    with pytest.raises(DomainError):
        actions.unexempt_customer(world.customer_a, reason="r", actor=actor)
    assert TaxExemption.objects.count() == 1
