"""A close racing a payment (PostgreSQL): the close checks the checklist and closes in one
transaction under the customer's row lock, the lock every ledger posting takes first. So a
top-up sent at the very moment a manager closes a zero-balance account either lands first
(and the close is refused: there are credits now) or comes second (and is refused: the
account is closed). Never a closed account with money on it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from clientdesk.core.actor import Actor, Source
from clientdesk.core.errors import DomainError
from clientdesk.customers.models import Customer
from clientdesk.ledger import actions as ledger
from clientdesk.ledger.models import Entry
from clientdesk.lifecycle import actions as lifecycle
from tests import factories

ROUNDS = 25
# The close holds its checklist this long before it writes: a payment that did not wait for
# the row lock would land inside that window (and the test would catch the closed account
# with money on it).
WINDOW = 0.05


def _top_up(customer: Customer, *, delay: float, **kwargs: Any) -> Any:
    time.sleep(delay)
    return ledger.post_entry(customer, **kwargs)


def race(close: Callable[[], Any], top_up: Callable[[], Any]) -> dict[str, str]:
    """Run both at once (a barrier releases them together); each outcome: done, refused or
    crash."""
    barrier = threading.Barrier(2, timeout=15)
    outcomes: dict[str, str] = {}

    def run(name: str, action: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            action()
            outcomes[name] = "done"
        except DomainError:
            outcomes[name] = "refused"
        except Exception as error:  # pragma: no cover - reported by the caller's assertion
            outcomes[name] = f"crash: {error!r}"
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=("close", close)),
        threading.Thread(target=run, args=("top_up", top_up)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_close_racing_a_top_up_never_leaves_money_on_a_closed_account(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checklist = lifecycle.close_checklist

    def slow_checklist(customer: Customer) -> lifecycle.Checklist:
        result = checklist(customer)
        time.sleep(WINDOW)
        return result

    monkeypatch.setattr(lifecycle, "close_checklist", slow_checklist)
    manager = Actor(factories.make_staff("manager"), Source.STAFF)
    billing = Actor(factories.make_staff("billing"), Source.STAFF)
    orders = {"top-up first": 0, "close first": 0}

    for round_number in range(ROUNDS):
        customer = factories.make_customer(f"Race {round_number} Sdn Bhd")
        assert lifecycle.close_checklist(customer).ok
        outcomes = race(
            lambda c=customer: lifecycle.close_customer(c, reason="Client left", actor=manager),
            lambda c=customer, n=round_number: _top_up(
                c,
                kind="top_up",
                amount="5.00",
                description="Bank transfer",
                idempotency_key=f"race-{n}",
                actor=billing,
                # Every other round the payment comes a moment later, inside the close's
                # window; otherwise both start together and either may win the lock.
                delay=WINDOW / 2 if n % 2 else 0,
            ),
        )
        after = Customer.objects.get(pk=customer.pk)
        balance = ledger.balance_now(after)
        entries = Entry.objects.filter(customer=after).count()
        state: Any = (round_number, outcomes, after.status, balance, entries)
        # Exactly one of the two went through, and the books agree with the outcome.
        assert sorted(outcomes.values()) == ["done", "refused"], state
        if outcomes["close"] == "done":
            assert after.status == Customer.Status.CLOSED, state
            assert balance == Decimal("0.00") and entries == 0, state
            orders["close first"] += 1
        else:
            assert after.status == Customer.Status.ACTIVE, state
            assert balance == Decimal("5.00") and entries == 1, state
            orders["top-up first"] += 1
        # The invariant itself, whatever the order.
        assert not (after.status == Customer.Status.CLOSED and balance != 0), state

    assert sum(orders.values()) == ROUNDS, orders
    print(f"close vs top-up, {ROUNDS} rounds: {orders}")
