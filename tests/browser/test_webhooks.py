"""Webhooks in a browser (issue 9, seed 003 "Update any additional systems … (cPanel,
WHOIS)"): a manager connects cPanel to a real local receiver and copies its signing secret,
shown once; a change to the customer is delivered, signed so that an independent Standard
Webhooks implementation accepts it, and the customer's Integrations tab shows it Delivered.
Then the receiver breaks, the next change fails, and once the receiver is fixed support sends
it again from the tab and it is Delivered."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, BrowserContext, Page, expect
from pytest_httpserver import HTTPServer
from standardwebhooks import Webhook

from clientdesk.customers import contact_actions
from clientdesk.customers.models import Customer
from clientdesk.webhooks import sending
from clientdesk.webhooks.models import Delivery
from clientdesk.webhooks.worker import Worker
from tests import factories
from tests.factories import PASSWORD, SYSTEM

from .conftest import TIMEOUT_MS
from .pages import flash, sign_in_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("WEBHOOK_SCREENSHOTS", "")  # a folder: save a shot per step


def shot(page: Page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    """Browser contexts of the test's staff members, closed before the live server stops."""
    opened: list[BrowserContext] = []
    yield opened
    for context in opened:
        context.close()


def staff_page(
    browser: Browser, contexts: list[BrowserContext], base_url: str, role: str, email: str
) -> Page:
    user = factories.make_staff(role, email=email, with_mfa=False)
    secret = factories.enrol_totp(user)
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    contexts.append(context)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    sign_in_staff(page, base_url, user.email, PASSWORD, secret)
    return page


def open_integrations(page: Page, base_url: str, customer: Customer) -> None:
    page.goto(f"{base_url}/staff/customers/{customer.number}/")
    page.get_by_role("link", name="Integrations", exact=True).click()
    expect(page.get_by_role("heading", name="Integrations", exact=True)).to_be_visible()


def fail_until_given_up(delivery: Delivery) -> None:
    """Run the worker on a clock that jumps past each retry until the schedule is spent."""
    clock = timezone.now()
    for _ in range(12):
        delivery.refresh_from_db()
        if delivery.status == Delivery.Status.FAILED:
            return
        clock = max(clock, delivery.next_attempt_at) + timedelta(seconds=1)
        Worker(threads=2, clock=lambda at=clock: at).run_once()
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED


