"""Read-only queries behind the webhook pages: the staff console's endpoint list, an
endpoint's deliveries and one delivery's attempts, and the customer 360's Integrations tab.

Every query here is bounded whatever the number of deliveries:

- the endpoint list counts waiting and failed deliveries with a cap (``COUNT_CAP``): each
  count is a ``LIMIT``-ed scan of the ``(endpoint, status, id)`` index, never an exact
  count over the whole table;
- an endpoint's deliveries are paged by id (keyset, "older than"), newest first: no OFFSET
  and no COUNT;
- the Integrations tab reads the customer's latest ``RECENT_WINDOW`` deliveries (the
  ``(customer, id)`` index) and keeps at most ``PER_ENDPOINT`` per endpoint, in one query.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import (
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
)
from django.db.models.expressions import Window
from django.db.models.functions import RowNumber

from clientdesk.customers.models import Customer

from .models import Delivery, DeliveryAttempt, WebhookEndpoint

COUNT_CAP = 999  # the list shows "999+" beyond this
PAGE_SIZE = 50  # deliveries per page on an endpoint's page
ATTEMPTS_SHOWN = 100  # the newest attempts of one delivery
PER_ENDPOINT = 20  # the Integrations tab's deliveries per endpoint (and per target)
RECENT_WINDOW = 1000  # how far back the Integrations tab looks in the customer's deliveries


class _CappedCount(Func):
    """``(SELECT COUNT(*) FROM (<subquery with LIMIT>))``: counts at most the subquery's
    limit of rows, so a backlog of a million costs as much as one of a thousand."""

    template = "(SELECT COUNT(*) FROM %(expressions)s AS capped_rows)"
    output_field = IntegerField()


def _capped(status: str) -> _CappedCount:
    rows = (
        Delivery.objects.filter(endpoint=OuterRef("pk"), status=status)
        .order_by()
        .values("pk")[: COUNT_CAP + 1]
    )
    return _CappedCount(Subquery(rows))


@dataclass(frozen=True)
class Count:
    """A capped count: ``999+`` rather than an exact figure past the cap."""

    value: int

    @property
    def capped(self) -> bool:
        return self.value > COUNT_CAP

    def __str__(self) -> str:
        return f"{COUNT_CAP}+" if self.capped else str(self.value)

    def __bool__(self) -> bool:
        return self.value > 0


@dataclass(frozen=True)
class EndpointRow:
    endpoint: WebhookEndpoint
    client_ids: list[str]
    waiting: Count
    failed: Count


def _with_customers(queryset: QuerySet[WebhookEndpoint]) -> QuerySet[WebhookEndpoint]:
    return queryset.prefetch_related(
        Prefetch(
            "customers",
            queryset=Customer.objects.only("pk", "number").order_by("number"),
            to_attr="restricted_to",
        )
    )


def client_ids(endpoint: WebhookEndpoint) -> list[str]:
    """The client IDs an endpoint is restricted to (empty: every customer)."""
    customers = getattr(endpoint, "restricted_to", None)
    if customers is None:
        customers = list(endpoint.customers.only("pk", "number").order_by("number"))
    return [customer.client_id for customer in customers]


def endpoint_rows() -> list[EndpointRow]:
    """Every endpoint with its capped waiting and failed counts: two queries in all."""
    endpoints = _with_customers(
        WebhookEndpoint.objects.defer("secret_encrypted", "previous_secret_encrypted")
        .select_related("created_by")
        .annotate(
            waiting_count=_capped(Delivery.Status.PENDING),
            failed_count=_capped(Delivery.Status.FAILED),
        )
    )
    return [
        EndpointRow(
            endpoint=endpoint,
            client_ids=client_ids(endpoint),
            waiting=Count(int(endpoint.waiting_count)),  # type: ignore[attr-defined]
            failed=Count(int(endpoint.failed_count)),  # type: ignore[attr-defined]
        )
        for endpoint in endpoints
    ]


def endpoint(endpoint_id: int) -> WebhookEndpoint | None:
    """One endpoint with its customer restriction and its creator (two queries)."""
    return (
        _with_customers(
            WebhookEndpoint.objects.defer(
                "secret_encrypted", "previous_secret_encrypted"
            ).select_related("created_by")
        )
        .filter(pk=endpoint_id)
        .first()
    )


ENDPOINT_FIELDS = ("endpoint__id", "endpoint__target", "endpoint__url", "endpoint__is_active")


def _delivery_rows(
    queryset: QuerySet[Delivery], *, with_endpoint: bool = False
) -> QuerySet[Delivery]:
    """What a row of deliveries shows, without the event's payload."""
    related = ["event", "customer", *(["endpoint"] if with_endpoint else [])]
    return queryset.select_related(*related).only(
        *(ENDPOINT_FIELDS if with_endpoint else ()),
        "pk",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "created_at",
        "finished_at",
        "endpoint_id",
        "event__id",
        "event__type",
        "event__occurred_at",
        "customer__id",
        "customer__number",
        "customer__display_name",
    )


