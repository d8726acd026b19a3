"""Tax derivation (issue 6 item 7): a customer's tax comes from its country and the date,
the rule in force that day; an exempt customer still shows the rule, marked exempt."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
import time_machine

from clientdesk.taxes import actions
from clientdesk.taxes.rules import AppliedTax, applicable_tax, provider_today, tax_for_country
from tests import factories

from .helpers import SYSTEM, add_rule, day

pytestmark = pytest.mark.django_db


@pytest.fixture
def my_and_sg() -> None:
    add_rule("MY", "SST", "6", "2018-09-01")
    add_rule("MY", "SST", "8", "2024-03-01")  # ends the 6 % rule on 2024-02-29
    add_rule("SG", "GST", "8", "2023-01-01", "2023-12-31")
    add_rule("SG", "GST", "9", "2024-01-01")


@pytest.mark.usefixtures("my_and_sg")
@pytest.mark.parametrize(
    ("country", "on", "expected"),
    [
        ("MY", "2018-09-01", ("SST", "6.00")),
        ("MY", "2024-02-29", ("SST", "6.00")),  # the old rule's last day
        ("MY", "2024-03-01", ("SST", "8.00")),  # the new rule's first day
        ("MY", "2030-01-01", ("SST", "8.00")),
        ("SG", "2023-06-30", ("GST", "8.00")),
        ("SG", "2024-01-01", ("GST", "9.00")),
        ("my", "2025-01-01", ("SST", "8.00")),  # codes are case-insensitive
    ],
)
def test_the_rule_in_force_on_a_day_is_the_one_applied(country, on, expected) -> None:
    rule = tax_for_country(country, on=day(on))
    assert rule is not None
    assert (rule.name, str(rule.rate)) == expected


@pytest.mark.usefixtures("my_and_sg")
@pytest.mark.parametrize(
    ("country", "on"),
    [("MY", "2018-08-31"), ("SG", "2022-12-31"), ("ID", "2025-01-01"), ("", "2025-01-01")],
)
def test_no_rule_before_the_first_one_or_for_a_country_without_rules(country, on) -> None:
    assert tax_for_country(country, on=day(on)) is None


@pytest.mark.usefixtures("my_and_sg")
def test_a_customer_pays_the_tax_of_its_country() -> None:
    malaysian = factories.make_customer("Maju Sdn Bhd")
    singaporean = factories.make_customer("Lion Pte Ltd", country="SG")
    today = day("2025-06-01")

    assert applicable_tax(malaysian, on=today) == AppliedTax(
        name="SST", rate=Decimal("8.00"), country="MY", exempt=False, exemption_reference=""
    )
    assert applicable_tax(malaysian, on=today).label == "SST 8%"  # type: ignore[union-attr]
    assert applicable_tax(singaporean, on=today).label == "GST 9%"  # type: ignore[union-attr]
    assert applicable_tax(singaporean, on=day("2023-03-01")).label == "GST 8%"  # type: ignore[union-attr]


@pytest.mark.usefixtures("my_and_sg")
def test_an_exempt_customer_still_sees_the_rule_marked_exempt() -> None:
    customer = factories.make_customer("Exempt Sdn Bhd")
    other = factories.make_customer("Taxed Sdn Bhd")
    actions.exempt_customer(customer, reference="KE-2025/0042", reason="Labuan", actor=SYSTEM)

    tax = applicable_tax(customer, on=day("2025-01-01"))
    assert tax is not None
    assert (tax.exempt, tax.exemption_reference, tax.rate) == (
        True,
        "KE-2025/0042",
        Decimal("8.00"),
    )
    assert tax.label == "SST 8% — exempt (ref KE-2025/0042)"
    assert tax.effective_rate == Decimal("0.00")
    # Another customer of the same country is not affected.
    assert applicable_tax(other, on=day("2025-01-01")).exempt is False  # type: ignore[union-attr]


def test_a_customer_without_a_rule_for_its_country_has_no_tax() -> None:
    add_rule("MY", "SST", "8", "2024-03-01")
    customer = factories.make_customer("Jakarta PT", country="ID", currency="IDR")
    assert applicable_tax(customer) is None


@pytest.mark.usefixtures("my_and_sg")
def test_applicable_tax_is_one_query_whatever_the_history(django_assert_num_queries) -> None:
    customer = factories.make_customer("Maju Sdn Bhd")
    with django_assert_num_queries(1):
        applicable_tax(customer, on=day("2025-01-01"))
    for year in range(2030, 2040):  # a long history and an exemption change nothing
        add_rule("MY", "SST", str(year - 2020), f"{year}-01-01")
    actions.exempt_customer(customer, reference="X-1", reason="Test", actor=SYSTEM)
    with django_assert_num_queries(1):
        tax = applicable_tax(customer, on=day("2035-06-01"))
    assert tax is not None and (tax.rate, tax.exempt) == (Decimal("15.00"), True)


def test_today_is_the_providers_day_not_the_viewers(settings) -> None:
    """``on`` defaults to today in settings.TIME_ZONE: at 23:30 UTC on 29 Feb it is still
    29 Feb for a UTC provider, though it is 1 March in Kuala Lumpur."""
    settings.TIME_ZONE = "UTC"
    add_rule("MY", "SST", "6", "2018-09-01")
    add_rule("MY", "SST", "8", "2024-03-01")
    with time_machine.travel(datetime.datetime(2024, 2, 29, 23, 30, tzinfo=datetime.UTC)):
        assert provider_today() == day("2024-02-29")
        assert tax_for_country("MY").rate == Decimal("6.00")  # type: ignore[union-attr]
    settings.TIME_ZONE = "Asia/Kuala_Lumpur"
    with time_machine.travel(datetime.datetime(2024, 2, 29, 23, 30, tzinfo=datetime.UTC)):
        assert provider_today() == day("2024-03-01")
        assert tax_for_country("MY").rate == Decimal("8.00")  # type: ignore[union-attr]
