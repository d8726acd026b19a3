"""Scheduled webhook housekeeping (listed in ``settings.CLIENTDESK_SCHEDULE``)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_tasks import task

from .models import Delivery

PRUNE_BATCH = 5000


def prune() -> int:
    """Delete delivered rows after ``CLIENTDESK_WEBHOOK_DELIVERED_DAYS`` and failed ones
    after ``CLIENTDESK_WEBHOOK_FAILED_DAYS`` (their attempt logs go with them), in batches
    so no long lock is held. The events themselves stay (the API's feed reads them)."""
    current = timezone.now()
    cutoffs = {
        Delivery.Status.DELIVERED: current
        - timedelta(days=settings.CLIENTDESK_WEBHOOK_DELIVERED_DAYS),
        Delivery.Status.FAILED: current - timedelta(days=settings.CLIENTDESK_WEBHOOK_FAILED_DAYS),
    }
    removed = 0
    for status, cutoff in cutoffs.items():
        while True:
            ids = list(
                Delivery.objects.filter(finished_at__lt=cutoff, status=status).values_list(
                    "pk", flat=True
                )[:PRUNE_BATCH]
            )
            if not ids:
                break
            Delivery.objects.filter(pk__in=ids).delete()
            removed += len(ids)
    return removed


@task()
def prune_deliveries() -> int:
    return prune()
