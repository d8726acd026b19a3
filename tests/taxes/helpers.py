"""Tax test helpers: rules and exemptions made through the actions, as the system."""

from __future__ import annotations

import datetime
from typing import Any

from clientdesk.core.actor import Actor, Source
from clientdesk.taxes import actions
from clientdesk.taxes.models import TaxRule

SYSTEM = Actor.system()


def day(text: str) -> datetime.date:
    return datetime.date.fromisoformat(text)


def add_rule(country: str, name: str, rate: str, start: str, end: str | None = None) -> TaxRule:
    return actions.add_tax_rule(
        country=country,
        name=name,
        rate=rate,
        effective_from=day(start),
        effective_to=day(end) if end else None,
        actor=SYSTEM,
    )


def staff(user: Any) -> Actor:
    return Actor(user, Source.STAFF)
