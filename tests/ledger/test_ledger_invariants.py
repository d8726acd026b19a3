"""The ledger's invariants under random postings, as a Hypothesis state machine.

A model of the balance runs beside the real ledger. Every step is tried against the real
actions; the model predicts whether it must be accepted or refused, and both must agree.
After every step: the stored balance equals the sum of the entries and the model, a prepaid
balance is never negative, a postpaid balance never beyond the credit limit.
"""

from __future__ import annotations

from decimal import Decimal
from itertools import count

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from clientdesk.core.actor import Actor, Source
from clientdesk.core.errors import DomainError
from clientdesk.ledger import queries
from clientdesk.ledger.actions import change_billing_mode, post_entry, reverse_entry
from clientdesk.ledger.models import Balance, Entry
from tests import factories

pytestmark = pytest.mark.django_db

AMOUNTS = st.decimals(
    min_value=Decimal("0.01"), max_value=Decimal("500.00"), places=2, allow_nan=False
)
ZERO = Decimal("0.00")
_numbers = count()


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        n = next(_numbers)
        self.customer = factories.make_customer(f"Invariant {n} Sdn Bhd")
        self.billing = Actor(
            factories.make_staff("billing", email=f"billing{n}@staff.example"), Source.STAFF
        )
        self.manager = Actor(
            factories.make_staff("manager", email=f"manager{n}@staff.example"), Source.STAFF
        )
        self.balance = ZERO
        self.mode = "prepaid"
        self.limit = ZERO
        self.keys = count()
        self.reversible: list[Entry] = []

    # --- the model's predictions --------------------------------------------------------

    @property
    def floor(self) -> Decimal:
        return -self.limit if self.mode == "postpaid" else ZERO

    def attempt(self, kind: str, amount: Decimal, *, accepted: bool, **extra: str) -> None:
        key = f"k{next(self.keys)}"
        try:
            posting = post_entry(
                self.customer,
                kind=kind,
                amount=amount,
                description=f"{kind} {amount}",
                idempotency_key=key,
                actor=self.billing,
                **extra,
            )
        except DomainError as error:
            refusal = error.message
        else:
            refusal = ""
        if refusal:
            assert not accepted, f"{kind} {amount} refused: {refusal}"
            return
        assert accepted, f"{kind} {amount} accepted from {self.balance} (floor {self.floor})"
        signed = posting.entry.amount
        self.balance += signed
        assert posting.balance == self.balance
        self.reversible.append(posting.entry)

    # --- rules --------------------------------------------------------------------------

    @rule(amount=AMOUNTS)
    def top_up(self, amount: Decimal) -> None:
        self.attempt("top_up", amount, accepted=True)

    @rule(amount=AMOUNTS)
    def charge(self, amount: Decimal) -> None:
        self.attempt("charge", amount, accepted=self.balance - amount >= self.floor)

    @rule(amount=AMOUNTS)
    def withdraw(self, amount: Decimal) -> None:
        self.attempt("withdrawal", amount, accepted=amount <= max(self.balance, ZERO))

    @rule(amount=AMOUNTS)
    def pay_debt(self, amount: Decimal) -> None:
        debt = max(-self.balance, ZERO)
        self.attempt("debt_payment", amount, accepted=ZERO < amount <= debt)

    @rule(amount=AMOUNTS, credit=st.booleans())
    def adjust(self, amount: Decimal, credit: bool) -> None:
        accepted = credit or self.balance - amount >= self.floor
        self.attempt(
            "adjustment",
            amount,
            accepted=accepted,
            direction="credit" if credit else "debit",
            reason="Goodwill" if credit else "Correction",
        )

    @precondition(lambda self: bool(self.reversible))
    @rule(data=st.data())
    def reverse(self, data: st.DataObject) -> None:
        entry = data.draw(st.sampled_from(self.reversible))
        accepted = -entry.amount >= 0 or self.balance - entry.amount >= self.floor
        try:
            posting = reverse_entry(
                entry, reason="Mistake", idempotency_key=f"r{next(self.keys)}", actor=self.billing
            )
        except DomainError as error:
            refusal = error.message
        else:
            refusal = ""
        if refusal:
            assert not accepted, f"reversal of {entry.amount} refused: {refusal}"
            return
        assert accepted
        self.reversible.remove(entry)
        self.balance -= entry.amount
        assert posting.balance == self.balance

    @rule(limit=st.sampled_from([ZERO, Decimal("100.00"), Decimal("1000.00")]))
    def go_postpaid(self, limit: Decimal) -> None:
        accepted = self.balance >= -limit
        try:
            change_billing_mode(
                self.customer,
                billing_mode="postpaid",
                credit_limit=str(limit),
                reason="terms",
                actor=self.manager,
            )
        except DomainError:
            assert not accepted
            return
        assert accepted
        self.mode, self.limit = "postpaid", limit
        self.customer.refresh_from_db()

    @rule()
    def go_prepaid(self) -> None:
        accepted = self.balance >= ZERO
        try:
            change_billing_mode(
                self.customer,
                billing_mode="prepaid",
                credit_limit=None,
                reason="terms",
                actor=self.manager,
            )
        except DomainError:
            assert not accepted
            return
        assert accepted
        self.mode, self.limit = "prepaid", ZERO
        self.customer.refresh_from_db()

    # --- invariants ---------------------------------------------------------------------

    @invariant()
    def balance_equals_the_sum_of_entries_and_the_model(self) -> None:
        stored = Balance.objects.filter(customer=self.customer).first()
        summed = sum(
            Entry.objects.filter(customer=self.customer).values_list("amount", flat=True), ZERO
        )
        assert (stored.amount if stored else ZERO) == summed == self.balance
        assert queries.reconcile([self.customer.pk]) == []

    @invariant()
    def never_below_the_floor(self) -> None:
        assert self.balance >= self.floor
        if self.mode == "prepaid":
            assert self.balance >= ZERO


def test_ledger_invariants_hold_under_random_postings() -> None:
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=40,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
