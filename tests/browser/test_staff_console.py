"""The staff console in a browser: a support agent signs in with two-factor authentication."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.factories import PASSWORD

from .conftest import StaffMember
from .pages import sign_in_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_support_agent_signs_in_to_the_console(
    page: Page, live_server, staff_support: StaffMember
) -> None:
    sign_in_staff(page, live_server.url, staff_support.email, PASSWORD, staff_support.totp_secret)
    expect(page.get_by_role("heading", name="Customers", exact=True)).to_be_visible()
