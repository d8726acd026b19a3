"""Issue 10 in a browser, staff side: a support agent writes a release note for 4.0 – 5.0 with a
small PDF, publishes it, downloads the file, and previews the library as a customer on 4.0
(who sees it) and on 3.0 (who does not)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from clientdesk.resources.models import Resource
from tests.factories import PASSWORD
from tests.resources import factories as res

from .conftest import StaffMember
from .pages import flash, sign_in_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TITLE = "Release notes 4.0 SP3"


def test_a_support_agent_publishes_a_release_note_and_previews_it_by_level(
    page: Page, live_server, staff_support: StaffMember
) -> None:
    res.levels()  # 3.0, 4.0, 4.0 SP2, 5.0
    res.resource("Welcome to the library")  # all levels
    sign_in_staff(page, live_server.url, staff_support.email, PASSWORD, staff_support.totp_secret)

    page.get_by_role("navigation", name="Staff console").get_by_role(
        "link", name="Resources library"
    ).click()
    expect(page.get_by_role("heading", name="Resources library", level=1)).to_be_visible()
    with page.expect_navigation():
        page.get_by_role("link", name="New resource").click()
    expect(page.get_by_role("heading", name="New resource")).to_be_visible()

    page.get_by_label("Kind").select_option(label="Release note")
    page.get_by_label("Title").fill(TITLE)
    page.get_by_label("Summary").fill("Fixes and improvements in SP3.")
    page.get_by_label("Body").fill("# Fixes\n\n- Faster month-end posting\n- <b>No HTML</b>")
    page.get_by_label("Applies from level").select_option(label="4.0")
    page.get_by_label("Applies up to level").select_option(label="5.0")
    page.locator("input[type=file][name=file]").set_input_files(
        {"name": "sp3-notes.pdf", "mimeType": "application/pdf", "buffer": res.PDF}
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Save as draft").click()

    item = Resource.objects.get(title=TITLE)
    expect(page).to_have_url(re.compile(rf"/staff/resources/{item.pk}/$"))
    expect(flash(page, "is saved as a draft")).to_be_visible()
    expect(page.get_by_role("heading", name=TITLE, level=1)).to_be_visible()
    expect(page.locator(".res-status-line")).to_contain_text("Draft")
    expect(page.locator(".res-status-line")).to_contain_text("4.0 – 5.0")
    # The body as customers read it: Markdown rendered, HTML shown as text.
    expect(page.locator(".res-prose h2")).to_have_text("Fixes")
    expect(page.locator(".res-prose")).to_contain_text("<b>No HTML</b>")

    # The attached file downloads from the console.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="sp3-notes.pdf").first.click()
    download = download_info.value
    assert download.suggested_filename == "sp3-notes.pdf"
    with open(download.path(), "rb") as handle:
        assert handle.read() == res.PDF

    # Publish today (the date input defaults to it).
    publish = page.locator("#publish")
    with page.expect_navigation():
        publish.get_by_role("button", name="Publish").click()
    expect(flash(page, "is published: customers on 4.0 – 5.0 see it now")).to_be_visible()
    expect(page.locator(".res-status-line")).to_contain_text("Published")
    item.refresh_from_db()
    assert item.is_published

    # Preview as 4.0: the note is there, with the item for all levels.
    with page.expect_navigation():
        page.get_by_role("link", name="Preview as 4.0").click()
    expect(page.get_by_role("heading", name="As a customer on 4.0")).to_be_visible()
    results = page.locator(".res-preview-list")
    expect(results.get_by_role("link", name=TITLE)).to_be_visible()
    expect(results.get_by_role("link", name="Welcome to the library")).to_be_visible()

    # Preview as 3.0: it is not.
    page.get_by_label("Software level").select_option(label="3.0")
    with page.expect_navigation():
        page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("heading", name="As a customer on 3.0")).to_be_visible()
    expect(results.get_by_role("link", name="Welcome to the library")).to_be_visible()
    expect(results.get_by_role("link", name=TITLE)).to_have_count(0)
