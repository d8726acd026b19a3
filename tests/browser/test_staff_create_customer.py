"""Seed 001, "Create a new customer account", in a browser: a support agent fills in the
organisation, picks the country and sees the tax it implies and the currency it defaults
to, names the owner, creates the account and lands on the customer's page. A second
account with the same owner email is flagged as a likely duplicate."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from clientdesk.customers.models import Contact, Customer
from tests.factories import PASSWORD
from tests.taxes.helpers import add_rule

from .conftest import StaffMember
from .pages import flash, sign_in_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fill_organisation(page: Page, name: str) -> None:
    page.get_by_label("Organisation name").fill(name)


def test_a_support_agent_creates_a_customer_with_an_owner(
    page: Page, live_server, staff_support: StaffMember
) -> None:
    add_rule("MY", "SST", "6", "2018-09-01")
    add_rule("MY", "SST", "8", "2024-03-01")
    add_rule("SG", "GST", "9", "2024-01-01")
    sign_in_staff(page, live_server.url, staff_support.email, PASSWORD, staff_support.totp_secret)

    page.goto(live_server.url + "/staff/customers/new/")
    expect(page.get_by_role("heading", name="Create customer account")).to_be_visible()
    fill_organisation(page, "Kedai Runcit Ali Sdn Bhd")

    country = page.get_by_label("Country")
    tax = page.locator("#country-tax")
    currency = page.get_by_label("Currency")
    timezone = page.get_by_label("Time zone")
    # Another country first: its tax and defaults follow the choice.
    country.select_option("SG")
    expect(tax).to_contain_text("GST 9%")
    expect(currency).to_have_value("SGD")
    expect(timezone).to_have_value("Asia/Singapore")
    country.select_option(label="Malaysia")
    expect(tax).to_contain_text("Tax: SST 8%")
    expect(currency).to_have_value("MYR")
    expect(timezone).to_have_value("Asia/Kuala_Lumpur")

    # Custom pricing asks for the percentage; postpaid for the credit limit.
    adjustment = page.get_by_label("Price adjustment (%)")
    expect(adjustment).to_be_hidden()
    page.get_by_label("Custom (discount or markup)").check()
    expect(adjustment).to_be_visible()
    adjustment.fill("-5")
    page.get_by_label("Postpaid").check()
    page.get_by_label("Credit limit").fill("2000")

    owner = page.get_by_role("group", name="Owner")
    owner.get_by_label("First name").fill("Ali")
    owner.get_by_label("Last name").fill("Hassan")
    owner.get_by_label("Email").fill("ali@kedai.example")
    with page.expect_navigation():
        page.get_by_role("button", name="Create customer").click()

    customer = Customer.objects.get(display_name="Kedai Runcit Ali Sdn Bhd")
    expect(page).to_have_url(re.compile(rf"/staff/customers/{customer.number}/$"))
    expect(flash(page, f"Customer {customer.client_id} created")).to_contain_text(
        "an invitation was sent to ali@kedai.example"
    )
    assert (str(customer.country), customer.currency, customer.pricing_model) == (
        "MY",
        "MYR",
        "custom",
    )
    assert Contact.objects.get(customer=customer).role == "owner"
    assert [m.to for m in mail.outbox] == [["ali@kedai.example"]]

    # The same owner again: a likely duplicate, with the way to the existing account.
    page.goto(live_server.url + "/staff/customers/new/")
    fill_organisation(page, "Kedai Ali (branch)")
    owner = page.get_by_role("group", name="Owner")
    owner.get_by_label("First name").fill("Ali")
    owner.get_by_label("Email").fill("ALI@kedai.example")
    with page.expect_navigation():
        page.get_by_role("button", name="Create customer").click()
    warning = page.locator("#duplicate-warning")
    expect(warning).to_contain_text("This may be a customer you already have")
    existing = warning.get_by_role("link", name=re.compile("Kedai Runcit Ali Sdn Bhd"))
    expect(existing).to_have_attribute("href", f"/staff/customers/{customer.number}/")
    assert Customer.objects.filter(display_name__startswith="Kedai").count() == 1

    # "Create anyway" goes ahead.
    page.get_by_label("Create anyway: this is a different customer").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Create customer").click()
    expect(flash(page, "created; an invitation was sent to ali@kedai.example")).to_be_visible()
    assert Customer.objects.filter(display_name__startswith="Kedai").count() == 2
