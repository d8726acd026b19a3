"""Scheduled lifecycle work (listed in ``settings.CLIENTDESK_SCHEDULE``)."""

from __future__ import annotations

import logging

from django_tasks import task

from clientdesk.core.actor import Actor
from clientdesk.customers.models import Customer

from . import retention

logger = logging.getLogger(__name__)


@task()
def anonymise_expired_closures() -> int:
    """Anonymise closed accounts whose retention period has ended; returns how many."""
    done = 0
    for customer_id in retention.due():
        customer = Customer.objects.get(pk=customer_id)
        retention.anonymise_customer(customer, actor=Actor.system())
        done += 1
    if done:
        logger.info("anonymised %s closed accounts", done)
    return done
