"""What the API must remember between requests: idempotent responses."""

from __future__ import annotations

from django.db import models


class IdempotentRequest(models.Model):
    """The first answer to a POST sent with an ``Idempotency-Key``: the same key with the
    same body within 24 hours gets this answer again instead of a second change; with
    another body it is refused (422). ``status`` 0 means the first request is still running."""

    api_key = models.ForeignKey("apikeys.ApiKey", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)  # SHA-256 of method, path and body
    status = models.PositiveSmallIntegerField(default=0)
    body = models.BinaryField(blank=True)
    headers = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["api_key", "key"], name="api_idempotency_once"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.status or 'running'})"
