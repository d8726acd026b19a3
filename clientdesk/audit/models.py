"""The activity trail: append-only records of who changed what, when and why."""

from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models


class AppendOnlyError(Exception):
    """Activity rows are evidence: they are written once and never changed or removed."""


class ActivityQuerySet(models.QuerySet["Activity"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("Activity is append-only.")

    def delete(self) -> NoReturn:
        raise AppendOnlyError("Activity is append-only.")

    def for_customer(self, customer_id: int, *, include_staff_only: bool) -> ActivityQuerySet:
        qs = self.filter(customer_id=customer_id)
        return qs if include_staff_only else qs.filter(staff_only=False)


class Activity(models.Model):
    """One recorded change. ``actor`` did it; ``impersonator`` is the staff member who acted
    as that user through Login As; ``changes`` maps each field to ``[old, new]``.
    ``staff_only`` rows (notes, internal steps) are never shown to customers."""

    class Source(models.TextChoices):
        PORTAL = "portal", "Portal"
        STAFF = "staff", "Staff console"
        API = "api", "API"
        SYSTEM = "system", "System"

    occurred_at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=300)
    impersonator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    source = models.CharField(max_length=10, choices=Source.choices)
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # covered by the (customer, id) index below
    )
    verb = models.CharField(max_length=80)
    target_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    target_id = models.CharField(max_length=64, blank=True)
    target_repr = models.CharField(max_length=300, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True)
    staff_only = models.BooleanField(default=False)
    ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)

    objects = ActivityQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "activity"
        indexes = [
            models.Index(fields=["customer", "-id"], name="audit_activity_customer_idx"),
            models.Index(fields=["actor", "-id"], name="audit_activity_actor_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.actor_label} {self.verb} {self.target_repr}".strip()

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("Activity is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("Activity is append-only.")
