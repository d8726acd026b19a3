"""The customer 360 in a browser: a support agent opens a customer, checks the header, finds a
section with the View menu, records a note (seed 003 step 9: date and time automatic, reason,
authorised by), reveals a masked identity number and edits a section with a reason."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from clientdesk.audit.models import Activity
from clientdesk.core.actor import Actor
from clientdesk.customers.actions import update_profile_section
from clientdesk.customers.models import Customer, Note
from clientdesk.taxes.actions import add_tax_rule
from tests import factories
from tests.factories import PASSWORD

from .conftest import StaffMember
from .pages import flash, sign_in_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SYSTEM = Actor.system()


@dataclass
class Desk:
    customer: Customer
    manager: Any


@pytest.fixture
def desk(transactional_db: None) -> Desk:
    add_tax_rule(
        country="MY",
        name="SST",
        rate="8",
        effective_from=datetime.date(2024, 3, 1),
        actor=SYSTEM,
    )
    customer = factories.make_customer("Siti Aminah", kind="individual")
    owner = factories.make_user("siti@example.org", full_name="Siti Aminah")
    factories.make_contact(customer, "owner", user=owner, first_name="Siti", last_name="Aminah")
    update_profile_section(
        customer,
        section="personal",
        values={"id_type": "nric", "id_number": "770305021234", "date_of_birth": "1977-03-05"},
        actor=SYSTEM,
    )
    manager = factories.make_staff("manager", email="maya@staff.example")
    type(manager).objects.filter(pk=manager.pk).update(full_name="Maya Manager")
    return Desk(customer=Customer.objects.get(pk=customer.pk), manager=manager)


def open_360(page: Page, base_url: str, staff: StaffMember, customer: Customer) -> None:
    sign_in_staff(page, base_url, staff.email, PASSWORD, staff.totp_secret)
    page.goto(f"{base_url}/staff/customers/{customer.number}/")
    expect(page.get_by_role("heading", level=1, name="Siti Aminah")).to_be_visible()


def test_a_support_agent_opens_the_360_and_records_a_note(
    page: Page, live_server: Any, staff_support: StaffMember, desk: Desk
) -> None:
    customer = desk.customer
    open_360(page, live_server.url, staff_support, customer)

    header = page.locator("#c360-header")
    expect(header).to_contain_text(customer.client_id)
    expect(header).to_contain_text("Individual")
    expect(header).to_contain_text("Active")
    expect(header).to_contain_text("Malaysia")
    expect(header).to_contain_text("SST 8%")
    expect(header).to_contain_text("siti@example.org")
    expect(header).to_contain_text("1 contact")
    expect(header).to_contain_text("Zero balance")
    expect(page.get_by_role("link", name="Profile", exact=True)).to_have_attribute(
        "aria-current", "page"
    )

    # Seed 001 "Navigate to a section": View → an item.
    page.locator("details.c360-view-menu > summary").click()
    menu = page.get_by_role("menu", name=re.compile("View a section"))
    expect(menu).to_be_visible()
    menu.get_by_role("menuitem", name="Preferences").click()
    expect(page).to_have_url(re.compile(r"\?open=preferences#section-preferences$"))
    expect(page.locator("#section-preferences > details")).to_have_attribute("open", "")

    # …or the shortcut next to it.
    page.get_by_label("Shortcut").select_option(label="Notes")
    page.get_by_role("button", name="Go", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/staff/customers/{customer.number}/notes/$"))
    expect(page.get_by_role("link", name=re.compile(r"^Notes")).first).to_have_attribute(
        "aria-current", "page"
    )

    # Seed 003 step 9: the note with type, reason and who authorised it.
    form = page.locator("form", has=page.get_by_role("heading", name="Add a note"))
    form.get_by_label("Type").select_option(label="Email change")
    form.get_by_label("Authorised by").select_option(label="Maya Manager")
    form.get_by_label("Reason").fill("Client lost access to the old mailbox")
    form.get_by_label(re.compile(r"^Note\b")).fill(
        "Identity verified by callback; login email changed to siti@newmail.example."
    )
    form.get_by_label("Pin to the top").check()
    form.get_by_role("button", name="Save note").click()

    expect(flash(page, "The note was recorded.")).to_be_visible()
    note = Note.objects.get(customer=customer)
    item = page.locator(f"#note-{note.pk}")
    expect(item).to_contain_text("Email change")
    expect(item).to_contain_text("Pinned")
    expect(item).to_contain_text("Identity verified by callback")
    expect(item).to_contain_text("Reason: Client lost access to the old mailbox")
    expect(item).to_contain_text("authorised by Maya Manager")
    expect(item.locator("time")).to_have_attribute("datetime", re.compile(r"^\d{4}-\d\d-\d\dT"))
    assert note.author == staff_support.user and note.authorised_by == desk.manager

    # The Notes tab count and the Profile tab's pinned notes.
    expect(page.locator(".tabs")).to_contain_text("Notes 1")
    page.get_by_role("link", name="Profile", exact=True).click()
    aside = page.locator(".c360-aside")
    expect(aside).to_contain_text("Identity verified by callback")
    expect(aside).to_contain_text("Pinned")


def test_reveal_a_masked_number_and_edit_a_section_with_a_reason(
    page: Page, live_server: Any, staff_support: StaffMember, desk: Desk
) -> None:
    customer = desk.customer
    open_360(page, live_server.url, staff_support, customer)

    row = page.locator("#row-id_number")
    expect(row).to_contain_text("••••••••••1234")
    expect(row).not_to_contain_text("770305-02-1234")
    row.get_by_role("button", name="Reveal Identity document number").click()
    expect(page.locator("#row-id_number")).to_contain_text("770305-02-1234")
    expect(page.locator("#row-id_number")).to_contain_text("recorded in Activity")
    expect(page.locator("#row-date_of_birth")).not_to_contain_text("1977")
    assert Activity.objects.filter(customer=customer, verb="customer.field_revealed").count() == 1

    # Contact Information: the pencil opens the form in place; Cancel closes it again.
    page.get_by_role("link", name="Edit Contact Information").click()
    section = page.locator("#section-contact")
    expect(section.get_by_label("Reason for this change")).to_be_visible()
    section.get_by_role("link", name="Cancel").click()
    expect(section.get_by_label("Reason for this change")).to_have_count(0)
    expect(section.get_by_role("link", name="Edit Contact Information")).to_be_visible()
    # A change without a reason is refused with a message; with a reason it is saved.
    page.get_by_role("link", name="Edit Contact Information").click()
    section.get_by_label("Billing email").fill("accounts@siti.example")
    section.get_by_role("button", name="Save Changes").click()
    expect(section.locator("#id_reason_error")).to_contain_text(
        "Say why you are making this change."
    )
    section.get_by_label("Reason for this change").fill("Client asked by phone")
    section.get_by_role("button", name="Save Changes").click()
    expect(page.locator("#section-contact")).to_contain_text("Saved — the change is live")
    expect(page.locator("#section-contact")).to_contain_text("accounts@siti.example")

    page.get_by_role("link", name="Activity", exact=True).click()
    expect(page.get_by_text("Reason: Client asked by phone")).to_be_visible()
    expect(page.get_by_text(re.compile("revealed the Identity document number"))).to_be_visible()
