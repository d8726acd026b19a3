"""Reads shared by several interfaces, shaped so that a page costs a fixed number of queries."""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from .models import Contact, Customer
from .roles import Role


def with_profile(queryset: QuerySet[Customer]) -> QuerySet[Customer]:
    """Customers with what the profile shows: the software level and the primary email
    (the owner's login email) in the same query."""
    owner = Contact.objects.filter(customer=OuterRef("pk"), role=Role.OWNER)
    return queryset.select_related("software_level").annotate(
        owner_email=Coalesce(
            Subquery(owner.values("user__email")[:1]), Subquery(owner.values("email")[:1])
        )
    )


def profile_customer(pk: int) -> Customer:
    return with_profile(Customer.objects.filter(pk=pk)).get()
