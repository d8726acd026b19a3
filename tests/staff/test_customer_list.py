"""The staff customers list and its CSV export: allow-listed filters and sorts, keyset pages
behind an opaque cursor, no exact counts, constant queries, a streamed export whose cells
cannot run as formulas, every export recorded in Activity."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clientdesk.audit.models import Activity
from clientdesk.core.actor import Actor, Source
from clientdesk.core.csv import BOM
from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.customers.exports import EXPORT_VERB, record_customer_export
from clientdesk.customers.models import Customer, SoftwareLevel
from clientdesk.staff import customer_list
from clientdesk.staff.customer_list import PAGE_SIZE, customer_url
from tests import factories
from tests.conftest import World

pytestmark = pytest.mark.django_db

LIST = "/staff/customers/"
EXPORT = "/staff/customers/export.csv"
_numbers = iter(range(700_000, 800_000))


def client_for(world: World, persona: str) -> Client:
    client = Client()
    user = world.persona(persona)
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def staff_user(db: None) -> Any:
    return factories.make_staff("support", email="lists@staff.example")


@pytest.fixture
def staff(staff_user: Any) -> Client:
    """A support agent, and no customers but the test's own."""
    client = Client()
    client.force_login(staff_user)
    return client


def bulk_customers(count: int, **fields: Any) -> list[Customer]:
    """Plain customer rows, quickly (lists only read them)."""
    names = fields.pop("names", None)
    if fields.get("status") == "closed":
        fields.setdefault("closed_at", timezone.now())
    rows = [
        Customer(
            number=next(_numbers),
            display_name=names[i % len(names)] if names else f"Bulk {i:04d}",
            legal_name="x",
            **fields,
        )
        for i in range(count)
    ]
    return Customer.objects.bulk_create(rows)


def numbers_in(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<a class="mono" href="[^"]*">C-(\d+)</a>', html)]


def next_link(html: str) -> str | None:
    found = re.search(r'href="([^"]+)" rel="next"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def walk(client: Client, url: str) -> tuple[list[int], int]:
    """Every client ID over every page, and the number of pages."""
    seen: list[int] = []
    pages = 0
    next_url: str | None = url
    while next_url:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(next_url)
        assert response.status_code == 200
        assert not any("OFFSET" in q["sql"].upper() for q in queries.captured_queries)
        html = response.content.decode()
        seen += numbers_in(html)
        next_url = next_link(html)
        pages += 1
        assert pages < 50
    return seen, pages


def export_rows(response: Any) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith(BOM)
    return list(csv.reader(io.StringIO(body.removeprefix(BOM))))


# --- access ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "persona", ["staff_support", "staff_billing", "staff_manager", "superuser"]
)
def test_every_staff_role_lists_and_exports(world: World, persona: str) -> None:
    client = client_for(world, persona)
    assert client.get(LIST).status_code == 200
    assert client.get(EXPORT).status_code == 200


@pytest.mark.parametrize(("persona", "status"), [("anonymous", 302), ("a_owner", 404)])
def test_customers_never_reach_the_list_or_the_export(
    world: World, persona: str, status: int
) -> None:
    client = client_for(world, persona)
    assert client.get(LIST).status_code == status
    assert client.get(EXPORT).status_code == status
    assert not Activity.objects.filter(verb=EXPORT_VERB).exists()


# --- the list ----------------------------------------------------------------------------------


def test_a_row_shows_the_columns_and_links_to_the_customer(world: World, staff: Client) -> None:
    level = SoftwareLevel.objects.create(label="4.0 SP2", position=9001)
    Customer.objects.filter(pk=world.customer_a.pk).update(
        status=Customer.Status.SUSPENDED,
        billing_mode=Customer.BillingMode.POSTPAID,
        software_level=level,
    )
    html = staff.get(LIST).content.decode()
    a = world.customer_a
    row = html.split(f">{a.client_id}</a>")[1].split("</tr>")[0]
    assert f'href="{customer_url(a.number)}"' in html
    assert a.display_name in row
    assert "Business" in row
    assert '<span class="badge badge-suspended">Suspended</span>' in row
    assert "Malaysia" in row
    assert "Postpaid" in row
    assert "4.0 SP2" in row
    assert f"{a.created_at:%Y}" in row


