"""The mail log: one row per email the product sends."""

from __future__ import annotations

from django.db import models


class MailLog(models.Model):
    """An email: who it went to, what it was, and whether it left.

    The rendered bodies (``text_body``, ``html_body``) are kept only until the message is
    delivered, because they can hold single-use links (password resets, invitations) that
    must not outlive delivery. ``kept_text`` is the text with those links and other secrets
    removed (``redaction.redact``), made when the email is queued and kept for good: it is
    the only body staff read in the mail log.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    to = models.CharField(max_length=1000)
    subject = models.CharField(max_length=500)
    template = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    # The related customer, if any (this leaf app does not import customers).
    customer_id = models.BigIntegerField(null=True, blank=True)
    text_body = models.TextField(blank=True)
    html_body = models.TextField(blank=True)
    kept_text = models.TextField(
        blank=True, help_text="The text with single-use links and secrets removed."
    )
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "mail log entry"
        verbose_name_plural = "mail log"
        # The staff mail log pages newest first by id (keyset); each filter has an index
        # that walks in that order.
        indexes = [
            models.Index(fields=["customer_id", "-id"], name="notif_mail_customer_idx"),
            models.Index(fields=["status", "-id"], name="notif_mail_status_idx"),
            models.Index(fields=["template", "-id"], name="notif_mail_template_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.template} to {self.to} ({self.status})"

    @property
    def recipients(self) -> list[str]:
        return [address for address in self.to.split(",") if address]
