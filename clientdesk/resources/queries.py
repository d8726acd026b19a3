"""Reads of the library shared by the portal, the staff console and the demo.

Lists are newest first with keyset pagination: the cursor is the last row's
``<publish day>~<id>``, so a page costs the same however long the library grows.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from clientdesk.customers.models import Customer, SoftwareLevel

from . import visibility
from .models import Resource, ResourceDownload

PAGE_SIZE = 20
SEARCH_MAX = 100


@dataclass(frozen=True)
class Page:
    items: list[Resource]
    next_cursor: str  # empty on the last page


def parse_cursor(cursor: str) -> tuple[datetime.date, int] | None:
    """``2026-11-01~42`` → (day, id); anything else is ignored (first page)."""
    day, _, pk = (cursor or "").partition("~")
    try:
        parsed = datetime.date.fromisoformat(day)
    except ValueError:
        return None
    if not pk.isdecimal() or len(pk) > 18:
        return None
    return parsed, int(pk)


def _cursor_of(resource: Resource) -> str:
    day = resource.published_on or datetime.date.min
    return f"{day.isoformat()}~{resource.pk}"


def search_filter(text: str) -> Q:
    """Each word must appear in the title, summary or body (case-insensitive)."""
    query = Q()
    # Control characters (NUL included: PostgreSQL refuses it in a query) are never searched.
    printable = "".join(ch if ch.isprintable() else " " for ch in text[:SEARCH_MAX])
    for word in printable.split()[:8]:
        query &= Q(title__icontains=word) | Q(summary__icontains=word) | Q(body__icontains=word)
    return query


def page_of(queryset: QuerySet[Resource], *, cursor: str = "") -> Page:
    after = parse_cursor(cursor)
    if after is not None:
        day, pk = after
        queryset = queryset.filter(Q(published_on__lt=day) | Q(published_on=day, id__lt=pk))
    rows = list(queryset.order_by("-published_on", "-id")[: PAGE_SIZE + 1])
    more = len(rows) > PAGE_SIZE
    items = rows[:PAGE_SIZE]
    return Page(items=items, next_cursor=_cursor_of(items[-1]) if more else "")


def library(
    level: SoftwareLevel | None, *, text: str = "", kind: str = "", cursor: str = ""
) -> Page:
    """What a customer on ``level`` sees, optionally searched and filtered by kind."""
    queryset = visibility.visible_to(level)
    if kind in Resource.Kind.values:
        queryset = queryset.filter(kind=kind)
    if text.strip():
        queryset = queryset.filter(search_filter(text))
    return page_of(queryset, cursor=cursor)


def visible_resource(customer: Customer, pk: int) -> Resource | None:
    """The item if ``customer`` may see it now, else ``None`` (the caller answers 404)."""
    return visibility.visible_to(customer.software_level).filter(pk=pk).first()


def preview(level: SoftwareLevel | None, *, include_drafts: bool = False) -> list[Resource]:
    """Staff's "preview as level": what a customer on ``level`` sees (and, if asked, the
    drafts that would show up there once published)."""
    queryset = Resource.objects.filter(visibility.for_level(level))
    if not include_drafts:
        queryset = queryset.filter(visibility.live())
    return list(
        queryset.select_related("level_from", "level_to").order_by(
            "status", "-published_on", "-id"
        )[:200]
    )


def staff_list(*, status: str = "", kind: str = "", text: str = "") -> QuerySet[Resource]:
    """Every item for the console, with its download count (a correlated count on the
    download index per listed item, not a join over every download ever made)."""
    counted = (
        ResourceDownload.objects.filter(resource=OuterRef("pk"))
        .order_by()
        .values("resource")
        .annotate(n=Count("id"))
        .values("n")
    )
    queryset = Resource.objects.select_related("level_from", "level_to").annotate(
        download_count=Coalesce(Subquery(counted), 0)
    )
    if status in Resource.Status.values:
        queryset = queryset.filter(status=status)
    if kind in Resource.Kind.values:
        queryset = queryset.filter(kind=kind)
    if text.strip():
        queryset = queryset.filter(search_filter(text))
    return queryset.order_by("-updated_at", "-id")


def downloads(
    *, resource: Resource | None = None, customer: Customer | None = None, before: int = 0
) -> tuple[list[ResourceDownload], int]:
    """Downloads of a resource or by a customer, newest first, and the cursor for more."""
    queryset = ResourceDownload.objects.select_related("customer", "resource")
    if resource is not None:
        queryset = queryset.filter(resource=resource)
    if customer is not None:
        queryset = queryset.filter(customer=customer)
    if before > 0:
        queryset = queryset.filter(id__lt=before)
    rows = list(queryset.order_by("-id")[: PAGE_SIZE * 2 + 1])
    more = len(rows) > PAGE_SIZE * 2
    rows = rows[: PAGE_SIZE * 2]
    return rows, rows[-1].pk if more else 0
