"""API keys in a browser (issue 9, part B 7): a customer's owner makes a key in the portal,
copies the token shown once, a program uses it against the live server (200), the owner
revokes it and the program's next request gets 401. A staff member makes a key in the
console limited to one customer. The API docs page (Swagger UI, assets served locally under
a strict CSP) renders with no console error."""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, expect

from tests import factories
from tests.factories import PASSWORD

from .conftest import TIMEOUT_MS, Portal
from .pages import flash, sign_in, sign_in_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("API_KEY_SCREENSHOTS", "")  # a folder: save a shot per step
TOKEN = re.compile(r"cdk_[0-9a-f]{8}_[A-Za-z0-9_-]{43}")


def shot(page: Page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def call_api(base_url: str, path: str, token: str) -> tuple[int, Any]:
    """A program's request with the key (urllib, not the browser): status and JSON body."""
    request = urllib.request.Request(  # noqa: S310 (the live server, http)
        base_url + path, headers={"Authorization": f"Bearer {token}", "Accept": "*/*"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (live server)
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def new_page(browser: Browser, base_url: str) -> tuple[BrowserContext, Page]:
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return context, page


def test_owner_makes_a_key_a_program_uses_it_then_it_is_revoked(
    browser: Browser, live_server: Any, portal_user: Portal
) -> None:
    base = live_server.url
    customer = portal_user.customer
    context, page = new_page(browser, base)
    try:
        sign_in(page, base, portal_user.user.email, PASSWORD)
        page.goto(f"{base}/c/{customer.number}/settings/api-keys/")
        expect(page.get_by_role("heading", name="API keys", exact=True)).to_be_visible()
        expect(page.get_by_role("heading", name="No API keys yet")).to_be_visible()
        expect(page.get_by_role("link", name="Read the API documentation")).to_have_attribute(
            "href", "/api/v1/docs"
        )

        # The form: a name, permissions in words, an optional expiry.
        page.get_by_role("link", name="New key").first.click()
        expect(page.get_by_role("heading", name="New API key")).to_be_visible()
        page.get_by_label("Name").fill("Our ERP")
        permissions = page.get_by_role("group", name="Permissions")
        expect(permissions.get_by_label("Read customers and their profile")).to_be_checked()
        permissions.get_by_label("Read contacts").check()
        expect(permissions.get_by_label("Read staff notes (staff)")).to_have_count(0)
        shot(page, "api-keys-1-portal-form")
        page.get_by_role("button", name="Make key").click()

        # The token, once, with a copy button and a curl example.
        expect(page.get_by_role("heading", name="Key made: Our ERP")).to_be_visible()
        expect(page.get_by_text("Copy it now: it will not be shown again.")).to_be_visible()
        token = page.get_by_label("API key for Our ERP").input_value()
        assert TOKEN.fullmatch(token), token
        page.get_by_role("button", name="Copy", exact=True).click()
        expect(page.get_by_text("Copied to the clipboard.")).to_be_visible()
        assert page.evaluate("navigator.clipboard.readText()") == token
        curl = page.get_by_label("curl example")
        expect(curl).to_contain_text(f'curl -H "Authorization: Bearer {token}"')
        expect(curl).to_contain_text("/api/v1/customers")
        shot(page, "api-keys-2-portal-token")

        # A program uses it: 200 with this customer only.
        status, body = call_api(base, "/api/v1/customers", token)
        assert status == 200, body
        assert [item["id"] for item in body["items"]] == [customer.client_id]

        # Back on the list: the key by its prefix, never the token again.
        page.get_by_role("link", name="I have copied the key").click()
        table = page.get_by_role("table", name=re.compile("^API keys of "))
        row = table.get_by_role("row", name=re.compile("Our ERP"))
        expect(row).to_contain_text(token[:12] + "…")
        expect(row).to_contain_text("Read contacts")
        expect(row).to_contain_text("Active")
        assert token not in page.content()
        shot(page, "api-keys-3-portal-list")

        # Revoke, confirmed; the program's next request is refused.
        row.get_by_role("link", name=re.compile("^Revoke Our ERP")).click()
        expect(page.get_by_role("heading", name="Revoke Our ERP?")).to_be_visible()
        page.get_by_label("Reason").fill("Replaced by the new ERP")
        shot(page, "api-keys-4-portal-revoke")
        page.get_by_role("button", name="Revoke key").click()
        expect(flash(page, "is revoked")).to_be_visible()
        expect(row).to_contain_text("Revoked")
        expect(row.get_by_role("link", name=re.compile("^Revoke"))).to_have_count(0)
        status, body = call_api(base, "/api/v1/customers", token)
        assert status == 401, body
        assert body["code"] == "unauthenticated"
        shot(page, "api-keys-5-portal-revoked")
    finally:
        context.close()


def test_staff_make_a_key_for_one_customer(browser: Browser, live_server: Any) -> None:
    base = live_server.url
    alpha = factories.make_customer("Alpha Trading Sdn Bhd")
    beta = factories.make_customer("Beta Services Pte Ltd")
    user = factories.make_staff("support", email="sam@staff.example", with_mfa=False)
    secret = factories.enrol_totp(user)
    context, page = new_page(browser, base)
    try:
        sign_in_staff(page, base, user.email, PASSWORD, secret)
        page.goto(f"{base}/staff/api-keys/")
        expect(page.get_by_role("heading", name="API keys", exact=True)).to_be_visible()
        page.get_by_role("link", name="New key").first.click()
        expect(page.get_by_role("heading", name="New API key")).to_be_visible()
        page.get_by_label("Name").fill("Reconciliation script")
        permissions = page.get_by_role("group", name="Permissions")
        permissions.get_by_label("Read balances and ledger entries").check()
        page.get_by_role("textbox", name="Only these customers").fill("C-424242")
        page.get_by_role("button", name="Make key").click()
        # An unknown client ID is named next to the field; nothing is made.
        expect(page.get_by_text("No customer has the client ID C-424242.").first).to_be_visible()
        page.get_by_role("textbox", name="Only these customers").fill(beta.client_id)
        shot(page, "api-keys-6-staff-form")
        page.get_by_role("button", name="Make key").click()

        expect(page.get_by_role("heading", name="Key made: Reconciliation script")).to_be_visible()
        token = page.get_by_label("API key for Reconciliation script").input_value()
        assert TOKEN.fullmatch(token)
        shot(page, "api-keys-7-staff-token")
        assert call_api(base, f"/api/v1/customers/{beta.client_id}", token)[0] == 200
        assert call_api(base, f"/api/v1/customers/{alpha.client_id}", token)[0] == 404

        page.get_by_role("link", name="I have copied the key").click()
        row = page.get_by_role("table", name="Your API keys").get_by_role(
            "row", name=re.compile("Reconciliation script")
        )
        expect(row).to_contain_text(beta.client_id)
        shot(page, "api-keys-8-staff-list")
        row.get_by_role("link", name=re.compile("^Revoke")).click()
        page.get_by_role("button", name="Revoke key").click()
        expect(flash(page, "is revoked")).to_be_visible()
        assert call_api(base, f"/api/v1/customers/{beta.client_id}", token)[0] == 401
    finally:
        context.close()


def test_the_api_docs_page_renders_under_the_csp(browser: Browser, live_server: Any) -> None:
    base = live_server.url
    context, page = new_page(browser, base)
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(str(error)))
    try:
        response = page.goto(f"{base}/api/v1/docs")
        assert response is not None and response.status == 200
        assert "script-src" in (response.headers.get("content-security-policy") or "")
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("API")
        # The operations are listed (the OpenAPI document loaded and was drawn).
        expect(page.locator(".opblock").first).to_be_visible()
        expect(page.get_by_role("button", name=re.compile("Authorize"))).to_be_visible()
        shot(page, "api-docs")
        assert problems == [], problems
        # No request for anything outside this site (assets are local, no CDN).
        openapi = page.request.get(f"{base}/api/v1/openapi.json")
        assert openapi.status == 200
        assert openapi.headers["content-type"].startswith("application/json")
        assert openapi.json()["openapi"].startswith("3.")
    finally:
        context.close()
