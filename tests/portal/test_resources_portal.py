"""The portal's Resources library (issue 10, seed 002): the software level filters what a
customer sees, on the list, on an item and on its download; the notice and its Preferences
link by role; search, kind filter and keyset pages; bad input; downloads recorded; a
constant number of queries; Markdown rendered safely; a suspended customer."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clientdesk.customers.models import Contact, Customer, SoftwareLevel
from clientdesk.events.models import Event
from clientdesk.resources import queries, visibility
from clientdesk.resources.models import Resource, ResourceDownload
from tests import factories as base
from tests.resources import factories

from .conftest import HTMX, client_for, edit_url, set_profile

pytestmark = pytest.mark.django_db

TODAY = visibility.provider_today()


# --- helpers ---------------------------------------------------------------------------------


def list_url(customer: Customer, **params: str) -> str:
    url = reverse("portal:resources", args=[customer.number])
    if params:
        from urllib.parse import urlencode

        url += "?" + urlencode(params)
    return url


def item_url(customer: Customer, pk: int) -> str:
    return reverse("portal:resource", args=[customer.number, pk])


def download_url(customer: Customer, pk: int) -> str:
    return reverse("portal:resource-download", args=[customer.number, pk])


def html(response: Any) -> str:
    return str(response.content.decode())


def text(response: Any) -> str:
    """The page's words, tags dropped and whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html(response))).strip()


def titles(response: Any) -> list[str]:
    """The item titles on a list page (or fragment), in order."""
    return [
        re.sub(r"\s+", " ", t).strip()
        for t in re.findall(r'<h2 class="res-item-title"><a [^>]*>(.*?)</a></h2>', html(response))
    ]


def parsed_tags(fragment: str) -> list[tuple[str, dict[str, str]]]:
    """Every start tag in ``fragment`` with its attributes (as a browser would parse them)."""
    from html.parser import HTMLParser

    found: list[tuple[str, dict[str, str]]] = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, {k: v or "" for k, v in attrs}))

    Collector().feed("<article " + fragment)
    return found


def put_on(customer: Customer, level: SoftwareLevel | None) -> None:
    Customer.objects.filter(pk=customer.pk).update(software_level=level)


def days_ago(n: int) -> datetime.date:
    return TODAY - datetime.timedelta(days=n)


@pytest.fixture
def lv(world: Any) -> dict[str, SoftwareLevel]:
    return factories.levels("3.0", "4.0", "4.0 SP2", "5.0")


@pytest.fixture
def library(lv: dict[str, SoftwareLevel]) -> dict[str, Resource]:
    """One item per kind of range, plus a draft and a scheduled one, on distinct days."""
    return {
        "all": factories.resource("For every level", published_on=days_ago(1)),
        "only 3.0": factories.resource(
            "Only 3.0", level_from=lv["3.0"], level_to=lv["3.0"], published_on=days_ago(2)
        ),
        "only 4.0": factories.resource(
            "Only 4.0",
            level_from=lv["4.0"],
            level_to=lv["4.0"],
            published_on=days_ago(3),
            kind=Resource.Kind.SOFTWARE,
            upload=factories.pdf("installer-4.0.pdf"),
        ),
        "only 5.0": factories.resource("Only 5.0", level_from=lv["5.0"], published_on=days_ago(4)),
        "from 4.0": factories.resource(
            "From 4.0 on",
            level_from=lv["4.0"],
            published_on=days_ago(5),
            kind=Resource.Kind.ARTICLE,
        ),
        "up to SP2": factories.resource(
            "Up to SP2", level_to=lv["4.0 SP2"], published_on=days_ago(6)
        ),
        "up to 3.0": factories.resource("Up to 3.0", level_to=lv["3.0"], published_on=days_ago(7)),
        "draft": factories.resource("Draft for 4.0", level_from=lv["4.0"], publish=False),
        "scheduled": factories.resource(
            "Tomorrow for 4.0",
            level_from=lv["4.0"],
            published_on=TODAY + datetime.timedelta(days=1),
        ),
    }


