"""Portal settings & contacts (seed 004), the invitation link, "Your contact details" and the
customer switcher, driven through the pages as a person would use them."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core import mail
from playwright.sync_api import BrowserContext, Page, expect

from clientdesk.customers.models import Contact, Invitation
from tests import factories
from tests.factories import PASSWORD

from .conftest import TIMEOUT_MS
from .pages import (
    contact_row,
    contacts_table,
    customer_switcher,
    flash,
    open_settings_item,
    open_settings_menu,
    portal_switch,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CUSTOMER = "Gamma Logistics Sdn Bhd"
NEW_PASSWORD = "staple-lantern-orbit-73"
INVITATION_LINK = re.compile(r"https?://[^\s\"'<>]+/invitations/[^\s\"'<>/]+/")
CONTACTS_PAGE = "Portal settings & contacts"


@dataclass
class Team:
    """A customer with an owner (Gina), a member who signs in (Milo) and a contact without
    portal access (Tara)."""

    customer: Any
    owner: Contact
    member: Contact
    offline: Contact

    def home(self, base_url: str) -> str:
        return f"{base_url}/c/{self.customer.number}/"


@pytest.fixture
def team(transactional_db: None) -> Team:
    customer = factories.make_customer(CUSTOMER)
    gina = factories.make_user("gina@example.org", full_name="Gina Portal")
    milo = factories.make_user("milo@example.org", full_name="Milo Member")
    owner = factories.make_contact(
        customer, "owner", user=gina, first_name="Gina", last_name="Portal"
    )
    member = factories.make_contact(
        customer, "member", user=milo, first_name="Milo", last_name="Member"
    )
    offline = factories.make_contact(
        customer,
        "technical",
        portal=False,
        first_name="Tara",
        last_name="Tech",
        email="tara@example.org",
    )
    assert not offline.portal_access
    return Team(customer=customer, owner=owner, member=member, offline=offline)


def second_page(new_context: Callable[..., BrowserContext]) -> Page:
    """A page in a fresh browser context: another person, with cookies of its own."""
    page = new_context().new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return page


def open_contacts(page: Page) -> None:
    open_settings_item(page, CONTACTS_PAGE)
    expect(page.get_by_role("heading", name=CONTACTS_PAGE, level=1)).to_be_visible()


def invitation_link(to: str) -> str:
    """The accept link of the one invitation mail sent to ``to``, on the public site."""
    sent = [m for m in mail.outbox if m.to == [to]]
    assert len(sent) == 1, [(m.to, m.subject) for m in mail.outbox]
    body = str(sent[0].body)
    links = INVITATION_LINK.findall(body)
    assert len(links) == 1, f"no single invitation link in the mail body:\n{body}"
    assert links[0].startswith(settings.SITE_URL + "/"), links[0]
    return links[0]


def on_live_server(base_url: str, link: str) -> str:
    """The mail's link points at SITE_URL; the browser opens the same path on the live
    server (as test_password_reset does)."""
    return base_url + urlsplit(link).path


# --- 1. Seed 004 end to end ------------------------------------------------------------


def test_owner_adds_a_contact_who_accepts_the_invitation(
    page: Page, new_context, live_server, team: Team
) -> None:
    base = live_server.url
    sign_in(page, base, "gina@example.org", PASSWORD)
    expect(page).to_have_url(team.home(base))

    # Owners reach the page from the sidebar too.
    sidebar = page.get_by_role("navigation", name="Customer sections")
    expect(sidebar.get_by_role("link", name="Contacts")).to_be_visible()
    open_contacts(page)
    page.get_by_role("link", name="Add Contact").click()
    expect(page.get_by_role("heading", name="Add Contact", level=1)).to_be_visible()
    page.get_by_label("First name").fill("Nadia")
    page.get_by_label("Last name").fill("Rahman")
    page.get_by_label("Email").fill("nadia@example.org")
    page.get_by_label("Phone").fill("012-345 6789")
    page.get_by_label("Job title").fill("Finance lead")
    page.get_by_label("Role").select_option(label="Billing")
    topics = page.get_by_role("group", name="Email them about")
    topics.get_by_label("Billing").check()
    # Portal access starts on: saving invites the person.
    expect(page.get_by_role("switch", name="Customer Portal Enabled")).to_be_checked()
    page.get_by_role("button", name="Save Contact").click()

    expect(page.get_by_role("heading", name=CONTACTS_PAGE, level=1)).to_be_visible()
    expect(flash(page, "Nadia Rahman was added.")).to_contain_text("nadia@example.org")
    row = contact_row(page, "Nadia Rahman")
    expect(row).to_contain_text("Invitation sent")
    expect(row).to_contain_text("Billing")
    expect(row).to_contain_text("Finance lead")
    expect(portal_switch(page, "Nadia Rahman")).to_have_attribute("aria-checked", "true")
    expect(page.get_by_role("button", name="Resend the invitation to Nadia Rahman")).to_be_visible()

    # The invitation mail names the customer and carries a link on the public site.
    link = invitation_link("nadia@example.org")
    message = next(m for m in mail.outbox if m.to == ["nadia@example.org"])
    assert CUSTOMER in message.subject, message.subject

    # A fresh person (no cookies) opens it, sets a name and a password, and is in.
    nadia = second_page(new_context)
    nadia.goto(on_live_server(base, link))
    expect(nadia.get_by_role("heading", name=f"Join {CUSTOMER}")).to_be_visible()
    expect(nadia.get_by_text("nadia@example.org")).to_be_visible()
    nadia.get_by_label("Your name").fill("Nadia Rahman")
    nadia.get_by_label("Choose a password").fill(NEW_PASSWORD)
    nadia.get_by_label("Repeat the password").fill(NEW_PASSWORD)
    nadia.get_by_role("button", name="Accept invitation").click()
    expect(nadia).to_have_url(team.home(base))
    expect(flash(nadia, f"Welcome! You can now use the portal for {CUSTOMER}.")).to_be_visible()
    expect(nadia.get_by_role("heading", name=CUSTOMER)).to_be_visible()

    # The link worked once.
    nadia.goto(on_live_server(base, link))
    expect(nadia.get_by_role("heading", name="Invitation already used")).to_be_visible()

    # The owner sees the row Active and nothing pending.
    page.reload()
    expect(contact_row(page, "Nadia Rahman")).to_contain_text("Active")
    expect(contact_row(page, "Nadia Rahman")).not_to_contain_text("Invitation sent")
    expect(page.get_by_text("No invitations are waiting to be accepted.")).to_be_visible()


# --- 2. The portal switch ----------------------------------------------------------------


def test_portal_switch_ends_access_at_once_and_invites(
    page: Page, new_context, live_server, team: Team
) -> None:
    base = live_server.url
    milo = second_page(new_context)
    sign_in(milo, base, "milo@example.org", PASSWORD)
    expect(milo).to_have_url(team.home(base))

    sign_in(page, base, "gina@example.org", PASSWORD)
    open_contacts(page)
    switch = portal_switch(page, "Milo Member")
    expect(switch).to_have_attribute("aria-checked", "true")
    expect(contact_row(page, "Milo Member")).to_contain_text("Active")
    switch.click()
    expect(flash(page, "Portal access for Milo Member is off.")).to_be_visible()
    expect(portal_switch(page, "Milo Member")).to_have_attribute("aria-checked", "false")
    expect(contact_row(page, "Milo Member")).to_contain_text("Off")

    # Milo's very next page load on this customer is a 404.
    response = milo.reload()
    assert response is not None and response.status == 404
    expect(milo.get_by_role("heading", name="Page not found")).to_be_visible()

    # Switching on a contact who never had access sends an invitation.
    switch = portal_switch(page, "Tara Tech")
    expect(switch).to_have_attribute("aria-checked", "false")
    switch.click()
    expect(flash(page, "Portal access for Tara Tech is on.")).to_contain_text("tara@example.org")
    expect(portal_switch(page, "Tara Tech")).to_have_attribute("aria-checked", "true")
    expect(contact_row(page, "Tara Tech")).to_contain_text("Invitation sent")
    expect(page.get_by_role("button", name="Resend the invitation to Tara Tech")).to_be_visible()
    invitation_link("tara@example.org")

    # The owner's own switch cannot be turned off.
    expect(portal_switch(page, "Gina Portal")).to_be_disabled()


# --- 3. Edit -------------------------------------------------------------------------------


def test_owner_edits_a_contacts_job_title_and_role(page: Page, live_server, team: Team) -> None:
    sign_in(page, live_server.url, "gina@example.org", PASSWORD)
    open_contacts(page)
    contact_row(page, "Milo Member").get_by_role("link", name="Edit Milo Member").click()
    expect(page.get_by_role("heading", name="Edit Milo Member", level=1)).to_be_visible()

    # Milo signs in with his email, so it is shown locked, with the reason.
    locked = page.locator(".field-locked", has=page.get_by_text("Email", exact=True))
    expect(locked).to_contain_text("milo@example.org")
    expect(locked).to_contain_text("sign-in")
    expect(page.locator("input[name=email]")).to_have_count(0)

    page.get_by_label("Job title").fill("Operations lead")
    page.get_by_label("Role").select_option(label="Technical")
    page.get_by_role("button", name="Save Contact").click()

    expect(flash(page, "Milo Member's details were saved.")).to_be_visible()
    row = contact_row(page, "Milo Member")
    expect(row).to_contain_text("Operations lead")
    expect(row.get_by_role("cell").nth(1)).to_have_text("Technical")
    milo = Contact.objects.get(pk=team.member.pk)
    assert (milo.job_title, milo.role) == ("Operations lead", "technical")


# --- 4. Delete -----------------------------------------------------------------------------


def test_owner_deletes_a_contact_after_confirming(page: Page, live_server, team: Team) -> None:
    sign_in(page, live_server.url, "gina@example.org", PASSWORD)
    open_contacts(page)
    # Nobody may remove the owner: the owner's row has no trash can.
    expect(contact_row(page, "Gina Portal")).to_have_count(1)
    expect(page.get_by_role("link", name="Delete Gina Portal")).to_have_count(0)

    contact_row(page, "Tara Tech").get_by_role("link", name="Delete Tara Tech").click()
    dialog = page.get_by_role("alertdialog", name="Delete Tara Tech?")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("tara@example.org")
    expect(dialog.get_by_role("link", name="Keep Tara")).to_be_visible()
    dialog.get_by_role("button", name="Delete contact").click()

    expect(flash(page, "Tara Tech was removed.")).to_be_visible()
    expect(contacts_table(page)).to_be_visible()
    expect(contact_row(page, "Tara Tech")).to_have_count(0)
    expect(contact_row(page, "Milo Member")).to_have_count(1)
    assert not Contact.objects.filter(pk=team.offline.pk).exists()


# --- 5. Your contact details, and what a member does not see -----------------------------


def test_member_keeps_their_own_details_right(page: Page, live_server, team: Team) -> None:
    sign_in(page, live_server.url, "milo@example.org", PASSWORD)
    expect(page).to_have_url(team.home(live_server.url))

    # A member has no contacts page: not in the cog, not in the sidebar.
    panel = open_settings_menu(page)
    expect(panel.get_by_role("menuitem", name="Your contact details")).to_be_visible()
    expect(panel.get_by_role("menuitem", name=CONTACTS_PAGE)).to_have_count(0)
    sidebar = page.get_by_role("navigation", name="Customer sections")
    expect(sidebar.get_by_role("link", name="Overview")).to_be_visible()
    expect(sidebar.get_by_role("link", name="Contacts")).to_have_count(0)

    open_settings_item(page, "Your contact details")
    expect(page.get_by_role("heading", name="Your contact details", level=1)).to_be_visible()
    expect(page.get_by_label("First name")).to_have_value("Milo")
    page.get_by_label("Phone").fill("012-345 6789")
    page.get_by_role("button", name="Save Changes").click()

    expect(flash(page, "Your details were saved.")).to_be_visible()
    expect(page.get_by_label("Phone")).to_have_value("012-345 6789")
    assert Contact.objects.get(pk=team.member.pk).phone == "+60123456789"

    # Typing the contacts page's address is refused too.
    response = page.goto(f"{team.home(live_server.url)}settings/contacts/")
    assert response is not None and response.status == 403


# --- 6. The customer switcher --------------------------------------------------------------


def test_contact_of_two_customers_switches_between_them(page: Page, live_server) -> None:
    alpha = factories.make_customer("Alpha Trading Sdn Bhd")
    beta = factories.make_customer("Beta Foods Sdn Bhd")
    sam = factories.make_user("sam@example.org", full_name="Sam Both")
    factories.make_contact(alpha, "owner", user=sam, first_name="Sam", last_name="Both")
    factories.make_contact(beta, "member", user=sam, first_name="Sam", last_name="Both")
    base = live_server.url

    sign_in(page, base, "sam@example.org", PASSWORD)
    expect(page.get_by_role("heading", name="Choose a customer", level=1)).to_be_visible()
    page.get_by_role("link", name=re.compile("Alpha Trading Sdn Bhd")).click()
    expect(page).to_have_url(f"{base}/c/{alpha.number}/")
    expect(page.get_by_role("heading", name="Alpha Trading Sdn Bhd")).to_be_visible()

    switcher = customer_switcher(page)
    trigger = switcher.locator("summary")
    expect(trigger).to_have_attribute(
        "aria-label", "Current customer: Alpha Trading Sdn Bhd. Switch customer"
    )
    trigger.click()
    menu = switcher.get_by_role("menu")
    expect(menu.get_by_role("menuitem", name=re.compile("Alpha Trading"))).to_have_attribute(
        "aria-current", "true"
    )
    menu.get_by_role("menuitem", name=re.compile("Beta Foods Sdn Bhd")).click()

    expect(page).to_have_url(f"{base}/c/{beta.number}/")
    expect(page.get_by_role("heading", name="Beta Foods Sdn Bhd")).to_be_visible()
    expect(customer_switcher(page).locator("summary")).to_have_attribute(
        "aria-label", "Current customer: Beta Foods Sdn Bhd. Switch customer"
    )


# --- 7. The link opened by the wrong person ------------------------------------------------


def test_invitation_opened_by_someone_else_changes_nothing(
    page: Page, new_context, live_server, team: Team
) -> None:
    base = live_server.url
    sign_in(page, base, "gina@example.org", PASSWORD)
    open_contacts(page)
    portal_switch(page, "Tara Tech").click()
    expect(contact_row(page, "Tara Tech")).to_contain_text("Invitation sent")
    link = on_live_server(base, invitation_link("tara@example.org"))

    # Gina (signed in) opens Tara's link.
    page.goto(link)
    expect(page.get_by_role("heading", name="This invitation is for someone else")).to_be_visible()
    warning = page.get_by_role("alert").filter(has_text="was sent to")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("t•••@example.org")
    expect(warning).to_contain_text("gina@example.org")
    expect(warning).not_to_contain_text("tara@example.org")
    expect(page.get_by_role("button", name="Accept invitation")).to_have_count(0)

    # Nothing changed: still pending, Tara unlinked, Gina still only on her customer.
    invitation = Invitation.objects.get(contact=team.offline)
    assert invitation.status == Invitation.Status.PENDING
    assert Contact.objects.get(pk=team.offline.pk).user_id is None
    assert list(Contact.objects.filter(user=team.owner.user).values_list("pk", flat=True)) == [
        team.owner.pk
    ]

    # The link still works for Tara.
    tara = second_page(new_context)
    tara.goto(link)
    expect(tara.get_by_role("button", name="Accept invitation")).to_be_visible()
    expect(tara.get_by_label("Your name")).to_have_value("Tara Tech")
