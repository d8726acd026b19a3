"""Reading change requests: a customer's, the staff queue, and one request with its thread.

Lookups are scoped: a portal contact gets only their customer's requests of kinds their role
may see (``actions.may_see``); anything else is "not found".
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from clientdesk.customers.models import Customer

from .actions import may_see
from .models import OPEN_STATUSES, ChangeRequest, Kind, Message, Status

QUEUE_PAGE = 50
COUNT_CAP = 1000  # the queue's tabs say "1000+" rather than count every request ever made


def open_requests(customer: Customer) -> dict[str, ChangeRequest]:
    """The customer's open requests by kind (at most one per kind): one query."""
    rows = ChangeRequest.objects.filter(customer=customer, status__in=OPEN_STATUSES)
    return {request.kind: request for request in rows}


def open_count(customer: Customer) -> int:
    return ChangeRequest.objects.filter(customer=customer, status__in=OPEN_STATUSES).count()


def open_total() -> int:
    """Open requests of every customer (the staff nav's badge): the status index's open
    entries only, however many requests were ever decided."""
    return ChangeRequest.objects.filter(status__in=OPEN_STATUSES).count()


def visible_kinds(role: str) -> list[str]:
    return [kind.value for kind in Kind if may_see(role, kind.value)]


def for_customer(customer: Customer, *, role: str | None = None, limit: int = 100) -> list[Any]:
    """The customer's requests newest first; ``role``: only those a contact with it sees."""
    rows: QuerySet[ChangeRequest] = ChangeRequest.objects.filter(customer=customer)
    if role is not None:
        rows = rows.filter(kind__in=visible_kinds(role))
    return list(rows.select_related("customer").order_by("-id")[:limit])


def get_for_contact(customer: Customer, number: int, *, role: str) -> ChangeRequest | None:
    return (
        ChangeRequest.objects.filter(customer=customer, number=number, kind__in=visible_kinds(role))
        .select_related("customer")
        .first()
    )


def get_for_staff(number: int) -> ChangeRequest | None:
    return (
        ChangeRequest.objects.filter(number=number)
        .select_related("customer", "submitted_by", "decided_by")
        .first()
    )


def thread(request: ChangeRequest) -> list[Message]:
    return list(request.messages.select_related("author").order_by("id"))


@dataclass(frozen=True)
class QueueFilters:
    """The staff queue's filters; unknown values are ignored by ``read``."""

    status: str = "open"  # a status, "open" (open + awaiting) or "all"
    kind: str = ""
    older_than_days: int | None = None
    customer: Customer | None = None


# "open" means both open statuses; it is merged last so the status of the same name does
# not replace it.
STATUS_FILTERS: dict[str, list[str] | None] = {s.value: [s.value] for s in Status}
STATUS_FILTERS["open"] = [s.value for s in OPEN_STATUSES]
STATUS_FILTERS["all"] = None


def queue(
    filters: QueueFilters, *, after: int | None = None
) -> tuple[list[ChangeRequest], int | None]:
    """A page of the queue, oldest first (keyset on id), and the cursor of the next page.

    A filter of several statuses ("open" is open + awaiting customer) reads each status on
    its own, in id order from the ``(status, id)`` or ``(kind, status, id)`` index, and
    merges the pages: one ``status IN (…) ORDER BY id`` would either sort every open request
    or walk every request ever made, oldest (and long decided) first, to find the open ones.
    """
    rows = ChangeRequest.objects.select_related("customer")
    statuses = STATUS_FILTERS.get(filters.status, STATUS_FILTERS["open"])
    if filters.kind in Kind.values:
        rows = rows.filter(kind=filters.kind)
    if filters.older_than_days:
        rows = rows.filter(created_at__lt=timezone.now() - timedelta(days=filters.older_than_days))
    if filters.customer is not None:
        rows = rows.filter(customer=filters.customer)
    if after is not None:
        rows = rows.filter(id__gt=after)
    if statuses is None:
        page = list(rows.order_by("id")[: QUEUE_PAGE + 1])
    else:
        pages = [list(rows.filter(status=s).order_by("id")[: QUEUE_PAGE + 1]) for s in statuses]
        page = list(heapq.merge(*pages, key=lambda request: request.pk))[: QUEUE_PAGE + 1]
    more = len(page) > QUEUE_PAGE
    page = page[:QUEUE_PAGE]
    return page, (page[-1].pk if more and page else None)


def counts_by_status() -> dict[str, int]:
    """How many requests are in each status, and ``"all"`` of them, each counted no further
    than ``COUNT_CAP + 1`` (a value over ``COUNT_CAP`` means "more than that"): one query of
    bounded reads of the status index, however many requests were ever decided."""
    table = connection.ops.quote_name(ChangeRequest._meta.db_table)
    bounded = "(SELECT COUNT(*) FROM (SELECT 1 FROM {table}{where} LIMIT %s) AS c{n})"
    parts: list[str] = []
    params: list[str | int] = []
    for n, status in enumerate(Status):
        parts.append(bounded.format(table=table, where=" WHERE status = %s", n=n))
        params += [status.value, COUNT_CAP + 1]
    parts.append(bounded.format(table=table, where="", n=len(parts)))
    params.append(COUNT_CAP + 1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        found = cursor.fetchone()
    keys = [status.value for status in Status] + ["all"]
    return {key: int(value) for key, value in zip(keys, found, strict=True)}


def shown_count(value: int) -> int | str:
    """A capped count as the queue shows it: ``1000+`` past the cap."""
    return f"{COUNT_CAP}+" if value > COUNT_CAP else value
