"""A key that sees some customers learns nothing about the others through search."""

from __future__ import annotations

from tests import factories

from .conftest import ApiClient, staff_token


def test_a_customer_key_search_has_no_cursor_hinting_at_other_customers(world, a_owner_api):
    b_email = world.users["b_owner"].email
    response = a_owner_api.get("/api/v1/customers", q=b_email, limit=1)
    assert response.status_code == 200
    assert response.json() == {"items": [], "next_cursor": None}
    unknown = a_owner_api.get("/api/v1/customers", q="nobody@nowhere.example", limit=1)
    assert unknown.json() == response.json()  # the same answer: existence is not revealed


def test_a_staff_key_limited_to_some_customers_gets_no_cursor_either(world):
    for n in range(3):
        factories.make_customer(f"Alpha Sister {n} Sdn Bhd")
    limited = ApiClient(staff_token(world.users["staff_support"], customers=[world.customer_b]))
    body = limited.get("/api/v1/customers", q="Alpha", limit=1).json()
    assert body == {"items": [], "next_cursor": None}
    unrestricted = ApiClient(staff_token(world.users["staff_support"]))
    body = unrestricted.get("/api/v1/customers", q="Alpha", limit=1).json()
    assert len(body["items"]) == 1 and body["next_cursor"]
