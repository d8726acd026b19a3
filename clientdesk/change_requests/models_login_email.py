"""A login email change the owner asked for themselves (verified self-service, issue 7 item 9).

Only when ``CLIENTDESK_SELF_SERVICE_EMAIL_CHANGE`` is on. The owner asks for a new address;
a link goes to that address and a notice with a "this was not me" link to the old one. Only
the SHA-256 of each link's token is stored, so the database never holds a usable link. At
most one change is pending per user (a database constraint): a newer request supersedes the
older one, whose link stops working. Expiry is not a status: a pending change whose
``expires_at`` has passed is expired (``is_expired``).
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone

from clientdesk.customers.models import Customer


class LoginEmailChangeStatus(models.TextChoices):
    PENDING = "pending", "Waiting for the new address to be verified"
    CONFIRMED = "confirmed", "Verified and applied"
    CANCELLED = "cancelled", "Cancelled (reported as not made by the owner)"
    SUPERSEDED = "superseded", "Replaced by a newer request"


class LoginEmailChange(models.Model):
    """``user`` (the owner, acting from ``customer``) asked to sign in with ``new_email``
    instead of ``old_email``."""

    Status: ClassVar[type[LoginEmailChangeStatus]] = LoginEmailChangeStatus

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="login_email_changes"
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="login_email_changes"
    )
    old_email = models.EmailField(max_length=254)
    new_email = models.EmailField(max_length=254)
    token_hash = models.CharField(max_length=64, unique=True)  # the verification link's
    not_me_token_hash = models.CharField(max_length=64, unique=True)  # the old address's link
    status = models.CharField(
        max_length=12,
        choices=LoginEmailChangeStatus.choices,
        default=LoginEmailChangeStatus.PENDING,
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    # When "this was not me" was reported from the old address (repeated clicks do nothing).
    reported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(status=LoginEmailChangeStatus.PENDING),
                name="login_email_change_one_pending_per_user",
            ),
        ]
        indexes = [models.Index(fields=["customer", "-id"], name="login_email_change_cust_idx")]

    def __str__(self) -> str:
        return f"Login email change to {self.new_email}"

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.expires_at <= (now or timezone.now())

    @property
    def is_pending(self) -> bool:
        return self.status == LoginEmailChangeStatus.PENDING
