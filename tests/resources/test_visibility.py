"""Seed 002's filter: a customer sees the published items whose level range holds their
software level; with no level set, only the items for all levels."""

from __future__ import annotations

import datetime

import pytest

from clientdesk.core.actor import Actor
from clientdesk.customers.models import Customer
from clientdesk.resources import actions, queries, visibility
from tests import factories as base

from . import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def library() -> dict[str, object]:
    lv = factories.levels()
    items = {
        "all": factories.resource("For everyone"),
        "4.0 only": factories.resource("4.0 only", level_from=lv["4.0"], level_to=lv["4.0"]),
        "4.0–4.0 SP2": factories.resource(
            "4.0 to SP2", level_from=lv["4.0"], level_to=lv["4.0 SP2"]
        ),
        "from 4.0 SP2": factories.resource("SP2 and later", level_from=lv["4.0 SP2"]),
        "up to 4.0": factories.resource("Up to 4.0", level_to=lv["4.0"]),
        "draft": factories.resource("Draft for 4.0", level_from=lv["4.0"], publish=False),
        "scheduled": factories.resource(
            "Tomorrow's note",
            published_on=visibility.provider_today() + datetime.timedelta(days=1),
        ),
    }
    return {"levels": lv, "items": items}


def customer_on(name: str, level: object) -> Customer:
    customer = base.make_customer(name)
    Customer.objects.filter(pk=customer.pk).update(software_level=level)
    customer.refresh_from_db()
    return customer


def titles_for(level: object) -> set[str]:
    return {r.title for r in visibility.visible_to(level)}  # type: ignore[arg-type]


def test_below_inside_above_and_open_ranges(library: dict) -> None:
    lv = library["levels"]
    assert titles_for(lv["3.0"]) == {"For everyone", "Up to 4.0"}
    assert titles_for(lv["4.0"]) == {"For everyone", "4.0 only", "4.0 to SP2", "Up to 4.0"}
    assert titles_for(lv["4.0 SP2"]) == {"For everyone", "4.0 to SP2", "SP2 and later"}
    assert titles_for(lv["5.0"]) == {"For everyone", "SP2 and later"}


def test_no_level_sees_only_items_for_all_levels(library: dict) -> None:
    assert titles_for(None) == {"For everyone"}


def test_drafts_and_future_publish_days_are_hidden_until_their_day(library: dict) -> None:
    scheduled = library["items"]["scheduled"]
    assert "Tomorrow's note" not in titles_for(None)
    later = visibility.provider_today() + datetime.timedelta(days=1)
    assert scheduled.pk in {
        r.pk
        for r in queries.page_of(visibility.Resource.objects.filter(visibility.live(later))).items
    }
    assert all(
        r.title != "Draft for 4.0"
        for lv in library["levels"].values()
        for r in visibility.visible_to(lv)
    )


def test_retired_level_still_filters(library: dict) -> None:
    lv = library["levels"]
    actions.change_level(lv["4.0"], label="4.0", is_active=False, actor=Actor.system())
    assert "4.0 only" in titles_for(lv["4.0"])


def test_changing_the_customer_level_changes_the_list_at_once(library: dict) -> None:
    lv = library["levels"]
    customer = customer_on("Level Co", lv["4.0"])
    assert "4.0 only" in {r.title for r in queries.library(customer.software_level).items}
    Customer.objects.filter(pk=customer.pk).update(software_level=lv["5.0"])
    customer.refresh_from_db()
    shown = {r.title for r in queries.library(customer.software_level).items}
    assert "4.0 only" not in shown
    assert "SP2 and later" in shown


def test_library_search_kind_filter_and_keyset_pages(library: dict) -> None:
    lv = library["levels"]
    article = factories.resource(
        "Posting period errors", kind="article", body="How to fix **FI** posting errors"
    )
    assert [r.pk for r in queries.library(lv["5.0"], kind="article").items] == [article.pk]
    assert [r.pk for r in queries.library(lv["5.0"], text="fi POSTING").items] == [article.pk]
    assert queries.library(lv["5.0"], text="%").items == []
    assert queries.library(lv["5.0"], text="x" * 10_000).items == []
    for n in range(queries.PAGE_SIZE + 3):
        factories.resource(f"Note {n}")
    first = queries.library(None)
    assert len(first.items) == queries.PAGE_SIZE
    second = queries.library(None, cursor=first.next_cursor)
    assert second.next_cursor == ""
    seen = [r.pk for r in first.items + second.items]
    assert len(seen) == len(set(seen)) == len(titles_for(None))


@pytest.mark.parametrize(
    "cursor", ["", "garbage", "2026-13-01~1", "2026-01-01~-1", "2026-01-01~1e9"]
)
def test_a_bad_cursor_is_the_first_page(library: dict, cursor: str) -> None:
    assert queries.library(None, cursor=cursor).items


def test_visible_resource_is_none_outside_the_level(library: dict) -> None:
    lv = library["levels"]
    customer = customer_on("Three Co", lv["3.0"])
    only_40 = library["items"]["4.0 only"]
    assert queries.visible_resource(customer, only_40.pk) is None
    assert queries.visible_resource(customer, library["items"]["all"].pk) is not None


def test_range_labels(library: dict) -> None:
    items = library["items"]
    assert visibility.range_label(items["all"]) == "All levels"
    assert visibility.range_label(items["4.0 only"]) == "4.0"
    assert visibility.range_label(items["4.0–4.0 SP2"]) == "4.0 – 4.0 SP2"
    assert visibility.range_label(items["from 4.0 SP2"]) == "4.0 SP2 and later"
    assert visibility.range_label(items["up to 4.0"]) == "Up to 4.0"


def test_search_ignores_control_characters(library: dict) -> None:
    found = queries.library(None, text="For\x00 every\x1fone")  # read as "For every one"
    assert [r.title for r in found.items] == ["For everyone"]
    assert [r.title for r in queries.library(None, text="\x00For\x00").items] == ["For everyone"]
