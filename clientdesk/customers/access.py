"""Scoped lookups for the portal: you can only load what you may see.

A customer the user is not a portal contact of does not exist for them (404); a
capability their role lacks is a 403, raised by the interface that asks.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from .models import NUMBER_PREFIX, Contact, Customer
from .roles import Capability, has_capability


def parse_customer_number(value: str) -> int | None:
    """``C-100042``, ``c-100042`` and ``100042`` all name customer 100042."""
    value = value.strip().upper()
    if value.startswith(NUMBER_PREFIX):
        value = value[len(NUMBER_PREFIX) :]
    return int(value) if value.isascii() and value.isdigit() and len(value) < 19 else None


def portal_memberships(user: Any) -> QuerySet[Contact]:
    """The contacts through which ``user`` may use the portal, with their customers."""
    if not user.is_authenticated:
        return Contact.objects.none()
    return (
        Contact.objects.filter(user=user, portal_access=True)
        .exclude(customer__status=Customer.Status.CLOSED)
        .select_related("customer")
        .order_by("customer__display_name", "customer__number")
    )


def get_membership(user: Any, number: int | str) -> Contact:
    """The user's contact on customer ``number``, or 404 (existence is not revealed)."""
    parsed = number if isinstance(number, int) else parse_customer_number(number)
    if parsed is None:
        raise Http404("No such customer.")
    membership = portal_memberships(user).filter(customer__number=parsed).first()
    if membership is None:
        raise Http404("No such customer.")
    return membership


def can(membership: Contact, capability: Capability) -> bool:
    return has_capability(membership.role, capability)
