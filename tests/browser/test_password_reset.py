"""Password reset by email, end to end: request, mail, link, new password, sign in."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core import mail
from playwright.sync_api import Page, expect

from tests.factories import PASSWORD

from .conftest import Portal
from .pages import expect_sign_in_page, sign_in, submit_form_with

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "staple-lantern-orbit-73"
RESET_LINK = re.compile(r"https?://[^\s\"'<>]+/accounts/password/reset/key/[^\s\"'<>]+")


def test_password_reset_end_to_end(page: Page, live_server, portal_user: Portal) -> None:
    email = "gina@example.org"
    page.goto(live_server.url + "/accounts/login/")
    # .first: allauth also puts this link in the password field's help text.
    page.get_by_role("link", name="Forgot your password?").first.click()
    expect(page).to_have_url(re.compile(r"/accounts/password/reset/$"))
    page.locator("input[name=email]").fill(email)
    submit_form_with(page, "email")
    expect(page).to_have_url(re.compile(r"/accounts/password/reset/done/$"))

    # Exactly one mail, to that address, with a link on the public site (never the Host
    # the request came in on) and an HTML part carrying the same link.
    assert [m.to for m in mail.outbox] == [[email]]
    message = mail.outbox[0]
    links = RESET_LINK.findall(message.body)
    assert len(links) == 1, f"no single reset link in the mail body:\n{message.body}"
    link = links[0]
    assert link.startswith(settings.SITE_URL + "/"), link
    html_parts = [content for content, mimetype in message.alternatives if mimetype == "text/html"]
    assert len(html_parts) == 1
    assert link in html_parts[0]

    page.goto(live_server.url + urlsplit(link).path)
    page.locator("input[name=password1]").fill(NEW_PASSWORD)
    page.locator("input[name=password2]").fill(NEW_PASSWORD)
    submit_form_with(page, "password1")
    expect(page.locator("input[name=password1]")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/accounts/password/reset/key/done/$"))

    sign_in(page, live_server.url, email, PASSWORD)
    expect_sign_in_page(page)
    expect(
        page.get_by_role("alert").filter(has_text=re.compile("not correct", re.I))
    ).to_be_visible()

    sign_in(page, live_server.url, email, NEW_PASSWORD)
    expect(page).to_have_url(f"{live_server.url}/c/{portal_user.customer.number}/")
    expect(page.get_by_role("heading", name="Gamma Logistics Sdn Bhd")).to_be_visible()
