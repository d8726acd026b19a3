"""Seed 003, steps 1–4, in a browser: a support agent signs in with two-factor
authentication, searches for a client by part of a name, by email and by client ID, sees
results as they type, and opens the customer's page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from clientdesk.customers.models import Customer
from tests import factories
from tests.factories import PASSWORD

from .conftest import StaffMember
from .pages import sign_in_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def clients() -> Customer:
    wanted = factories.make_customer("Harimau Digital Sdn Bhd")
    factories.make_contact(
        wanted,
        "owner",
        first_name="Aisyah",
        last_name="Rahman",
        email="aisyah@harimau.example",
        portal=False,
    )
    factories.make_customer("Teratai Logistics Sdn Bhd")
    return wanted


def search_box(page: Page) -> Locator:
    return page.get_by_role("searchbox", name="Search customers")


def results(page: Page) -> Locator:
    return page.get_by_role("region", name="Search results")


def test_a_support_agent_finds_a_client_and_opens_the_360(
    page: Page, live_server, staff_support: StaffMember, clients: Customer
) -> None:
    sign_in_staff(page, live_server.url, staff_support.email, PASSWORD, staff_support.totp_secret)
    expect(page.get_by_role("heading", name="Find a customer")).to_be_visible()

    # Part of a name: results appear while typing, the match highlighted.
    search_box(page).press_sequentially("rima", delay=30)
    hit = results(page).get_by_role("link", name=re.compile("Harimau Digital Sdn Bhd"))
    expect(hit).to_be_visible()
    expect(results(page).locator("mark")).to_have_text("rima")
    expect(results(page)).not_to_contain_text("Teratai")

    # The current email, in capitals: the contact's email matched exactly.
    search_box(page).fill("AISYAH@HARIMAU.EXAMPLE")
    expect(results(page)).to_contain_text("Contact email:")
    expect(hit).to_be_visible()

    # The client ID, then Enter opens the best match.
    search_box(page).fill(clients.client_id)
    expect(results(page)).to_contain_text("Client ID:")
    search_box(page).press("Enter")
    expect(page).to_have_url(re.compile(rf"/staff/customers/{clients.number}/$"))
    expect(page.get_by_role("heading", name="Harimau Digital Sdn Bhd")).to_be_visible()
    expect(page.get_by_text(clients.client_id).first).to_be_visible()
