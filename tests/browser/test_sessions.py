"""Signed-in sessions on the Security page: ending another device's session."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.factories import PASSWORD

from .conftest import Portal
from .pages import expect_sign_in_page, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The second "device": a different browser, so the two sessions read differently.
FIREFOX_ON_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
)


def test_end_another_session_from_the_security_page(
    new_context, live_server, portal_user: Portal
) -> None:
    customer_page = f"{live_server.url}/c/{portal_user.customer.number}/"
    laptop = new_context().new_page()
    other = new_context(user_agent=FIREFOX_ON_WINDOWS).new_page()
    for page in (laptop, other):
        sign_in(page, live_server.url, "gina@example.org", PASSWORD)
        expect(page).to_have_url(customer_page)

    laptop.goto(live_server.url + "/account/security/")
    expect(laptop.get_by_role("heading", name="Security", exact=True)).to_be_visible()
    # Two sessions: this one, marked, and the other device with its own End session button.
    expect(laptop.get_by_text("This device", exact=True)).to_have_count(1)
    end_buttons = laptop.get_by_role("button", name=re.compile(r"^End session on "))
    expect(end_buttons).to_have_count(1)
    end_other = laptop.get_by_role(
        "button", name=re.compile(r"^End session on Firefox on Windows from \S+$")
    )
    expect(end_other).to_have_text("End session")
    end_other.click()

    expect(laptop.get_by_role("heading", name="Security", exact=True)).to_be_visible()
    expect(end_buttons).to_have_count(0)
    expect(laptop.get_by_text("This device", exact=True)).to_have_count(1)

    other.reload()
    expect_sign_in_page(other)
    expect(other.get_by_text("Gamma Logistics Sdn Bhd")).to_have_count(0)

    # Ending the other session left this one signed in.
    laptop.goto(customer_page)
    expect(laptop.get_by_role("heading", name="Gamma Logistics Sdn Bhd")).to_be_visible()
