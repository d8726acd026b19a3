"""``publish``: write an outbox event in the caller's transaction."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from clientdesk.core.actor import Actor

from .models import Event


class OutsideTransactionError(RuntimeError):
    """An event written outside a transaction could survive a change that rolled back."""


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
    return Event.objects.create(
        type=event_type,
        customer=customer,
        data=data,
        actor={
            "user_id": getattr(actor.user, "pk", None),
            "impersonator_id": getattr(actor.impersonator, "pk", None),
            "source": actor.source.value,
        },
        request_id=actor.request_id,
    )
