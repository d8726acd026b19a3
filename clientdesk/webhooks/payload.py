"""What a receiver gets: the event in an envelope, as compact JSON."""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from clientdesk.events.models import Event


def message_id(event: Event) -> str:
    """The ``webhook-id``: the event's, so it is the same on every attempt and endpoint."""
    return f"evt_{event.id.hex}"


def envelope(event: Event) -> dict[str, Any]:
    """The event as docs/events.md describes it. ``sequence`` counts the customer's events:
    a receiver that already holds a higher one for this customer has newer data."""
    return {
        "id": message_id(event),
        "type": event.type,
        "occurred_at": event.occurred_at.isoformat().replace("+00:00", "Z"),
        "customer": event.customer.client_id if event.customer is not None else None,
        "sequence": event.sequence,
        "position": event.position,
        "actor": event.actor,
        "data": event.data,
    }


def body(event: Event) -> bytes:
    return json.dumps(
        envelope(event), cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":")
    ).encode()
