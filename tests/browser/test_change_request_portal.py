"""Seed 002 in the portal, as the owner walks it: edit Legal identity → "Your request CR-… has
been sent" → the section shows current vs requested, read-only → open the request → cancel it
→ raise a new one."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from clientdesk.change_requests.models import ChangeRequest, Status
from clientdesk.customers.models import Customer
from tests.factories import PASSWORD

from .conftest import Portal
from .pages import flash, sign_in, user_menu

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REFERENCE = re.compile(r"CR-\d{6}")


def section(page: Page, title: str) -> Locator:
    return page.locator("section.profile-section", has=page.get_by_role("heading", name=title))


def open_my_account(page: Page) -> None:
    menu = user_menu(page)
    menu.locator("summary").click()
    menu.get_by_role("menuitem", name="My Account").click()
    expect(page.get_by_role("heading", name="My Account", level=1)).to_be_visible()


def edit_legal_identity(page: Page) -> Locator:
    panel = section(page, "Legal identity")
    details = panel.locator("details")
    if details.get_attribute("open") is None:
        panel.locator("summary").click()
    panel.get_by_role("link", name="Edit Legal identity").click()
    form = section(page, "Legal identity").locator("form")
    expect(form).to_be_visible()
    expect(form.locator(":focus")).to_have_count(1)  # app.js focused the form after the swap
    return form


def test_owner_requests_a_legal_change_cancels_it_and_raises_a_new_one(
    page: Page, live_server, portal_user: Portal
) -> None:
    customer = portal_user.customer
    sign_in(page, live_server.url, "gina@example.org", PASSWORD)
    open_my_account(page)

    # The pencil opens the form with the approval fields, marked as such.
    form = edit_legal_identity(page)
    expect(form.get_by_text("Needs approval").first).to_be_visible()
    expect(
        section(page, "Legal identity").get_by_text(
            re.compile("Changes to Legal identity are reviewed by .* before they apply")
        )
    ).to_be_visible()
    form.get_by_label("Legal name").fill("Gamma Logistics Berhad")
    form.get_by_label("Address line 1").fill("Lot 5, Jalan Gudang 16/1")
    form.get_by_label("City").fill("Shah Alam")
    form.get_by_label("Postcode").fill("40000")
    form.get_by_label("State").select_option(label="Selangor")
    form.get_by_label("Note for the reviewer").fill("We converted to a Berhad in May.")
    form.get_by_role("button", name="Save Changes").click()

    # "Your request CR-… has been sent", and the section shows current vs requested.
    legal = section(page, "Legal identity")
    sent = legal.get_by_text(re.compile(r"Your request CR-\d{6} has been sent"))
    expect(sent).to_be_visible()
    first_ref = REFERENCE.search(sent.inner_text())
    assert first_ref is not None
    reference = first_ref.group(0)
    expect(legal.get_by_text(f"{reference} pending")).to_be_visible()
    expect(legal.locator("form")).to_have_count(0)  # read-only while pending
    expect(legal.get_by_role("link", name="Edit Legal identity")).to_have_count(0)
    table = legal.get_by_role("table", name="Current and requested details")
    name_row = table.get_by_role("row", name=re.compile("^Legal name"))
    expect(name_row.locator("td").nth(0)).to_have_text("Gamma Logistics Sdn Bhd")
    expect(name_row.locator("mark")).to_have_text("Gamma Logistics Berhad")
    expect(legal.get_by_text("Open", exact=True)).to_be_visible()
    expect(legal.get_by_text("sent just now")).to_be_visible()
    # The account itself did not change.
    assert Customer.objects.get(pk=customer.pk).legal_name == "Gamma Logistics Sdn Bhd"

    # Open the request: what was asked, the note, and Cancel request.
    legal.get_by_role("link", name=f"View request {reference}").last.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(reference)
    expect(page.get_by_text("We converted to a Berhad in May.")).to_be_visible()
    page.get_by_role("link", name="Cancel request").click()
    expect(page.get_by_role("heading", name=f"Cancel {reference}?")).to_be_visible()
    page.get_by_role("button", name="Cancel request").click()
    expect(flash(page, f"{reference} was cancelled")).to_be_visible()
    expect(page.locator(".cr-header-meta").get_by_text("Cancelled", exact=True)).to_be_visible()
    assert ChangeRequest.objects.get(customer=customer).status == Status.CANCELLED

    # Raise a new one from My Account.
    flash(page, f"{reference} was cancelled").get_by_role("link").click()
    expect(page.get_by_role("heading", name="My Account", level=1)).to_be_visible()
    form = edit_legal_identity(page)
    expect(form.get_by_label("Legal name")).to_have_value("Gamma Logistics Sdn Bhd")
    form.get_by_label("Legal name").fill("Gamma Logistics Bhd")
    form.get_by_label("Address line 1").fill("Lot 5, Jalan Gudang 16/1")
    form.get_by_label("City").fill("Shah Alam")
    form.get_by_label("Postcode").fill("40000")
    form.get_by_label("State").select_option(label="Selangor")
    form.get_by_role("button", name="Save Changes").click()
    legal = section(page, "Legal identity")
    sent = legal.get_by_text(re.compile(r"Your request CR-\d{6} has been sent"))
    expect(sent).to_be_visible()
    second = REFERENCE.search(sent.inner_text())
    assert second is not None and second.group(0) != reference
    name_row = legal.get_by_role("row", name=re.compile("^Legal name"))
    expect(name_row.locator("mark")).to_have_text("Gamma Logistics Bhd")
    statuses = dict(ChangeRequest.objects.filter(customer=customer).values_list("number", "status"))
    assert sorted(statuses.values()) == [Status.CANCELLED, Status.OPEN]
