"""The event feed: relayed events in the order they became visible.

An event's ``occurred_at`` is when its transaction *started* writing; a long transaction can
commit after a later one, so "events after time T" would skip it. The relay instead gives
each committed event a ``position`` when it first sees it, one relay at a time (the
``FeedCursor`` row is locked), so positions only grow in the order readers can see events.
Webhook fan-out runs in the same transaction as the numbering: an event gets a position
exactly when its deliveries exist.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import connection, transaction

from .models import Event, FeedCursor

RELAY_BATCH = 1000


def relay(
    *, batch: int = RELAY_BATCH, fan_out: Callable[[list[Event]], object] | None = None
) -> int:
    """Number up to ``batch`` unrelayed events; ``fan_out`` (in the same transaction) creates
    what must follow from them. Returns how many were relayed."""
    with transaction.atomic():
        # The row comes with the migration; a flushed test database may lack it. Safe when
        # two relays start at once (ON CONFLICT DO NOTHING).
        FeedCursor.objects.bulk_create([FeedCursor(pk=1)], ignore_conflicts=True)
        cursor = FeedCursor.objects.select_for_update().get(pk=1)
        events = list(
            Event.objects.filter(position__isnull=True)
            .select_related("customer")
            .order_by("occurred_at", "id")[:batch]
        )
        if not events:
            return 0
        for offset, event in enumerate(events, start=1):
            event.position = cursor.last_position + offset
        # One executemany: much cheaper than bulk_update's CASE expression.
        table = connection.ops.quote_name(Event._meta.db_table)
        primary_key = Event._meta.pk
        assert primary_key is not None
        with connection.cursor() as db:
            db.executemany(
                f"UPDATE {table} SET position = %s WHERE id = %s",  # noqa: S608
                [
                    (event.position, primary_key.get_db_prep_value(event.pk, connection))
                    for event in events
                ],
            )
        cursor.last_position += len(events)
        cursor.save(update_fields=["last_position"])
        if fan_out is not None:
            fan_out(events)
    return len(events)


def events_after(position: int, *, limit: int) -> list[Event]:
    """Relayed events after ``position``, oldest first (the API's polling feed)."""
    return list(
        Event.objects.filter(position__gt=position)
        .select_related("customer")
        .order_by("position")[:limit]
    )
