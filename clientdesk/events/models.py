"""The transactional outbox: events written in the same transaction as the change."""

from __future__ import annotations

import uuid

from django.db import models


class Event(models.Model):
    """Something that happened to a customer's data, for the provider's other systems.

    Written by ``events.publish`` inside the action's transaction, so an event exists if
    and only if its change committed. Two numbers order it:

    - ``sequence`` counts the customer's events (1, 2, 3 …, no gaps), allocated inside the
      writing transaction, so a receiver can tell an old update from a newer one;
    - ``position`` is given by the relay (``events.feed``) after commit, in the order events
      become visible, so a reader polling "everything after position N" never misses one
      that committed late. ``NULL`` until relayed.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=80)
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    sequence = models.PositiveBigIntegerField(null=True, blank=True)
    position = models.BigIntegerField(null=True, blank=True, unique=True)
    data = models.JSONField(default=dict)
    actor = models.JSONField(default=dict)
    occurred_at = models.DateTimeField(auto_now_add=True, db_index=True)
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [
            models.Index(fields=["type", "occurred_at"], name="events_event_type_idx"),
            # The relay's work list stays small however many events are already relayed.
            models.Index(
                fields=["occurred_at", "id"],
                condition=models.Q(position__isnull=True),
                name="events_event_unrelayed",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "sequence"],
                condition=models.Q(sequence__isnull=False),
                name="events_event_customer_sequence_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class CustomerStream(models.Model):
    """The last sequence number given to one customer's events (a counter row, so two
    transactions writing events for the same customer queue on it instead of colliding)."""

    customer = models.OneToOneField(
        "customers.Customer", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    last_sequence = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"customer {self.customer_id} at {self.last_sequence}"


class FeedCursor(models.Model):
    """One row: the last feed position handed out. The relay locks it, so positions are
    given by one relay at a time, strictly increasing."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_position = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"feed at {self.last_position}"
