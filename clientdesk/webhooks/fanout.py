"""From events to deliveries: which endpoints each relayed event goes to."""

from __future__ import annotations

from collections import defaultdict

from django.utils import timezone

from clientdesk.events import catalogue
from clientdesk.events.models import Event

from .models import Delivery, WebhookEndpoint


def fan_out(events: list[Event]) -> int:
    """Create a pending delivery for every active endpoint that subscribes to each event.

    An endpoint gets only events that happened after it was registered; one restricted to
    some customers gets only theirs (and never customer-less events such as tax rules).
    Runs inside the relay's transaction (``events.feed.relay``).
    """
    endpoints = list(WebhookEndpoint.objects.filter(is_active=True))
    if not endpoints:
        return 0
    restricted: dict[int, set[int]] = defaultdict(set)
    through = WebhookEndpoint.customers.through
    for endpoint_id, customer_id in through.objects.filter(
        webhookendpoint_id__in=[endpoint.pk for endpoint in endpoints]
    ).values_list("webhookendpoint_id", "customer_id"):
        restricted[endpoint_id].add(customer_id)
    now = timezone.now()
    deliveries = []
    for event in events:
        for endpoint in endpoints:
            if event.occurred_at < endpoint.created_at:
                continue
            if not catalogue.matches(endpoint.event_types, event.type):
                continue
            only = restricted.get(endpoint.pk)
            if only is not None and event.customer_id not in only:
                continue
            deliveries.append(
                Delivery(
                    event=event,
                    endpoint=endpoint,
                    customer_id=event.customer_id,
                    next_attempt_at=now,
                )
            )
    Delivery.objects.bulk_create(deliveries, batch_size=500, ignore_conflicts=True)
    return len(deliveries)
