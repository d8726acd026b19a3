"""Signing in with a password: the right one opens the portal, a wrong one does not."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.factories import PASSWORD

from .conftest import Portal
from .pages import expect_sign_in_page, sign_in, user_menu

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_right_password_lands_on_the_customers_portal(
    page: Page, live_server, portal_user: Portal
) -> None:
    sign_in(page, live_server.url, "gina@example.org", PASSWORD)

    number = portal_user.customer.number
    expect(page).to_have_url(f"{live_server.url}/c/{number}/")
    expect(page.get_by_role("heading", name="Gamma Logistics Sdn Bhd")).to_be_visible()
    expect(page.locator("summary[aria-label^='Account menu for']")).to_be_visible()


def test_wrong_password_shows_an_error_and_stays_signed_out(
    page: Page, live_server, portal_user: Portal
) -> None:
    sign_in(page, live_server.url, "gina@example.org", "not-the-password-42")

    expect_sign_in_page(page)
    expect(
        page.get_by_role("alert").filter(has_text=re.compile("not correct", re.I))
    ).to_be_visible()
    expect(user_menu(page)).to_have_count(0)
    # Nothing signed-in is reachable: the portal sends the browser back to sign in.
    page.goto(f"{live_server.url}/c/{portal_user.customer.number}/")
    expect_sign_in_page(page)
    expect(page.get_by_text("Gamma Logistics Sdn Bhd")).to_have_count(0)