# --- what a level sees -----------------------------------------------------------------------


def test_a_customer_on_4_0_sees_its_items_newest_first_and_not_the_others(
    world: Any, lv: dict[str, SoftwareLevel], library: dict[str, Resource]
) -> None:
    put_on(world.customer_a, lv["4.0"])
    response = client_for(world.users["a_owner"]).get(list_url(world.customer_a))
    assert response.status_code == 200
    assert titles(response) == ["For every level", "Only 4.0", "From 4.0 on", "Up to SP2"]
    page = text(response)
    assert "Showing resources for software level 4.0 ." in page
    for hidden in ("Only 3.0", "Only 5.0", "Up to 3.0", "Draft for 4.0", "Tomorrow for 4.0"):
        assert hidden not in page


def test_open_ranges_and_range_labels(
    world: Any, lv: dict[str, SoftwareLevel], library: dict[str, Resource]
) -> None:
    put_on(world.customer_a, lv["5.0"])
    response = client_for(world.users["a_member"]).get(list_url(world.customer_a))
    assert titles(response) == ["For every level", "Only 5.0", "From 4.0 on"]
    page = text(response)
    assert "All levels" in page
    assert "5.0 and later" in page
    assert "4.0 and later" in page
    put_on(world.customer_a, lv["3.0"])
    response = client_for(world.users["a_member"]).get(list_url(world.customer_a))
    assert titles(response) == ["For every level", "Only 3.0", "Up to SP2", "Up to 3.0"]
    assert "Up to 4.0 SP2" in text(response)


def test_no_level_sees_only_items_for_all_levels_and_the_prompt(
    world: Any, library: dict[str, Resource]
) -> None:
    response = client_for(world.users["a_owner"]).get(list_url(world.customer_a))
    assert titles(response) == ["For every level"]
    page = text(response)
    assert "Set your software level to see the resources for it" in page
    assert "Showing resources for software level" not in page
    assert f'href="{edit_url(world.customer_a, "preferences")}"' in html(response)
    member = text(client_for(world.users["a_member"]).get(list_url(world.customer_a)))
    assert "Set your software level to see the resources for it" in member
    assert "Ask an owner or admin" in member


def test_changing_the_level_changes_the_list_at_once(
    world: Any, lv: dict[str, SoftwareLevel], library: dict[str, Resource]
) -> None:
    client = client_for(world.users["a_owner"])
    set_profile(world.customer_a, "preferences", software_level=lv["4.0"].pk)
    assert "Only 4.0" in titles(client.get(list_url(world.customer_a)))
    set_profile(world.customer_a, "preferences", software_level=lv["5.0"].pk)
    shown = titles(client.get(list_url(world.customer_a)))
    assert "Only 5.0" in shown
    assert "Only 4.0" not in shown


def test_a_retired_level_keeps_showing_its_items(
    world: Any, lv: dict[str, SoftwareLevel], library: dict[str, Resource]
) -> None:
    put_on(world.customer_a, lv["4.0"])
    SoftwareLevel.objects.filter(pk=lv["4.0"].pk).update(is_active=False)
    response = client_for(world.users["a_owner"]).get(list_url(world.customer_a))
    assert "Only 4.0" in titles(response)


# --- every role may look; the Preferences link only for those who may change it -------------


@pytest.mark.parametrize("persona", ["a_owner", "a_admin", "a_billing", "a_technical", "a_member"])
def test_every_role_sees_resources_in_the_sidebar(world: Any, persona: str) -> None:
    client = client_for(world.users[persona])
    home = html(client.get(reverse("portal:customer-home", args=[world.customer_a.number])))
    assert f'href="{list_url(world.customer_a)}"' in home
    page = html(client.get(list_url(world.customer_a)))
    assert re.search(
        rf'<a href="{re.escape(list_url(world.customer_a))}" aria-current="page">', page
    )


