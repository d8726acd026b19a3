"""Terms and rows drawn at random from the data (by random id: no ORDER BY random())."""

from __future__ import annotations

import random
from typing import Any

from django.db.models import Max, Min

from clientdesk.customers.models import Contact, Customer
from clientdesk.customers.search import LEGAL_FORM_WORDS

COMMON_TERMS = ["tan", "lee", "sdn", "ali", "jay", "ong", "mar", "ism", "pte", "wei"]


def misspelt(name: str) -> str:
    """The name without its legal form, one letter dropped from its longest word."""
    words = [w for w in name.split() if w.lower().strip(".,") not in LEGAL_FORM_WORDS]
    longest = max(range(len(words)), key=lambda n: len(words[n]))
    word = words[longest]
    words[longest] = word[: len(word) // 2] + word[len(word) // 2 + 1 :]
    return " ".join(words)


class Samples:
    """Random customers and contacts, fetched by random id (no ORDER BY random())."""

    def __init__(self, rng: random.Random, count: int) -> None:
        self.customers = sample(rng, Customer.objects.all(), count)
        self.contacts = sample(rng, Contact.objects.exclude(last_name=""), count)
        self.phones = sample(rng, Contact.objects.exclude(phone=""), count)

    def customer(self, i: int) -> Customer:
        return self.customers[i % len(self.customers)]

    def contact(self, i: int) -> Contact:
        return self.contacts[i % len(self.contacts)]

    def phone(self, i: int) -> str:
        number = self.phones[i % len(self.phones)].phone
        return f"0{number[3:5]}-{number[5:8]} {number[8:]}" if number.startswith("+60") else number


def sample(rng: random.Random, queryset: Any, count: int) -> list[Any]:
    bounds = queryset.aggregate(low=Min("id"), high=Max("id"))
    if bounds["low"] is None:
        raise LookupError(f"No rows to sample in {queryset.model.__name__}.")
    picked: list[Any] = []
    for _ in range(count * 3):
        start = rng.randint(bounds["low"], bounds["high"])
        row = queryset.filter(id__gte=start).order_by("id").first()
        if row is not None:
            picked.append(row)
        if len(picked) == count:
            break
    return picked
