"""Steps on the pages the browser tests visit, by names that stay across restyling."""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

from playwright.sync_api import Locator, Page, Request, Response, expect

SIGN_IN_PATH = "/accounts/login/"


def sign_in(page: Page, base_url: str, email: str, password: str) -> None:
    """Fill and send the sign-in form; returns once the answer page has loaded (it does not
    check the outcome)."""
    page.goto(base_url + SIGN_IN_PATH)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()


def sign_in_staff(page: Page, base_url: str, email: str, password: str, totp_secret: str) -> None:
    """Sign a staff member in with their password and a current authenticator code, and
    wait for the staff console."""
    from allauth.mfa import app_settings as mfa_settings
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    sign_in(page, base_url, email, password)
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
    counter = int(time.time()) // mfa_settings.TOTP_PERIOD
    page.locator("input[name=code]").fill(format_hotp_value(hotp_value(totp_secret, counter)))
    submit_form_with(page, "code")
    expect(page).to_have_url(re.compile(r"/staff/"))


def expect_sign_in_page(page: Page) -> None:
    expect(page).to_have_url(re.compile(re.escape(SIGN_IN_PATH)))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def user_menu(page: Page) -> Locator:
    return page.locator("details", has=page.locator("summary[aria-label^='Account menu for']"))


def sign_out(page: Page) -> None:
    menu = user_menu(page)
    menu.locator("summary").click()
    menu.locator("form button", has_text="Sign out").click()
    expect_sign_in_page(page)


def submit_form_with(page: Page, field: str) -> None:
    """Click the submit button of the form that holds ``input[name=field]``.

    allauth pages put a second submit button for another form (Cancel, tied to a logout
    form through ``form=``) inside the same markup; the form's own button has no ``form``
    attribute."""
    form = page.locator("form", has=page.locator(f"input[name='{field}']"))
    with page.expect_navigation():
        form.locator("button[type=submit]:not([form])").first.click()


REAUTHENTICATE_PATH = "/accounts/reauthenticate/"


def confirm_password_if_asked(page: Page, password: str) -> None:
    """allauth asks for the password again ("Confirm Access") before sensitive pages such as
    TOTP activation, even right after sign-in; answer it and land on the page asked for."""
    if urlsplit(page.url).path != REAUTHENTICATE_PATH:
        return
    page.locator("input[name=password]").fill(password)
    submit_form_with(page, "password")
    expect(page).not_to_have_url(re.compile(re.escape(REAUTHENTICATE_PATH)))


def redirect_chain(response: Response | None) -> list[str]:
    """Paths a navigation went through, first to last."""
    assert response is not None
    paths = []
    request: Request | None = response.request
    while request is not None:
        paths.append(urlsplit(request.url).path)
        request = request.redirected_from
    return paths[::-1]


# --- Top bar menus and the contacts pages (seed 004) ------------------------------------


def settings_menu(page: Page) -> Locator:
    """The settings cog's ``<details>`` menu in the top bar."""
    return page.locator("details", has=page.locator("summary[aria-label='Settings']"))


def open_settings_menu(page: Page) -> Locator:
    """Open the settings cog and return its menu panel once it shows."""
    menu = settings_menu(page)
    if menu.get_attribute("open") is None:
        menu.locator("summary").click()
    panel = menu.get_by_role("menu")
    expect(panel).to_be_visible()
    return panel


def open_settings_item(page: Page, name: str) -> None:
    """Settings cog → the menu item ``name``; returns once the new page has loaded."""
    panel = open_settings_menu(page)
    with page.expect_navigation():
        panel.get_by_role("menuitem", name=name).click()


def customer_switcher(page: Page) -> Locator:
    """The top bar's customer switcher (only there for users of several customers)."""
    return page.locator("details.customer-switcher")


def contacts_table(page: Page) -> Locator:
    """The contacts table on Portal settings & contacts (its caption names it)."""
    return page.get_by_role("table", name=re.compile(r"^Contacts of "))


def contact_row(page: Page, full_name: str) -> Locator:
    """The contacts table's row whose row header starts with ``full_name``."""
    header = page.get_by_role("rowheader", name=re.compile(r"^" + re.escape(full_name)))
    return contacts_table(page).locator("tbody tr", has=header)


def portal_switch(page: Page, full_name: str) -> Locator:
    """The per-row "Customer Portal Enabled" switch (a submit button, role=switch)."""
    return contacts_table(page).get_by_role(
        "switch", name=f"Customer Portal Enabled for {full_name}", exact=True
    )


def flash(page: Page, text: str) -> Locator:
    """A flash message (django.contrib.messages) containing ``text``."""
    return page.locator(".flash-stack .flash", has_text=text)
