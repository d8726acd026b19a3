"""A Login As session: a staff member using the portal as one of a customer's users."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from clientdesk.customers.models import Customer


class LoginAsSession(models.Model):
    """Who (``staff``) signed in as whom (``user``) for which customer, why, and until when.

    Ended sessions are kept as the record. A staff member has at most one open session (a
    database constraint); it ends when they end it, when it expires, or when they sign out.
    """

    class EndReason(models.TextChoices):
        ENDED = "ended", "Ended by staff"
        EXPIRED = "expired", "Time limit reached"
        SIGNED_OUT = "signed_out", "Staff signed out"
        REPLACED = "replaced", "Replaced by a new session"

    staff = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    contact_name = models.CharField(max_length=200)
    reason = models.CharField(max_length=500)
    started_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=12, choices=EndReason.choices, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["staff"],
                condition=models.Q(ended_at__isnull=True),
                name="remote_support_one_open_session_per_staff",
            ),
            models.CheckConstraint(
                condition=~models.Q(reason=""), name="remote_support_reason_required"
            ),
        ]
        indexes = [models.Index(fields=["customer", "-id"], name="remote_support_customer_idx")]

    def __str__(self) -> str:
        return f"{self.staff} as {self.contact_name}"

    @property
    def is_open(self) -> bool:
        return self.ended_at is None
