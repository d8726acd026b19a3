"""The portal's account pages find the signed-in user's memberships through an index.

Most contacts have no sign-in (``user_id`` NULL). SQLite's statistics count those NULLs as
one value, so with a full ``(user, customer)`` index the planner expected every contact to
match ``user_id = ?``, walked the customers by name instead and took 44 ms per page at
50 000 customers (``manage.py bench``). The index is partial (``user IS NOT NULL``) since
migration 0014, and these plans prove it is used for the pages every customer opens first.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import World

from . import filler
from .plans import analyze, capture, check_plans, explain, forget_statistics

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(world: World) -> Iterator[Client]:
    filler.fill(
        world.customer_a, author=world.users["staff_support"], history=frozenset({"contacts"})
    )
    analyze()
    client = Client()
    client.force_login(world.users["a_owner"])
    client.get(reverse("portal:home"))  # the session's first request does one-off work
    yield client
    forget_statistics()


@pytest.mark.parametrize("page", ["portal:home", "portal:customer-home", "portal:account"])
def test_the_account_pages_read_memberships_through_the_sign_in_index(
    world: World, owner: Client, page: str
) -> None:
    args = [] if page == "portal:home" else [world.customer_a.client_id]
    url = reverse(page, args=args)

    def get() -> int:
        return owner.get(url).status_code

    with capture() as captured:
        status, problems = check_plans(get, expect={"customers_contact"}, label=page)
    assert status in (200, 302)
    # Sorting one user's memberships (a handful of rows found by the sign-in index) by name
    # is sorting a page; anything else is a fault.
    by_sign_in = "SEARCH customers_contact USING INDEX customers_contact_user_idx (user_id=?)"
    problems = [p for p in problems if not ("TEMP B-TREE" in p and by_sign_in in p)]
    assert not problems, "\n\n".join(problems)
    memberships = [
        s for s in captured.reads_of_large_tables() if '"customers_contact"."user_id" = ' in s.sql
    ]
    assert memberships, "the page never looked up the user's memberships"
    # The list of every account the user belongs to must come through the sign-in index.
    # Once the customer is known (one membership), any index on the customer's contacts
    # serves too (the fault rules above still apply to it).
    for statement in memberships:
        if '"customers_customer"."number" =' in statement.sql:
            continue
        plan = explain(statement)
        assert "customers_contact_user_idx" in plan, plan
