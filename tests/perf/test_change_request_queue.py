"""The change-request queue reads each status through the status index and merges them, and
its tab counts stop at a cap instead of counting every request ever made (the faults
``test_index_use`` found: a walk over every request, oldest first, to find the open ones;
an exact count over the whole table on every queue and request page)."""

from __future__ import annotations

import re
from collections.abc import Sequence

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clientdesk.change_requests import queries
from clientdesk.change_requests.models import ChangeRequest, Status
from tests import factories
from tests.conftest import World

pytestmark = pytest.mark.django_db

QUEUE = reverse("staff:change-requests")


def requests_in(statuses: Sequence[str]) -> list[ChangeRequest]:
    """One request per status given, each on its own customer, in that (id) order."""
    made = []
    for n, status in enumerate(statuses):
        made.append(
            ChangeRequest.objects.create(
                number=90_000 + n,
                customer=factories.make_customer(),
                kind="legal",
                status=status,
                requested={"legal_name": f"Name {n}"},
                snapshot={},
                submitted_by_label="Someone",
                submitted_source="portal",
            )
        )
    return made


def test_open_and_awaiting_requests_merge_oldest_first_across_pages(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queries, "QUEUE_PAGE", 3)
    pattern = [Status.OPEN, Status.APPROVED, Status.AWAITING_CUSTOMER, Status.AWAITING_CUSTOMER]
    made = requests_in(pattern * 3)
    wanted = [r.pk for r in made if r.status in (Status.OPEN, Status.AWAITING_CUSTOMER)]
    seen: list[int] = []
    after = None
    for _ in range(10):
        page, after = queries.queue(queries.QueueFilters(), after=after)
        seen += [r.pk for r in page]
        if after is None:
            break
    assert seen == wanted  # every open request once, oldest first, none decided


def test_each_status_is_one_query_that_stops_at_the_page(db: None) -> None:
    requests_in([Status.OPEN, Status.AWAITING_CUSTOMER, Status.REJECTED])
    with CaptureQueriesContext(connection) as captured:
        queries.queue(queries.QueueFilters())
    selects = [q["sql"] for q in captured.captured_queries]
    assert len(selects) == 2  # open, awaiting customer
    assert all(" IN (" not in sql and "LIMIT 51" in sql for sql in selects)


def test_the_tab_counts_stop_at_the_cap(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(queries, "COUNT_CAP", 3)
    requests_in([Status.OPEN] * 2 + [Status.AWAITING_CUSTOMER] * 2 + [Status.REJECTED] * 5)
    counts = queries.counts_by_status()
    assert counts[Status.OPEN] == 2
    assert counts[Status.REJECTED] == 4  # the cap + 1: "more than 3"
    assert counts["all"] == 4
    client = Client()
    client.force_login(world.users["staff_support"])
    with CaptureQueriesContext(connection) as captured:
        page = client.get(QUEUE).content.decode()
    tabs = page.split('aria-label="Requests by status"')[1].split("</nav>")[0]
    shown = dict(re.findall(r">([A-Z][a-z ]+) <span class=\"tab-count\">([^<]+)</span>", tabs))
    assert shown["Open"] == "3+"  # open + awaiting customer: 4
    assert shown["Awaiting customer"] == "2"
    assert shown["Rejected"] == "3+"
    assert shown["All"] == "3+"
    assert re.search(r'class="tab-count nav-count">3\+<span class="sr-only"> open', page)
    counting = [q["sql"] for q in captured.captured_queries if "COUNT(" in q["sql"].upper()]
    assert counting and all("LIMIT" in sql for sql in counting)  # bounded, never exact


def test_a_request_page_counts_only_the_open_requests_for_the_nav(world: World) -> None:
    made = requests_in([Status.OPEN, Status.REJECTED])
    client = Client()
    client.force_login(world.users["staff_manager"])
    url = reverse("staff:change-request", args=[made[0].number])
    with CaptureQueriesContext(connection) as captured:
        page = client.get(url).content.decode()
    assert re.search(r'class="tab-count nav-count">1<span class="sr-only"> open', page)
    grouped = [q["sql"] for q in captured.captured_queries if "GROUP BY" in q["sql"].upper()]
    assert not [sql for sql in grouped if "change_requests_changerequest" in sql]