@pytest.mark.parametrize(
    ("persona", "linked"),
    [
        ("a_owner", True),
        ("a_admin", True),
        ("a_billing", False),
        ("a_technical", False),
        ("a_member", False),
    ],
)
def test_the_preferences_link_is_for_roles_that_may_edit_preferences(
    world: Any, lv: dict[str, SoftwareLevel], persona: str, linked: bool
) -> None:
    put_on(world.customer_a, lv["4.0"])
    client = client_for(world.users[persona])
    page = html(client.get(list_url(world.customer_a)))
    preferences = edit_url(world.customer_a, "preferences")
    assert (f'href="{preferences}"' in page) is linked
    assert ("Change in Preferences" in page) is linked
    assert ("An owner or admin of this account can change it" in page) is not linked
    # The link leads to the Preferences form with the software level in it.
    response = client.get(preferences)
    if linked:
        assert response.status_code == 200
        assert 'name="software_level"' in html(response)
    else:
        assert response.status_code == 403


def test_no_link_when_the_provider_keeps_the_level_for_staff(
    world: Any, lv: dict[str, SoftwareLevel], settings: Any
) -> None:
    """A deployment may make the software level a staff-only field (CLIENTDESK_FIELD_MODES):
    then nobody in the portal is sent to a form that cannot change it."""
    settings.CLIENTDESK_FIELD_MODES = {"software_level": "staff"}
    put_on(world.customer_a, lv["4.0"])
    page = html(client_for(world.users["a_owner"]).get(list_url(world.customer_a)))
    assert "Showing resources for software level" in page
    assert "Change in Preferences" not in page


# --- direct links outside the level: 404 ------------------------------------------------------


@pytest.mark.parametrize("key", ["only 3.0", "only 5.0", "up to 3.0", "draft", "scheduled"])
def test_an_item_outside_the_level_and_its_download_are_404(
    world: Any, lv: dict[str, SoftwareLevel], library: dict[str, Resource], key: str
) -> None:
    put_on(world.customer_a, lv["4.0"])
    client = client_for(world.users["a_owner"])
    pk = library[key].pk
    assert client.get(item_url(world.customer_a, pk)).status_code == 404
    assert client.get(download_url(world.customer_a, pk)).status_code == 404
    assert not ResourceDownload.objects.exists()


def test_an_item_with_a_file_at_another_level_is_404_on_both_urls(
    world: Any, lv: dict[str, SoftwareLevel], library: dict[str, Resource]
) -> None:
    put_on(world.customer_a, lv["5.0"])
    client = client_for(world.users["a_owner"])
    pk = library["only 4.0"].pk
    assert client.get(item_url(world.customer_a, pk)).status_code == 404
    assert client.get(download_url(world.customer_a, pk)).status_code == 404
    assert not ResourceDownload.objects.exists()


def test_ids_that_do_not_exist_are_404(world: Any, library: dict[str, Resource]) -> None:
    client = client_for(world.users["a_owner"])
    missing = Resource.objects.order_by("-pk").first().pk + 1000  # type: ignore[union-attr]
    for pk in (missing, 0, 2**63 + 5, 10**30):
        assert client.get(item_url(world.customer_a, pk)).status_code == 404
        assert client.get(download_url(world.customer_a, pk)).status_code == 404


def test_another_customers_number_is_404_on_every_url(
    world: Any, lv: dict[str, SoftwareLevel], library: dict[str, Resource]
) -> None:
    put_on(world.customer_a, lv["4.0"])
    put_on(world.customer_b, lv["4.0"])
    b_owner = client_for(world.users["b_owner"])
    pk = library["only 4.0"].pk
    assert b_owner.get(list_url(world.customer_a)).status_code == 404
    assert b_owner.get(item_url(world.customer_a, pk)).status_code == 404
    assert b_owner.get(download_url(world.customer_a, pk)).status_code == 404
    # Under their own number they may have it: the level, not the URL, decides.
    assert b_owner.get(item_url(world.customer_b, pk)).status_code == 200
    assert not ResourceDownload.objects.filter(customer=world.customer_a).exists()