@dataclass(frozen=True)
class DeliveryPage:
    rows: list[Delivery]
    older_than: int | None  # the id for the "Older" link, None on the last page


def endpoint_deliveries(
    endpoint: WebhookEndpoint,
    *,
    status: str = "",
    before: int | None = None,
    limit: int = PAGE_SIZE,
) -> DeliveryPage:
    """An endpoint's deliveries, newest first, ``limit`` at a time (one query)."""
    queryset = Delivery.objects.filter(endpoint=endpoint)
    if status:
        queryset = queryset.filter(status=status)
    if before is not None:
        queryset = queryset.filter(pk__lt=before)
    rows = list(_delivery_rows(queryset).order_by("-pk")[: limit + 1])
    older_than = rows[limit - 1].pk if len(rows) > limit else None
    return DeliveryPage(rows=rows[:limit], older_than=older_than)


def delivery(endpoint: WebhookEndpoint, delivery_id: int) -> Delivery | None:
    """One delivery of ``endpoint``, with its event (and the event's customer)."""
    return (
        Delivery.objects.select_related("event__customer", "customer")
        .filter(pk=delivery_id, endpoint=endpoint)
        .first()
    )


def attempts(delivery: Delivery, *, limit: int = ATTEMPTS_SHOWN) -> list[DeliveryAttempt]:
    """The newest ``limit`` attempts of a delivery, oldest first."""
    newest = list(DeliveryAttempt.objects.filter(delivery=delivery).order_by("-number")[:limit])
    return newest[::-1]


# --- the customer 360's Integrations tab ------------------------------------------------------


@dataclass
class TargetGroup:
    """One integration target (an endpoint's ``target`` label): its endpoints and the
    customer's latest deliveries to them, newest first."""

    target: str
    endpoints: list[WebhookEndpoint] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return any(endpoint.is_active for endpoint in self.endpoints)


def _applies_to(customer: Customer) -> Any:
    """Active endpoints whose events include this customer's: no restriction, or this
    customer among those it is restricted to."""
    through = WebhookEndpoint.customers.through
    restricted = through.objects.filter(webhookendpoint_id=OuterRef("pk"))
    return ~Exists(restricted) | Exists(restricted.filter(customer_id=customer.pk))


def customer_integrations(
    customer: Customer, *, per_target: int = PER_ENDPOINT
) -> list[TargetGroup]:
    """Per target: the customer's latest deliveries, and the active endpoints that would
    receive this customer's events even when none was sent yet. Two queries."""
    applying = list(
        WebhookEndpoint.objects.defer("secret_encrypted", "previous_secret_encrypted").filter(
            _applies_to(customer), is_active=True
        )
    )
    recent = Delivery.objects.filter(customer=customer).order_by("-pk").values("pk")[:RECENT_WINDOW]
    ranked = (
        _delivery_rows(Delivery.objects.filter(pk__in=Subquery(recent)), with_endpoint=True)
        .annotate(
            rank=Window(RowNumber(), partition_by=[F("endpoint_id")], order_by=F("pk").desc())
        )
        .filter(rank__lte=per_target)
    )
    groups: dict[str, TargetGroup] = {}
    endpoints_seen: dict[str, set[int]] = defaultdict(set)

    def group_for(endpoint: WebhookEndpoint) -> TargetGroup:
        group = groups.setdefault(endpoint.target.casefold(), TargetGroup(endpoint.target))
        if endpoint.pk not in endpoints_seen[group.target.casefold()]:
            endpoints_seen[group.target.casefold()].add(endpoint.pk)
            group.endpoints.append(endpoint)
        return group

    for endpoint in applying:
        group_for(endpoint)
    for row in ranked:
        group_for(row.endpoint).deliveries.append(row)
    for group in groups.values():
        group.deliveries.sort(key=lambda row: row.pk, reverse=True)
        del group.deliveries[per_target:]
        group.endpoints.sort(key=lambda endpoint: (not endpoint.is_active, endpoint.pk))
    return sorted(groups.values(), key=lambda group: group.target.casefold())


def customer_delivery(customer: Customer, delivery_id: int) -> Delivery | None:
    """One of this customer's deliveries (another customer's id finds nothing)."""
    return Delivery.objects.filter(pk=delivery_id, customer=customer).only("pk").first()
