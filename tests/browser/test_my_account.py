"""Seed 000, step by step: username menu → My Account → expand the sections → pencil → edit →
Save Changes → the values show at once; the primary email (the login ID) cannot be edited.
Then the change is in Activity, and a member sees the same profile read-only."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from clientdesk.audit.models import Activity
from clientdesk.customers.models import Customer
from tests import factories
from tests.factories import PASSWORD

from .conftest import Portal
from .pages import sign_in, user_menu

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SEED_000_SECTIONS = [
    "Personal Details",
    "E-Invoice Information",
    "Business Details",
    "Contact Information",
]


def section(page: Page, title: str) -> Locator:
    return page.locator("section.profile-section", has=page.get_by_role("heading", name=title))


def expand(panel: Locator) -> None:
    details = panel.locator("details")
    if details.get_attribute("open") is None:
        panel.locator("summary").click()
    expect(details).to_have_attribute("open", "")


def edit_section(page: Page, title: str) -> Locator:
    """Press the pencil and wait until the form is in place and has taken focus (app.js moves
    focus into it after the swap; typing earlier could land in the wrong field)."""
    section(page, title).get_by_role("link", name=f"Edit {title}").click()
    panel = section(page, title)
    expect(panel.locator("form")).to_be_visible()
    expect(panel.locator("form :focus")).to_have_count(1)
    return panel


def open_my_account(page: Page) -> None:
    menu = user_menu(page)
    menu.locator("summary").click()
    menu.get_by_role("menuitem", name="My Account").click()
    expect(page.get_by_role("heading", name="My Account", level=1)).to_be_visible()


def test_owner_updates_the_profile_as_seed_000_describes(
    page: Page, live_server, portal_user: Portal
) -> None:
    sign_in(page, live_server.url, "gina@example.org", PASSWORD)
    open_my_account(page)

    # Each section expands and shows its values.
    for title in SEED_000_SECTIONS:
        panel = section(page, title)
        expand(panel)
        expect(panel.locator(".profile-section-body")).to_be_visible()

    # E-Invoice Information: pencil → form in place → Save Changes → applied at once.
    form = edit_section(page, "E-Invoice Information").locator("form")
    form.get_by_label("Tax identification number (TIN)").fill("c 2584563200")
    form.get_by_label("MSIC code").select_option("62010")
    form.get_by_role("button", name="Save Changes").click()
    einvoice = section(page, "E-Invoice Information")
    expect(einvoice.get_by_text("Saved — changes are live")).to_be_visible()
    expect(einvoice.get_by_text("C2584563200")).to_be_visible()
    expect(einvoice.get_by_text("62010 — Computer programming activities")).to_be_visible()

    # A wrong value is refused next to its field and nothing is saved.
    form = edit_section(page, "E-Invoice Information").locator("form")
    form.get_by_label("SST registration number").fill("W10-123")
    form.get_by_role("button", name="Save Changes").click()
    # The message sits next to the field, tied to it by aria-describedby.
    expect(page.locator("#id_sst_number_error")).to_contain_text("W10-1808-32000092")
    expect(page.get_by_label("SST registration number")).to_have_attribute("aria-invalid", "true")
    assert Customer.objects.get(pk=portal_user.customer.pk).sst_number == ""
    section(page, "E-Invoice Information").get_by_role("link", name="Cancel").click()

    # Contact Information: the primary email is shown locked, never as an input.
    expand(section(page, "Contact Information"))
    contact = edit_section(page, "Contact Information")
    expect(contact.get_by_text("gina@example.org")).to_be_visible()
    expect(contact.get_by_text(re.compile("login ID"))).to_be_visible()
    expect(contact.locator("input[value='gina@example.org']")).to_have_count(0)
    contact.get_by_label("Billing email").fill("accounts@gamma.example")
    contact.get_by_label("Mobile").fill("012-345 6789")
    contact.get_by_role("button", name="Save Changes").click()
    contact = section(page, "Contact Information")
    expect(contact.get_by_text("Saved — changes are live")).to_be_visible()
    expect(contact.get_by_text("accounts@gamma.example")).to_be_visible()
    expect(contact.get_by_text("012-345 6789")).to_be_visible()

    # The values are live after a reload too, and each save is one Activity entry.
    page.reload()
    expand(section(page, "Contact Information"))
    expect(
        section(page, "Contact Information").get_by_text("accounts@gamma.example")
    ).to_be_visible()
    assert (
        Activity.objects.filter(customer=portal_user.customer, verb="customer.updated").count() == 2
    )

    page.get_by_role("navigation", name="Customer sections").get_by_role(
        "link", name="Activity"
    ).click()
    expect(page.get_by_role("heading", name="Activity", level=1)).to_be_visible()
    expect(page.get_by_text("Gina Portal changed Billing email and Mobile")).to_be_visible()
    expect(
        page.get_by_text(
            re.compile("Gina Portal changed Tax identification number .* and MSIC code")
        )
    ).to_be_visible()


def test_a_member_sees_the_profile_read_only(page: Page, live_server, portal_user: Portal) -> None:
    member = factories.make_user("milo@example.org", full_name="Milo Member")
    factories.make_contact(portal_user.customer, "member", user=member)
    sign_in(page, live_server.url, "milo@example.org", PASSWORD)
    open_my_account(page)

    for title in SEED_000_SECTIONS:
        panel = section(page, title)
        if panel.count():
            expand(panel)
            expect(panel.get_by_role("link", name=f"Edit {title}")).to_have_count(0)
    expect(page.get_by_role("button", name="Save Changes")).to_have_count(0)
    expect(page.get_by_role("link", name=re.compile("^Edit "))).to_have_count(0)
