"""Self-service login email change (issue 7 item 9), end to end in a browser: the owner
re-enters their password, asks for a new address, opens the link from the new mailbox,
confirms, and then signs in with the new address and not with the old one. Then "this was
not me" from the old address's notice."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import override_settings
from playwright.sync_api import Browser, Page, expect

from clientdesk.audit.models import Activity
from clientdesk.change_requests.models import LoginEmailChange
from tests.factories import PASSWORD

from .conftest import Portal
from .pages import confirm_password_if_asked, expect_sign_in_page, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OLD = "gina@example.org"
NEW = "gina.new@example.net"


@pytest.fixture(autouse=True)
def self_service_on() -> Iterator[None]:
    with override_settings(CLIENTDESK_SELF_SERVICE_EMAIL_CHANGE=True):
        yield


def link_in(address: str, name: str) -> str:
    [message] = [m for m in mail.outbox if address in m.to and f"/login-email/{name}/" in m.body]
    match = re.search(rf"https?://\S+/login-email/{name}/[A-Za-z0-9_-]+/", message.body)
    assert match, message.body
    return urlsplit(match.group(0)).path


def ask_for_new_email(page: Page, base_url: str, portal_user: Portal) -> None:
    sign_in(page, base_url, OLD, PASSWORD)
    page.goto(f"{base_url}/c/{portal_user.customer.number}/account/login-email/")
    confirm_password_if_asked(page, PASSWORD)
    expect(page.get_by_role("heading", name="Change your login email")).to_be_visible()
    page.get_by_label("New login email").fill(NEW)
    page.get_by_role("button", name="Send confirmation link").click()
    expect(page.get_by_text(f"Check your inbox at {NEW}").first).to_be_visible()


def test_owner_changes_their_login_email_with_the_link(
    page: Page, browser: Browser, live_server, portal_user: Portal
) -> None:
    ask_for_new_email(page, live_server.url, portal_user)
    confirm_path = link_in(NEW, "confirm")

    # The new mailbox opens the link in another browser: nothing changes until the button.
    other = browser.new_context()
    mailbox = other.new_page()
    mailbox.goto(live_server.url + confirm_path)
    expect(mailbox.get_by_role("heading", name="Confirm your new login email")).to_be_visible()
    assert LoginEmailChange.objects.get().status == "pending"
    mailbox.get_by_role("button", name="Confirm new login email").click()
    expect(mailbox.get_by_text(f"Your login email is now {NEW}")).to_be_visible()
    other.close()

    # The owner's first browser was signed out; the old address no longer signs in.
    page.reload()
    expect_sign_in_page(page)
    sign_in(page, live_server.url, OLD, PASSWORD)
    expect_sign_in_page(page)
    sign_in(page, live_server.url, NEW, PASSWORD)
    expect(page).to_have_url(f"{live_server.url}/c/{portal_user.customer.number}/")
    assert any("Your login email was changed" in m.subject for m in mail.outbox if OLD in m.to)


def test_this_was_not_me_stops_the_change(
    page: Page, browser: Browser, live_server, portal_user: Portal
) -> None:
    ask_for_new_email(page, live_server.url, portal_user)
    not_me_path = link_in(OLD, "not-me")

    other = browser.new_context()
    victim = other.new_page()
    victim.goto(live_server.url + not_me_path)
    expect(victim.get_by_role("heading", name="Was this change not made by you?")).to_be_visible()
    victim.get_by_role("button", name=re.compile("This was not me")).click()
    expect(victim.get_by_text("The change was stopped")).to_be_visible()
    other.close()

    assert LoginEmailChange.objects.get().status == "cancelled"
    assert Activity.objects.filter(verb="customer.flagged_for_review").count() == 1
    page.reload()
    expect_sign_in_page(page)  # the session that asked was ended
    mailbox = browser.new_page()
    mailbox.goto(live_server.url + link_in(NEW, "confirm"))
    expect(mailbox.get_by_role("heading", name="Change cancelled")).to_be_visible()
