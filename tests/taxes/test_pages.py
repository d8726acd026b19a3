"""The Tax rules pages (Portal settings › Tax) and a customer's tax exemption in the staff
console: managers only (others 403), bad input gets a message and changes nothing; the
portal's customer home shows the tax applied."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from clientdesk.taxes import actions
from clientdesk.taxes.models import TaxExemption, TaxRule

from .helpers import SYSTEM, add_rule, day

pytestmark = pytest.mark.django_db

TODAY = datetime.datetime(2025, 6, 1, 12, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _frozen_today():
    with time_machine.travel(TODAY, tick=False):
        yield


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def manager(world) -> Client:
    return client_for(world.users["staff_manager"])


@pytest.fixture
def history() -> None:
    add_rule("MY", "SST", "6", "2018-09-01")
    add_rule("MY", "SST", "8", "2024-03-01")
    add_rule("SG", "GST", "9", "2024-01-01")
    add_rule("SG", "GST", "10", "2027-01-01")  # scheduled


@pytest.mark.usefixtures("history")
def test_the_rules_page_lists_each_country_current_rule_first(
    manager, django_assert_max_num_queries
) -> None:
    with django_assert_max_num_queries(12):
        response = manager.get(reverse("staff:tax-rules"))
    assert response.status_code == 200
    html = response.content.decode()
    malaysia = html[html.index('id="tax-MY"') :]
    assert malaysia.index("8%") < malaysia.index("6%")  # in force before the history
    singapore = html[html.index('id="tax-SG"') :]
    assert singapore.index("9%") < singapore.index("10%") < singapore.index("Scheduled")
    assert html.index('id="tax-MY"') < html.index('id="tax-SG"')  # by country name


@pytest.mark.parametrize("persona", ["staff_support", "staff_billing"])
def test_other_staff_get_403_on_every_tax_page(world, persona) -> None:
    rule = add_rule("MY", "SST", "8", "2024-03-01")
    client = client_for(world.users[persona])
    urls = [
        reverse("staff:tax-rules"),
        reverse("staff:tax-rule-add"),
        reverse("staff:tax-rule-edit", args=[rule.pk]),
        reverse("staff:tax-rule-end", args=[rule.pk]),
        reverse("staff:customer-tax-exemption", args=[world.customer_a.number]),
    ]
    for url in urls:
        assert client.get(url).status_code == 403, url
    post = client.post(
        reverse("staff:tax-rule-add"),
        {"country": "SG", "name": "GST", "rate": "9", "effective_from": "2024-01-01"},
    )
    assert post.status_code == 403
    post = client.post(
        reverse("staff:customer-tax-exemption", args=[world.customer_a.number]),
        {"action": "set", "reference": "R", "reason": "r"},
    )
    assert post.status_code == 403
    assert TaxRule.objects.count() == 1 and not TaxExemption.objects.exists()


def test_customers_do_not_learn_the_tax_pages_exist(world) -> None:
    client = client_for(world.users["a_owner"])
    assert client.get(reverse("staff:tax-rules")).status_code == 404


@pytest.mark.usefixtures("history")
def test_a_manager_changes_a_rate_by_adding_a_rule(manager) -> None:
    form = manager.get(reverse("staff:tax-rule-add") + "?country=MY")
    assert form.status_code == 200
    assert 'value="SST"' in form.content.decode()  # the current rule's name, prefilled
    response = manager.post(
        reverse("staff:tax-rule-add"),
        {
            "country": "MY",
            "name": "SST",
            "rate": "10",
            "effective_from": "2026-01-01",
            "reason": "Budget 2026",
        },
    )
    assert response.status_code == 302
    assert response["Location"].endswith("#tax-MY")
    assert [
        (str(r.rate), r.effective_to)
        for r in TaxRule.objects.filter(country="MY").order_by("effective_from")
    ] == [
        ("6.00", day("2024-02-29")),
        ("8.00", day("2025-12-31")),
        ("10.00", None),
    ]


@pytest.mark.usefixtures("history")
@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"rate": "abc"}, "Enter a number"),
        ({"rate": "150"}, "less than or equal to 100"),
        ({"effective_from": "2024-13-45"}, "Enter a date like"),
        ({"country": "ZZ"}, "Choose one of the options"),
        ({"effective_from": "2024-06-01", "effective_to": "2024-12-31"}, "overlaps"),
        ({"name": "S" * 5000}, "at most 40 characters"),
    ],
)
def test_bad_rule_input_is_shown_on_the_form_and_changes_nothing(manager, data, message) -> None:
    before = list(TaxRule.objects.values_list("pk", "effective_to"))
    response = manager.post(
        reverse("staff:tax-rule-add"),
        {"country": "MY", "name": "SST", "rate": "10", "effective_from": "2026-01-01", **data},
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert list(TaxRule.objects.values_list("pk", "effective_to")) == before


def test_a_rule_in_force_offers_only_its_name_and_end_for_correction(manager) -> None:
    rule = add_rule("MY", "SST", "8", "2024-03-01")
    page = manager.get(reverse("staff:tax-rule-edit", args=[rule.pk])).content.decode()
    assert 'name="rate"' not in page and 'name="effective_from"' not in page
    response = manager.post(
        reverse("staff:tax-rule-edit", args=[rule.pk]),
        {"name": "SST", "rate": "99", "effective_to": "", "reason": "forged rate"},
    )
    assert response.status_code == 302  # the forged rate is not a field of this form
    rule.refresh_from_db()
    assert str(rule.rate) == "8.00"
    missing_reason = manager.post(
        reverse("staff:tax-rule-edit", args=[rule.pk]), {"name": "Sales tax", "reason": ""}
    )
    assert missing_reason.status_code == 400


def test_a_manager_ends_a_rule(manager) -> None:
    rule = add_rule("MY", "SST", "8", "2024-03-01")
    assert manager.get(reverse("staff:tax-rule-end", args=[rule.pk])).status_code == 200
    too_early = manager.post(
        reverse("staff:tax-rule-end", args=[rule.pk]), {"effective_to": "2025-01-01"}
    )
    assert too_early.status_code == 400
    response = manager.post(
        reverse("staff:tax-rule-end", args=[rule.pk]), {"effective_to": "2025-12-31"}
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.effective_to == day("2025-12-31")


def test_unknown_rules_and_customers_are_404(manager) -> None:
    assert manager.get(reverse("staff:tax-rule-edit", args=[999999])).status_code == 404
    assert manager.get(reverse("staff:tax-rule-end", args=[999999])).status_code == 404
    assert (
        manager.get(reverse("staff:customer-tax-exemption", args=["C-999999"])).status_code == 404
    )


def test_a_manager_exempts_and_unexempts_a_customer(world, manager) -> None:
    add_rule("MY", "SST", "8", "2024-03-01")
    customer = world.customer_a
    url = reverse("staff:customer-tax-exemption", args=[customer.number])
    page = manager.get(url).content.decode()
    assert "SST 8%" in page and "Not exempt" in page
    bad = manager.post(url, {"action": "set", "reference": "", "reason": "Labuan"})
    assert bad.status_code == 400 and not TaxExemption.objects.exists()
    response = manager.post(
        url, {"action": "set", "reference": "LBN-42", "reason": "Labuan company"}
    )
    assert response.status_code == 302
    page = manager.get(url).content.decode()
    assert "LBN-42" in page and "Remove the exemption" in page
    no_reason = manager.post(url, {"action": "remove", "remove-reason": ""})
    assert no_reason.status_code == 400 and TaxExemption.objects.exists()
    manager.post(url, {"action": "remove", "remove-reason": "Certificate expired"})
    assert not TaxExemption.objects.exists()


# --- the portal's customer home -----------------------------------------------------------


def test_the_portal_home_shows_the_tax_applied(world) -> None:
    add_rule("MY", "SST", "8", "2024-03-01")
    client = client_for(world.users["a_member"])
    url = reverse("portal:customer-home", args=[world.customer_a.number])
    assert "Tax applied: SST 8% (Malaysia)" in client.get(url).content.decode()


def test_an_exempt_customer_sees_tax_exempt_but_never_the_reference(world) -> None:
    add_rule("MY", "SST", "8", "2024-03-01")
    actions.exempt_customer(
        world.customer_a, reference="SECRET-REF", reason="internal", actor=SYSTEM
    )
    client = client_for(world.users["a_owner"])
    page = client.get(
        reverse("portal:customer-home", args=[world.customer_a.number])
    ).content.decode()
    assert "Tax-exempt" in page
    assert "SECRET-REF" not in page and "internal" not in page
    activity = client.get(
        reverse("portal:activity", args=[world.customer_a.number])
    ).content.decode()
    assert "SECRET-REF" not in activity


def test_the_portal_home_keeps_its_query_count_with_tax(
    world, django_assert_max_num_queries
) -> None:
    add_rule("MY", "SST", "8", "2024-03-01")
    client = client_for(world.users["a_owner"])
    url = reverse("portal:customer-home", args=[world.customer_a.number])
    client.get(url)
    with django_assert_max_num_queries(20) as captured:
        client.get(url)
    baseline = len(captured.captured_queries)
    for year in range(2030, 2040):
        add_rule("MY", "SST", "9", f"{year}-01-01")
    actions.exempt_customer(world.customer_a, reference="R", reason="r", actor=SYSTEM)
    with django_assert_max_num_queries(baseline):
        client.get(url)