def test_the_default_order_is_the_newest_client_id_first(world: World, staff: Client) -> None:
    more = bulk_customers(3)
    html = staff.get(LIST).content.decode()
    expected = sorted([world.customer_a.number, world.customer_b.number, *[c.number for c in more]])
    assert numbers_in(html) == expected[::-1]


@pytest.mark.parametrize(
    ("params", "wanted"),
    [
        ({"status": "closed"}, {"closed"}),
        ({"kind": "individual"}, {"individual"}),
        ({"country": "SG"}, {"sg"}),
        ({"billing_mode": "postpaid"}, {"postpaid"}),
        ({"software_level": "LEVEL"}, {"level"}),
        ({"software_level": "none"}, {"individual", "sg", "postpaid", "old", "plain"}),
        (
            {"status": "all", "software_level": "none"},
            {"closed", "individual", "sg", "postpaid", "old", "plain"},
        ),
        ({"created_to": "2021-12-31"}, {"old"}),
        ({"created_from": "2022-01-01", "created_to": "2022-01-01"}, set()),
        ({"status": "closed", "country": "SG"}, set()),
    ],
)
def test_filters(staff: Client, params: dict[str, str], wanted: set[str]) -> None:
    level = SoftwareLevel.objects.create(label="5.0", position=9002)
    made = {
        "closed": bulk_customers(1, status="closed")[0],
        "individual": bulk_customers(1, kind="individual")[0],
        "sg": bulk_customers(1, country="SG")[0],
        "postpaid": bulk_customers(1, billing_mode="postpaid")[0],
        "level": bulk_customers(1, software_level=level)[0],
        "old": bulk_customers(1)[0],
        "plain": bulk_customers(1)[0],
    }
    Customer.objects.filter(pk=made["old"].pk).update(created_at=datetime(2021, 6, 1, tzinfo=UTC))
    query = {k: (str(level.pk) if v == "LEVEL" else v) for k, v in params.items()}
    html = staff.get(LIST, query).content.decode()
    assert set(numbers_in(html)) == {made[name].number for name in wanted}
    assert "Some filters were ignored" not in html


def test_created_dates_are_whole_utc_days(staff: Client, world: World) -> None:
    Customer.objects.filter(pk=world.customer_a.pk).update(
        created_at=datetime(2024, 3, 5, 23, 59, 59, tzinfo=UTC)
    )
    Customer.objects.filter(pk=world.customer_b.pk).update(
        created_at=datetime(2024, 3, 6, 0, 0, 0, tzinfo=UTC)
    )
    html = staff.get(LIST, {"created_from": "2024-03-05", "created_to": "2024-03-05"})
    assert numbers_in(html.content.decode()) == [world.customer_a.number]


@pytest.mark.parametrize(
    ("sort", "key", "reverse_order"),
    [
        ("number", lambda c: c.number, False),
        ("-number", lambda c: c.number, True),
        ("name", lambda c: (c.display_name, c.pk), False),
        ("-name", lambda c: (c.display_name, c.pk), True),
        ("created", lambda c: (c.created_at, c.pk), False),
        ("-created", lambda c: (c.created_at, c.pk), True),
    ],
)
def test_keyset_pages_cover_every_customer_once_in_order(
    staff: Client, sort: str, key: Any, reverse_order: bool
) -> None:
    """Ties on name and on created time (many rows share both) break on id, so no row is
    skipped or repeated at a page boundary."""
    made = bulk_customers(PAGE_SIZE * 2 + 13, names=["Acme", "Zeta", "Mid", "Beta"])
    moments = [datetime(2025, 1, 1, tzinfo=UTC) + timedelta(hours=i % 3) for i in range(len(made))]
    for customer, moment in zip(made, moments, strict=True):
        customer.created_at = moment
    Customer.objects.bulk_update(made, ["created_at"])
    fresh = list(Customer.objects.all())
    expected = [c.number for c in sorted(fresh, key=key, reverse=reverse_order)]
    seen, pages = walk(staff, f"{LIST}?sort={sort}")
    assert pages == 3
    assert seen == expected


def test_pages_keep_the_filters_and_offer_the_first_page(staff: Client) -> None:
    bulk_customers(PAGE_SIZE + 5, status="suspended")
    bulk_customers(10, status="active")
    html = staff.get(LIST, {"status": "suspended", "sort": "name"}).content.decode()
    url = next_link(html)
    assert url and "status=suspended" in url and "sort=name" in url
    second = staff.get(url).content.decode()
    assert len(numbers_in(second)) == 5
    assert "First page" in second


