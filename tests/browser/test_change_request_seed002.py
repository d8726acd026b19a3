"""Seed 002 end to end, in two browsers: the customer requests a legal-identity change → sees
it pending beside the current details → a manager asks a question in the thread → the
customer replies → the manager approves → the customer gets the confirmation email and sees
the new details; every step is in Activity and the outbox."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from playwright.sync_api import Browser, Locator, Page, expect

from clientdesk.audit.models import Activity
from clientdesk.change_requests.models import ChangeRequest, Status
from clientdesk.customers.models import Customer
from clientdesk.events.models import Event
from tests import factories
from tests.factories import PASSWORD

from .conftest import Portal
from .pages import flash, sign_in, sign_in_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REFERENCE = re.compile(r"CR-\d{6}")


def section(page: Page, title: str) -> Locator:
    return page.locator("section.profile-section", has=page.get_by_role("heading", name=title))


def test_request_question_reply_approve_confirmation(
    page: Page, browser: Browser, live_server, portal_user: Portal
) -> None:
    customer = portal_user.customer
    manager = factories.make_staff("manager", email="maya@staff.example", with_mfa=False)
    secret = factories.enrol_totp(manager)

    # 1. The customer asks for a new legal name and registered address.
    sign_in(page, live_server.url, "gina@example.org", PASSWORD)
    page.goto(f"{live_server.url}/c/{customer.number}/account/?open=legal")
    legal = section(page, "Legal identity")
    legal.get_by_role("link", name="Edit Legal identity").click()
    form = section(page, "Legal identity").locator("form")
    form.get_by_label("Legal name").fill("Gamma Logistics Berhad")
    form.get_by_label("Address line 1").fill("Lot 5, Jalan Gudang 16/1")
    form.get_by_label("City").fill("Shah Alam")
    form.get_by_label("Postcode").fill("40000")
    form.get_by_label("State").select_option(label="Selangor")
    form.get_by_role("button", name="Save Changes").click()
    sent = section(page, "Legal identity").get_by_text(
        re.compile(r"Your request CR-\d{6} has been sent")
    )
    expect(sent).to_be_visible()
    found = REFERENCE.search(sent.inner_text())
    assert found is not None
    reference = found.group(0)
    request = ChangeRequest.objects.get(customer=customer)

    # 2. While pending: current and requested side by side, the profile unchanged.
    page.reload()
    legal = section(page, "Legal identity")
    if legal.locator("details").get_attribute("open") is None:
        legal.locator("summary").click()
    row = legal.get_by_role("row", name=re.compile("^Legal name"))
    expect(row.locator("td").nth(0)).to_have_text("Gamma Logistics Sdn Bhd")
    expect(row.locator("mark")).to_have_text("Gamma Logistics Berhad")
    assert Customer.objects.get(pk=customer.pk).legal_name == "Gamma Logistics Sdn Bhd"

    # 3. A manager, in another browser, asks a question from the queue.
    staff_context = browser.new_context(base_url=live_server.url)
    staff_page = staff_context.new_page()
    sign_in_staff(staff_page, live_server.url, manager.email, PASSWORD, secret)
    staff_page.goto(f"{live_server.url}/staff/requests/")
    staff_page.get_by_role("link", name=reference).first.click()
    expect(staff_page.get_by_role("heading", level=1)).to_contain_text(reference)
    staff_page.get_by_label("Message").fill("Please confirm the SSM conversion date.")
    staff_page.get_by_role("button", name="Send message").click()
    expect(flash(staff_page, "waits for the customer's reply")).to_be_visible()
    request.refresh_from_db()
    assert request.status == Status.AWAITING_CUSTOMER
    question = [m for m in mail.outbox if "gina@example.org" in m.to and "question" in m.subject]
    assert len(question) == 1 and "SSM conversion date" in question[0].body

    # 4. The customer follows the link in the email and replies.
    link = re.search(r"https?://\S+/requests/\d+/", question[0].body)
    assert link is not None
    page.goto(live_server.url + urlsplit(link.group(0)).path)
    expect(page.locator(".alert-title", has_text="Awaiting your reply")).to_be_visible()
    page.get_by_label("Your reply").fill("Converted on 12 May 2026; form 9 attached by post.")
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_text("Converted on 12 May 2026")).to_be_visible()
    request.refresh_from_db()
    assert request.status == Status.OPEN

    # 5. The manager sees the reply and approves.
    staff_page.reload()
    expect(staff_page.get_by_text("Converted on 12 May 2026")).to_be_visible()
    staff_page.get_by_role("button", name="Approve ticked changes").click()
    expect(flash(staff_page, f"{reference} approved")).to_be_visible()
    staff_context.close()

    # 6. The confirmation email, and the customer sees the new details and the outcome.
    confirmation = [
        m for m in mail.outbox if "gina@example.org" in m.to and "approved" in m.subject
    ]
    assert len(confirmation) == 1 and "Gamma Logistics Berhad" in confirmation[0].body
    page.goto(f"{live_server.url}/c/{customer.number}/account/?open=legal")
    expect(section(page, "Legal identity").get_by_text("Gamma Logistics Berhad")).to_be_visible()
    page.goto(f"{live_server.url}/c/{customer.number}/requests/{request.number}/")
    expect(page.get_by_text("Approved").first).to_be_visible()

    # Every step is in Activity and the outbox.
    verbs = set(Activity.objects.filter(customer=customer).values_list("verb", flat=True))
    assert {
        "change_request.submitted",
        "change_request.commented",
        "change_request.approved",
        "customer.updated",
    } <= verbs
    types = set(Event.objects.filter(customer=customer).values_list("type", flat=True))
    assert {"change_request.submitted", "change_request.approved", "customer.updated"} <= types
