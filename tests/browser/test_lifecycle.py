"""The account lifecycle in a browser (issue 8, seed 001 "Delete – Suspend a customer
account"): a manager suspends an account on the 360's Status & ownership tab while its owner
is signed in elsewhere, then lifts it; a manager cannot close an account with credits on it,
the credits are withdrawn, the checklist turns green and the account closes and leaves the
customer list."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import Browser, Page, expect

from clientdesk.core.actor import Actor, Source
from clientdesk.customers.models import Customer
from clientdesk.events.models import Event
from clientdesk.ledger import actions as ledger
from tests import factories
from tests.factories import PASSWORD

from .conftest import Portal
from .pages import flash, sign_in, sign_in_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def manager_page(browser: Browser, base_url: str) -> Page:
    """A manager signed in to the staff console, in a browser context of their own."""
    manager = factories.make_staff("manager", email="maya@staff.example", with_mfa=False)
    secret = factories.enrol_totp(manager)
    context = browser.new_context(base_url=base_url)
    page = context.new_page()
    sign_in_staff(page, base_url, manager.email, PASSWORD, secret)
    return page


def open_tab(page: Page, base_url: str, customer: Customer) -> None:
    page.goto(f"{base_url}/staff/customers/{customer.number}/")
    page.get_by_role("link", name="Status & ownership").first.click()
    expect(page.get_by_role("heading", name="Status & ownership")).to_be_visible()


def test_a_suspension_locks_the_owner_out_until_it_is_lifted(
    page: Page, browser: Browser, live_server: Any, portal_user: Portal
) -> None:
    base = live_server.url
    customer = portal_user.customer
    # The owner is signed in and using the portal.
    sign_in(page, base, portal_user.user.email, PASSWORD)
    page.goto(f"{base}/c/{customer.number}/")
    expect(page.get_by_role("link", name="My Account")).to_be_visible()

    # A manager suspends the account on the Status & ownership tab.
    staff = manager_page(browser, base)
    open_tab(staff, base, customer)
    staff.get_by_label("Reason").first.fill("Invoice INV-2291 unpaid for 60 days")
    staff.get_by_role("button", name="Suspend account").click()
    expect(flash(staff, "The account is suspended")).to_be_visible()
    expect(staff.locator("#status-heading")).to_contain_text("Suspended")
    expect(staff.get_by_text("Invoice INV-2291 unpaid for 60 days")).to_be_visible()

    # The owner's very next page load is refused, with the way to reach support.
    response = page.reload()
    assert response is not None and response.status == 403
    expect(
        page.get_by_role("heading", name="This account is suspended — contact support")
    ).to_be_visible()
    expect(page.get_by_role("link", name=settings.CLIENTDESK_SUPPORT_EMAIL)).to_be_visible()
    expect(page.get_by_text(settings.CLIENTDESK_SUPPORT_PHONE)).to_be_visible()
    page.goto(f"{base}/c/{customer.number}/account/")
    expect(
        page.get_by_role("heading", name=re.compile("This account is suspended"))
    ).to_be_visible()

    # The manager lifts the suspension; the owner gets in again.
    staff.get_by_label("Reason").first.fill("Paid in full on 14 May")
    staff.get_by_role("button", name="Lift suspension").click()
    expect(flash(staff, "The suspension is lifted")).to_be_visible()
    staff.context.close()
    response = page.goto(f"{base}/c/{customer.number}/account/")
    assert response is not None and response.status == 200
    expect(page.get_by_role("heading", level=1, name="My Account")).to_be_visible()
    types = list(Event.objects.filter(customer=customer).values_list("type", flat=True))
    assert "customer.suspended" in types and "customer.unsuspended" in types


def test_a_manager_closes_only_once_the_credits_are_withdrawn(
    page: Page, browser: Browser, live_server: Any, portal_user: Portal
) -> None:
    base = live_server.url
    customer = portal_user.customer
    billing = Actor(factories.make_staff("billing", email="bea@staff.example"), Source.STAFF)
    ledger.post_entry(
        customer,
        kind="top_up",
        amount="150.00",
        description="Bank transfer",
        idempotency_key="browser-top-up",
        actor=billing,
    )
    staff = manager_page(browser, base)
    open_tab(staff, base, customer)

    # Credits on the account: red, with the reason, and no way to close.
    balance = staff.locator("#check-balance")
    expect(balance).to_have_attribute("data-ok", "false")
    expect(balance).to_contain_text("must be withdrawn first")
    expect(balance).to_contain_text("150.00")
    close_button = staff.get_by_role("button", name="Close account")
    expect(close_button).to_be_disabled()
    expect(staff.get_by_text("Available when every item above is green.")).to_be_visible()

    # The credits are refunded (the billing group's withdrawal); the list turns green.
    ledger.post_entry(
        customer,
        kind="withdrawal",
        amount="150.00",
        description="Refund to the client's bank account",
        idempotency_key="browser-withdrawal",
        actor=billing,
    )
    staff.reload()
    expect(staff.locator("#check-balance")).to_have_attribute("data-ok", "true")
    expect(staff.locator("#close-checklist")).to_contain_text("Every item is green")
    expect(close_button).to_be_enabled()

    # Close with a reason.
    staff.get_by_label("Reason").last.fill("Client's written request of 2 June")
    close_button.click()
    expect(flash(staff, "The account is closed")).to_be_visible()
    expect(staff.locator("#status-heading")).to_contain_text("Closed")
    expect(staff.get_by_text("Personal data kept until")).to_be_visible()
    assert Customer.objects.get(pk=customer.pk).status == Customer.Status.CLOSED

    # Gone from the customer list's default view; the "Closed" filter still finds it.
    staff.goto(f"{base}/staff/customers/")
    expect(staff.get_by_role("heading", name="All customers")).to_be_visible()
    expect(staff.get_by_role("link", name=customer.client_id)).to_have_count(0)
    staff.get_by_label("Status").select_option(label="Closed")
    staff.get_by_role("button", name="Apply filters").click()
    expect(staff.get_by_role("link", name=customer.client_id)).to_be_visible()
    staff.context.close()

    # And the owner can no longer reach it.
    sign_in(page, base, portal_user.user.email, PASSWORD)
    response = page.goto(f"{base}/c/{customer.number}/")
    assert response is not None and response.status == 404