def test_staff_are_not_contacts_and_anonymous_is_sent_to_sign_in(
    world: Any, lv: dict[str, SoftwareLevel], library: dict[str, Resource]
) -> None:
    pk = library["all"].pk
    staff = client_for(world.users["staff_manager"])
    for url in (list_url(world.customer_a), item_url(world.customer_a, pk)):
        assert staff.get(url).status_code == 404
        response = Client().get(url)
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


# --- the item page ---------------------------------------------------------------------------


def test_the_item_page_shows_title_kind_day_range_body_and_download(
    world: Any, lv: dict[str, SoftwareLevel]
) -> None:
    put_on(world.customer_a, lv["4.0"])
    item = factories.resource(
        "Installer 4.0 SP1",
        kind=Resource.Kind.SOFTWARE,
        level_from=lv["4.0"],
        level_to=lv["5.0"],
        published_on=datetime.date(2026, 3, 14),
        upload=factories.pdf("setup guide.pdf"),
        summary="The full installer.",
        body="## Steps\n\n1. Unpack\n2. Run `setup`\n",
    )
    response = client_for(world.users["a_technical"]).get(item_url(world.customer_a, item.pk))
    assert response.status_code == 200
    page = html(response)
    words = text(response)
    assert "<h1>Installer 4.0 SP1</h1>" in page
    assert "Software download" in words
    assert "14 Mar 2026" in words
    assert "4.0 – 5.0" in words
    assert "The full installer." in words
    assert "<h3>Steps</h3>" in page  # the body's headings sit under the page's h1
    assert "<code>setup</code>" in page
    assert f'href="{download_url(world.customer_a, item.pk)}"' in page
    assert "setup guide.pdf" in words


def test_markdown_with_scripts_and_javascript_links_is_rendered_safe(
    world: Any, lv: dict[str, SoftwareLevel]
) -> None:
    body = (
        "Hello <script>alert('x')</script>\n\n"
        "[click me](javascript:alert(1)) and [data](data:text/html;base64,PHNjcmlwdD4=)\n\n"
        '<img src=x onerror="alert(2)">\n\n'
        "![huge](https://example.org/huge.png)\n\n"
        '<a href="https://evil.example" onclick="alert(3)">raw link</a>\n'
    )
    item = factories.resource("Tricky", body=body)
    response = client_for(world.users["a_owner"]).get(item_url(world.customer_a, item.pk))
    assert response.status_code == 200
    page = html(response)
    article = page[page.index('class="card res-body"') :]
    article = article[: article.index("</article>")]
    tags = parsed_tags(article)
    assert {name for name, _ in tags} <= {"article", "p", "a", "em", "strong", "code"}
    for _name, attrs in tags:
        assert not [a for a in attrs if a.startswith("on")]
        assert not re.match(r"\s*(javascript|data|vbscript):", attrs.get("href", ""), re.I)
    assert "&lt;script&gt;" in article  # shown as text, never run
    assert "Picture: huge" in article


def test_the_list_escapes_titles_and_summaries(world: Any) -> None:
    factories.resource("<b>Bold</b> & co", summary='<script>alert("s")</script>')
    page = html(client_for(world.users["a_owner"]).get(list_url(world.customer_a)))
    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; co" in page
    assert '<script>alert("s")</script>' not in page


# --- downloads -------------------------------------------------------------------------------


def test_a_download_returns_the_file_and_is_recorded(
    world: Any, lv: dict[str, SoftwareLevel], library: dict[str, Resource]
) -> None:
    put_on(world.customer_a, lv["4.0"])
    user = world.users["a_member"]
    item = library["only 4.0"]
    response = client_for(user).get(download_url(world.customer_a, item.pk))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == factories.PDF  # type: ignore[attr-defined]
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="installer-4.0.pdf"'
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]
    assert response["X-Content-Type-Options"] == "nosniff"
    download = ResourceDownload.objects.get()
    assert (download.resource_id, download.customer_id, download.user_id) == (
        item.pk,
        world.customer_a.pk,
        user.pk,
    )
    assert download.actor_label == str(user)
    event = Event.objects.get(type="resource.downloaded")
    assert event.customer_id == world.customer_a.pk


