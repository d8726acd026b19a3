"""The console's search page: results as you type (htmx partial), "More results", Enter
opens the best match, and odd input never breaks the page."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from clientdesk.customers.models import Customer
from tests import factories

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def support(client: Client) -> Client:
    client.force_login(factories.make_staff("support"))
    return client


@pytest.fixture
def acme() -> Customer:
    customer = factories.make_customer("Acme Widgets Sdn Bhd")
    factories.make_contact(
        customer, "owner", first_name="Mei", last_name="Lim", email="mei@acme.my", portal=False
    )
    return customer


def test_the_search_page_lists_matches_with_the_match_highlighted(
    support: Client, acme: Customer
) -> None:
    response = support.get(reverse("staff:home"), {"q": "widg"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Acme <mark>Widg</mark>ets Sdn Bhd" in html
    assert reverse("staff:customer", args=[acme.number]) in html
    assert "Owner: Mei Lim · mei@acme.my" in html
    assert 'class="badge badge-active"' in html


def test_typing_asks_for_the_results_list_alone(support: Client, acme: Customer) -> None:
    response = support.get(reverse("staff:search"), {"q": "mei@"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert "Contact email:" in html and "<mark>mei@</mark>acme.my" in html


def test_more_results_append_the_next_page(support: Client) -> None:
    for i in range(25):
        factories.make_customer(f"Kopi Stall {i:02d}")
    first = support.get(reverse("staff:search"), {"q": "kopi"}, **HTMX).content.decode()
    assert first.count('class="search-hit"') == 20
    assert "More results" in first
    cursor = first.split("cursor=")[1].split('"')[0]
    more = support.get(reverse("staff:search"), {"q": "kopi", "cursor": cursor}, **HTMX)
    html = more.content.decode()
    assert html.count('class="search-hit"') == 5
    assert "Kopi Stall 24" in html and "Kopi Stall 00" not in html
    assert "More results" not in html


def test_enter_opens_the_best_match(support: Client, acme: Customer) -> None:
    factories.make_customer("Acme Other Trading")
    response = support.get(reverse("staff:search-open"), {"q": acme.client_id})
    assert response.status_code == 302
    assert response["Location"] == reverse("staff:customer", args=[acme.number])


def test_enter_without_a_match_says_so(support: Client, acme: Customer) -> None:
    response = support.get(reverse("staff:search-open"), {"q": "zzzz"}, follow=True)
    html = response.content.decode()
    assert "No customer matches that search." in html
    assert "No customer matches “zzzz”." in html


@pytest.mark.parametrize(
    "term", ["%", "_", "'\"", "<script>alert(1)</script>", "x" * 10_000, "🙂", "\u202e", "a__b"]
)
def test_odd_input_is_answered_calmly(support: Client, acme: Customer, term: str) -> None:
    for name in ("staff:home", "staff:search"):
        response = support.get(reverse(name), {"q": term, "cursor": term})
        assert response.status_code == 200
        assert "<script>alert(1)</script>" not in response.content.decode()


def test_the_results_cost_the_same_queries_whatever_the_matches(
    support: Client, django_assert_max_num_queries: Any
) -> None:
    factories.make_customer("Delta One")
    support.get(reverse("staff:search"), {"q": "delta"}, **HTMX)  # warm the session
    with django_assert_max_num_queries(20) as few:
        support.get(reverse("staff:search"), {"q": "delta"}, **HTMX)
    for i in range(40):
        customer = factories.make_customer(f"Delta {i}")
        factories.make_contact(customer, "owner", portal=False)
    with django_assert_max_num_queries(20) as many:
        support.get(reverse("staff:search"), {"q": "delta"}, **HTMX)
    assert len(many.captured_queries) <= len(few.captured_queries)  # a full page stops early


def test_a_client_id_lookup_opens_the_customer_page(support: Client, acme: Customer) -> None:
    response = support.get(reverse("staff:customer-lookup"), {"number": acme.client_id})
    assert response["Location"] == reverse("staff:customer", args=[acme.number])
