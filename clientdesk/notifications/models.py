"""The mail log: one row per email the product sends."""

from __future__ import annotations

from django.db import models


class MailLog(models.Model):
    """An email: who it went to, what it was, and whether it left.

    The rendered bodies are kept only until the message is delivered, because they can
    hold single-use links (password resets, invitations) that must not outlive delivery.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    to = models.CharField(max_length=1000)
    subject = models.CharField(max_length=500)
    template = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    customer_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    text_body = models.TextField(blank=True)
    html_body = models.TextField(blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "mail log entry"
        verbose_name_plural = "mail log"

    def __str__(self) -> str:
        return f"{self.template} to {self.to} ({self.status})"

    @property
    def recipients(self) -> list[str]:
        return [address for address in self.to.split(",") if address]
