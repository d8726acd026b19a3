"""Exports of customer data: each one is recorded in Activity.

An export changes no customer data, so it publishes no outbox event (nothing for other
systems to sync); it is recorded because a bulk copy of customer data leaving the system is
something an auditor asks about: who, when, from where, which filters, how many rows. The
row is ``staff_only`` and belongs to no single customer (``customer=None``), so it appears in
no customer's trail.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from clientdesk.audit.models import Activity
from clientdesk.audit.record import record
from clientdesk.core.actor import Actor
from clientdesk.core.errors import DomainError, ErrorCode

EXPORT_VERB = "customers.exported"


def record_customer_export(*, actor: Actor, filters: dict[str, Any], row_count: int) -> Activity:
    """Record that ``actor`` exported the customer list with ``filters`` (JSON-safe values:
    the filters and sort in force) and ``row_count`` rows. Staff only."""
    user = actor.user
    if user is None or not user.is_active or not (user.is_staff or user.is_superuser):
        raise DomainError(ErrorCode.NOT_ALLOWED, "Only staff export the customer list.")
    if row_count < 0:
        raise DomainError(ErrorCode.INVALID, "The row count cannot be negative.", field="row_count")
    with transaction.atomic():
        return record(
            EXPORT_VERB,
            actor=actor,
            customer=None,
            changes={"filters": [None, dict(filters)], "rows": [None, row_count]},
            staff_only=True,
        )
