"""The hot list pages read through indexes: every statement they run on a large table is
explained (``EXPLAIN QUERY PLAN`` on SQLite, ``EXPLAIN (FORMAT JSON)`` on PostgreSQL) over
thousands of realistic filler rows with fresh statistics (``ANALYZE``), and none may read a
large table in full, sort many of its rows instead of reading them in index order, or walk
it in order while filtering on a customer's key (``tests/perf/plans.py`` says exactly what
counts).

Covered: the staff customers list (every sort both ways, unfiltered and with the status and
country filters, page 1 and a keyset "next" page), the staff Activity page and the 360's
Activity tab (page 1 and a deep keyset page), the change-request queue (its tabs and next
pages), the ledger entries (the 360's Billing tab and the API, page 1 and deeper), the API's
customer list (page 1 and a cursor, with filters) and the mail log (page 1, a next page, the
status and customer filters).

Left out on purpose: the mail log's free-text search (no index; it reads newest first until
it has a page, see ``notifications/queries.py``) and the staff Activity page's "What" filter
(``verb IN (…)``, no index: newest first until it has a page of that kind).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from clientdesk.audit.models import Activity
from clientdesk.ledger.models import Entry
from tests.api.conftest import ApiClient, staff_token
from tests.conftest import World

from . import filler
from .plans import analyze, check_plans, forget_statistics

pytestmark = pytest.mark.django_db

SORTS = ["number", "-number", "name", "-name", "created", "-created"]
FILTERS: list[dict[str, str]] = [{}, {"status": "active"}, {"country": "MY"}]
Fill = Callable[..., filler.Filled]


@pytest.fixture
def fill(world: World) -> Iterator[Fill]:
    """``fill("activity", …)``: 3 000 filler customers, the kinds of history named (those the
    page reads; each kind costs a fraction of a second) and fresh statistics."""

    def make(*history: str) -> filler.Filled:
        made = filler.fill(
            world.customer_a, author=world.users["staff_support"], history=frozenset(history)
        )
        analyze()
        return made

    yield make
    forget_statistics()


def staff_client(world: World, persona: str = "staff_support") -> Client:
    client = Client()
    client.force_login(world.users[persona])
    client.get(reverse("staff:home"))  # the session's first request does one-off work
    return client


def get_ok(client: Client, url: str, data: dict[str, str] | None = None) -> Any:
    response = client.get(url, data or {})
    assert response.status_code == 200, url
    return response


def api_get(api: ApiClient, url: str, data: dict[str, Any] | None = None) -> Any:
    response = api.get(url, **(data or {}))
    assert response.status_code == 200, url
    return response


def next_link(response: Any) -> str:
    found = re.search(r'href="([^"]+)" rel="next"', response.content.decode())
    assert found, "no next page link"
    return found.group(1).replace("&amp;", "&")


def assert_no_faults(problems: list[str]) -> None:
    assert not problems, "\n\n".join(problems)


def test_the_customers_list_reads_through_indexes_for_every_sort_and_filter(
    world: World, fill: Fill
) -> None:
    fill()
    client = staff_client(world)
    url = reverse("staff:customers")
    problems: list[str] = []
    for sort in SORTS:
        for filters in FILTERS:
            params = {**filters, "sort": sort}
            expect = {"customers_customer"}
            first, found = check_plans(
                get_ok, client, url, params, expect=expect, label=f"customers {params}"
            )
            problems += found
            _, found = check_plans(
                get_ok, client, next_link(first), expect=expect, label=f"{params}, next page"
            )
            problems += found
    assert_no_faults(problems)


def test_the_staff_activity_page_reads_through_indexes(world: World, fill: Fill) -> None:
    fill("activity")
    client = staff_client(world, "staff_manager")
    url = reverse("staff:activity")
    deep = Activity.objects.order_by("-id").values_list("id", flat=True)[8000]
    staff_id = world.users["staff_manager"].pk
    problems: list[str] = []
    for params in ({}, {"before": str(deep)}, {"who": str(staff_id)}):
        _, found = check_plans(
            get_ok, client, url, params, expect={"audit_activity"}, label=f"activity {params}"
        )
        problems += found
    assert_no_faults(problems)


def test_the_360_activity_tab_reads_through_indexes(world: World, fill: Fill) -> None:
    filled = fill("activity", "notes", "contacts", "change_requests")
    client = staff_client(world)
    url = reverse("staff:customer-activity", args=[filled.deep.number])
    deep = Activity.objects.filter(customer=filled.deep).order_by("-id")
    before = deep.values_list("id", flat=True)[100]
    problems: list[str] = []
    for params in ({}, {"before": str(before)}):
        _, found = check_plans(
            get_ok,
            client,
            url,
            params,
            expect={"audit_activity", "customers_customer"},
            label=f"360 activity {params}",
        )
        problems += found
    assert_no_faults(problems)


def test_the_change_request_queue_reads_through_indexes(world: World, fill: Fill) -> None:
    fill("change_requests")
    client = staff_client(world, "staff_manager")
    url = reverse("staff:change-requests")
    # A status filter must read the status index: walking every request in id order (also
    # a walk that stops at the LIMIT) reads the long-decided ones first to find the open
    # ones, which SQLite did with ``status IN ('open', 'awaiting_customer')``.
    cases: list[tuple[dict[str, str], set[str]]] = [
        ({}, {"cr_status_idx"}),
        ({"status": "all"}, set()),
        ({"status": "approved"}, set()),  # most requests: walking them in order is right
        # or the open requests' own index (the one-open-per-kind constraint's)
        ({"kind": "personal"}, {"cr_kind_status_idx", "change_requests_one_open_per_kind"}),
    ]
    expect = {"change_requests_changerequest"}
    problems: list[str] = []
    for params, used in cases:
        first, found = check_plans(
            get_ok, client, url, params, expect=expect, page_index=used, label=f"queue {params}"
        )
        problems += found
        # The next page holds the last few requests of a kind: reading on from the cursor
        # in id order is a fair plan for a short tail, so only the rules apply there.
        _, found = check_plans(
            get_ok, client, next_link(first), expect=expect, label=f"queue {params}, next page"
        )
        problems += found
    assert_no_faults(problems)


def test_the_ledger_entries_read_through_indexes(world: World, fill: Fill) -> None:
    filled = fill("ledger", "contacts", "change_requests")
    client = staff_client(world, "staff_billing")
    tab = reverse("staff:customer-billing", args=[filled.deep.number])
    entries = Entry.objects.filter(customer=filled.deep).order_by("-id")
    before = entries.values_list("id", flat=True)[100]
    expect = {"ledger_entry"}
    problems: list[str] = []
    for params in ({}, {"before": str(before)}, {"kind": "charge"}):
        _, found = check_plans(
            get_ok, client, tab, params, expect=expect, label=f"billing tab {params}"
        )
        problems += found
    api = ApiClient(staff_token(world.users["staff_billing"]))
    url = f"/api/v1/customers/{filled.deep.client_id}/ledger/entries"
    api.get(url)  # the key's first use records when it was used
    page, found = check_plans(api_get, api, url, expect=expect, label="API entries")
    problems += found
    cursor = page.json()["next_cursor"]
    assert cursor
    _, found = check_plans(
        api_get, api, url, {"cursor": cursor}, expect=expect, label="API entries, cursor"
    )
    problems += found
    assert_no_faults(problems)


def test_the_api_customer_list_reads_through_indexes(world: World, fill: Fill) -> None:
    fill()
    api = ApiClient(staff_token(world.users["staff_support"]))
    url = "/api/v1/customers"
    api.get(url)  # the key's first use records when it was used
    expect = {"customers_customer"}
    problems: list[str] = []
    for params in ({}, {"status": "active"}, {"country": "MY"}, {"status": "suspended"}):
        page, found = check_plans(
            api_get, api, url, params, expect=expect, label=f"API customers {params}"
        )
        problems += found
        cursor = page.json()["next_cursor"]
        assert cursor
        _, found = check_plans(
            api_get,
            api,
            url,
            {**params, "cursor": cursor},
            expect=expect,
            label=f"API customers {params}, cursor",
        )
        problems += found
    assert_no_faults(problems)


def test_the_mail_log_reads_through_indexes(world: World, fill: Fill) -> None:
    filled = fill("mail")
    client = staff_client(world)
    url = reverse("staff:mail-log")
    expect = {"notifications_maillog"}
    problems: list[str] = []
    for params in ({}, {"status": "failed"}, {"customer": filled.deep.client_id}):
        first, found = check_plans(
            get_ok, client, url, params, expect=expect, label=f"mail log {params}"
        )
        problems += found
        _, found = check_plans(
            get_ok, client, next_link(first), expect=expect, label=f"mail log {params}, next"
        )
        problems += found
    assert_no_faults(problems)