def test_the_list_links_the_download_and_never_the_stored_file(
    world: Any, lv: dict[str, SoftwareLevel], library: dict[str, Resource]
) -> None:
    put_on(world.customer_a, lv["4.0"])
    item = library["only 4.0"]
    page = html(client_for(world.users["a_owner"]).get(list_url(world.customer_a)))
    assert f'href="{download_url(world.customer_a, item.pk)}"' in page
    assert "installer-4.0.pdf" in page
    assert item.file.name not in page
    assert "/media/" not in page


def test_an_item_without_a_file_has_no_download(world: Any, library: dict[str, Resource]) -> None:
    client = client_for(world.users["a_owner"])
    pk = library["all"].pk
    assert "Download" not in text(client.get(item_url(world.customer_a, pk)))
    assert client.get(download_url(world.customer_a, pk)).status_code == 404
    assert not ResourceDownload.objects.exists()


def test_a_unicode_file_name_is_sent_as_an_attachment(world: Any) -> None:
    item = factories.resource("Guide", upload=factories.pdf("Anleitung für Kunden.pdf"))
    response = client_for(world.users["a_owner"]).get(download_url(world.customer_a, item.pk))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment; filename")
    assert "Anleitung" in response["Content-Disposition"]


def test_a_file_missing_from_storage_is_404_and_not_recorded(world: Any) -> None:
    item = factories.resource("Lost", upload=factories.pdf("lost.pdf"))
    item.file.storage.delete(item.file.name)
    response = client_for(world.users["a_owner"]).get(download_url(world.customer_a, item.pk))
    assert response.status_code == 404
    assert not ResourceDownload.objects.exists()


def test_only_get_downloads(world: Any) -> None:
    item = factories.resource("Guide", upload=factories.pdf())
    client = client_for(world.users["a_owner"])
    assert client.post(download_url(world.customer_a, item.pk)).status_code == 405
    assert not ResourceDownload.objects.exists()


def test_a_download_in_login_as_is_recorded_as_staff_as_user(world: Any) -> None:
    sam = base.make_user("sam@staff.example", full_name="Sam Tan", is_staff=True)
    sam.groups.set([Group.objects.get_or_create(name="support")[0]])
    base.enrol_totp(sam)
    owner = Contact.objects.get(customer=world.customer_a, user=world.users["a_owner"])
    client = client_for(sam)
    started = client.post(
        reverse("staff:login-as-start", args=[world.customer_a.number, owner.pk]),
        {"reason": "Ticket #4711: the owner cannot find the installer"},
    )
    assert started.status_code == 302
    item = factories.resource("Guide", upload=factories.pdf())
    response = client.get(download_url(world.customer_a, item.pk))
    assert response.status_code == 200
    download = ResourceDownload.objects.get()
    assert download.user_id == world.users["a_owner"].pk
    assert download.actor_label == f"{sam} as {world.users['a_owner']}"


# --- search, kind, pages ---------------------------------------------------------------------


def test_search_and_kind_filter(
    world: Any, lv: dict[str, SoftwareLevel], library: dict[str, Resource]
) -> None:
    put_on(world.customer_a, lv["4.0"])
    client = client_for(world.users["a_owner"])
    assert titles(client.get(list_url(world.customer_a, q="only"))) == ["Only 4.0"]
    assert titles(client.get(list_url(world.customer_a, q="ONLY 4.0"))) == ["Only 4.0"]
    # Search stays within what the level shows.
    assert titles(client.get(list_url(world.customer_a, q="5.0"))) == []
    assert titles(client.get(list_url(world.customer_a, kind="article"))) == ["From 4.0 on"]
    assert titles(client.get(list_url(world.customer_a, kind="release_note", q="level"))) == [
        "For every level"
    ]
    response = client.get(list_url(world.customer_a, q="nothing like this"))
    assert "No resources match" in text(response)
    assert "No resources for your level yet" not in text(response)
    # The form shows what is in force.
    page = html(client.get(list_url(world.customer_a, q="only", kind="software")))
    assert 'value="only"' in page
    assert '<option value="software" selected>' in page


