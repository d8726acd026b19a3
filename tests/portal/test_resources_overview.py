"""The portal overview's "Resources for level …" card: the newest items the customer's
level sees, in a constant number of queries."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from clientdesk.customers.models import Customer
from tests.resources import factories

pytestmark = pytest.mark.django_db


def test_the_overview_lists_the_newest_items_for_the_level(
    client: Client, world: Any, django_assert_max_num_queries: Any
) -> None:
    lv = factories.levels("4.0", "5.0")
    Customer.objects.filter(pk=world.customer_a.pk).update(software_level=lv["4.0"])
    for n in range(4):
        factories.resource(f"Note 4.0 #{n}", level_from=lv["4.0"], level_to=lv["4.0"])
    factories.resource("Only 5.0", level_from=lv["5.0"])
    client.force_login(world.users["a_member"])
    url = reverse("portal:customer-home", args=[world.customer_a.number])
    with django_assert_max_num_queries(30) as few:
        page = client.get(url).content.decode()
    assert "Resources for level 4.0" in page
    assert page.count("Note 4.0 #") == 3  # the newest three
    assert "Only 5.0" not in page
    for n in range(20):
        factories.resource(f"More {n}", level_from=lv["4.0"])
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url)
