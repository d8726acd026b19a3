"""The transactional outbox: events written in the same transaction as the change."""

from __future__ import annotations

import uuid

from django.db import models


class Event(models.Model):
    """Something that happened to a customer's data, for the provider's other systems.

    Written by ``events.publish`` inside the action's transaction, so an event exists if
    and only if its change committed. Delivery to webhooks reads from here.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=80)
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    data = models.JSONField(default=dict)
    actor = models.JSONField(default=dict)
    occurred_at = models.DateTimeField(auto_now_add=True, db_index=True)
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["type", "occurred_at"], name="events_event_type_idx")]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"
