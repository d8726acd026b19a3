"""Read API for taxes: which tax a country implies on a day, and what a customer pays.

Other apps (the staff 360 header, the portal home, the create-customer form) use only
this module; they never query ``taxes.models`` themselves.

Query budget: :func:`tax_for_country` is one query; :func:`applicable_tax` is one query
too (the exemption is read by a subquery of the rule query) and never more than two, so
pages that show it keep a constant query count.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q, Subquery
from django.utils import timezone

from clientdesk.customers.models import Customer

from .models import TaxExemption, TaxRule, format_rate


@dataclass(frozen=True)
class AppliedTax:
    """The tax a customer's country implies today, and whether the customer is exempt."""

    name: str  # "SST"
    rate: Decimal  # Decimal("8.00"): percent
    country: str  # "MY"
    exempt: bool  # the customer is tax-exempt (the rate is still shown for reference)
    exemption_reference: str  # staff-only: never show it to customers

    @property
    def rate_label(self) -> str:
        return f"{self.name} {format_rate(self.rate)}%"

    @property
    def label(self) -> str:
        """``"SST 8%"``, or ``"SST 8% — exempt (ref CERT-1)"`` for staff."""
        if not self.exempt:
            return self.rate_label
        if self.exemption_reference:
            return f"{self.rate_label} — exempt (ref {self.exemption_reference})"
        return f"{self.rate_label} — exempt"

    @property
    def effective_rate(self) -> Decimal:
        """The rate actually charged: zero when exempt."""
        return Decimal("0.00") if self.exempt else self.rate


def provider_today() -> datetime.date:
    """Today in the provider's timezone (``settings.TIME_ZONE``), not the viewer's."""
    return timezone.localtime(timezone.now(), ZoneInfo(settings.TIME_ZONE)).date()


def _covering(day: datetime.date) -> Q:
    return Q(effective_from__lte=day) & (Q(effective_to__isnull=True) | Q(effective_to__gte=day))


def tax_for_country(country: str, *, on: datetime.date | None = None) -> TaxRule | None:
    """The rule in force for ``country`` (ISO code) on ``on`` (default: today). One query."""
    code = (str(country) or "").upper()
    if not code:
        return None
    day = on or provider_today()
    return TaxRule.objects.filter(_covering(day), country=code).order_by("-effective_from").first()


def applicable_tax(customer: Customer, *, on: datetime.date | None = None) -> AppliedTax | None:
    """The tax ``customer`` pays on ``on`` (default: today), from its country; ``None`` when
    the customer has no country or no rule covers it. Exempt customers still get the rule
    (``exempt=True``) so staff see what they are exempt from. One query.
    """
    code = (str(customer.country or "")).upper()
    if not code:
        return None
    day = on or provider_today()
    rule = (
        TaxRule.objects.filter(_covering(day), country=code)
        .annotate(
            exemption_reference=Subquery(
                TaxExemption.objects.filter(customer_id=customer.pk).values("reference")[:1]
            )
        )
        .order_by("-effective_from")
        .first()
    )
    if rule is None:
        return None
    reference = getattr(rule, "exemption_reference", None)
    return AppliedTax(
        name=rule.name,
        rate=rule.rate,
        country=code,
        exempt=reference is not None,
        exemption_reference=reference or "",
    )


def exemption_for(customer: Customer) -> TaxExemption | None:
    """The customer's exemption record (staff pages), or ``None``. One query."""
    return TaxExemption.objects.filter(customer_id=customer.pk).select_related("set_by").first()


# --- the Tax rules page ------------------------------------------------------------------


@dataclass(frozen=True)
class RuleRow:
    """A rule as the Tax rules page lists it, with where it stands today."""

    rule: TaxRule
    status: str  # "current" | "scheduled" | "ended"

    @property
    def status_label(self) -> str:
        return {"current": "In force", "scheduled": "Scheduled", "ended": "Ended"}[self.status]


@dataclass(frozen=True)
class CountryRules:
    country: str
    country_name: str
    rows: list[RuleRow]

    @property
    def current(self) -> RuleRow | None:
        return next((row for row in self.rows if row.status == "current"), None)


def rule_status(rule: TaxRule, today: datetime.date) -> str:
    if rule.effective_from > today:
        return "scheduled"
    if rule.effective_to is not None and rule.effective_to < today:
        return "ended"
    return "current"


def rules_by_country(*, on: datetime.date | None = None) -> list[CountryRules]:
    """Every rule, grouped by country (by country name); in each, the rule in force first,
    then scheduled ones (soonest first), then the history (newest first). One query: the
    table holds a few rules per country, never customer-sized data."""
    today = on or provider_today()
    order = {"current": 0, "scheduled": 1, "ended": 2}
    grouped: dict[str, list[RuleRow]] = {}
    for rule in TaxRule.objects.order_by("country", "-effective_from"):
        grouped.setdefault(rule.country_code, []).append(RuleRow(rule, rule_status(rule, today)))
    result = []
    for code, rows in grouped.items():
        rows.sort(
            key=lambda row: (
                order[row.status],
                row.rule.effective_from.toordinal() * (1 if row.status == "scheduled" else -1),
            )
        )
        result.append(CountryRules(code, rows[0].rule.country_name, rows))
    return sorted(result, key=lambda group: group.country_name)
