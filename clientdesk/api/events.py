"""The event feed, for systems that poll instead of receiving webhooks.

``GET /events?after=<position>`` answers the events after that feed position, oldest first,
each in the same envelope a webhook receiver gets (``webhooks/payload.envelope``), and the
``next_after`` to send next time. Positions are given by the relay (``events/feed.relay``),
which runs in the webhook worker (``manage.py run_webhooks``): an event appears here once it
is relayed, in the order events became visible, so a reader that keeps ``next_after`` never
misses one that committed late. Reading never relays: this route only reads.

What a key sees: a customer key, its customer's events except staff-only ones (notes,
reviews, tax exemptions); a staff key limited to some customers, theirs (never events
without a customer, such as tax rules); any other staff key, everything.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from pydantic import Field

from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.events import catalogue
from clientdesk.events.feed import events_after
from clientdesk.events.models import Event
from clientdesk.webhooks.payload import envelope

from .context import caller
from .responses import json_response
from .schemas import problems

router = Router(tags=["Events"])
LIMIT_MAX = 500
POSITION_MAX = 2**62
# Events about staff work on a customer that the customer's own programs never see (their
# payloads say ``"internal": true``, or they are staff tooling).
STAFF_ONLY_TYPES = (
    "note.added",
    "customer.flagged_for_review",
    "tax_exemption.set",
    "tax_exemption.removed",
)


class EventOut(Schema):
    id: str = Field(description="The `webhook-id` of the event (`evt_…`).")
    type: str
    occurred_at: str
    customer: str | None
    sequence: int | None = Field(description="The customer's event counter (1, 2, 3 …).")
    position: int | None = Field(description="The feed position: pass the last as `after`.")
    actor: dict[str, Any]
    data: dict[str, Any]


class EventPage(Schema):
    items: list[EventOut]
    next_after: int = Field(description="Send as `after` next time.")
    has_more: bool = Field(description="More events are waiting: ask again at once.")


class FeedQuery(Schema):
    after: int = Field(0, ge=0, le=POSITION_MAX, description="A feed position (0: the start).")
    limit: int = Field(100, ge=1, le=LIMIT_MAX)
    customer: str | None = Field(None, max_length=20, description="A client ID, e.g. C-100042.")
    type: str | None = Field(
        None, max_length=100, description="An event type, or a family such as `contact.*`."
    )


def _type_filter(events: QuerySet[Event], pattern: str) -> QuerySet[Event]:
    if not catalogue.is_known_pattern(pattern):
        raise DomainError(
            ErrorCode.INVALID,
            "Unknown event type: use a type from docs/events.md or a family like contact.*.",
            field="type",
        )
    if pattern.endswith(".*"):
        return events.filter(type__startswith=pattern[:-1])
    return events.filter(type=pattern)


@router.get("", response={200: EventPage, **problems(400, 401, 403, 404, 429)})
def list_events(request: HttpRequest, feed: Query[FeedQuery]) -> HttpResponse:
    """Relayed events after ``after``, oldest first (at most ``limit``, up to 500)."""
    who = caller(request)
    who.require("events:read")
    events = Event.objects.filter(position__gt=feed.after)
    filtered = False
    if not who.is_staff:
        events = events.filter(customer_id=who.key.customer_id or 0).exclude(
            type__in=STAFF_ONLY_TYPES
        )
        filtered = True
    else:
        restricted = list(who.key.customers.values_list("pk", flat=True))
        if restricted:
            events = events.filter(customer_id__in=restricted)
            filtered = True
    if feed.customer:
        events = events.filter(customer=who.customer(feed.customer))
        filtered = True
    if feed.type:
        events = _type_filter(events, feed.type)
        filtered = True
    if filtered:
        rows = list(events.select_related("customer").order_by("position")[: feed.limit + 1])
    else:
        rows = events_after(feed.after, limit=feed.limit + 1)
    more = len(rows) > feed.limit
    rows = rows[: feed.limit]
    return json_response(
        {
            "items": [envelope(event) for event in rows],
            "next_after": rows[-1].position if rows else feed.after,
            "has_more": more,
        }
    )
