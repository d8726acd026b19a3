"""Typo-tolerant search: when nothing matches as typed, similar names are offered — last,
marked as such, never opened by Enter and never given to programs (the API). On SQLite and
PostgreSQL, each through its index."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from clientdesk.customers.models import Contact, Customer
from clientdesk.customers.search import PAGE_SIZE, SIMILAR_REASONS, search_customers
from clientdesk.customers.search_similar import edit_distance, words_of
from tests import factories

from .test_search import FULL_SCAN, Captured, plan

pytestmark = pytest.mark.django_db


@pytest.fixture
def firms() -> dict[str, Customer]:
    made = {
        name: factories.make_customer(name)
        for name in (
            "Maju Digital Sdn Bhd",
            "Harimau Teknologi Sdn Bhd",
            "Sinar Cahaya Pharma Sdn Bhd",
            "Evergreen Crystal Pte Ltd",
        )
    }
    factories.make_contact(
        made["Sinar Cahaya Pharma Sdn Bhd"],
        "owner",
        first_name="Rajesh",
        last_name="Subramaniam",
        email="rajesh@sinar.example",
        portal=False,
    )
    return made


@pytest.mark.parametrize(
    ("typed", "wanted"),
    [
        ("maju digtal", "Maju Digital Sdn Bhd"),  # a letter missing
        ("harimau teknolgoi", "Harimau Teknologi Sdn Bhd"),  # two letters swapped
        ("evergren crystal", "Evergreen Crystal Pte Ltd"),
        ("sinar cahya pharma", "Sinar Cahaya Pharma Sdn Bhd"),
    ],
)
def test_a_misspelt_company_name_finds_the_customer(
    firms: dict[str, Customer], typed: str, wanted: str
) -> None:
    page = search_customers(typed)
    assert page.similar_only
    assert page.hits[0].customer.pk == firms[wanted].pk
    assert page.hits[0].reason == "Similar name"
    before, marked, after = page.hits[0].parts
    assert len(marked) >= 3 and before + marked + after == page.hits[0].matched


def test_a_misspelt_contact_name_finds_their_customer(firms: dict[str, Customer]) -> None:
    page = search_customers("subramanium")
    assert page.similar_only
    top = page.hits[0]
    assert top.customer.pk == firms["Sinar Cahaya Pharma Sdn Bhd"].pk
    assert top.reason == "Similar contact name"
    assert "Subramaniam" in top.matched


def test_similar_names_are_offered_only_when_nothing_matches(firms: dict[str, Customer]) -> None:
    page = search_customers("maju digital")
    assert [hit.reason for hit in page.hits] == ["Name"]
    assert not page.similar_only
    assert search_customers("xqzzyw").hits == []


def test_programs_get_exact_matches_only(firms: dict[str, Customer]) -> None:
    assert search_customers("maju digtal", similar=False).hits == []


def test_similar_names_fill_one_page_at_most() -> None:
    for i in range(PAGE_SIZE + 5):
        factories.make_customer(f"Kencana Teknologi {i} Sdn Bhd")
    page = search_customers("kencana teknolgi")
    assert len(page.hits) == PAGE_SIZE
    assert all(hit.reason in SIMILAR_REASONS for hit in page.hits)
    assert page.next_cursor == ""


def test_enter_never_opens_a_guess(client: Client, firms: dict[str, Customer]) -> None:
    client.force_login(factories.make_staff("support"))
    guess = client.get(reverse("staff:search-open"), {"q": "maju digtal"})
    assert guess.status_code == 302
    assert "/customers/" not in guess["Location"]
    listed = client.get(guess["Location"])
    html = listed.content.decode()
    assert "No exact match for" in html
    assert "Similar name" in html
    exact = client.get(reverse("staff:search-open"), {"q": "maju digital"})
    assert exact["Location"].endswith(f"/customers/{firms['Maju Digital Sdn Bhd'].number}/")


def test_similar_search_queries_use_indexes(firms: dict[str, Customer]) -> None:
    # Enough rows that reading the trigram index beats reading another index whole.
    filler = factories.make_customer("Filler Holdings")
    Contact.objects.bulk_create(
        Contact(customer=filler, first_name=f"Person{i:04d}", last_name="Lee", email=f"p{i}@x.my")
        for i in range(2000)
    )
    Customer.objects.bulk_create(
        Customer(number=900_000 + i, display_name=f"Filler{i:04d} Works") for i in range(2000)
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # a dictionary of a realistic size
            cursor.execute(
                "INSERT INTO customers_name_word (kind, word) "
                "SELECT k, 'word' || n FROM generate_series(1, 20000) n, (VALUES (0), (1)) v(k)"
            )
            cursor.execute("ANALYZE customers_name_word")
    captured = Captured()
    with connection.execute_wrapper(captured):
        search_customers("maju digtal")
    statements = [(sql, p) for sql, p in captured.statements if "customers_" in sql]
    plans = "\n".join(plan(sql, params) for sql, params in statements)
    assert not FULL_SCAN.search(plans), plans
    assert not re.search(r"Seq Scan on customers_name_word", plans), plans
    if connection.vendor == "postgresql":
        assert "customers_name_word_customer_trgm" in plans  # a misspelt word, in the dictionary
        assert "customers_customer_names_trgm" in plans
        assert "customers_contact_name_trgm" in plans
    else:
        assert any("_words" in sql for sql, _ in statements)
        assert "VIRTUAL TABLE INDEX" in plans


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [("digtal", "digital", 1), ("teknolgoi", "teknologi", 1), ("abc", "abc", 0), ("ab", "xyz", 3)],
)
def test_edit_distance(a: str, b: str, distance: int) -> None:
    assert edit_distance(a, b, limit=5) == distance


def test_edit_distance_stops_past_the_limit() -> None:
    assert edit_distance("aaaaaaaa", "bbbbbbbb", limit=2) == 3


def test_words_are_folded_like_the_index() -> None:
    assert words_of("Café-Ümlaut  O'Neil 42") == ["cafe", "umlaut", "o", "neil", "42"]


def test_a_short_misspelt_name_is_found_too() -> None:
    siew = factories.make_customer("Siew Lim", kind="individual")
    factories.make_customer("Ah Kow Trading")
    page = search_customers("siw lim")
    assert page.similar_only
    assert page.hits[0].customer.pk == siew.pk
