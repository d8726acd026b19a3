"""Fifty charges at once against one prepaid balance: the shared body of the concurrency
tests (in-process threads on PostgreSQL; a separate process with a file database on SQLite,
where the test database lives in memory and cannot be shared between threads)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from decimal import Decimal

from django.db import close_old_connections, connection

from clientdesk.core.actor import Actor, Source
from clientdesk.core.errors import DomainError
from clientdesk.customers.models import Customer
from clientdesk.ledger.actions import post_entry
from clientdesk.ledger.models import Balance, Entry
from clientdesk.users.models import User


@dataclass(frozen=True)
class RaceResult:
    succeeded: int
    refused: int
    errors: list[str]
    balance: Decimal
    summed: Decimal
    lowest_balance_after: Decimal
    replays_created: int
    replays_replayed: int
    same_key_entries: int


def set_up(*, covered: int, amount: Decimal) -> tuple[Customer, User]:
    """A prepaid customer whose credits cover exactly ``covered`` charges of ``amount``."""
    from tests import factories

    staff = factories.make_staff("billing", email="racer@staff.example")
    customer = factories.make_customer("Race Sdn Bhd")
    post_entry(
        customer,
        kind="top_up",
        amount=amount * covered,
        description="Prepaid credits",
        idempotency_key="initial",
        actor=Actor(staff, Source.STAFF),
    )
    return customer, staff


def run(customer: Customer, staff: User, *, writers: int, amount: Decimal) -> RaceResult:
    """``writers`` threads post one charge each, released together by a barrier; then five
    more threads post the *same* idempotency key at once."""
    actor = Actor(staff, Source.STAFF)
    outcomes: list[str] = []
    lock = threading.Lock()

    def charge(index: int, key: str, barrier: threading.Barrier) -> None:
        try:
            barrier.wait()
            posting = post_entry(
                customer,
                kind="charge",
                amount=amount,
                description=f"Usage {key}",
                idempotency_key=key,
                actor=actor,
            )
            outcome = "created" if posting.created else "replayed"
        except DomainError:
            outcome = "refused"
        except Exception as exc:  # a lock error or deadlock would land here
            outcome = f"error: {type(exc).__name__}: {exc}"
        finally:
            close_old_connections()
            connection.close()
        with lock:
            outcomes.append(outcome)

    def race(keys: list[str]) -> list[str]:
        outcomes.clear()
        barrier = threading.Barrier(len(keys), timeout=60)
        threads = [
            threading.Thread(target=charge, args=(i, key, barrier)) for i, key in enumerate(keys)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        return list(outcomes)

    first = race([f"charge-{i}" for i in range(writers)])
    # Then one more charge's worth of credits, and five threads posting the same key.
    post_entry(
        customer,
        kind="top_up",
        amount=amount,
        description="One more",
        idempotency_key="top-up-2",
        actor=actor,
    )
    second = race(["same-key"] * 5)
    entries = list(Entry.objects.filter(customer=customer).values_list("amount", "balance_after"))
    stored = Balance.objects.get(customer=customer).amount
    return RaceResult(
        succeeded=first.count("created"),
        refused=first.count("refused"),
        errors=[o for o in first + second if o.startswith("error")],
        balance=stored,
        summed=sum((a for a, _ in entries), Decimal("0.00")),
        lowest_balance_after=min(b for _, b in entries),
        replays_created=second.count("created"),
        replays_replayed=second.count("replayed"),
        same_key_entries=Entry.objects.filter(idempotency_key="same-key").count(),
    )
