"""``publish``: write an outbox event in the caller's transaction."""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction

from clientdesk.core.actor import Actor

from .catalogue import EVENT_TYPES
from .models import CustomerStream, Event


class OutsideTransactionError(RuntimeError):
    """An event written outside a transaction could survive a change that rolled back."""


def next_sequence(customer_id: int) -> int:
    """The customer's next event number, counted in the caller's transaction.

    One upsert (SQLite ≥ 3.35 and PostgreSQL both have ``ON CONFLICT … RETURNING``): the
    counter row is locked until commit, so numbers never repeat and, as the transaction
    rolls back with its event, never leave a gap.
    """
    table = connection.ops.quote_name(CustomerStream._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (customer_id, last_sequence) VALUES (%s, 1) "  # noqa: S608
            f"ON CONFLICT (customer_id) DO UPDATE SET last_sequence = {table}.last_sequence + 1 "
            "RETURNING last_sequence",
            [customer_id],
        )
        row = cursor.fetchone()
    assert row is not None
    return int(row[0])


def publish(
    event_type: str,
    *,
    actor: Actor,
    customer: Any = None,  # a customers.Customer; this leaf app does not import it
    data: dict[str, Any],
) -> Event:
    """Write one outbox event. Must run inside the action's ``transaction.atomic`` block."""
    if not transaction.get_connection().in_atomic_block:
        raise OutsideTransactionError(f"publish({event_type!r}) called outside a transaction")
    if event_type not in EVENT_TYPES:
        raise ValueError(f"{event_type!r} is not in events/catalogue.py (and docs/events.md)")
    return Event.objects.create(
        type=event_type,
        customer=customer,
        sequence=next_sequence(customer.pk) if customer is not None else None,
        data=data,
        actor=actor_payload(actor),
        request_id=actor.request_id,
    )


def actor_payload(actor: Actor) -> dict[str, Any]:
    """Who did it, as receivers see it: ids, never names (those are personal data)."""
    payload: dict[str, Any] = {
        "user_id": getattr(actor.user, "pk", None),
        "impersonator_id": getattr(actor.impersonator, "pk", None),
        "source": actor.interface.value,
    }
    if actor.api_key:
        payload["api_key"] = actor.api_key
    return payload
