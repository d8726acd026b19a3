"""Seed 003 in a browser: a support agent (signed in with an authenticator code) opens the
customer 360, runs the login-email change wizard step by step, and then the client signs in
with the new email and password — and no longer with the old email."""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from clientdesk.customers.models import Customer, Note
from tests import factories
from tests.factories import PASSWORD

from .conftest import StaffMember
from .pages import expect_sign_in_page, flash, sign_in, sign_in_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OLD = "siti@example.org"
NEW = "siti.aminah@newmail.example"
SHOTS = os.environ.get("EMAIL_CHANGE_SCREENSHOTS", "")  # a folder: save a shot per step


@pytest.fixture
def customer(transactional_db: None) -> Customer:
    customer = factories.make_customer("Siti Aminah", kind="individual")
    owner = factories.make_user(OLD, full_name="Siti Aminah")
    factories.make_contact(customer, "owner", user=owner, first_name="Siti", last_name="Aminah")
    manager = factories.make_staff("manager", email="maya@staff.example")
    type(manager).objects.filter(pk=manager.pk).update(full_name="Maya Manager")
    return customer


def shot(page: Page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def expect_step(page: Page, number: int, label: str) -> None:
    expect(page.locator("#ec-step-heading")).to_contain_text(f"Step {number} of 5")
    expect(page.locator("#ec-step-heading")).to_contain_text(label)
    expect(page.locator(".ec-step[aria-current='step']")).to_contain_text(label)


def next_step(page: Page) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name="Next").click()


def test_support_changes_the_login_email_and_the_client_signs_in_with_the_new_one(
    page: Page,
    browser: Browser,
    live_server: Any,
    staff_support: StaffMember,
    customer: Customer,
) -> None:
    base = live_server.url
    # The client is signed in somewhere while staff change their login.
    client_context = browser.new_context()
    client_page = client_context.new_page()
    sign_in(client_page, base, OLD, PASSWORD)
    expect(client_page).to_have_url(f"{base}/c/{customer.number}/")

    sign_in_staff(page, base, staff_support.email, PASSWORD, staff_support.totp_secret)
    page.goto(f"{base}/staff/customers/{customer.number}/?open=contact")
    row = page.locator("#row-primary_email")
    expect(row).to_contain_text(OLD)
    shot(page, "0-profile")
    with page.expect_navigation():
        row.get_by_role("link", name="Change login email").click()

    # 1. Verify identity: both inputs are required.
    expect_step(page, 1, "Verify identity")
    next_step(page)
    expect(page.locator("#id_verification_method_error")).to_contain_text(
        "Choose how you verified the client's identity."
    )
    expect(page.locator("#id_verification_reference_error")).to_be_visible()
    page.get_by_label("Phone call-back to the number on file").check()
    page.get_by_role("textbox", name="Evidence reference").fill("Call ref 7781")
    shot(page, "1-verify")
    next_step(page)

    # 2. Confirm the client.
    expect_step(page, 2, "Confirm the client")
    facts = page.locator(".ec-facts")
    for fact in (customer.client_id, "Siti Aminah", "Active", OLD):
        expect(facts).to_contain_text(fact)
    page.get_by_label("I have checked this is the client's account").check()
    shot(page, "2-confirm")
    next_step(page)

    # 3. New email: a typo of a common domain is flagged until confirmed or fixed.
    expect_step(page, 3, "New email")
    page.get_by_label("New login email").fill("siti.aminah@gmial.com")
    next_step(page)
    expect(page.locator("#ec-email-warning")).to_contain_text("Did you mean siti.aminah@gmail.com?")
    expect(page.get_by_label("The address is correct")).to_be_visible()
    shot(page, "3-email-warning")
    page.get_by_label("New login email").fill("b.owner@example.org")
    factories.make_user("b.owner@example.org")
    next_step(page)
    expect(page.locator("#id_new_email_error")).to_contain_text("Another sign-in already uses")
    page.get_by_label("New login email").fill(NEW)
    next_step(page)

    # 4. Reason and who authorised it (the current user by default).
    expect_step(page, 4, "Reason")
    authoriser = page.get_by_label("Authorised by")
    expect(authoriser.locator("option:checked")).to_contain_text(staff_support.email)
    page.get_by_role("textbox", name="Reason").fill("Client lost access to the old mailbox")
    authoriser.select_option(label="Maya Manager (maya@staff.example)")
    shot(page, "4-reason")
    next_step(page)

    # 5. Review, and Back keeps what was entered.
    expect_step(page, 5, "Review & confirm")
    review = page.locator(".ec-review")
    for shown in (
        "Phone call-back to the number on file",
        "Call ref 7781",
        OLD,
        NEW,
        "Client lost access to the old mailbox",
        "Maya Manager",
    ):
        expect(review).to_contain_text(shown)
    shot(page, "5-review")
    with page.expect_navigation():
        page.get_by_role("link", name="Back").click()
    expect_step(page, 4, "Reason")
    expect(page.get_by_role("textbox", name="Reason")).to_have_value(
        "Client lost access to the old mailbox"
    )
    next_step(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Change login email").click()

    # Back on the 360 with the outcome; the row shows the new login.
    expect(flash(page, f"Login email changed to {NEW}.")).to_be_visible()
    expect(page.locator("#row-primary_email")).to_contain_text(NEW)
    shot(page, "6-done")
    note = Note.objects.get(customer=customer, kind=Note.Kind.EMAIL_CHANGE)
    assert note.reason == "Client lost access to the old mailbox"
    assert note.authorised_by is not None and note.authorised_by.email == "maya@staff.example"

    # The client's open session has ended.
    client_page.goto(f"{base}/c/{customer.number}/")
    expect_sign_in_page(client_page)
    # The old email no longer signs in…
    sign_in(client_page, base, OLD, PASSWORD)
    expect_sign_in_page(client_page)
    expect(
        client_page.get_by_role("alert").filter(has_text=re.compile("not correct", re.I))
    ).to_be_visible()
    # …the new one does, with the same password.
    sign_in(client_page, base, NEW, PASSWORD)
    expect(client_page).to_have_url(f"{base}/c/{customer.number}/")
    expect(client_page.get_by_role("heading", name="Siti Aminah")).to_be_visible()
    client_context.close()
