"""Login As in a browser (seed 001, "Login As or Remote Support"): a support agent opens a
customer's contacts, chooses Login As for the owner, gives a reason, works in the portal under
the banner, changes a profile field, ends the session from the banner and is back in the
staff console as themselves; the customer's Activity names support and the reason, and the
change reads "Sam Tan as Aisha Rahman"."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from clientdesk.audit.models import Activity
from clientdesk.customers.models import Customer
from clientdesk.remote_support.models import LoginAsSession
from tests import factories
from tests.factories import PASSWORD

from .conftest import StaffMember
from .pages import contact_row, flash, sign_in_staff, user_menu

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REASON = "Ticket 4711: the owner cannot find where to change the phone number"


@pytest.fixture
def alpha(transactional_db: None) -> Customer:
    customer = factories.make_customer("Alpha Trading Sdn Bhd")
    owner = factories.make_user("aisha@example.org", full_name="Aisha Rahman")
    factories.make_contact(customer, "owner", user=owner, first_name="Aisha", last_name="Rahman")
    factories.make_contact(customer, "member", portal=False, first_name="Nora", last_name="Lim")
    return customer


def section(page: Page, title: str) -> Locator:
    return page.locator("section.profile-section", has=page.get_by_role("heading", name=title))


def banner(page: Page) -> Locator:
    return page.get_by_role("region", name="Login As session")


def test_support_signs_in_as_the_owner_changes_the_phone_and_ends_the_session(
    page: Page, live_server: Any, staff_support: StaffMember, alpha: Customer
) -> None:
    type(staff_support.user).objects.filter(pk=staff_support.user.pk).update(full_name="Sam Tan")
    base = live_server.url
    sign_in_staff(page, base, staff_support.email, PASSWORD, staff_support.totp_secret)
    expect(banner(page)).to_have_count(0)

    # The customer's Contacts tab: Login As for the owner (not for a contact without sign-in).
    page.goto(f"{base}/staff/customers/{alpha.number}/contacts/")
    expect(
        contact_row(page, "Nora Lim").get_by_role("link", name=re.compile("Login As"))
    ).to_have_count(0)
    contact_row(page, "Aisha Rahman").get_by_role("link", name="Login As Aisha Rahman").click()

    # The form: how long, and that the customer will see it; a reason is required.
    expect(page.get_by_role("heading", name="Login As Aisha Rahman")).to_be_visible()
    expect(page.get_by_text(re.compile(r"The session lasts 30 minutes"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"will see in their Activity"))).to_be_visible()
    page.get_by_role("button", name="Start Login As").click()
    expect(page.locator("#id_reason_error")).to_contain_text("Give the reason")
    assert LoginAsSession.objects.count() == 0
    page.get_by_label("Reason").fill(REASON)
    with page.expect_navigation():
        page.get_by_role("button", name="Start Login As").click()

    # The portal, as Aisha, under the banner.
    expect(page).to_have_url(re.compile(rf"/c/{alpha.number}/$"))
    expect(banner(page)).to_contain_text(
        f"You are signed in as Aisha Rahman for Alpha Trading Sdn Bhd ({alpha.client_id}) "
        "on behalf of Sam Tan"
    )
    expect(banner(page)).to_contain_text(re.compile(r"(29|30)\s+minutes left"))
    expect(user_menu(page).locator("summary")).to_have_attribute(
        "aria-label", "Account menu for Aisha Rahman"
    )

    # A direct profile field: Contact Information → Phone.
    page.get_by_role("navigation", name="Customer sections").get_by_role(
        "link", name="My Account"
    ).click()
    expect(banner(page)).to_be_visible()
    contact = section(page, "Contact Information")
    contact.get_by_role("link", name="Edit Contact Information").click()
    contact = section(page, "Contact Information")
    expect(contact.locator("form :focus")).to_have_count(1)
    contact.get_by_label("Phone", exact=True).fill("03-2161 0000")
    contact.get_by_role("button", name="Save Changes").click()
    expect(
        section(page, "Contact Information").get_by_text("Saved — changes are live")
    ).to_be_visible()
    assert Customer.objects.get(pk=alpha.pk).phone == "+60321610000"

    # Sensitive pages are refused, with the way back.
    page.goto(f"{base}/account/security/")
    expect(
        page.get_by_role("heading", name="Not available while signed in as a customer")
    ).to_be_visible()
    expect(banner(page)).to_be_visible()
    page.get_by_role("link", name="Back to Alpha Trading Sdn Bhd").click()
    expect(page).to_have_url(re.compile(rf"/c/{alpha.number}/$"))

    # End session from the banner: back in the console as Sam, on the customer's contacts.
    with page.expect_navigation():
        banner(page).get_by_role("button", name="End session").click()
    expect(page).to_have_url(re.compile(rf"/staff/customers/{alpha.number}/contacts/$"))
    expect(flash(page, "has ended. You are signed in as yourself again.")).to_be_visible()
    expect(banner(page)).to_have_count(0)
    expect(user_menu(page).locator("summary")).to_have_attribute(
        "aria-label", "Account menu for Sam Tan"
    )
    assert LoginAsSession.objects.get().end_reason == "ended"

    # The 360's Activity tab: the change as "Sam Tan as Aisha Rahman", the access and why.
    page.get_by_role("link", name="Activity", exact=True).click()
    expect(page.get_by_text(f"Support (Sam Tan) accessed your account: {REASON}")).to_be_visible()
    expect(page.get_by_text(re.compile(r"^Sam Tan as Aisha Rahman set Phone"))).to_be_visible()
    expect(page.get_by_text("Support (Sam Tan) ended the support session")).to_be_visible()
    row = Activity.objects.get(customer=alpha, verb="customer.updated")
    assert row.actor_label == "Sam Tan as Aisha Rahman"