@pytest.mark.parametrize(
    "sort", ["password", "-legal_name", "id", "--number", "name;DROP TABLE x", "Name", "", "-"]
)
def test_a_sort_outside_the_allow_list_is_ignored(world: World, staff: Client, sort: str) -> None:
    bulk_customers(3)
    default = numbers_in(staff.get(LIST).content.decode())
    response = staff.get(LIST, {"sort": sort})
    assert response.status_code == 200
    assert numbers_in(response.content.decode()) == default


def test_a_forged_or_foreign_cursor_gives_the_first_page_with_a_note(staff: Client) -> None:
    bulk_customers(PAGE_SIZE + 3)
    first = staff.get(LIST).content.decode()
    by_name = next_link(staff.get(LIST, {"sort": "name"}).content.decode())
    assert by_name
    cursor = re.search(r"after=([^&]+)", by_name)
    assert cursor
    for after in ["garbage", cursor.group(1) + "x", "e30:" + "A" * 20, "x" * 5000]:
        html = staff.get(LIST, {"after": after}).content.decode()
        assert numbers_in(html) == numbers_in(first)
        assert "the page link has expired or was changed" in html
    # A cursor made for the name order does not apply to the client ID order.
    html = staff.get(LIST, {"after": cursor.group(1).replace("%3A", ":")}).content.decode()
    assert numbers_in(html) == numbers_in(first)


