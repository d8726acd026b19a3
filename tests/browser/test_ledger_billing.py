"""The ledger in two browsers (issue 8): a billing staff member records a top-up on the
customer's Billing tab (form → review with the resulting balance → confirm), then the
customer's owner, signed in elsewhere, sees the new balance and the entry on "Billing &
credits"."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from clientdesk.core.actor import Actor
from clientdesk.events.models import Event
from clientdesk.ledger import queries
from clientdesk.ledger.actions import post_entry
from clientdesk.ledger.models import Entry
from tests import factories
from tests.factories import PASSWORD

from .conftest import Portal, StaffMember
from .pages import flash, sign_in, sign_in_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def staff_billing(transactional_db: None) -> StaffMember:
    user = factories.make_staff("billing", email="ravi@staff.example", with_mfa=False)
    return StaffMember(user=user, email=user.email, totp_secret=factories.enrol_totp(user))


def test_staff_records_a_top_up_and_the_customer_sees_it(
    page: Page,
    browser: Browser,
    live_server: Any,
    portal_user: Portal,
    staff_billing: StaffMember,
) -> None:
    customer = portal_user.customer
    post_entry(
        customer,
        kind="top_up",
        amount="100.00",
        description="Opening credit",
        idempotency_key="opening",
        actor=Actor.system(),
    )

    # 1. Billing staff open the customer's Billing tab and fill the form.
    sign_in_staff(page, live_server.url, staff_billing.email, PASSWORD, staff_billing.totp_secret)
    page.goto(f"{live_server.url}/staff/customers/{customer.number}/billing/")
    expect(page.get_by_test_id("ledger-balance")).to_have_text("MYR 100.00")
    record = page.locator("details#record-entry")
    record.locator("summary").click()
    form = record.locator("form")
    form.get_by_label("Kind of entry").select_option(label="Payment received / credit top-up")
    form.get_by_label("Amount").fill("250.50")
    form.get_by_label("Description").fill("Payment received by bank transfer")
    form.get_by_label("External reference").fill("MBB-778812")
    form.get_by_role("button", name="Review entry").click()

    # 2. The review shows the signed amount and the resulting balance; nothing posted yet.
    expect(page.get_by_role("heading", name="Review the entry")).to_be_visible()
    expect(page.get_by_test_id("review-amount")).to_have_text("MYR 250.50")
    expect(page.get_by_test_id("review-balance-after")).to_have_text("MYR 350.50")
    assert Entry.objects.filter(customer=customer).count() == 1

    # 3. Confirm: posted once, the statement and the summary show it.
    page.get_by_role("button", name="Confirm and post").click()
    expect(flash(page, "Recorded: Credit top-up of MYR 250.50")).to_be_visible()
    expect(page.get_by_test_id("ledger-balance")).to_have_text("MYR 350.50")
    row = page.locator("#ledger-rows tr", has_text="Payment received by bank transfer")
    expect(row).to_contain_text("MYR 250.50")
    expect(row).to_contain_text("MBB-778812")
    expect(row).to_contain_text("Recorded by ravi@staff.example")
    assert Entry.objects.filter(customer=customer).count() == 2
    assert queries.summary(customer).balance == Decimal("350.50")
    assert Event.objects.filter(customer=customer, type="ledger.entry_posted").count() == 2

    # 4. The customer's owner, in another browser, sees the balance and the entry.
    owner_context = browser.new_context(base_url=live_server.url)
    owner = owner_context.new_page()
    sign_in(owner, live_server.url, portal_user.user.email, PASSWORD)
    owner.goto(f"{live_server.url}/c/{customer.number}/")
    owner.get_by_role("navigation", name="Customer sections").get_by_role(
        "link", name="Billing & credits"
    ).click()
    expect(owner.get_by_role("heading", level=1, name="Billing & credits")).to_be_visible()
    expect(owner.get_by_test_id("ledger-balance")).to_have_text("MYR 350.50")
    entry = owner.locator("#ledger-rows tr").first
    expect(entry).to_contain_text("Payment received by bank transfer")
    expect(entry).to_contain_text("MYR 250.50")
    expect(entry).to_contain_text("Credit top-up")
    expect(entry).not_to_contain_text("ravi@staff.example")  # the recorder stays in the console
    expect(owner.locator("#ledger-rows tr")).to_have_count(2)
    expect(owner.locator(".ledger-stat-value-text")).to_have_text("Prepaid")
    owner_context.close()
