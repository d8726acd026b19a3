"""Shared model primitives. No business rules live here."""

from __future__ import annotations

from django.db import models, transaction


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Counter(models.Model):
    """A named, monotonically increasing number (client IDs, request numbers).

    Numbers come from here rather than from MAX()+1 so that a number is never handed out
    twice, even after the row that used it is gone.
    """

    name = models.CharField(max_length=50, primary_key=True)
    value = models.BigIntegerField()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name}={self.value}"

    @classmethod
    def next(cls, name: str, *, start: int) -> int:
        """Take the next number of ``name``; the first one is ``start``."""
        with transaction.atomic():
            counter, created = cls.objects.select_for_update().get_or_create(
                name=name, defaults={"value": start}
            )
            if created:
                return start
            counter.value += 1
            counter.save(update_fields=["value"])
            return counter.value

    @classmethod
    def reserve(cls, name: str, count: int, *, start: int) -> int:
        """Take ``count`` consecutive numbers of ``name`` at once (bulk loads) and return the
        first. Its own short transaction: the counter is not held while the rows are
        written, and numbers of a load that fails later are simply never used."""
        with transaction.atomic():
            first = cls.next(name, start=start)
            cls.objects.filter(name=name).update(value=first + max(count, 1) - 1)
        return first


class ScheduledRun(models.Model):
    """When a scheduled task (``settings.CLIENTDESK_SCHEDULE``) is next due. The row is the
    claim: the scheduler that moves ``next_run_at`` forward enqueues the run."""

    name = models.CharField(max_length=200, primary_key=True)
    next_run_at = models.DateTimeField()
    last_run_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} next at {self.next_run_at:%Y-%m-%d %H:%M}"