def test_the_count_is_capped_never_exact_over_large_tables(
    staff: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    bulk_customers(7)
    assert "7 customers." in staff.get(LIST).content.decode()
    monkeypatch.setattr(customer_list, "COUNT_CAP", 5)
    with CaptureQueriesContext(connection) as queries:
        html = staff.get(LIST).content.decode()
    assert "5+ customers" in html
    counts = [
        q["sql"]
        for q in queries.captured_queries
        if "COUNT(" in q["sql"].upper() and "customers_customer" in q["sql"]
    ]
    assert len(counts) == 1 and "LIMIT 6" in counts[0]


def test_the_list_costs_the_same_queries_as_data_grows(
    world: World, staff: Client, django_assert_max_num_queries: Any
) -> None:
    def queries_for(url: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert staff.get(url).status_code == 200
        return len(queries.captured_queries)

    staff.get(LIST)  # the first request of a session records it (allauth usersessions)
    levels = [SoftwareLevel.objects.create(label=f"L{i}", position=9100 + i) for i in range(3)]
    few = queries_for(LIST), queries_for(f"{LIST}?status=active&sort=name")
    for level in levels:
        bulk_customers(40, software_level=level)
    many = queries_for(LIST), queries_for(f"{LIST}?status=active&sort=name")
    assert few == many
    # Sign-in, session and role checks take 9; the page: levels, the capped count, the rows.
    with django_assert_max_num_queries(13):  # +1: the nav's open-requests badge
        staff.get(LIST)


@pytest.mark.parametrize(
    "params",
    [
        {"status": "deleted"},
        {"country": "XX"},
        {"country": "\x00"},
        {"software_level": "999999999999999999999"},
        {"software_level": "abc"},
        {"created_from": "not a date"},
        {"created_from": "0001-01-01"},
        {"created_to": "9999-12-31"},
        {"created_from": "2025-02-01", "created_to": "2025-01-01"},
        {"after": "\x00" * 10},
        {"sort": "x" * 100_000},
        {"kind": "😀" * 1000},
        {"status": ["active", "closed", "x"]},
        {"billing_mode": "'; DELETE FROM customers_customer; --"},
        {"password": "secret", "page": "2", "offset": "100"},
    ],
)
def test_odd_input_never_fails_and_changes_nothing(
    world: World, staff: Client, params: dict[str, Any]
) -> None:
    before = Customer.objects.count()
    for url in (LIST, EXPORT):
        response = staff.get(url, params)
        assert response.status_code == 200
        if isinstance(response, StreamingHttpResponse):
            b"".join(response.streaming_content)
    assert Customer.objects.count() == before


def test_an_ignored_filter_is_named_on_the_page(world: World, staff: Client) -> None:
    html = staff.get(LIST, {"status": "deleted", "country": "MY"}).content.decode()
    assert "Some filters were ignored" in html
    assert "Status: Choose a value from the list." in html
    assert set(numbers_in(html)) == {world.customer_a.number, world.customer_b.number}


# --- the export --------------------------------------------------------------------------------


def test_the_export_streams_the_filtered_list_in_order(world: World, staff: Client) -> None:
    bulk_customers(2, status="closed", names=["Closed One", "Closed Two"])
    response = staff.get(EXPORT, {"status": "active", "sort": "name"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="customers-\d{8}-\d{6}\.csv"', response["Content-Disposition"]
    )
    rows = export_rows(response)
    assert rows[0][:4] == ["Client ID", "Name", "Type", "Status"]
    a, b = world.customer_a, world.customer_b
    assert [r[0] for r in rows[1:]] == [a.client_id, b.client_id]  # Alpha…, Beta… by name
    assert rows[1][1:6] == [a.display_name, "Business", "Active", "MY", "Malaysia"]


def test_export_cells_are_neutralised_against_formula_injection(staff: Client) -> None:
    evil = [
        '=HYPERLINK("https://evil.example","Click")',
        "+60123456789",
        "-1+2",
        "@SUM(A1)",
        "\t=cmd",
        "\r=cmd",
        "  =1+1",
    ]
    bulk_customers(len(evil), names=evil)
    rows = export_rows(staff.get(EXPORT, {"sort": "number"}))
    names = [row[1] for row in rows[1:]]
    assert sorted(names) == sorted("'" + name for name in evil)
    for row in rows:
        for cell in row:
            assert not cell or cell[0] not in "=+-@\t\r", cell


def test_an_export_is_recorded_in_activity(world: World, staff: Client, staff_user: Any) -> None:
    response = staff.get(EXPORT, {"status": "active", "country": "MY", "sort": "-created"})
    rows = export_rows(response)
    assert len(rows) == 3
    (entry,) = Activity.objects.filter(verb=EXPORT_VERB)
    assert entry.actor == staff_user
    assert entry.customer_id is None
    assert entry.staff_only is True
    assert entry.source == "staff"
    assert entry.changes == {
        "filters": [None, {"status": "active", "country": "MY", "sort": "-created"}],
        "rows": [None, len(rows) - 1],
    }


def test_the_export_is_capped(staff: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(customer_list, "EXPORT_MAX_ROWS", 3)
    bulk_customers(5)
    rows = export_rows(staff.get(EXPORT))
    assert len(rows) == 1 + 3
    (entry,) = Activity.objects.filter(verb=EXPORT_VERB)
    assert entry.changes["rows"] == [None, 3]


def test_the_export_reads_in_chunks_with_constant_queries(
    world: World, staff: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(customer_list, "EXPORT_CHUNK", 1000)
    staff.get(LIST)

    def queries_for_export() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            rows = export_rows(staff.get(EXPORT))
        return len(queries.captured_queries), len(rows)

    few, few_rows = queries_for_export()
    bulk_customers(60, software_level=SoftwareLevel.objects.create(label="X", position=9200))
    many, many_rows = queries_for_export()
    assert many_rows == few_rows + 60
    assert few == many


def test_only_staff_may_record_an_export(world: World) -> None:
    owner = Actor(user=world.users["a_owner"], source=Source.PORTAL)
    with pytest.raises(DomainError) as refused:
        record_customer_export(actor=owner, filters={}, row_count=1)
    assert refused.value.code == ErrorCode.NOT_ALLOWED
    with pytest.raises(DomainError):
        record_customer_export(actor=Actor.system(), filters={}, row_count=1)
    staff_actor = Actor(user=world.users["staff_billing"], source=Source.STAFF)
    with pytest.raises(DomainError) as negative:
        record_customer_export(actor=staff_actor, filters={}, row_count=-1)
    assert negative.value.code == ErrorCode.INVALID
    assert not Activity.objects.filter(verb=EXPORT_VERB).exists()
    entry = record_customer_export(actor=staff_actor, filters={"status": "active"}, row_count=4)
    assert entry.verb == EXPORT_VERB and entry.changes["rows"] == [None, 4]


def test_the_page_links_to_the_export_with_the_same_filters(staff: Client) -> None:
    html = staff.get(LIST, {"status": "closed", "sort": "name"}).content.decode()
    export = re.search(r'href="(/staff/customers/export\.csv[^"]*)"', html)
    assert export
    assert "status=closed" in export.group(1) and "sort=name" in export.group(1)
    assert reverse("staff:customers-export") == EXPORT
