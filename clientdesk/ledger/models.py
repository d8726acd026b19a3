"""The ledger: append-only money entries per customer, and the balance they add up to.

The balance is *credits minus debts*: a top-up or a debt payment raises it, a charge or a
refund of credits lowers it. Prepaid customers may not go below zero; postpaid customers may
owe up to their credit limit. ``Balance`` holds the running sum, updated in the posting's
transaction under the customer's row lock, so reading it costs one row whatever the number
of entries; ``queries.reconcile`` proves it equals the sum of the entries.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.utils import timezone

from clientdesk.audit.models import AppendOnlyError
from clientdesk.customers.models import Customer

APPEND_ONLY = "Ledger entries are append-only: post a reversal instead."


class EntryQuerySet(models.QuerySet["Entry"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError(APPEND_ONLY)

    def delete(self) -> NoReturn:
        raise AppendOnlyError(APPEND_ONLY)


class Entry(models.Model):
    """One posting. ``amount`` is signed from the customer's side: positive adds credit (or
    settles debt), negative spends credit (or creates debt). A correction is a reversal: a new
    entry of the opposite amount that points at the one it reverses; an entry is reversed at
    most once (a unique column), and a reversal is never reversed itself."""

    class Kind(models.TextChoices):
        TOP_UP = "top_up", "Credit top-up"
        CHARGE = "charge", "Charge"
        WITHDRAWAL = "withdrawal", "Credit withdrawal (refund)"
        DEBT_PAYMENT = "debt_payment", "Debt payment"
        ADJUSTMENT = "adjustment", "Adjustment"
        REVERSAL = "reversal", "Reversal"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="ledger_entries")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    balance_after = models.DecimalField(max_digits=14, decimal_places=2)
    description = models.CharField(max_length=300)
    external_reference = models.CharField(max_length=100, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    # A client's key for "this posting": the same key again returns the first answer.
    idempotency_key = models.CharField(max_length=100)
    # What was asked under that key; a different body with the same key is refused.
    fingerprint = models.CharField(max_length=64)
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=300)
    impersonator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    source = models.CharField(max_length=10)
    created_at = models.DateTimeField(default=timezone.now)

    objects = EntryQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "entries"
        indexes = [
            models.Index(fields=["customer", "-id"], name="ledger_entry_customer_idx"),
            models.Index(fields=["customer", "kind", "-id"], name="ledger_entry_kind_idx"),
            # The statement joins each entry to its reversal (``reversed_by``). The unique
            # index on ``reverses`` serves that, but SQLite's statistics count the NULLs of
            # all the entries that are not reversals as one value: after ANALYZE the planner
            # expects thousands of rows per lookup and scans the whole table for every entry
            # of the page instead. This index holds only reversals, so it stays selective.
            models.Index(
                fields=["reverses"],
                condition=models.Q(reverses__isnull=False),
                name="ledger_entry_reversal_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "idempotency_key"], name="ledger_entry_unique_idempotency_key"
            ),
            models.CheckConstraint(
                condition=~models.Q(amount=Decimal("0")), name="ledger_entry_amount_not_zero"
            ),
            # The kind decides the direction; only adjustments and reversals go either way.
            models.CheckConstraint(
                condition=models.Q(kind__in=["top_up", "debt_payment"], amount__gt=0)
                | models.Q(kind__in=["charge", "withdrawal"], amount__lt=0)
                | models.Q(kind="adjustment")
                | models.Q(kind="reversal", reverses__isnull=False),
                name="ledger_entry_direction_fits_kind",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="reversal") | models.Q(reverses__isnull=True),
                name="ledger_entry_only_reversals_reverse",
            ),
            models.CheckConstraint(
                condition=~models.Q(idempotency_key=""), name="ledger_entry_key_required"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.currency} {self.amount:,.2f}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError(APPEND_ONLY)
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError(APPEND_ONLY)


class Balance(models.Model):
    """The customer's running balance: the sum of their entries, kept in step by the posting
    action (same transaction, customer row locked). Absent means no entry yet: zero."""

    customer = models.OneToOneField(
        Customer, primary_key=True, on_delete=models.PROTECT, related_name="ledger_balance"
    )
    amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    entry_count = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.amount}"
