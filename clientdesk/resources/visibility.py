"""Which resources a customer sees (seed 002: the software level "is used as a filter … so
that only relevant software / CSPs / notes are presented to you").

An item applies to the levels from ``level_from`` to ``level_to`` in the staff's order, both
inclusive; an empty end is open (``from 4.0`` = 4.0 and every later level). A customer sees
an item when it is published, its publish day has come, and its range holds their level. A
customer with no level set sees only the items open at both ends (they apply to everyone).
"""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from clientdesk.customers.models import SoftwareLevel

from .models import Resource


def provider_today() -> datetime.date:
    """Publish days are in the provider's time zone (``settings.TIME_ZONE``)."""
    return timezone.localtime(timezone.now(), ZoneInfo(settings.TIME_ZONE)).date()


def for_level(level: SoftwareLevel | None) -> Q:
    """The items whose level range holds ``level`` (``None``: no level set)."""
    if level is None:
        return Q(level_from__isnull=True, level_to__isnull=True)
    return (Q(level_from__isnull=True) | Q(level_from__position__lte=level.position)) & (
        Q(level_to__isnull=True) | Q(level_to__position__gte=level.position)
    )


def live(today: datetime.date | None = None) -> Q:
    """Published, and the publish day has come."""
    return Q(status=Resource.Status.PUBLISHED, published_on__lte=today or provider_today())


def visible_to(level: SoftwareLevel | None) -> QuerySet[Resource]:
    """What a customer on ``level`` sees, newest first."""
    return (
        Resource.objects.filter(live() & for_level(level))
        .select_related("level_from", "level_to")
        .order_by("-published_on", "-id")
    )


def range_label(resource: Resource) -> str:
    """``4.0 – 5.0``, ``4.0 and later``, ``up to 4.0 SP2``, ``All levels``."""
    low, high = resource.level_from, resource.level_to
    if low and high:
        return low.label if low.pk == high.pk else f"{low.label} – {high.label}"
    if low:
        return f"{low.label} and later"
    if high:
        return f"Up to {high.label}"
    return "All levels"
