"""The resources library in the staff console (issue 10): software levels (managers), the
library, writing / publishing / withdrawing / deleting items (support and managers), preview as
level, downloads. Who may do what, bad input refused with a message and nothing changed, and
pages whose query count does not grow with rows."""

from __future__ import annotations

import datetime
from html.parser import HTMLParser

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.urls import reverse

from clientdesk.core.actor import Actor, Source
from clientdesk.customers.models import Customer, SoftwareLevel
from clientdesk.resources import actions, visibility
from clientdesk.resources.models import Resource, ResourceDownload
from tests.conftest import World
from tests.resources import factories as res

pytestmark = pytest.mark.django_db

STAFF = ["staff_support", "staff_billing", "staff_manager", "superuser"]


def client_for(world: World, persona: str) -> Client:
    client = Client()
    client.force_login(world.users[persona])
    return client


class Elements(HTMLParser):
    """The elements a browser would build from a page: tag names, link targets, scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()
        self.hrefs: list[str] = []
        self.scripts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.names.add(tag)
        values = dict(attrs)
        if values.get("href") is not None:
            self.hrefs.append(values["href"] or "")
        if tag == "script":
            self.scripts.append(values.get("src") or "<inline>")


def page_text(response: object) -> str:
    return response.content.decode()  # type: ignore[attr-defined]


def level_order() -> list[str]:
    return list(SoftwareLevel.objects.order_by("position").values_list("label", flat=True))


def form_data(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "kind": Resource.Kind.RELEASE_NOTE,
        "title": "Release notes 4.0 SP3",
        "summary": "What changed in SP3.",
        "body": "## Fixes\n\n- Faster posting",
        "level_from": "",
        "level_to": "",
    }
    data.update(overrides)
    return data


def put_on_level(customer: Customer, level: SoftwareLevel | None) -> Customer:
    Customer.objects.filter(pk=customer.pk).update(software_level=level)
    customer.refresh_from_db()
    return customer


def download_by(world: World, resource: Resource, customer: Customer) -> ResourceDownload:
    actor = Actor(world.users["a_owner"], Source.PORTAL)
    return actions.record_download(resource, customer=customer, actor=actor)


@pytest.fixture
def lv(db: None) -> dict[str, SoftwareLevel]:
    return res.levels()


# --- permissions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("staff_support", 403), ("staff_billing", 403), ("staff_manager", 200), ("superuser", 200)],
)
def test_only_managers_keep_software_levels(
    world: World, lv: dict[str, SoftwareLevel], persona: str, expected: int
) -> None:
    client = client_for(world, persona)
    level = lv["4.0"]
    assert client.get(reverse("staff:software-levels")).status_code == expected
    assert client.get(reverse("staff:software-level-edit", args=[level.pk])).status_code == expected
    added = client.post(reverse("staff:software-levels"), {"label": "6.0", "is_active": "on"})
    assert added.status_code == (302 if expected == 200 else 403)
    moved = client.post(
        reverse("staff:software-level-move", args=[level.pk]), {"direction": "down"}
    )
    assert moved.status_code == (302 if expected == 200 else 403)
    assert SoftwareLevel.objects.filter(label="6.0").exists() == (expected == 200)


@pytest.mark.parametrize("persona", STAFF)
def test_every_staff_role_reads_the_library(
    world: World, lv: dict[str, SoftwareLevel], persona: str
) -> None:
    item = res.resource("Guide", level_from=lv["4.0"], upload=res.pdf())
    client = client_for(world, persona)
    for url in (
        reverse("staff:resources"),
        reverse("staff:resource", args=[item.pk]),
        reverse("staff:resources-preview"),
        reverse("staff:resource-downloads"),
        reverse("staff:resource-file", args=[item.pk]),
    ):
        assert client.get(url).status_code == 200, url
    listing = page_text(client.get(reverse("staff:resources")))
    assert ("New resource" in listing) == (persona != "staff_billing")


@pytest.mark.parametrize(
    ("persona", "allowed"),
    [("staff_support", True), ("staff_billing", False), ("staff_manager", True)],
)
def test_support_and_managers_write_billing_only_reads(
    world: World, lv: dict[str, SoftwareLevel], persona: str, allowed: bool
) -> None:
    draft = res.resource("Draft", publish=False)
    client = client_for(world, persona)
    expected = 200 if allowed else 403
    assert client.get(reverse("staff:resource-add")).status_code == expected
    assert client.get(reverse("staff:resource-edit", args=[draft.pk])).status_code == expected
    for name in ("resource-publish", "resource-withdraw", "resource-delete"):
        assert client.get(reverse(f"staff:{name}", args=[draft.pk])).status_code == expected

    created = client.post(reverse("staff:resource-add"), form_data())
    assert created.status_code == (302 if allowed else 403)
    published = client.post(
        reverse("staff:resource-publish", args=[draft.pk]),
        {"published_on": "2026-01-05", "version": draft.version},
    )
    assert published.status_code == (302 if allowed else 403)
    draft.refresh_from_db()
    assert draft.is_published == allowed
    assert Resource.objects.filter(title="Release notes 4.0 SP3").exists() == allowed


def test_customers_and_anonymous_never_reach_the_console(world: World) -> None:
    portal = client_for(world, "a_owner")
    assert portal.get(reverse("staff:resources")).status_code == 404
    assert portal.get(reverse("staff:software-levels")).status_code == 404
    assert Client().get(reverse("staff:resources")).status_code == 302


# --- software levels ------------------------------------------------------------------------


def test_the_levels_page_counts_customers_and_items(
    world: World, lv: dict[str, SoftwareLevel]
) -> None:
    put_on_level(world.customer_a, lv["4.0"])
    put_on_level(world.customer_b, lv["4.0"])
    res.resource("SP2 notes", level_from=lv["4.0"], level_to=lv["4.0 SP2"])
    res.resource("Only 4.0", level_from=lv["4.0"], level_to=lv["4.0"])
    text = page_text(client_for(world, "staff_manager").get(reverse("staff:software-levels")))
    row = text.split(f'id="level-{lv["4.0"].pk}"')[1].split("</tr>")[0]
    assert 'data-label="Customers">2<' in row
    assert 'data-label="Items naming it">2<' in row
    sp2 = text.split(f'id="level-{lv["4.0 SP2"].pk}"')[1].split("</tr>")[0]
    assert 'data-label="Customers">0<' in sp2
    assert 'data-label="Items naming it">1<' in sp2


def test_adding_a_level_and_a_duplicate_label(world: World, lv: dict[str, SoftwareLevel]) -> None:
    client = client_for(world, "staff_manager")
    response = client.post(reverse("staff:software-levels"), {"label": "6.0", "is_active": "on"})
    assert response.status_code == 302
    assert level_order()[-1] == "6.0"
    again = client.post(reverse("staff:software-levels"), {"label": "4.0 sp2", "is_active": "on"})
    assert again.status_code == 400
    assert "There is already a level called “4.0 sp2”." in page_text(again)
    empty = client.post(reverse("staff:software-levels"), {"label": "  "})
    assert empty.status_code == 400
    assert SoftwareLevel.objects.count() == 5


def test_retiring_a_level_keeps_its_customers(world: World, lv: dict[str, SoftwareLevel]) -> None:
    customer = put_on_level(world.customer_a, lv["3.0"])
    client = client_for(world, "staff_manager")
    url = reverse("staff:software-level-edit", args=[lv["3.0"].pk])
    response = client.post(url, {"label": "3.0", "reason": "End of maintenance"})
    assert response.status_code == 302
    lv["3.0"].refresh_from_db()
    assert lv["3.0"].is_active is False
    customer.refresh_from_db()
    assert customer.software_level_id == lv["3.0"].pk
    listing = page_text(client.get(reverse("staff:software-levels")))
    assert "Rename / restore" in listing
    # The resource form still offers it, marked.
    form = page_text(client.get(reverse("staff:resource-add")))
    assert "3.0 (retired)" in form


def test_moving_levels_up_and_down(world: World, lv: dict[str, SoftwareLevel]) -> None:
    client = client_for(world, "staff_manager")
    url = reverse("staff:software-level-move", args=[lv["4.0 SP2"].pk])
    response = client.post(url, {"direction": "up"}, follow=True)
    assert level_order() == ["3.0", "4.0 SP2", "4.0", "5.0"]
    assert "Level “4.0 SP2” moved up." in page_text(response)
    client.post(url, {"direction": "down"})
    assert level_order() == ["3.0", "4.0", "4.0 SP2", "5.0"]
    # Already first; a forged direction; GET is not a move.
    first = reverse("staff:software-level-move", args=[lv["3.0"].pk])
    refused = client.post(first, {"direction": "up"}, follow=True)
    assert "“3.0” is already first." in page_text(refused)
    forged = client.post(first, {"direction": "sideways"}, follow=True)
    assert "Move a level up or down." in page_text(forged)
    assert client.get(first).status_code == 405
    assert level_order() == ["3.0", "4.0", "4.0 SP2", "5.0"]


def test_a_move_that_would_turn_a_range_around_is_refused(
    world: World, lv: dict[str, SoftwareLevel]
) -> None:
    res.resource("SP2 patch", level_from=lv["4.0"], level_to=lv["4.0 SP2"])
    client = client_for(world, "staff_manager")
    url = reverse("staff:software-level-move", args=[lv["4.0"].pk])
    response = client.post(url, {"direction": "down"}, follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("staff:software-levels"))
    text = page_text(response)
    assert "would turn around the level range" in text
    assert "“SP2 patch”" in text
    assert 'role="alert"' in text
    assert level_order() == ["3.0", "4.0", "4.0 SP2", "5.0"]


def test_unknown_levels_are_404(world: World, lv: dict[str, SoftwareLevel]) -> None:
    client = client_for(world, "staff_manager")
    for pk in (999999, 2**70):
        assert client.get(reverse("staff:software-level-edit", args=[pk])).status_code == 404
        move = reverse("staff:software-level-move", args=[pk])
        assert client.post(move, {"direction": "up"}).status_code == 404


# --- writing items ---------------------------------------------------------------------------


def test_creating_an_item_with_a_file(world: World, lv: dict[str, SoftwareLevel]) -> None:
    client = client_for(world, "staff_support")
    data = form_data(
        level_from=str(lv["4.0"].pk), level_to=str(lv["5.0"].pk), file=res.pdf("sp3-notes.pdf")
    )
    response = client.post(reverse("staff:resource-add"), data)
    item = Resource.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("staff:resource", args=[item.pk])
    assert (item.status, item.level_from, item.level_to) == ("draft", lv["4.0"], lv["5.0"])
    assert (item.file_name, item.file_size, item.file_type) == (
        "sp3-notes.pdf",
        len(res.PDF),
        "application/pdf",
    )
    assert item.created_by == world.users["staff_support"]

    detail = page_text(client.get(response["Location"]))
    assert "sp3-notes.pdf" in detail
    assert "4.0 – 5.0" in detail
    assert "<h3>Fixes</h3>" in detail  # headings move down one level
    assert reverse("staff:resource-file", args=[item.pk]) in detail
    assert "/media/" not in detail and item.file.name not in detail

    download = client.get(reverse("staff:resource-file", args=[item.pk]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == res.PDF  # type: ignore[attr-defined]
    assert download["Content-Disposition"].startswith("attachment")
    assert 'filename="sp3-notes.pdf"' in download["Content-Disposition"]
    assert download["Content-Type"] == "application/pdf"
    assert "no-store" in download["Cache-Control"]
    assert not ResourceDownload.objects.exists()  # staff downloads are not customers'


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("setup.exe", b"MZ\x90\x00", "This type of file cannot be attached. Allowed:"),
        ("page.html", b"<script>alert(1)</script>", "This type of file cannot be attached."),
        ("fake.pdf", b"<html>not a pdf</html>", "The file&#x27;s content is not a .pdf file."),
    ],
)
def test_a_file_type_not_allowed_is_refused(
    world: World, lv: dict[str, SoftwareLevel], name: str, content: bytes, message: str
) -> None:
    client = client_for(world, "staff_support")
    upload = SimpleUploadedFile(name, content, content_type="application/pdf")
    response = client.post(reverse("staff:resource-add"), form_data(file=upload))
    assert response.status_code == 400
    text = page_text(response)
    assert message in text
    assert 'id="id_file_error"' in text
    assert not Resource.objects.exists()


@override_settings(CLIENTDESK_RESOURCE_FILE_MAX_BYTES=10)
def test_a_file_over_the_limit_is_refused(world: World, lv: dict[str, SoftwareLevel]) -> None:
    client = client_for(world, "staff_manager")
    page = page_text(client.get(reverse("staff:resource-add")))
    assert "Up to 10 bytes." in page
    response = client.post(reverse("staff:resource-add"), form_data(file=res.pdf()))
    assert response.status_code == 400
    text = page_text(response)
    assert f"The file is {len(res.PDF)} bytes; the limit is 10 bytes." in text
    assert 'id="id_file_error"' in text
    assert not Resource.objects.exists()


def test_a_range_that_ends_before_it_starts_is_refused_on_the_field(
    world: World, lv: dict[str, SoftwareLevel]
) -> None:
    client = client_for(world, "staff_support")
    data = form_data(level_from=str(lv["5.0"].pk), level_to=str(lv["4.0"].pk), file=res.pdf())
    response = client.post(reverse("staff:resource-add"), data)
    assert response.status_code == 400
    text = page_text(response)
    error = text.split('id="id_level_to_error"')[1].split("</div>")[0]
    assert "The range ends before it starts: “4.0” comes before “5.0”." in error
    assert "Choose the file again" in text
    assert not Resource.objects.exists()


def test_a_bad_file_is_reported_with_the_other_fields(
    world: World, lv: dict[str, SoftwareLevel]
) -> None:
    client = client_for(world, "staff_support")
    upload = SimpleUploadedFile("setup.exe", b"MZ", content_type="application/octet-stream")
    response = client.post(reverse("staff:resource-add"), form_data(title="", file=upload))
    assert response.status_code == 400
    text = page_text(response)
    assert 'id="id_file_error"' in text and 'id="id_title_error"' in text
    assert "Choose the file again" not in text  # the file itself was the problem
    assert not Resource.objects.exists()


def test_forged_and_garbage_form_input(world: World, lv: dict[str, SoftwareLevel]) -> None:
    client = client_for(world, "staff_support")
    other = SoftwareLevel.objects.order_by("-pk").first()
    assert other is not None
    cases = [
        ({"level_from": str(other.pk + 100)}, "id_level_from_error"),
        ({"level_to": "9" * 30}, "id_level_to_error"),
        ({"kind": "<script>"}, "id_kind_error"),
        ({"title": ""}, "id_title_error"),
        ({"title": "x" * 5000}, "id_title_error"),
        ({"title": "Bad\u202eTitle"}, "id_title_error"),
        ({"body": "x" * 100_001}, "id_body_error"),
    ]
    for overrides, error_id in cases:
        response = client.post(reverse("staff:resource-add"), form_data(**overrides))
        assert response.status_code == 400, overrides
        assert f'id="{error_id}"' in page_text(response), overrides
    # Fields the form does not have are ignored (no mass assignment).
    client.post(
        reverse("staff:resource-add"),
        form_data(status="published", published_on="2020-01-01", created_by="1", version="9"),
    )
    item = Resource.objects.get()
    assert (item.status, item.published_on, item.version) == ("draft", None, 1)
    # Unicode is kept as written.
    client.post(reverse("staff:resource-add"), form_data(title="Nota de versão — 日本語"))
    assert Resource.objects.filter(title="Nota de versão — 日本語").exists()


def test_markdown_is_rendered_safely_on_the_item_page(
    world: World, lv: dict[str, SoftwareLevel]
) -> None:
    body = (
        "Hello <script>alert('x')</script>\n\n"
        '[x](javascript:alert(1)) and <a href="javascript:alert(2)">y</a>\n\n'
        "![huge](https://example.org/huge.png)\n\n"
        '<img src=x onerror="alert(3)">'
    )
    item = res.resource("Unsafe", body=body, publish=False)
    text = page_text(
        client_for(world, "staff_billing").get(reverse("staff:resource", args=[item.pk]))
    )
    prose = text.split('class="res-prose"')[1].split("</article>")[0]
    tags = Elements()
    tags.feed(text)
    assert not [src for src in tags.scripts if not src.startswith("/static/")]  # app.js only
    assert not [h for h in tags.hrefs if h.strip().lower().startswith("javascript:")]
    assert "img" not in tags.names
    assert "&lt;script&gt;" in prose  # shown as text
    assert 'href="https://example.org/huge.png"' in prose  # a picture becomes a link
    assert "<img" not in prose


def test_editing_an_item_and_a_stale_version(world: World, lv: dict[str, SoftwareLevel]) -> None:
    item = res.resource("Patch notes", level_from=lv["4.0"], upload=res.pdf("old.pdf"))
    client = client_for(world, "staff_support")
    url = reverse("staff:resource-edit", args=[item.pk])
    page = page_text(client.get(url))
    assert 'enctype="multipart/form-data"' in page
    assert f'name="version" value="{item.version}"' in page
    assert "old.pdf" in page and "Remove the current file" in page

    data = form_data(title="Patch notes v2", level_from=str(lv["4.0"].pk), version=item.version)
    response = client.post(url, data)
    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.title, item.version, item.file_name) == ("Patch notes v2", 3, "old.pdf")

    # A second editor with the page from before: a clear message, nothing overwritten.
    stale = client.post(url, {**data, "title": "Someone else's title", "version": 2})
    assert stale.status_code == 409
    assert "Someone else changed this resource meanwhile." in page_text(stale)
    item.refresh_from_db()
    assert item.title == "Patch notes v2"

    removed = client.post(url, {**data, "remove_file": "on", "version": item.version})
    assert removed.status_code == 302
    item.refresh_from_db()
    assert not item.has_file and item.file_name == ""
    assert client.get(reverse("staff:resource-file", args=[item.pk])).status_code == 404

    missing_version = client.post(url, {**data, "version": ""})
    assert missing_version.status_code == 400
    assert "This page is out of date. Reload it and try again." in page_text(missing_version)


# --- publish, withdraw, delete -------------------------------------------------------------


def test_publish_withdraw_and_delete(world: World, lv: dict[str, SoftwareLevel]) -> None:
    item = res.resource("Hotfix", level_from=lv["4.0"], publish=False)
    client = client_for(world, "staff_support")
    today = visibility.provider_today()

    page = page_text(client.get(reverse("staff:resource", args=[item.pk])))
    assert f'value="{today.isoformat()}"' in page  # the publish day defaults to today
    assert reverse("staff:resource-delete", args=[item.pk]) in page

    later = today + datetime.timedelta(days=7)
    response = client.post(
        reverse("staff:resource-publish", args=[item.pk]),
        {"published_on": later.isoformat(), "version": item.version},
        follow=True,
    )
    item.refresh_from_db()
    assert (item.status, item.published_on) == ("published", later)
    assert "is scheduled: customers on 4.0 and later see it from" in page_text(response)
    assert "Scheduled" in page_text(response)

    response = client.post(
        reverse("staff:resource-publish", args=[item.pk]),
        {"published_on": today.isoformat(), "version": item.version},
        follow=True,
    )
    item.refresh_from_db()
    assert item.published_on == today
    assert "is published: customers on 4.0 and later see it now." in page_text(response)

    # Withdrawing needs a reason.
    url = reverse("staff:resource-withdraw", args=[item.pk])
    refused = client.post(url, {"reason": "", "version": item.version})
    assert refused.status_code == 400
    assert "Say why the item is withdrawn." in page_text(refused)
    item.refresh_from_db()
    assert item.is_published
    response = client.post(url, {"reason": "Superseded", "version": item.version}, follow=True)
    item.refresh_from_db()
    assert item.status == "draft"
    assert "is withdrawn: customers no longer see it." in page_text(response)
    again = client.post(url, {"reason": "Twice", "version": item.version})
    assert again.status_code == 409
    assert "This item is already a draft." in page_text(again)

    # Delete: the confirm page, then gone.
    delete_url = reverse("staff:resource-delete", args=[item.pk])
    assert "Delete “Hotfix”?" in page_text(client.get(delete_url))
    response = client.post(delete_url, {"version": item.version})
    assert response.status_code == 302
    assert response["Location"] == reverse("staff:resources")
    assert not Resource.objects.filter(pk=item.pk).exists()


def test_bad_publish_dates_and_stale_versions(world: World, lv: dict[str, SoftwareLevel]) -> None:
    item = res.resource("Draft", publish=False)
    client = client_for(world, "staff_manager")
    url = reverse("staff:resource-publish", args=[item.pk])
    for day in ("", "not-a-date", "0001-01-01", "99999-01-01"):
        response = client.post(url, {"published_on": day, "version": item.version})
        assert response.status_code == 400, day
    stale = client.post(url, {"published_on": "2026-01-01", "version": item.version + 5})
    assert stale.status_code == 409
    assert "Someone else changed this resource meanwhile." in page_text(stale)
    item.refresh_from_db()
    assert item.status == "draft"


def test_a_downloaded_item_cannot_be_deleted(world: World, lv: dict[str, SoftwareLevel]) -> None:
    item = res.resource("Popular", upload=res.pdf())
    download_by(world, item, world.customer_a)
    item = actions.withdraw_resource(item, version=item.version, reason="Old", actor=Actor.system())
    client = client_for(world, "staff_support")
    page = page_text(client.get(reverse("staff:resource", args=[item.pk])))
    assert reverse("staff:resource-delete", args=[item.pk]) not in page
    response = client.post(
        reverse("staff:resource-delete", args=[item.pk]), {"version": item.version}
    )
    assert response.status_code == 409
    assert "Customers have downloaded this item, so its record stays." in page_text(response)
    assert Resource.objects.filter(pk=item.pk).exists()


def test_unknown_items_are_404(world: World) -> None:
    client = client_for(world, "staff_manager")
    for pk in (424242, 2**70):
        for name in ("resource", "resource-edit", "resource-file", "resource-publish"):
            assert client.get(reverse(f"staff:{name}", args=[pk])).status_code == 404, name
        post = client.post(reverse("staff:resource-withdraw", args=[pk]), {"reason": "x"})
        assert post.status_code == 404


# --- preview and downloads ------------------------------------------------------------------


def test_preview_as_level_shows_what_that_customer_sees(
    world: World, lv: dict[str, SoftwareLevel]
) -> None:
    res.resource("For everyone")
    res.resource("SP3 notes", level_from=lv["4.0"], level_to=lv["5.0"])
    res.resource("Legacy", level_to=lv["3.0"])
    res.resource("Upcoming 5.0", level_from=lv["5.0"], publish=False)
    client = client_for(world, "staff_billing")
    url = reverse("staff:resources-preview")

    def titles(query: dict[str, str]) -> set[str]:
        text = page_text(client.get(url, query))
        return {t for t in ("For everyone", "SP3 notes", "Legacy", "Upcoming 5.0") if t in text}

    assert titles({"level": str(lv["4.0"].pk)}) == {"For everyone", "SP3 notes"}
    assert titles({"level": str(lv["3.0"].pk)}) == {"For everyone", "Legacy"}
    assert titles({"level": "none"}) == {"For everyone"}
    assert titles({"level": str(lv["5.0"].pk)}) == {"For everyone", "SP3 notes"}
    with_drafts = page_text(client.get(url, {"level": str(lv["5.0"].pk), "drafts": "on"}))
    assert "Upcoming 5.0" in with_drafts
    assert "Draft</span>" in with_drafts
    # Invalid choices are ignored: the "No level set" view.
    for bad in ("abc", "9" * 40, "-1", "<script>"):
        response = client.get(url, {"level": bad, "drafts": "maybe"})
        assert response.status_code == 200
        assert "As a customer with no level set" in page_text(response)


def test_downloads_are_listed_for_staff(world: World, lv: dict[str, SoftwareLevel]) -> None:
    customer = put_on_level(world.customer_a, lv["4.0"])
    item = res.resource("SP3 package", level_from=lv["4.0"], upload=res.pdf())
    download_by(world, item, customer)
    client = client_for(world, "staff_billing")

    listing = page_text(client.get(reverse("staff:resource-downloads")))
    assert "SP3 package" in listing
    assert world.customer_a.client_id in listing
    assert reverse("staff:customer", args=[world.customer_a.number]) in listing
    assert str(world.users["a_owner"]) in listing

    detail = page_text(client.get(reverse("staff:resource", args=[item.pk])))
    downloads = detail.split('id="downloads"')[1]
    assert world.customer_a.display_name in downloads
    assert str(world.users["a_owner"]) in downloads

    mine = client.get(reverse("staff:resource-downloads"), {"customer": customer.client_id})
    assert "SP3 package" in page_text(mine)
    other = client.get(
        reverse("staff:resource-downloads"), {"customer": world.customer_b.client_id}
    )
    assert "No downloads for this customer" in page_text(other)
    for bad in ("C-99999999", "hello", "C-1, C-2", "9" * 300, "C-100001 " * 40):
        response = client.get(reverse("staff:resource-downloads"), {"customer": bad})
        assert response.status_code == 200, bad
        assert 'id="id_customer_error"' in page_text(response), bad
        assert "SP3 package" not in page_text(response)

    listing_page = page_text(client.get(reverse("staff:resources")))
    row = listing_page.split(f'id="resource-{item.pk}"')[1].split("</tr>")[0]
    assert 'data-label="Downloads" class="num">1<' in row


def test_garbage_query_parameters_never_fail(world: World, lv: dict[str, SoftwareLevel]) -> None:
    item = res.resource("Guide", level_from=lv["4.0"], upload=res.pdf())
    client = client_for(world, "staff_support")
    junk = [
        "",
        "-1",
        "0",
        "9" * 40,
        "abc",
        "<script>",
        "2026-01-01T00:00:00~1",
        "\u202e",
        "x~y",
        "a\x00b",
    ]
    for value in junk:
        for url, keys in (
            (reverse("staff:resources"), ("status", "kind", "q", "after")),
            (reverse("staff:resource", args=[item.pk]), ("before",)),
            (reverse("staff:resources-preview"), ("level", "drafts")),
            (reverse("staff:resource-downloads"), ("customer", "before")),
        ):
            response = client.get(url, dict.fromkeys(keys, value))
            assert response.status_code == 200, (url, value)
    huge = client.get(reverse("staff:resources"), {"q": "word " * 5000})
    assert huge.status_code == 200
    listing = page_text(client.get(reverse("staff:resources"), {"status": "bogus"}))
    assert "Guide" in listing  # an invalid filter is ignored


def test_library_filters(world: World, lv: dict[str, SoftwareLevel]) -> None:
    res.resource("Published note")
    res.resource("Draft article", kind=Resource.Kind.ARTICLE, publish=False)
    client = client_for(world, "staff_support")
    url = reverse("staff:resources")
    drafts = page_text(client.get(url, {"status": "draft"}))
    assert "Draft article" in drafts and "Published note" not in drafts
    notes = page_text(client.get(url, {"kind": "release_note"}))
    assert "Published note" in notes and "Draft article" not in notes
    found = page_text(client.get(url, {"q": "article"}))
    assert "Draft article" in found and "Published note" not in found
    nothing = page_text(client.get(url, {"q": "zzz"}))
    assert "No item matches" in nothing


def test_library_pages_with_a_cursor(world: World) -> None:
    from clientdesk.staff import resources as views

    for n in range(views.LIST_SIZE + 3):
        res.resource(f"Item {n:03d}", publish=False)
    client = client_for(world, "staff_support")
    first = page_text(client.get(reverse("staff:resources")))
    assert first.count('id="resource-') == views.LIST_SIZE
    assert 'rel="next"' in first
    next_url = first.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
    second = page_text(client.get(next_url.replace("&amp;", "&")))
    assert second.count('id="resource-') == 3
    assert 'rel="next"' not in second


# --- query counts ---------------------------------------------------------------------------


def _library_of(n: int) -> None:
    for i in range(n):
        res.resource(f"Note {i}", upload=res.pdf(f"note-{i}.pdf"))


def _downloads_of(world: World, n: int) -> Resource:
    item = res.resource("Package", upload=res.pdf())
    customers = [world.customer_a, world.customer_b]
    for i in range(n):
        download_by(world, item, customers[i % 2])
    return item


@pytest.mark.parametrize("rows", [3, 30])
def test_the_library_list_costs_the_same_for_3_and_30_items(
    world: World, lv: dict[str, SoftwareLevel], django_assert_max_num_queries, rows: int
) -> None:
    _library_of(rows)
    client = client_for(world, "staff_manager")
    client.get(reverse("staff:resources"))  # session and MFA lookups warmed
    # 9 for the session, user, MFA, roles and the sidebar's count; 2 for the page.
    with django_assert_max_num_queries(11):
        response = client.get(reverse("staff:resources"))
    assert page_text(response).count('id="resource-') == rows


@pytest.mark.parametrize("rows", [3, 30])
def test_the_downloads_pages_cost_the_same_for_3_and_30_rows(
    world: World, lv: dict[str, SoftwareLevel], django_assert_max_num_queries, rows: int
) -> None:
    item = _downloads_of(world, rows)
    client = client_for(world, "staff_manager")
    client.get(reverse("staff:resource-downloads"))
    with django_assert_max_num_queries(11):
        response = client.get(reverse("staff:resource-downloads"))
    assert page_text(response).count('id="download-') == rows
    with django_assert_max_num_queries(12):
        detail = client.get(reverse("staff:resource", args=[item.pk]))
    assert page_text(detail).count('id="download-') == rows


@pytest.mark.parametrize("count", [2, 12])
def test_the_levels_page_costs_the_same_for_few_and_many_levels(
    world: World, django_assert_max_num_queries, count: int
) -> None:
    res.levels(*(f"{n}.0" for n in range(count)))
    client = client_for(world, "staff_manager")
    client.get(reverse("staff:software-levels"))
    with django_assert_max_num_queries(11):  # one for the levels and their counts
        response = client.get(reverse("staff:software-levels"))
    assert page_text(response).count('id="level-') == count


@pytest.mark.parametrize(
    "after",
    ["9999-12-31T23:59:59-23:59~1", "0001-01-01T00:00:00+23:59~1", "2026-01-01T00:00:00~x"],
)
def test_a_cursor_past_the_calendar_is_the_first_page(world: World, after: str) -> None:
    res.resource("Kept")
    response = client_for(world, "staff_support").get(reverse("staff:resources"), {"after": after})
    assert response.status_code == 200
    assert "Kept" in page_text(response)


def test_the_preview_button_picks_a_level_the_item_applies_to(
    world: World, lv: dict[str, SoftwareLevel]
) -> None:
    item = res.resource("Up to 4.0 only", level_to=lv["4.0"])
    page = client_for(world, "staff_support").get(reverse("staff:resource", args=[item.pk]))
    text = page_text(page)
    assert "Preview as 4.0" in text
    preview = client_for(world, "staff_support").get(
        reverse("staff:resources-preview"), {"level": lv["4.0"].pk}
    )
    assert "Up to 4.0 only" in page_text(preview)


def test_the_360_links_to_the_customers_downloads(world: World) -> None:
    item = res.resource("Kit", upload=res.pdf())
    download_by(world, item, world.customer_a)
    staff = client_for(world, "staff_support")
    tab = staff.get(reverse("staff:customer-integrations", args=[world.customer_a.number]))
    link = f"{reverse('staff:resource-downloads')}?customer={world.customer_a.client_id}"
    assert link in tab.content.decode()
    listed = page_text(staff.get(link))
    assert "Kit" in listed
