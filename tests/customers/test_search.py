"""Staff search: every field it finds customers by, the ranking, highlighting, paging, odd
input, and that each query it runs is served by an index (on SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from clientdesk.customers.models import Contact, Customer
from clientdesk.customers.search import PAGE_SIZE, SearchPage, search_customers
from tests import factories

pytestmark = pytest.mark.django_db


def found(page: SearchPage) -> list[str]:
    return [hit.customer.display_name for hit in page.hits]


def reasons(page: SearchPage) -> dict[str, str]:
    return {hit.customer.display_name: hit.reason for hit in page.hits}


@pytest.fixture
def acme() -> Customer:
    customer = factories.make_customer("Acme Widgets Sdn Bhd")
    Customer.objects.filter(pk=customer.pk).update(
        legal_name="Acme Widgets Sendirian Berhad",
        trading_name="Widgetry Online",
        registration_number="202001012345",
        tin="C2584563200",
        phone="+60312345678",
        mobile="+60123456789",
    )
    factories.make_contact(
        customer, "owner", first_name="Lim", last_name="Mei Ling", email="mei@acme.my", portal=False
    )
    factories.make_contact(
        customer,
        "billing",
        first_name="Siti",
        last_name="Rahman",
        email="siti.rahman@acme.my",
        phone="+60198765432",
        portal=False,
    )
    return customer


@pytest.fixture
def others() -> list[Customer]:
    return [factories.make_customer(name) for name in ("Beta Services", "Gamma Logistics")]


@pytest.mark.parametrize(
    ("term", "reason"),
    [
        ("acme widgets", "Name"),
        ("Sendirian", "Legal name"),
        ("widgetry", "Trading name"),
        ("siti", "Contact name"),
        ("rahman", "Contact name"),
        ("ahma", "Contact name"),  # inside a name
        ("SITI.RAHMAN@ACME.MY", "Contact email"),
        ("siti.rah", "Contact email"),  # an email's beginning
        ("202001012345", "Registration number"),
        ("c 2584563200", "TIN"),
        ("+60 19-876 5432", "Contact phone"),
        ("019 876 5432", "Contact phone"),  # as dialled in Malaysia
        ("03-1234 5678", "Phone"),
        ("0123456789", "Mobile"),
    ],
)
def test_finds_a_customer_by_each_field(
    acme: Customer, others: list[Customer], term: str, reason: str
) -> None:
    page = search_customers(term)
    assert found(page) == ["Acme Widgets Sdn Bhd"]
    assert page.hits[0].reason == reason


def test_finds_by_client_id_in_either_form(acme: Customer, others: list[Customer]) -> None:
    for term in (acme.client_id, acme.client_id.lower(), str(acme.number)):
        page = search_customers(term)
        assert found(page)[0] == "Acme Widgets Sdn Bhd"
        assert page.hits[0].reason == "Client ID"


def test_exact_matches_rank_before_prefix_before_infix() -> None:
    infix = factories.make_customer("Grand Sultana Hotel")  # contains "tan"
    prefix = factories.make_customer("Tanjung Marine")  # starts with "tan"
    by_contact = factories.make_customer("Zeta Works")
    factories.make_contact(by_contact, "member", first_name="Wei", last_name="Tanaka", portal=False)
    page = search_customers("tan")
    assert found(page) == ["Tanjung Marine", "Zeta Works", "Grand Sultana Hotel"]
    assert reasons(page)["Zeta Works"] == "Contact name"
    assert {infix.pk, prefix.pk, by_contact.pk} == {hit.customer.pk for hit in page.hits}

    by_email = factories.make_customer("Omega Tan Trading")
    factories.make_contact(by_email, "member", email="tan@omega.example", portal=False)
    page = search_customers("tan@omega.example")
    assert found(page) == ["Omega Tan Trading"]

    numbered = factories.make_customer("Number Lookup")
    page = search_customers(str(numbered.number))
    assert page.hits[0].customer == numbered and page.hits[0].reason == "Client ID"


def test_each_hit_says_where_it_matched(acme: Customer) -> None:
    hit = search_customers("WIDGETS").hits[0]
    assert hit.parts == ("Acme ", "Widgets", " Sdn Bhd")
    hit = search_customers("ahma").hits[0]
    assert (hit.reason, hit.parts) == ("Contact name", ("Siti R", "ahma", "n"))
    hit = search_customers("siti.rah").hits[0]
    assert hit.parts == ("", "siti.rah", "man@acme.my")
    assert hit.contact_name == "Siti Rahman"
    hit = search_customers("019 876 5432").hits[0]
    assert hit.parts == ("", "+60198765432", "")
    assert hit.owner is not None and hit.owner.first_name == "Lim"  # shown on every hit


def test_a_customer_appears_once_under_its_best_reason() -> None:
    customer = factories.make_customer("Tanah Merah Farms")
    for first in ("Tanya", "Tanvir", "Tantri"):
        factories.make_contact(customer, "member", first_name=first, portal=False)
    page = search_customers("tan")
    assert found(page) == ["Tanah Merah Farms"]
    assert page.hits[0].reason == "Name"


def test_more_results_continue_where_the_page_stopped_without_repeats() -> None:
    names = [f"Kopi Stall {i:03d}" for i in range(PAGE_SIZE * 2 + 5)]
    for name in names:
        factories.make_customer(name)
    factories.make_customer("Old Kopitiam")  # an infix match, ranked after every prefix match
    seen: list[str] = []
    cursor = ""
    for _ in range(5):
        page = search_customers("kopi", cursor=cursor)
        seen += found(page)
        cursor = page.next_cursor
        if not cursor:
            break
    assert seen == [*names, "Old Kopitiam"]


@pytest.mark.parametrize(
    "cursor", ["not-base64!", "W10", "WyJuYW1lX3ByZWZpeCIsWzFdXQ", "x" * 5000, "WyJub3BlIixbMV1d"]
)
def test_an_unreadable_cursor_starts_over(acme: Customer, cursor: str) -> None:
    assert found(search_customers("acme", cursor=cursor)) == ["Acme Widgets Sdn Bhd"]


@pytest.mark.parametrize(
    "term",
    [
        "%",
        "_",
        "%%%",
        "a_c",
        "'",
        '"',
        "\\",
        "' OR 1=1 --",
        '"; DROP TABLE customers_customer; --',
        "display_name__icontains",
        "pk__gt=0",
        "x" * 10_000,
        "🙂🙂🙂",
        "\u202eemca\u202c",
        "\u200b",
        "NEAR(a b)",
        "a* OR b*",
    ],
)
def test_odd_input_finds_nothing_and_breaks_nothing(
    acme: Customer, others: list[Customer], term: str
) -> None:
    page = search_customers(term)
    assert found(page) == []
    assert Customer.objects.count() == 3


def test_wildcards_are_matched_literally() -> None:
    factories.make_customer("100% Natural Sdn Bhd")
    factories.make_customer("1000 Naturals")
    assert found(search_customers("100%")) == ["100% Natural Sdn Bhd"]
    assert found(search_customers("0% nat")) == ["100% Natural Sdn Bhd"]


def test_invisible_characters_are_ignored(acme: Customer) -> None:
    assert found(search_customers("\u200facme\u200b")) == ["Acme Widgets Sdn Bhd"]


def test_unicode_names_are_found(acme: Customer) -> None:
    factories.make_customer("Café Ümlaut Ölçer")
    factories.make_customer("株式会社サンプル")
    assert found(search_customers("ümlaut")) == ["Café Ümlaut Ölçer"]
    assert found(search_customers("サンプル")) == ["株式会社サンプル"]


def test_renames_and_deletions_reach_the_index(acme: Customer) -> None:
    Customer.objects.filter(pk=acme.pk).update(display_name="Zenith Widgets")
    assert found(search_customers("zenith")) == ["Zenith Widgets"]
    assert found(search_customers("widgets sdn", similar=False)) == []  # the old name only
    acme.contacts.filter(first_name="Siti").update(first_name="Nurul")
    assert found(search_customers("nurul")) == ["Zenith Widgets"]
    assert found(search_customers("siti r", similar=False)) == []
    acme.contacts.filter(first_name="Nurul").delete()
    assert found(search_customers("nurul", similar=False)) == []
    assert found(search_customers("nurul")) == []  # no similar name left either


def test_a_page_costs_the_same_queries_whatever_the_matches(
    django_assert_max_num_queries: Any,
) -> None:
    for i in range(3):
        factories.make_customer(f"Delta Few {i}")
    with django_assert_max_num_queries(14) as few:
        search_customers("delta")
    for i in range(60):
        factories.make_customer(f"Delta Many {i}")
    with django_assert_max_num_queries(14) as many:
        search_customers("delta")
    assert len(many.captured_queries) <= len(few.captured_queries) + 1


# --- the query plans --------------------------------------------------------------------------


class Captured:
    def __init__(self) -> None:
        self.statements: list[tuple[str, list[Any]]] = []

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.statements.append((sql, list(params or [])))
        return execute(sql, params, many, context)


def search_statements(term: str) -> Iterator[tuple[str, list[Any]]]:
    captured = Captured()
    with connection.execute_wrapper(captured):
        search_customers(term)
    for sql, params in captured.statements:
        if "customers_contact" in sql or "customers_customer" in sql:
            yield sql, params


def plan(sql: str, params: list[Any]) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The test tables are tiny, so the planner would rightly scan them (in full, or
            # along the primary key); forbid both to prove a search index serves the query.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_indexscan = off")
            cursor.execute("ANALYZE customers_customer, customers_contact")
            cursor.execute("EXPLAIN " + sql, params)
            return "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return "\n".join(row[-1] for row in cursor.fetchall())


FULL_SCAN = re.compile(
    r"Seq Scan on customers_(customer|contact)\b|^SCAN (c|customers_customer|customers_contact)$",
    re.MULTILINE,
)


@pytest.mark.parametrize(
    "term",
    ["tan", "acme widgets", "siti.rahman@acme.my", "C-100001", "+60198765432", "202001012345"],
)
def test_every_search_query_is_served_by_an_index(acme: Customer, term: str) -> None:
    statements = list(search_statements(term))
    assert statements
    for sql, params in statements:
        explained = plan(sql, params)
        assert not FULL_SCAN.search(explained), f"full scan:\n{sql}\n{explained}"


def test_name_searches_use_the_trigram_and_prefix_indexes(acme: Customer) -> None:
    # Enough rows that reading an index beats reading the whole table (or another index).
    Customer.objects.bulk_create(
        Customer(number=900_000 + i, display_name=f"Filler {i:04d}", legal_name=f"Filler {i:04d}")
        for i in range(2000)
    )
    Contact.objects.bulk_create(
        Contact(customer=acme, first_name=f"Person{i:04d}", last_name="Lee", email=f"p{i}@x.my")
        for i in range(2000)
    )
    plans = "\n".join(plan(sql, params) for sql, params in search_statements("widget"))
    if connection.vendor == "postgresql":
        assert "customers_customer_names_trgm" in plans
        assert "customers_contact_name_trgm" in plans
    else:
        assert "VIRTUAL TABLE INDEX" in plans
        assert "customers_customer_search" in plans or "SCAN s VIRTUAL TABLE" in plans
    assert "customers_customer_name_prefix" in plans
    assert "customers_contact_name_prefix" in plans
    assert "customers_contact_email_prefix" in plans


def test_a_full_company_name_matches_as_a_whole_even_without_its_legal_form_in_the_index() -> None:
    """The infix source asks the index for the name without "Sdn Bhd" (those trigrams are in
    most rows) and checks the whole term on each row: other firms with the same core name
    but another ending must not match."""
    wanted = factories.make_customer("Maju Jaya Logistik Sdn Bhd")
    factories.make_customer("Maju Jaya Logistik Enterprise")
    factories.make_customer("Sinar Jaya Logistics Sdn Bhd")
    page = search_customers("jaya logistik sdn bhd")
    assert [hit.customer.pk for hit in page.hits] == [wanted.pk]
    assert page.hits[0].reason == "Name"
    assert [h.customer.pk for h in search_customers("Sdn Bhd").hits]  # only the legal form
