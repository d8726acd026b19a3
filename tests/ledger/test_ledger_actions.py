"""The ledger's actions: amounts, balance rules, reversals, idempotency, who may post."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from clientdesk.audit.models import Activity, AppendOnlyError
from clientdesk.core.actor import Actor, Source
from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.core.money import AmountError, parse_amount
from clientdesk.customers.models import Customer
from clientdesk.events.models import Event
from clientdesk.ledger import queries
from clientdesk.ledger.actions import (
    balance_now,
    change_billing_mode,
    post_entry,
    preview_entry,
    reverse_entry,
)
from clientdesk.ledger.models import Balance, Entry
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def billing() -> Actor:
    return Actor(factories.make_staff("billing", email="bill@staff.example"), Source.STAFF)


@pytest.fixture
def manager() -> Actor:
    return Actor(factories.make_staff("manager", email="boss@staff.example"), Source.STAFF)


@pytest.fixture
def customer() -> Customer:
    return factories.make_customer("Ledger Test Sdn Bhd", currency="MYR")


def post(customer: Customer, actor: Actor, kind: str, amount: Any, key: str, **extra: Any):
    return post_entry(
        customer,
        kind=kind,
        amount=amount,
        description=extra.pop("description", f"{kind} {amount}"),
        idempotency_key=key,
        actor=actor,
        **extra,
    )


def refused(code: ErrorCode, call: Any) -> DomainError:
    entries, events = Entry.objects.count(), Event.objects.count()
    with pytest.raises(DomainError) as caught:
        call()
    assert caught.value.code == code, caught.value.message
    assert Entry.objects.count() == entries
    assert Event.objects.count() == events
    return caught.value


# --- amounts ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "currency", "message"),
    [
        ("NaN", "MYR", "plain number"),
        ("Infinity", "MYR", "plain number"),
        ("1e309", "MYR", "plain number"),
        ("1,000.00", "MYR", "plain number"),
        ("12.345", "MYR", "at most 2 decimals"),
        ("12.5", "JPY", "no decimals"),
        ("0", "MYR", "cannot be zero"),
        ("0.00", "MYR", "cannot be zero"),
        ("-5", "MYR", "positive amount"),
        ("abc", "MYR", "plain number"),
        ("", "MYR", "Enter an amount"),
        ("1000000000", "MYR", "at most"),
        ("٣٤", "MYR", "plain number"),  # Arabic-Indic digits are not accepted silently
    ],
)
def test_bad_amounts_are_refused_with_a_reason(text: str, currency: str, message: str) -> None:
    with pytest.raises(AmountError, match=message):
        parse_amount(text, currency)


def test_floats_and_booleans_are_not_amounts() -> None:
    with pytest.raises(AmountError):
        parse_amount(0.1, "MYR")
    with pytest.raises(AmountError):
        parse_amount(True, "MYR")
    with pytest.raises(AmountError):
        parse_amount(Decimal("NaN"), "MYR")


def test_good_amounts_become_two_place_decimals() -> None:
    assert parse_amount("12.5", "MYR") == Decimal("12.50")
    assert parse_amount(" 7 ", "MYR") == Decimal("7.00")
    assert parse_amount(Decimal("3.10"), "MYR") == Decimal("3.10")
    assert parse_amount("1200", "JPY") == Decimal("1200.00")


def test_a_bad_amount_posts_nothing_and_names_the_field(customer, billing) -> None:
    error = refused(ErrorCode.INVALID, lambda: post(customer, billing, "top_up", "1e309", "k1"))
    assert "amount" in error.errors


@pytest.mark.parametrize("kind", ["reversal", "gift", ""])
def test_kinds_outside_the_postable_list_are_refused(customer, billing, kind) -> None:
    error = refused(ErrorCode.INVALID, lambda: post(customer, billing, kind, "10", "k1"))
    assert "kind" in error.errors


def test_description_and_key_are_required(customer, billing) -> None:
    error = refused(
        ErrorCode.INVALID,
        lambda: post(customer, billing, "top_up", "10", "", description="  "),
    )
    assert {"description", "idempotency_key"} <= set(error.errors)


def test_an_adjustment_needs_a_direction_and_a_reason(customer, billing) -> None:
    error = refused(ErrorCode.INVALID, lambda: post(customer, billing, "adjustment", "5", "k"))
    assert {"direction", "reason"} <= set(error.errors)


# --- prepaid rules -----------------------------------------------------------------------


def test_prepaid_top_up_then_charges_down_to_zero_but_not_below(customer, billing) -> None:
    posting = post(customer, billing, "top_up", "100.00", "t1")
    assert posting.created and posting.balance == Decimal("100.00")
    assert post(customer, billing, "charge", "60", "c1").balance == Decimal("40.00")
    assert post(customer, billing, "charge", "40", "c2").balance == Decimal("0.00")
    error = refused(ErrorCode.CONFLICT, lambda: post(customer, billing, "charge", "0.01", "c3"))
    assert "Not enough credits" in error.message
    assert balance_now(customer) == Decimal("0.00")


def test_a_withdrawal_cannot_exceed_the_credits(customer, billing) -> None:
    post(customer, billing, "top_up", "30", "t1")
    error = refused(
        ErrorCode.CONFLICT, lambda: post(customer, billing, "withdrawal", "30.01", "w1")
    )
    assert "MYR 30.00" in error.message
    assert post(customer, billing, "withdrawal", "30", "w2").balance == Decimal("0.00")


def test_a_debt_payment_needs_a_debt(customer, billing) -> None:
    error = refused(ErrorCode.CONFLICT, lambda: post(customer, billing, "debt_payment", "10", "d1"))
    assert "no debt" in error.message


# --- postpaid rules ----------------------------------------------------------------------


def postpaid(customer: Customer, manager: Actor, limit: str) -> Customer:
    return change_billing_mode(
        customer, billing_mode="postpaid", credit_limit=limit, reason="Net 30", actor=manager
    )


def test_postpaid_charges_create_debt_up_to_the_limit(customer, billing, manager) -> None:
    customer = postpaid(customer, manager, "500")
    assert post(customer, billing, "charge", "499.99", "c1").balance == Decimal("-499.99")
    error = refused(ErrorCode.CONFLICT, lambda: post(customer, billing, "charge", "0.02", "c2"))
    assert "credit limit of MYR 500.00" in error.message
    assert post(customer, billing, "charge", "0.01", "c3").balance == Decimal("-500.00")


def test_debt_payments_settle_the_debt_and_no_more(customer, billing, manager) -> None:
    customer = postpaid(customer, manager, "500")
    post(customer, billing, "charge", "200", "c1")
    error = refused(
        ErrorCode.CONFLICT, lambda: post(customer, billing, "debt_payment", "200.01", "d1")
    )
    assert "The debt is MYR 200.00" in error.message
    assert post(customer, billing, "debt_payment", "200", "d2").balance == Decimal("0.00")


def test_postpaid_without_a_limit_allows_no_debt(customer, billing, manager) -> None:
    customer = postpaid(customer, manager, "")
    refused(ErrorCode.CONFLICT, lambda: post(customer, billing, "charge", "1", "c1"))


# --- billing mode ------------------------------------------------------------------------


def test_postpaid_becomes_prepaid_only_without_debt(customer, billing, manager) -> None:
    customer = postpaid(customer, manager, "100")
    post(customer, billing, "charge", "10", "c1")
    with pytest.raises(DomainError, match=r"owes MYR 10\.00"):
        change_billing_mode(
            customer, billing_mode="prepaid", credit_limit=None, reason="x", actor=manager
        )
    assert Customer.objects.get(pk=customer.pk).billing_mode == "postpaid"
    post(customer, billing, "debt_payment", "10", "d1")
    changed = change_billing_mode(
        customer, billing_mode="prepaid", credit_limit=None, reason="Paid up", actor=manager
    )
    assert changed.billing_mode == "prepaid" and changed.credit_limit is None
    activity = Activity.objects.filter(verb="customer.billing_mode_changed").latest("id")
    assert activity.changes["billing_mode"] == ["postpaid", "prepaid"]
    assert activity.reason == "Paid up"


def test_a_limit_below_the_debt_is_refused(customer, billing, manager) -> None:
    customer = postpaid(customer, manager, "100")
    post(customer, billing, "charge", "80", "c1")
    with pytest.raises(DomainError, match="cannot be lower than the debt"):
        postpaid(customer, manager, "50")


@pytest.mark.parametrize("role", ["billing", "support"])
def test_only_managers_change_the_billing_mode(customer, role) -> None:
    actor = Actor(factories.make_staff(role, email=f"{role}2@staff.example"), Source.STAFF)
    with pytest.raises(DomainError) as caught:
        change_billing_mode(
            customer, billing_mode="postpaid", credit_limit="10", reason="x", actor=actor
        )
    assert caught.value.code == ErrorCode.NOT_ALLOWED


# --- reversals ---------------------------------------------------------------------------


def test_a_reversal_posts_the_opposite_once(customer, billing) -> None:
    post(customer, billing, "top_up", "100", "t1")
    charge = post(customer, billing, "charge", "25", "c1").entry
    reversal = reverse_entry(charge, reason="Charged twice", idempotency_key="r1", actor=billing)
    assert reversal.entry.amount == Decimal("25.00")
    assert reversal.entry.reverses_id == charge.pk
    assert reversal.balance == Decimal("100.00")
    error = refused(
        ErrorCode.CONFLICT,
        lambda: reverse_entry(charge, reason="again", idempotency_key="r2", actor=billing),
    )
    assert "already been reversed" in error.message
    refused(
        ErrorCode.CONFLICT,
        lambda: reverse_entry(reversal.entry, reason="x", idempotency_key="r3", actor=billing),
    )


def test_a_spent_prepaid_top_up_cannot_be_reversed(customer, billing) -> None:
    top_up = post(customer, billing, "top_up", "50", "t1").entry
    post(customer, billing, "charge", "30", "c1")
    error = refused(
        ErrorCode.CONFLICT,
        lambda: reverse_entry(top_up, reason="bounced", idempotency_key="r1", actor=billing),
    )
    assert "Not enough credits" in error.message


def test_a_reversal_needs_a_reason(customer, billing) -> None:
    entry = post(customer, billing, "top_up", "50", "t1").entry
    refused(
        ErrorCode.INVALID,
        lambda: reverse_entry(entry, reason=" ", idempotency_key="r1", actor=billing),
    )


def test_another_customers_entry_is_not_found_for_this_customer(customer, billing) -> None:
    other = factories.make_customer("Other Sdn Bhd")
    entry = post(other, billing, "top_up", "5", "t1").entry
    assert queries.entry_for(customer, entry.pk) is None
    assert queries.entry_for(other, entry.pk) == entry


# --- idempotency -------------------------------------------------------------------------


def test_the_same_key_five_times_gives_one_entry_and_the_same_answer(customer, billing) -> None:
    answers = [post(customer, billing, "top_up", "10.00", "same-key") for _ in range(5)]
    assert Entry.objects.filter(customer=customer).count() == 1
    assert {a.entry.pk for a in answers} == {answers[0].entry.pk}
    assert [a.created for a in answers] == [True, False, False, False, False]
    assert {a.balance for a in answers} == {Decimal("10.00")}
    assert Event.objects.filter(type="ledger.entry_posted").count() == 1


def test_a_key_reused_with_another_body_is_refused(customer, billing) -> None:
    post(customer, billing, "top_up", "10.00", "key-1")
    error = refused(ErrorCode.CONFLICT, lambda: post(customer, billing, "top_up", "11.00", "key-1"))
    assert "already used for a different posting" in error.message


def test_the_same_key_on_another_customer_is_another_posting(customer, billing) -> None:
    other = factories.make_customer("Other Sdn Bhd")
    post(customer, billing, "top_up", "10", "k")
    post(other, billing, "top_up", "10", "k")
    assert Entry.objects.filter(idempotency_key="k").count() == 2


# --- who may post ------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["support", "manager"])
def test_only_the_billing_team_posts_from_the_console(customer, role) -> None:
    actor = Actor(factories.make_staff(role, email=f"{role}3@staff.example"), Source.STAFF)
    refused(ErrorCode.NOT_ALLOWED, lambda: post(customer, actor, "top_up", "1", "k"))


def test_customers_never_post_money(customer) -> None:
    owner = factories.make_user("owner@example.org")
    factories.make_contact(customer, "owner", user=owner)
    refused(
        ErrorCode.NOT_ALLOWED,
        lambda: post(customer, Actor(owner, Source.PORTAL), "top_up", "1", "k"),
    )


def test_the_system_may_post(customer) -> None:
    assert post(customer, Actor.system(), "top_up", "1", "k").created


def test_a_closed_account_takes_no_postings(customer, billing) -> None:
    Customer.objects.filter(pk=customer.pk).update(status="closed", closed_at="2026-01-01T00:00Z")
    refused(ErrorCode.CONFLICT, lambda: post(customer, billing, "top_up", "1", "k"))


# --- records -----------------------------------------------------------------------------


def test_a_posting_writes_activity_an_event_and_locks_the_currency(customer, billing) -> None:
    assert not customer.currency_locked
    posting = post(customer, billing, "top_up", "12.50", "t1", external_reference="PAY-9")
    customer.refresh_from_db()
    assert customer.currency_locked
    activity = Activity.objects.get(verb="ledger.entry_posted")
    assert activity.customer_id == customer.pk
    assert activity.changes["balance"] == ["MYR 0.00", "MYR 12.50"]
    event = Event.objects.get(type="ledger.entry_posted")
    assert event.data["amount"] == "12.50" and event.data["balance_after"] == "12.50"
    assert event.data["external_reference"] == "PAY-9"
    assert event.actor["user_id"] == billing.user.pk
    assert posting.entry.actor_label == f"{billing.user} (staff)"


def test_entries_are_append_only(customer, billing) -> None:
    entry = post(customer, billing, "top_up", "1", "k").entry
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        Entry.objects.filter(pk=entry.pk).update(amount=5)
    with pytest.raises(AppendOnlyError):
        Entry.objects.all().delete()


def test_preview_shows_the_resulting_balance_and_writes_nothing(customer, billing) -> None:
    post(customer, billing, "top_up", "20", "t1")
    preview = preview_entry(
        customer, kind="charge", amount="7.5", description="Hosting", actor=billing
    )
    assert (preview.amount, preview.balance_before, preview.balance_after) == (
        Decimal("-7.50"),
        Decimal("20.00"),
        Decimal("12.50"),
    )
    assert Entry.objects.count() == 1
    with pytest.raises(DomainError):
        preview_entry(customer, kind="charge", amount="21", description="x", actor=billing)


def test_reconcile_finds_a_balance_that_drifted(customer, billing) -> None:
    post(customer, billing, "top_up", "20", "t1")
    post(customer, billing, "charge", "5", "c1")
    assert queries.reconcile() == []
    Balance.objects.filter(customer=customer).update(amount=Decimal("99.00"))
    [mismatch] = queries.reconcile()
    assert (mismatch.stored, mismatch.summed) == (Decimal("99.00"), Decimal("15.00"))


def test_the_summary_is_one_query_whatever_the_ledger_size(
    customer, billing, django_assert_num_queries
) -> None:
    for index in range(30):
        post(customer, billing, "top_up", "1", f"t{index}")
    with django_assert_num_queries(1):
        summary = queries.summary(customer)
    assert summary.balance == Decimal("30.00") and summary.entry_count == 30


def test_the_reconcile_command_fails_on_a_drifted_balance(customer, billing) -> None:
    from django.core.management import CommandError, call_command

    post(customer, billing, "top_up", "20", "t1")
    call_command("ledger_reconcile")
    Balance.objects.filter(customer=customer).update(entry_count=7)
    with pytest.raises(CommandError, match="1 balance"):
        call_command("ledger_reconcile")
