"""API keys: how programs act in Clientdesk, as the person who made the key."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ApiKey(models.Model):
    """A bearer token. Only its SHA-256 is stored (the token is 256 random bits, so a fast
    hash is safe); ``prefix`` is the visible start that names the key in lists, Activity
    and events.

    A *customer key* belongs to one customer and acts as the owner or admin who made it,
    with that person's current role. A *staff key* acts as the staff member who made it,
    with their current groups, optionally only for some customers. Either way ``scopes``
    narrow what the key may do; they never widen what its maker may do.
    """

    class Kind(models.TextChoices):
        STAFF = "staff", "Staff key"
        CUSTOMER = "customer", "Customer key"

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    prefix = models.CharField(max_length=16, unique=True)
    token_hash = models.CharField(max_length=64)
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_keys",
    )
    # Staff keys only: limited to these customers (none: every customer).
    customers = models.ManyToManyField("customers.Customer", blank=True, related_name="+")
    scopes = models.JSONField(default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_keys"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(kind="customer", customer__isnull=False)
                    | models.Q(kind="staff", customer__isnull=True)
                ),
                name="apikeys_customer_key_has_customer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