def test_empty_library_says_so(world: Any, lv: dict[str, SoftwareLevel]) -> None:
    put_on(world.customer_a, lv["4.0"])
    response = client_for(world.users["a_owner"]).get(list_url(world.customer_a))
    assert "No resources for your level yet" in text(response)
    assert "No resources match" not in text(response)


def test_htmx_search_answers_with_the_results_only(
    world: Any, lv: dict[str, SoftwareLevel], library: dict[str, Resource]
) -> None:
    put_on(world.customer_a, lv["4.0"])
    client = client_for(world.users["a_owner"])
    response = client.get(
        list_url(world.customer_a, q="only", kind=""),
        HTTP_HX_TARGET="resource-results",
        **HTMX,
    )
    assert response.status_code == 200
    page = html(response)
    assert "<html" not in page
    assert titles(response) == ["Only 4.0"]
    assert 'id="resource-status" hx-swap-oob="innerHTML"' in page
    assert "1 item matching “only”." in text(response)
    assert "HX-Request" in response["Vary"]
    # A history restore (back button) gets the whole page.
    restore = client.get(
        list_url(world.customer_a, q="only"),
        HTTP_HX_HISTORY_RESTORE_REQUEST="true",
        **HTMX,
    )
    assert "<html" in html(restore)


def test_older_items_in_keyset_pages(world: Any, lv: dict[str, SoftwareLevel]) -> None:
    put_on(world.customer_a, lv["4.0"])
    total = queries.PAGE_SIZE + 5
    for n in range(total):
        factories.resource(f"Note {n:02d}", published_on=days_ago(n // 3))
    client = client_for(world.users["a_owner"])
    first = client.get(list_url(world.customer_a))
    first_titles = titles(first)
    assert len(first_titles) == queries.PAGE_SIZE
    older = re.search(r'href="([^"]+)" rel="next"', html(first))
    assert older is not None
    older_url = older.group(1).replace("&amp;", "&")
    assert "cursor=" in older_url
    second = client.get(older_url)
    second_titles = titles(second)
    assert len(second_titles) == 5
    assert not set(first_titles) & set(second_titles)
    assert "Newest items" in text(second)
    assert 'rel="next"' not in html(second)
    # htmx: just the next rows, and the page links out of band.
    more = client.get(older_url, HTTP_HX_TARGET="resource-list", **HTMX)
    assert titles(more) == second_titles
    assert "<html" not in html(more)
    assert 'id="resource-pages" hx-swap-oob="true"' in html(more)


def test_the_cursor_keeps_the_filters(world: Any, lv: dict[str, SoftwareLevel]) -> None:
    for n in range(queries.PAGE_SIZE + 2):
        factories.resource(f"Patch {n:02d}", kind=Resource.Kind.SUPPORT_PACKAGE)
    factories.resource("Patch note", kind=Resource.Kind.RELEASE_NOTE)
    client = client_for(world.users["a_owner"])
    first = html(client.get(list_url(world.customer_a, q="patch", kind="support_package")))
    older = re.search(r'href="([^"]+)" rel="next"', first)
    assert older is not None
    url = older.group(1).replace("&amp;", "&")
    assert "q=patch" in url
    assert "kind=support_package" in url
    assert len(titles(client.get(url))) == 2


@pytest.mark.parametrize(
    "params",
    [
        {"kind": "nonsense"},
        {"kind": "<script>"},
        {"q": "x" * 10_000},
        {"q": "🚀 Ünïcødé 数据"},
        {"q": "%_"},
        {"q": "100%"},
        {"q": "a\x00b"},
        {"q": "'; DROP TABLE resources_resource; --"},
        {"cursor": "garbage"},
        {"cursor": "2026-13-45~1"},
        {"cursor": "2026-01-01~99999999999999999999999"},
        {"cursor": "2026-01-01~-1"},
        {"cursor": "~"},
        {"q": ["a", "b"], "kind": ["article", "nonsense"]},
    ],
)
def test_bad_parameters_never_fail(
    world: Any, lv: dict[str, SoftwareLevel], library: dict[str, Resource], params: dict
) -> None:
    put_on(world.customer_a, lv["4.0"])
    client = client_for(world.users["a_owner"])
    response = client.get(list_url(world.customer_a), params)
    assert response.status_code == 200
    htmx = client.get(list_url(world.customer_a), params, HTTP_HX_TARGET="resource-results", **HTMX)
    assert htmx.status_code == 200


def test_ignored_filters_are_named(world: Any, library: dict[str, Resource]) -> None:
    client = client_for(world.users["a_owner"])
    page = text(client.get(list_url(world.customer_a, kind="nonsense")))
    assert "Kind: choose a kind from the list." in page
    assert "For every level" in page  # the rest of the page works as without the filter
    long = text(client.get(list_url(world.customer_a, q="x" * 10_000)))
    assert f"only the first {queries.SEARCH_MAX} characters are used" in long
    emoji = client.get(list_url(world.customer_a, q="🚀"))
    assert "No resources match" in text(emoji)
    assert 'value="🚀"' in html(emoji)


def test_wildcards_are_searched_literally(world: Any) -> None:
    factories.resource("Discount 100% off")
    factories.resource("Plain note")
    client = client_for(world.users["a_owner"])
    assert titles(client.get(list_url(world.customer_a, q="100%"))) == ["Discount 100% off"]
    assert titles(client.get(list_url(world.customer_a, q="%"))) == ["Discount 100% off"]
    assert titles(client.get(list_url(world.customer_a, q="_"))) == []


# --- queries ---------------------------------------------------------------------------------


def _make(count: int, level: SoftwareLevel, offset: int = 0) -> None:
    for n in range(count):
        factories.resource(
            f"Item {offset + n}",
            level_from=level,
            upload=factories.pdf(f"file-{offset + n}.pdf") if n % 2 else None,
        )


def test_the_list_page_costs_the_same_for_3_and_30_items(
    world: Any, lv: dict[str, SoftwareLevel]
) -> None:
    put_on(world.customer_a, lv["4.0"])
    client = client_for(world.users["a_owner"])
    _make(3, lv["4.0"])
    client.get(list_url(world.customer_a))  # warm up (session, content types)
    with CaptureQueriesContext(connection) as few:
        assert client.get(list_url(world.customer_a)).status_code == 200
    _make(27, lv["3.0"], offset=3)
    Resource.objects.filter(title__startswith="Item").update(level_from=lv["4.0"])
    with CaptureQueriesContext(connection) as many:
        response = client.get(list_url(world.customer_a))
    assert len(titles(response)) == queries.PAGE_SIZE
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


def test_the_list_page_stays_within_a_query_budget(
    world: Any, lv: dict[str, SoftwareLevel], django_assert_max_num_queries: Any
) -> None:
    put_on(world.customer_a, lv["4.0"])
    _make(30, lv["4.0"])
    client = client_for(world.users["a_owner"])
    client.get(list_url(world.customer_a))
    # Session and user-session bookkeeping (6), the membership, the level, the page of
    # items with their levels, the account switcher.
    with django_assert_max_num_queries(11):
        client.get(list_url(world.customer_a))


# --- a suspended customer --------------------------------------------------------------------


def test_a_suspended_customer_gets_the_suspended_page(
    world: Any, library: dict[str, Resource]
) -> None:
    item = factories.resource("Guide", upload=factories.pdf())
    Customer.objects.filter(pk=world.customer_a.pk).update(status=Customer.Status.SUSPENDED)
    client = client_for(world.users["a_owner"])
    for url in (
        list_url(world.customer_a),
        item_url(world.customer_a, item.pk),
        download_url(world.customer_a, item.pk),
    ):
        response = client.get(url)
        assert response.status_code == 403
        assert "suspended" in text(response).lower()
    assert not ResourceDownload.objects.exists()
