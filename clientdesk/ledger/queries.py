"""Reads of the ledger shared by the portal, the staff console and the API.

``statement`` pages entries newest first by keyset (``before`` = the last id seen), so page
500 costs what page 1 costs. ``reconcile`` proves every stored balance equals the sum of its
entries; ``manage.py ledger_reconcile`` runs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo
from decimal import Decimal

from django.db.models import BigIntegerField, Count, F, QuerySet, Sum
from django.db.models.functions import Cast, Round

from clientdesk.customers.models import Customer

from .models import Balance, Entry

PAGE_SIZE = 25


@dataclass(frozen=True)
class Summary:
    """The head of a billing page: what the customer has and may owe."""

    balance: Decimal
    billing_mode: str
    credit_limit: Decimal | None
    currency: str
    entry_count: int

    @property
    def is_prepaid(self) -> bool:
        return self.billing_mode == Customer.BillingMode.PREPAID

    @property
    def credits(self) -> Decimal:
        return max(self.balance, Decimal("0.00"))

    @property
    def debt(self) -> Decimal:
        return max(-self.balance, Decimal("0.00"))

    @property
    def available(self) -> Decimal:
        """What can still be charged: the credits, plus the unused limit for postpaid."""
        if self.is_prepaid:
            return self.credits
        return self.balance + (self.credit_limit or Decimal("0.00"))


def summary(customer: Customer) -> Summary:
    """One query: the balance row (constant time whatever the number of entries)."""
    row = Balance.objects.filter(customer=customer).values_list("amount", "entry_count").first()
    amount, count = row if row is not None else (Decimal("0.00"), 0)
    return Summary(
        balance=amount,
        billing_mode=customer.billing_mode,
        credit_limit=customer.credit_limit,
        currency=customer.currency,
        entry_count=count,
    )


@dataclass(frozen=True)
class Filters:
    kind: str = ""
    since: date | None = None  # in the customer's time zone, inclusive
    until: date | None = None  # inclusive


def entries(customer: Customer, filters: Filters, tz: tzinfo) -> QuerySet[Entry]:
    """The customer's entries matching ``filters``, newest first."""
    rows = Entry.objects.filter(customer=customer).select_related("reversed_by")
    if filters.kind in Entry.Kind.values:
        rows = rows.filter(kind=filters.kind)
    if filters.since is not None:
        rows = rows.filter(created_at__gte=datetime.combine(filters.since, time.min, tzinfo=tz))
    if filters.until is not None:
        rows = rows.filter(created_at__lte=datetime.combine(filters.until, time.max, tzinfo=tz))
    return rows.order_by("-id")


@dataclass(frozen=True)
class Page:
    rows: list[Entry]
    next_before: int | None  # pass as ``before`` for the next (older) page


def statement(
    customer: Customer,
    filters: Filters,
    tz: tzinfo,
    *,
    before: int | None = None,
    size: int = PAGE_SIZE,
) -> Page:
    """One page of entries, newest first, older than ``before`` (an entry id)."""
    rows = entries(customer, filters, tz)
    if before is not None:
        rows = rows.filter(id__lt=before)
    fetched = list(rows[: size + 1])
    more = len(fetched) > size
    page = fetched[:size]
    return Page(rows=page, next_before=page[-1].pk if more and page else None)


def entry_for(customer: Customer, entry_id: int) -> Entry | None:
    """An entry of this customer (another customer's id is None: a 404 for the caller)."""
    return Entry.objects.filter(customer=customer, pk=entry_id).first()


@dataclass(frozen=True)
class Mismatch:
    customer_id: int
    stored: Decimal
    summed: Decimal
    stored_count: int
    counted: int


def reconcile(customer_ids: list[int] | None = None) -> list[Mismatch]:
    """Customers whose stored balance (or entry count) differs from their entries' sum.

    An empty list is the proof the running balances are right. Customers with entries but no
    balance row, and balance rows without entries, are mismatches too."""
    # Summed in whole cents: SQLite adds decimal columns as floats (0.01 + … ≠ exact).
    cents = Sum(Cast(Round(F("amount") * 100), BigIntegerField()))
    sums = Entry.objects.values("customer_id").annotate(cents=cents, n=Count("id"))
    balances = Balance.objects.all()
    if customer_ids is not None:
        sums = sums.filter(customer_id__in=customer_ids)
        balances = balances.filter(customer_id__in=customer_ids)
    summed = {
        row["customer_id"]: (Decimal(row["cents"]) / 100, row["n"]) for row in sums.order_by()
    }
    stored = {row.customer_id: (row.amount, row.entry_count) for row in balances}
    mismatches = []
    for customer_id in sorted(summed.keys() | stored.keys()):
        total, counted = summed.get(customer_id, (Decimal("0.00"), 0))
        amount, count = stored.get(customer_id, (Decimal("0.00"), 0))
        if total != amount or counted != count:
            mismatches.append(Mismatch(customer_id, amount, total, count, counted))
    return mismatches
