"""How profile values read to people: country and state names, phone numbers in the
customer's national format, formatted NRIC, industry descriptions, masked identity numbers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django_countries import countries

from . import reference, validators
from .models import Customer
from .policy import Field
from .roles import Role
from .sections import COUNTRY_FIELDS, raw_value

CHOICE_LABELS: dict[str, dict[str, str]] = {
    "kind": dict(Customer.Kind.choices),
    "status": dict(Customer.Status.choices),
    "pricing_model": dict(Customer.PricingModel.choices),
    "billing_mode": dict(Customer.BillingMode.choices),
    "id_type": dict(Customer.IdType.choices),
    "role": dict(Role.choices),
}


def display_value(customer: Customer, name: str) -> str:
    """``name``'s current value as shown on the profile ("" when not set)."""
    return format_value(name, raw_value(customer, name), customer=customer)


def format_value(name: str, value: Any, *, customer: Customer) -> str:
    """Any value of field ``name`` (current or historical) in words."""
    if value in (None, "", []):
        return ""
    if name in COUNTRY_FIELDS:
        return str(countries.name(value)) or str(value)
    if name.endswith("_state"):
        return reference.subdivision_name(str(value))
    if name in ("phone", "mobile"):
        return validators.format_phone(str(value), country=str(customer.country or ""))
    if name == "id_number" and customer.id_type == Customer.IdType.NRIC:
        return validators.format_nric(str(value))
    if name == "msic_code":
        found = reference.industry(str(value))
        return found.label if found else str(value)
    if name == "currency":
        return dict(reference.currency_choices()).get(str(value), str(value))
    if name == "language":
        return dict(reference.language_choices()).get(str(value), str(value))
    if name == "timezone":
        return str(value).replace("_", " ")
    if name == "date_of_birth":
        try:
            born = value if isinstance(value, date) else date.fromisoformat(str(value))
        except ValueError:
            return str(value)
        return f"{born.day} {born:%b %Y}"
    if name == "number":
        return f"C-{value}"
    if name == "other_emails":
        return ", ".join(value)
    if name == "billing_follows_legal":
        return "Yes — same as legal" if value else "No — own billing details"
    if name == "price_adjustment_percent":
        # Activity and events hold decimals as text ("-5.00"): format the number, not the text.
        try:
            return f"{Decimal(str(value)):+}%"
        except (InvalidOperation, ValueError):
            return str(value)
    if name in CHOICE_LABELS:
        return CHOICE_LABELS[name].get(str(value), str(value))
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value)


def mask(value: str) -> str:
    """Keep the last four characters: ``•••••••1234``."""
    if len(value) <= 4:
        return "•" * len(value)
    return "•" * (len(value) - 4) + value[-4:]


def masked_for_customer(spec: Field, text: str) -> str:
    if not (spec.sensitive and text):
        return text
    # A date keeps nothing: its last characters would give away the day and month.
    return "•••" if spec.name == "date_of_birth" else mask(text)
