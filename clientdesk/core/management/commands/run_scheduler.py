"""Enqueue the scheduled tasks of ``settings.CLIENTDESK_SCHEDULE`` when they are due.

Each entry is ``(dotted path of a task, interval in seconds)``. Safe to run on several
machines at once: a run is claimed by a conditional UPDATE of its ``ScheduledRun`` row, so
exactly one process enqueues it. ``--once`` checks once and exits (for cron).
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone
from django.utils.module_loading import import_string

from clientdesk.core.models import ScheduledRun


def run_due(now: Any = None) -> list[str]:
    """Enqueue every due task once; returns the paths enqueued."""
    now = now or timezone.now()
    enqueued = []
    for path, seconds in settings.CLIENTDESK_SCHEDULE:
        ScheduledRun.objects.get_or_create(name=path, defaults={"next_run_at": now})
        claimed = ScheduledRun.objects.filter(name=path, next_run_at__lte=now).update(
            next_run_at=now + timedelta(seconds=seconds), last_run_at=now
        )
        if claimed:
            import_string(path).enqueue()
            enqueued.append(path)
    return enqueued


class Command(BaseCommand):
    help = "Enqueue scheduled tasks when they are due (runs beside db_worker)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="check once and exit")
        parser.add_argument("--interval", type=float, default=30.0, help="seconds between checks")

    def handle(self, *args: Any, **options: Any) -> None:
        while True:
            for path in run_due():
                self.stdout.write(f"enqueued {path}")
            if options["once"]:
                return
            time.sleep(options["interval"])
