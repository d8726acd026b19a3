"""The large-data generator: realistic shape (three contacts per customer on average, one
owner each) and searchable right after loading."""

from __future__ import annotations

import random
from statistics import mean

import pytest
from django.db.models import Count, Q

from clientdesk.customers.models import Contact, Customer
from clientdesk.customers.search import search_customers
from clientdesk.demo import dataset


def test_contacts_per_customer_average_three() -> None:
    rng = random.Random(7)
    counts = [dataset._contact_count(rng) for _ in range(200_000)]
    assert 2.9 < mean(counts) < 3.1
    assert min(counts) == 1 and max(counts) > 12  # a long tail


@pytest.mark.django_db(transaction=True)
def test_a_small_data_set_is_complete_and_searchable() -> None:
    result = dataset.generate(customers=300, seed=3, batch_size=100, progress=False)
    assert result.customers == Customer.objects.count() == 300
    assert result.contacts == Contact.objects.count()
    owners = Customer.objects.annotate(owners=Count("contacts", filter=Q(contacts__role="owner")))
    assert set(owners.values_list("owners", flat=True)) == {1}
    some = Customer.objects.order_by("?").first()
    assert some is not None
    found = search_customers(some.client_id)
    assert [hit.customer.pk for hit in found.hits][:1] == [some.pk]
