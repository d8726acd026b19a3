"""The demo data behind `make run`: loads once, and every printed sign-in works."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client

from clientdesk.customers.models import Contact, Customer
from clientdesk.demo.data import DEMO_LOGINS, DEMO_PASSWORD
from clientdesk.users.models import User

pytestmark = pytest.mark.django_db


def test_demo_data_loads_once_and_every_sign_in_works() -> None:
    call_command("seed_demo")
    counts = (User.objects.count(), Customer.objects.count(), Contact.objects.count())
    call_command("seed_demo")  # a second `make run` keeps the data as it is
    assert (User.objects.count(), Customer.objects.count(), Contact.objects.count()) == counts
    assert Customer.objects.count() == 4
    for login in DEMO_LOGINS:
        response = Client().post(
            "/accounts/login/", {"login": login.email, "password": DEMO_PASSWORD}
        )
        assert response.status_code == 302, login.email


def test_the_accountant_belongs_to_two_customers() -> None:
    call_command("seed_demo")
    lim = User.objects.get(email="lim@ledgerwise.example")
    assert Contact.objects.filter(user=lim, portal_access=True).count() == 2


def test_demo_customers_cover_the_profile_cases() -> None:
    """Issue 4: a Malaysian Sdn Bhd ready for e-invoicing, an individual, a Singapore
    company, and one whose billing details are decoupled from the legal ones."""
    from clientdesk.customers import einvoice, queries

    call_command("seed_demo")
    by_name = {c.display_name: queries.profile_customer(c.pk) for c in Customer.objects.all()}
    assert einvoice.readiness(by_name["Maju Digital"]).ready
    assert by_name["Nurul Huda binti Ahmad"].kind == Customer.Kind.INDIVIDUAL
    assert str(by_name["Harbourline Logistics Pte. Ltd."].country) == "SG"
    teratai = by_name["Teratai Hospitality Sdn. Bhd."]
    assert not teratai.billing_follows_legal
    assert teratai.billing_city == "Kuala Lumpur" != teratai.legal_city
    assert all(c.software_level is not None for c in by_name.values())


def test_the_demo_library_shows_the_level_filter_at_work() -> None:
    """Issue 10: items for several levels; Maju Digital (4.0) sees the 4.0 ones, and a
    customer on 5.0 sees the 5.0 ones instead. A second run adds nothing."""
    from clientdesk.resources import queries
    from clientdesk.resources.models import Resource

    call_command("seed_demo")
    count = Resource.objects.count()
    call_command("seed_demo")
    assert Resource.objects.count() == count >= 8
    by_level = {}
    for customer in Customer.objects.select_related("software_level"):
        titles = {r.title for r in queries.library(customer.software_level).items}
        by_level[customer.software_level.label] = titles
    assert "Release notes 4.0" in by_level["4.0"]
    assert "Release notes 5.0" not in by_level["4.0"]
    assert "Release notes 5.0" in by_level["5.0"]
    assert "Release notes 4.0" not in by_level["5.0"]
    assert "Hotfix collection 3.0" in by_level["3.0"]
    everyone = "How your software level filters this library"
    assert all(everyone in titles for titles in by_level.values())
    assert all("Release notes 5.1 (preview)" not in titles for titles in by_level.values())
    assert all("Planned maintenance window" not in titles for titles in by_level.values())
    with_files = Resource.objects.exclude(file="")
    assert {r.file_type for r in with_files} >= {"application/pdf", "application/zip"}
