"""Tax rules per country (with effective periods) and per-customer tax exemptions."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django_countries.fields import CountryField

from clientdesk.core.models import TimeStampedModel
from clientdesk.customers.models import Customer


class TaxRule(TimeStampedModel):
    """The tax a country implies during a period: ``MY`` → SST 8 % from 2024-03-01.

    ``effective_to`` is the last day the rule applies (inclusive); ``None`` means open-ended.
    Periods of one country never overlap: the actions check it, and the database refuses a
    second open-ended rule per country. Rules are never deleted — a rate change adds a new
    rule and ends the previous one the day before, so the history stays.
    """

    country = CountryField()
    name = models.CharField(max_length=40, help_text='The tax\'s short name, e.g. "SST".')
    rate = models.DecimalField(
        max_digits=5, decimal_places=2, help_text="Percent, e.g. 8.00 for 8 %."
    )
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["country", "-effective_from"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rate__gte=Decimal("0")) & models.Q(rate__lte=Decimal("100")),
                name="taxes_taxrule_rate_0_to_100",
            ),
            models.CheckConstraint(
                condition=models.Q(effective_to__isnull=True)
                | models.Q(effective_to__gte=models.F("effective_from")),
                name="taxes_taxrule_period_not_reversed",
            ),
            models.UniqueConstraint(
                fields=["country"],
                condition=models.Q(effective_to__isnull=True),
                name="taxes_taxrule_one_open_rule_per_country",
            ),
            models.UniqueConstraint(
                fields=["country", "effective_from"],
                name="taxes_taxrule_one_start_per_country_day",
            ),
        ]
        indexes = [
            models.Index(fields=["country", "effective_from"], name="taxes_taxrule_lookup_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.country_code} {self.label}"

    @property
    def country_code(self) -> str:
        return str(self.country or "")

    @property
    def country_name(self) -> str:
        return str(getattr(self.country, "name", "")) or self.country_code

    @property
    def rate_label(self) -> str:
        return f"{format_rate(self.rate)}%"

    @property
    def label(self) -> str:
        return f"{self.name} {self.rate_label}"

    def covers(self, day: object) -> bool:
        return self.effective_from <= day and (  # type: ignore[operator]
            self.effective_to is None or day <= self.effective_to  # type: ignore[operator]
        )


class TaxExemption(TimeStampedModel):
    """A customer that is not charged tax, with the certificate/reference staff recorded.

    Staff-only: customers see "Tax-exempt" but never the reason. Removing an exemption
    deletes the row (through ``taxes.actions.unexempt_customer``, which records it).
    """

    customer = models.OneToOneField(
        Customer, on_delete=models.CASCADE, related_name="tax_exemption"
    )
    reference = models.CharField(max_length=100)
    reason = models.CharField(max_length=500, blank=True)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    set_at = models.DateTimeField()

    class Meta:
        ordering = ["customer"]

    def __str__(self) -> str:
        return f"{self.customer} exempt ({self.reference})"


def format_rate(rate: Decimal) -> str:
    """``Decimal("8.00")`` → ``"8"``, ``Decimal("6.50")`` → ``"6.5"``."""
    text = f"{rate:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text
