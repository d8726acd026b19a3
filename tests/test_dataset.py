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


@pytest.mark.django_db(transaction=True)
def test_a_bulk_load_puts_every_index_back_and_a_small_append_keeps_them() -> None:
    """A load into an empty database drops the secondary indexes and builds them again at
    the end; a later, smaller load keeps them in place. Either way search finds the rows."""
    before = dataset._secondary_indexes()
    first = dataset.generate(customers=200, seed=5, batch_size=50, progress=False)
    assert dataset._secondary_indexes() == before
    second = dataset.generate(customers=40, seed=6, batch_size=50, progress=False)
    assert dataset._secondary_indexes() == before
    assert Customer.objects.count() == first.customers + second.customers
    newest = Customer.objects.order_by("-id").first()
    assert newest is not None
    word = newest.display_name.split()[0]
    found = search_customers(newest.display_name)
    assert newest.pk in {hit.customer.pk for hit in found.hits}, word
    contact = Contact.objects.filter(customer=newest).first()
    assert contact is not None
    assert newest.pk in {hit.customer.pk for hit in search_customers(contact.email).hits}


@pytest.mark.django_db(transaction=True)
def test_a_generated_name_with_a_typo_is_found_as_a_similar_name() -> None:
    """The generator fills the word dictionaries the similar-names search corrects against."""
    dataset.generate(customers=150, seed=9, batch_size=50, progress=False)
    target = Customer.objects.filter(kind="business").order_by("id").first()
    assert target is not None
    words = target.display_name.split()
    longest = max(range(len(words)), key=lambda n: len(words[n]))
    word = words[longest]
    words[longest] = word[:2] + word[3:]  # one letter dropped
    page = search_customers(" ".join(words))
    assert target.pk in {hit.customer.pk for hit in page.hits}


@pytest.mark.django_db(transaction=True)
def test_history_adds_activity_a_reconciled_ledger_and_change_requests() -> None:
    """With history, each customer gets Activity, ledger entries whose running balances
    add up to its Balance (what ``ledger_reconcile`` checks), and some change requests; the
    ids continue where the generator stopped, so the real actions can add rows afterwards."""
    from clientdesk.audit.models import Activity
    from clientdesk.change_requests.models import ChangeRequest
    from clientdesk.ledger.models import Balance, Entry
    from clientdesk.ledger.queries import reconcile

    history = dataset.History(activity=4, ledger_entries=3, change_requests=0.5)
    result = dataset.generate(
        customers=400, seed=11, batch_size=150, progress=False, history=history
    )
    large = dataset.LARGE_CUSTOMERS
    assert result.activity == Activity.objects.count() > 400 * 2 + large * 10_000
    assert Activity.objects.count() >= large * dataset.LARGE_CUSTOMER_ACTIVITY
    assert result.ledger_entries == Entry.objects.count()
    assert result.change_requests == ChangeRequest.objects.count()
    assert 120 < result.change_requests < 280
    assert reconcile() == []
    assert Balance.objects.filter(amount__lt=0).count() == 0  # never below zero
    biggest = Balance.objects.order_by("-entry_count").first()
    assert biggest is not None and biggest.entry_count == dataset.LARGE_CUSTOMER_ENTRIES
    numbers = list(ChangeRequest.objects.values_list("number", flat=True))
    assert len(set(numbers)) == len(numbers)
    statuses = set(ChangeRequest.objects.values_list("status", flat=True))
    assert {"open", "approved"} <= statuses
    # A new row through the ORM gets the next id (PostgreSQL sequences were moved on).
    customer = Customer.objects.first()
    assert customer is not None
    note = Activity.objects.create(
        customer=customer, verb="note.added", actor_label="t", source="staff"
    )
    assert note.pk > result.activity
    assert Activity.objects.order_by("-id").first() == note
