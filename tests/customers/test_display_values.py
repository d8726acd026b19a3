"""How recorded values read in the trail."""

from __future__ import annotations

from decimal import Decimal

import pytest

from clientdesk.customers.display import format_value
from clientdesk.customers.models import Customer


@pytest.mark.parametrize(
    ("value", "shown"),
    [("-5.00", "-5.00%"), ("12.5", "+12.5%"), (Decimal("3"), "+3%"), ("n/a", "n/a")],
)
def test_a_price_adjustment_reads_with_its_sign_whether_stored_as_text_or_number(
    value: object, shown: str
) -> None:
    """Activity keeps decimals as text ("-5.00"); the trail crashed on formatting text
    with a sign (found by ``manage.py bench`` on imported customers)."""
    assert format_value("price_adjustment_percent", value, customer=Customer(country="MY")) == shown
