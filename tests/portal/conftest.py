"""Helpers for the portal pages: URLs, htmx requests, profile data set through the action."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from clientdesk.core.actor import Actor
from clientdesk.customers.actions import update_profile_section
from clientdesk.customers.models import Customer
from clientdesk.customers.sections import section_etag

SYSTEM = Actor.system()
HTMX = {"HTTP_HX_REQUEST": "true"}


def account_url(customer: Customer) -> str:
    return reverse("portal:account", args=[customer.number])


def section_url(customer: Customer, section: str) -> str:
    return reverse("portal:account-section", args=[customer.number, section])


def edit_url(customer: Customer, section: str) -> str:
    return reverse("portal:account-section-edit", args=[customer.number, section])


def activity_url(customer: Customer) -> str:
    return reverse("portal:activity", args=[customer.number])


def set_profile(customer: Customer, section: str, **values: Any) -> Customer:
    """Set profile values as the system would (every field allowed)."""
    return update_profile_section(customer, section=section, values=values, actor=SYSTEM).customer


def fresh(customer: Customer) -> Customer:
    return Customer.objects.get(pk=customer.pk)


def etag_of(customer: Customer, section: str) -> str:
    from clientdesk.customers.policy import Section

    return section_etag(fresh(customer), Section(section))


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def complete_business(world: Any) -> Customer:
    """Customer A with a registered address, BRN and contact numbers."""
    customer = world.customer_a
    set_profile(
        customer,
        "legal",
        legal_line1="Level 8, Menara Alpha",
        legal_city="Kuala Lumpur",
        legal_postcode="50450",
        legal_state="MY-14",
    )
    set_profile(customer, "business", registration_number="202001012345")
    return fresh(customer)
