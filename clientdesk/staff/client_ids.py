"""A form field's worth of client IDs ("C-100042, C-100043"), as customers."""

from __future__ import annotations

import re

from django import forms

from clientdesk.customers.models import Customer

from .customer_list import safe_customer_number

CLIENT_IDS_MAX = 1000  # client IDs in one field


def split_client_ids(raw: str) -> list[str]:
    return [token for token in re.split(r"[\s,;]+", raw) if token]


def customers_from_client_ids(raw: str, *, too_many: str) -> list[Customer]:
    """The customers named in ``raw``, each once, in the order typed. A malformed or
    unknown client ID is named in the error; ``too_many`` is the message over the limit."""
    tokens = split_client_ids(raw)
    if len(tokens) > CLIENT_IDS_MAX:
        raise forms.ValidationError(too_many)
    numbers: dict[int, str] = {}
    for token in tokens:
        number = safe_customer_number(token)
        if number is None:
            shown = token[:30] + ("…" if len(token) > 30 else "")
            raise forms.ValidationError(f"“{shown}” is not a client ID like C-100042.")
        numbers.setdefault(number, token)
    if not numbers:
        return []
    found = {c.number: c for c in Customer.objects.filter(number__in=list(numbers))}
    missing = [token for number, token in numbers.items() if number not in found]
    if missing:
        raise forms.ValidationError(
            f"No customer has the client ID {missing[0][:30]}. Check it and try again."
        )
    return [found[number] for number in numbers]
