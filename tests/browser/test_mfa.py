"""Two-factor authentication with an authenticator app (TOTP)."""

from __future__ import annotations

import re
import time

import pytest
import time_machine
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from playwright.sync_api import Page, expect

from tests import factories
from tests.factories import PASSWORD

from .conftest import Portal
from .pages import (
    confirm_password_if_asked,
    redirect_chain,
    sign_in,
    sign_out,
    submit_form_with,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BASE32_SECRET = re.compile(r"^[A-Z2-7]{16,}=*$")


def current_code(secret: str) -> str:
    """The code an authenticator app shows now, computed the way allauth checks it."""
    counter = int(time.time()) // mfa_settings.TOTP_PERIOD
    return format_hotp_value(hotp_value(secret, counter))


def read_totp_secret(page: Page) -> str:
    """The secret the activation page shows for typing into an app by hand (allauth's
    read-only field ``#authenticator_secret``; the QR code's alt text carries it too, should a
    restyled page drop that id)."""
    expect(page.locator("input[name=code]")).to_be_visible()
    shown = page.locator("#authenticator_secret")
    candidates = [shown.input_value()] if shown.count() else []
    candidates += [
        alt for img in page.locator("img[alt]").all() if (alt := img.get_attribute("alt"))
    ]
    secrets = [c.strip() for c in candidates if BASE32_SECRET.match(c.strip())]
    assert secrets, f"no TOTP secret shown on the page, candidates: {candidates!r}"
    return secrets[0]


def test_enrol_totp_then_sign_in_with_a_code(page: Page, live_server, portal_user: Portal) -> None:
    period = mfa_settings.TOTP_PERIOD
    # Codes change every period and allauth accepts only the current one (no tolerance):
    # time is pinned to the start of a period, and moves on by whole periods on purpose.
    # time-machine patches the clock of the whole process, so the live server agrees.
    window_start = (int(time.time()) // period) * period
    with time_machine.travel(window_start + 0.5, tick=True) as clock:
        sign_in(page, live_server.url, "gina@example.org", PASSWORD)
        expect(page.get_by_role("heading", name="Gamma Logistics Sdn Bhd")).to_be_visible()

        page.goto(live_server.url + "/accounts/2fa/totp/activate/")
        confirm_password_if_asked(page, PASSWORD)
        expect(page).to_have_url(re.compile(r"/accounts/2fa/totp/activate/$"))
        secret = read_totp_secret(page)
        page.locator("input[name=code]").fill(current_code(secret))
        submit_form_with(page, "code")
        # Activated: allauth moves on (to the new recovery codes) and the form is gone.
        expect(page).not_to_have_url(re.compile(r"/accounts/2fa/totp/activate/"))
        assert factories.has_totp(portal_user.user)

        sign_out(page)

        clock.shift(period)  # a fresh code, as a person signing in later would have
        sign_in(page, live_server.url, "gina@example.org", PASSWORD)
        # The password alone is not enough now: allauth asks for a code.
        expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
        expect(page.locator("input[name=code]")).to_be_visible()
        page.locator("input[name=code]").fill(current_code(secret))
        submit_form_with(page, "code")

        expect(page).to_have_url(f"{live_server.url}/c/{portal_user.customer.number}/")
        expect(page.get_by_role("heading", name="Gamma Logistics Sdn Bhd")).to_be_visible()


def test_staff_without_mfa_is_sent_to_enrol_totp(page: Page, live_server) -> None:
    staff = factories.make_staff("support", email="sam@staff.example", with_mfa=False)
    sign_in(page, live_server.url, "sam@staff.example", PASSWORD)
    expect(page.get_by_role("heading", name="Sign in")).to_have_count(0)

    response = page.goto(live_server.url + "/staff/")

    # The console answers with a redirect to TOTP enrolment (through allauth's password
    # confirmation, which guards enrolment), never with a console page.
    assert redirect_chain(response)[:2] == ["/staff/", "/accounts/2fa/totp/activate/"]
    expect(page.get_by_text(re.compile("needs two-factor authentication"))).to_be_visible()
    confirm_password_if_asked(page, PASSWORD)
    expect(page).to_have_url(re.compile(r"/accounts/2fa/totp/activate/$"))
    expect(page.locator("input[name=code]")).to_be_visible()
    assert not factories.has_totp(staff)