def test_cpanel_gets_the_change_and_support_sends_a_failed_one_again(
    browser: Browser, contexts: list[BrowserContext], live_server: Any, httpserver: HTTPServer
) -> None:
    sending._pools.clear()  # connection pools outlive a test's receiver
    base = live_server.url
    customer = factories.make_customer("Maju Digital Sdn Bhd")
    technical = factories.make_contact(
        customer, "technical", portal=False, first_name="Aisyah", last_name="Rahman"
    )
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    hook_url = httpserver.url_for("/hook")

    # A manager adds the cPanel endpoint for this customer's contact events.
    manager = staff_page(browser, contexts, base, "manager", "maya@staff.example")
    manager.goto(f"{base}/staff/webhooks/")
    expect(manager.get_by_role("heading", name="Webhooks", exact=True)).to_be_visible()
    manager.get_by_role("link", name="Add endpoint").first.click()
    expect(manager.get_by_role("heading", name="Add webhook endpoint")).to_be_visible()
    manager.get_by_label("URL").fill(hook_url)
    manager.get_by_label("Integration target").fill("cPanel")
    manager.get_by_label("Description").fill("Hosting control panel: contact emails")
    contacts = manager.get_by_role("group", name="Contacts", exact=True)
    contacts.get_by_label("Every contact event").check()
    manager.get_by_role("textbox", name="Customers").fill(customer.client_id)
    shot(manager, "webhook-1-form")
    manager.get_by_role("button", name="Add endpoint").click()

    # The secret, once, with a copy button.
    expect(manager.get_by_role("heading", name="Endpoint added")).to_be_visible()
    expect(manager.get_by_text("Copy it now: it will not be shown again.")).to_be_visible()
    secret = manager.get_by_label("Signing secret for cPanel").input_value()
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/=]{32}", secret)
    manager.get_by_role("button", name="Copy").click()
    expect(manager.get_by_text("Copied to the clipboard.")).to_be_visible()
    assert manager.evaluate("navigator.clipboard.readText()") == secret
    shot(manager, "webhook-2-secret")
    manager.get_by_role("link", name="I have copied the secret").click()
    expect(manager.get_by_role("heading", name="cPanel", exact=True)).to_be_visible()
    assert secret not in manager.content()
    expect(manager.get_by_text(secret[:10] + "…")).to_be_visible()  # only the hint

    # A contact's email changes (a staff edit); the worker delivers it, signed.
    contact_actions.update_contact(technical, values={"email": "aisyah@maju.example"}, actor=SYSTEM)
    Worker(threads=2).run_once()
    assert len(httpserver.log) == 1
    request, _ = httpserver.log[0]
    event = Webhook(secret).verify(request.get_data(), dict(request.headers))
    assert event["type"] == "contact.updated" and event["customer"] == customer.client_id

    # Support sees it Delivered on the customer's Integrations tab.
    support = staff_page(browser, contexts, base, "support", "sam@staff.example")
    open_integrations(support, base, customer)
    expect(support.get_by_text("check here that cPanel and WHOIS got")).to_be_visible()
    cpanel = support.get_by_role("region", name="cPanel")
    delivered = cpanel.get_by_role("row", name=re.compile("A contact's details or role changed"))
    expect(delivered).to_contain_text("Delivered ✓")
    shot(support, "webhook-3-integrations-delivered")

    # The receiver breaks; the next change is retried and finally given up.
    httpserver.clear_all_handlers()
    httpserver.expect_request("/hook", method="POST").respond_with_data(
        "<h1>maintenance</h1>", status=500
    )
    added = factories.make_contact(customer, "billing", portal=False)
    Worker(threads=2).run_once()
    failing = Delivery.objects.get(event__type="contact.created")
    assert failing.status == Delivery.Status.PENDING and failing.last_status_code == 500
    support.reload()
    waiting = cpanel.get_by_role("row", name=re.compile("A contact was added"))
    expect(waiting).to_contain_text("Waiting")
    expect(waiting).to_contain_text("Next try at")
    fail_until_given_up(failing)
    support.reload()
    failed = cpanel.get_by_role("row", name=re.compile("A contact was added"))
    expect(failed).to_contain_text("Failed")
    expect(failed).to_contain_text("HTTP 500")
    shot(support, "webhook-4-integrations-failed")

    # The manager's console shows the failure and the escaped answer.
    manager.goto(f"{base}/staff/webhooks/")
    row = manager.get_by_role("row", name=re.compile("cPanel"))
    expect(row).to_contain_text("Failing since")
    shot(manager, "webhook-5-list")
    row.get_by_role("link", name="cPanel").click()
    expect(manager.get_by_text("Failing since")).to_be_visible()
    shot(manager, "webhook-6-detail")
    manager.get_by_role("link", name="contact.created").click()
    expect(manager.get_by_role("heading", name="A contact was added")).to_be_visible()
    expect(manager.get_by_text("<h1>maintenance</h1>").first).to_be_visible()
    shot(manager, "webhook-7-delivery")

    # Fixed: support sends it again and it is delivered.
    httpserver.clear_all_handlers()
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    failed.get_by_role("button", name=re.compile("Send .* again")).click()
    expect(flash(support, "Queued to be sent again now")).to_be_visible()
    Worker(threads=2).run_once()
    support.reload()
    expect(cpanel.get_by_role("row", name=re.compile("A contact was added"))).to_contain_text(
        "Delivered ✓"
    )
    failing.refresh_from_db()
    assert failing.status == Delivery.Status.DELIVERED
    last, _ = httpserver.log[-1]
    resent = Webhook(secret).verify(last.get_data(), dict(last.headers))
    assert resent["id"] == f"evt_{failing.event_id.hex}" and resent["data"]["id"] == added.pk
    shot(support, "webhook-8-integrations-resent")
