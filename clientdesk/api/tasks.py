"""Scheduled API housekeeping (listed in ``settings.CLIENTDESK_SCHEDULE``)."""

from __future__ import annotations

from django_tasks import task

from . import idempotency


@task()
def prune_idempotency_keys() -> int:
    return idempotency.prune()
