"""Webhook endpoints and the delivery of outbox events to them."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class WebhookEndpoint(models.Model):
    """A URL of one of the provider's other systems that receives events.

    ``event_types`` empty means every type; an entry ending in ``.*`` matches a family
    (``contact.*``). ``customers`` empty means every customer; otherwise only those
    customers' events (events without a customer, like tax rules, then never match).
    The signing secret is stored encrypted (``signing.py``): it must be read back to sign.
    """

    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=300, blank=True)
    target = models.CharField(
        max_length=60, help_text='The system it feeds, e.g. "Billing", "cPanel", "WHOIS".'
    )
    event_types = models.JSONField(default=list, blank=True)
    customers = models.ManyToManyField("customers.Customer", blank=True, related_name="+")
    is_active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    secret_encrypted = models.TextField()
    secret_hint = models.CharField(max_length=20)  # "whsec_Ab12…", to tell secrets apart
    previous_secret_encrypted = models.TextField(blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # Set by the first failed delivery after a success; cleared by the next success.
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["target", "url", "id"]

    def __str__(self) -> str:
        return f"{self.target}: {self.url}"


class Delivery(models.Model):
    """One event on its way to one endpoint. ``webhook-id`` is the event's id, the same
    on every attempt, so a receiver can drop a redelivery it already processed."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        SENDING = "sending", "Sending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    event = models.ForeignKey("events.Event", on_delete=models.CASCADE, related_name="+")
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    # Copied from the event so the Integrations tab filters without a join.
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # covered by the (customer, id) index below
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)  # all attempts, for numbering
    # Failed attempts in the current retry schedule; a replay starts a fresh schedule.
    schedule_step = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    # While SENDING: when the claim runs out. A worker that died leaves the row to be
    # claimed again after this time — never stuck, never lost.
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The worker's queue: only unfinished rows, so it stays small however many
            # deliveries are done (and the prune job removes those later).
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="webhooks_delivery_due",
            ),
            models.Index(
                fields=["lease_expires_at"],
                condition=models.Q(status="sending"),
                name="webhooks_delivery_leased",
            ),
            models.Index(fields=["endpoint", "status", "id"], name="webhooks_delivery_endpoint"),
            models.Index(fields=["customer", "id"], name="webhooks_delivery_customer"),
            models.Index(fields=["finished_at"], name="webhooks_delivery_finished"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="webhooks_delivery_once"),
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} ({self.status})"

    @property
    def webhook_id(self) -> str:
        return f"evt_{self.event_id.hex}"


class DeliveryAttempt(models.Model):
    """One POST and what came back (or why nothing did)."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["delivery", "number"]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
