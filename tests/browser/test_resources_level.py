"""Seed 002: "you can use the Customer Profile to set your organization's software level, which
is used as a filter in the DataLounge so that only relevant software / CSPs / notes are
presented to you." The owner opens Resources, follows the notice to Preferences, switches the
level from 4.0 to 5.0 in My Account, and Resources shows the 5.0 items at once."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from clientdesk.customers.models import Customer
from clientdesk.resources.models import ResourceDownload
from tests.factories import PASSWORD
from tests.resources import factories

from .conftest import Portal
from .pages import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def resource_list(page: Page) -> Locator:
    return page.get_by_role("list", name="Resources")


def item(page: Page, title: str) -> Locator:
    return resource_list(page).get_by_role("link", name=title, exact=True)


def open_resources(page: Page) -> None:
    page.get_by_role("navigation", name="Customer sections").get_by_role(
        "link", name="Resources"
    ).click()
    expect(page.get_by_role("heading", name="Resources", level=1)).to_be_visible()


def test_the_software_level_chosen_in_preferences_filters_resources(
    page: Page, live_server, portal_user: Portal
) -> None:
    levels = factories.levels("3.0", "4.0", "5.0")
    factories.resource("All levels")
    factories.resource(
        "Only 4.0",
        level_from=levels["4.0"],
        level_to=levels["4.0"],
        upload=factories.pdf("install-4.0.pdf"),
    )
    factories.resource("Only 5.0", level_from=levels["5.0"])
    customer = portal_user.customer
    Customer.objects.filter(pk=customer.pk).update(software_level=levels["4.0"])

    sign_in(page, live_server.url, "gina@example.org", PASSWORD)
    open_resources(page)
    notice = page.locator("#resource-level")
    expect(notice).to_contain_text("Showing resources for software level 4.0")
    expect(item(page, "Only 4.0")).to_be_visible()
    expect(item(page, "All levels")).to_be_visible()
    expect(item(page, "Only 5.0")).to_have_count(0)

    # The file downloads as an attachment, and the download is recorded.
    with page.expect_download() as download_info:
        resource_list(page).get_by_role(
            "link", name=re.compile(r"^Download install-4\.0\.pdf")
        ).click()
    assert download_info.value.suggested_filename == "install-4.0.pdf"
    assert ResourceDownload.objects.filter(customer=customer).count() == 1

    # The notice's link opens Preferences in My Account, ready to edit.
    notice.get_by_role("link", name="Change in Preferences").click()
    expect(page.get_by_role("heading", name="My Account", level=1)).to_be_visible()
    preferences = page.locator("section#section-preferences")
    level_select = preferences.get_by_label("Software level")
    expect(level_select).to_be_visible()
    level_select.select_option(label="5.0")
    preferences.get_by_role("button", name="Save Changes").click()
    expect(page.locator("section#section-preferences")).to_contain_text("Saved — changes are live")
    assert Customer.objects.get(pk=customer.pk).software_level_id == levels["5.0"].pk

    # Back in Resources the list follows the new level at once.
    open_resources(page)
    expect(notice).to_contain_text("Showing resources for software level 5.0")
    expect(item(page, "Only 5.0")).to_be_visible()
    expect(item(page, "All levels")).to_be_visible()
    expect(item(page, "Only 4.0")).to_have_count(0)


def test_search_updates_the_results_as_you_type(
    page: Page, live_server, portal_user: Portal
) -> None:
    factories.resource("Kernel patch notes", summary="Fixes for the kernel.")
    factories.resource("Upgrade guide", kind="article")
    sign_in(page, live_server.url, "gina@example.org", PASSWORD)
    open_resources(page)
    # No level set yet: the prompt, with the way to set it.
    expect(page.locator("#resource-level")).to_contain_text(
        "Set your software level to see the resources for it"
    )
    expect(item(page, "Upgrade guide")).to_be_visible()
    page.get_by_role("searchbox", name="Search").press_sequentially("kernel", delay=20)
    expect(item(page, "Upgrade guide")).to_have_count(0)
    expect(item(page, "Kernel patch notes")).to_be_visible()
    expect(page).to_have_url(re.compile(r"q=kernel"))
    page.get_by_role("searchbox", name="Search").fill("")
    page.get_by_label("Kind").select_option(label="Knowledge article")
    expect(item(page, "Kernel patch notes")).to_have_count(0)
    expect(item(page, "Upgrade guide")).to_be_visible()
    page.get_by_role("searchbox", name="Search").fill("nothing like this")
    expect(page.get_by_role("heading", name="No resources match")).to_be_visible()
