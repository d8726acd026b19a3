"""Reference lists the profile chooses from: industries (MSIC 2008), currencies, time zones,
languages and the states (ISO 3166-2 subdivisions) of a country.

Each list is read once per process and cached; they never change while the app runs.
"""

from __future__ import annotations

import csv
import zoneinfo
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pycountry
from django.conf import settings

DATA_DIR = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class Industry:
    code: str
    section: str
    description: str

    @property
    def label(self) -> str:
        return f"{self.code} — {self.description}"


@cache
def industries() -> dict[str, Industry]:
    """MSIC 2008 5-digit codes as LHDN accepts them on e-invoices, keyed by code."""
    with (DATA_DIR / "msic2008.csv").open(encoding="utf-8", newline="") as handle:
        return {
            row["code"]: Industry(row["code"], row["section"], row["description"])
            for row in csv.DictReader(handle)
        }


def industry(code: str) -> Industry | None:
    return industries().get(code)


@cache
def currency_choices() -> list[tuple[str, str]]:
    """ISO 4217 currencies: ``("MYR", "MYR — Malaysian Ringgit")``."""
    return sorted((c.alpha_3, f"{c.alpha_3} — {c.name}") for c in pycountry.currencies)


@cache
def currency_codes() -> frozenset[str]:
    return frozenset(code for code, _ in currency_choices())


@cache
def timezone_choices() -> list[tuple[str, str]]:
    """IANA time zones, canonical area/city names only (no ``Etc/GMT+8`` style aliases)."""
    names = sorted(
        name
        for name in zoneinfo.available_timezones()
        if "/" in name and not name.startswith(("Etc/", "SystemV/", "US/"))
    )
    return [("UTC", "UTC"), *((name, name.replace("_", " ")) for name in names)]


@cache
def timezone_names() -> frozenset[str]:
    return frozenset(name for name, _ in timezone_choices())


def language_choices() -> list[tuple[str, str]]:
    """The languages the provider writes to customers in (settings.CUSTOMER_LANGUAGES)."""
    return list(settings.CUSTOMER_LANGUAGES)


@cache
def subdivisions(country_code: str) -> dict[str, str]:
    """A country's top-level ISO 3166-2 subdivisions, code → name (``MY-10`` → Selangor).

    Only top-level units: a postal address names a state, not a district inside it.
    """
    found = pycountry.subdivisions.get(country_code=country_code.upper()) or []
    top_level = [s for s in found if not getattr(s, "parent_code", None)]
    return dict(sorted(((s.code, s.name) for s in top_level), key=lambda item: item[1]))


def subdivision_name(code: str) -> str:
    if not code or "-" not in code:
        return code
    return subdivisions(code.split("-", 1)[0]).get(code, code)


# --- defaults a new customer takes from its country -----------------------------------------

# Country → (ISO 4217 currency, IANA time zone) for the markets a provider usually bills.
# Countries spanning several zones get the capital's. Missing countries: no default, the
# staff member picks both (``defaults_for_country`` returns ``None``).
COUNTRY_DEFAULTS: dict[str, tuple[str, str]] = {
    "MY": ("MYR", "Asia/Kuala_Lumpur"),
    "SG": ("SGD", "Asia/Singapore"),
    "ID": ("IDR", "Asia/Jakarta"),
    "TH": ("THB", "Asia/Bangkok"),
    "PH": ("PHP", "Asia/Manila"),
    "VN": ("VND", "Asia/Ho_Chi_Minh"),
    "BN": ("BND", "Asia/Brunei"),
    "KH": ("KHR", "Asia/Phnom_Penh"),
    "LA": ("LAK", "Asia/Vientiane"),
    "MM": ("MMK", "Asia/Yangon"),
    "HK": ("HKD", "Asia/Hong_Kong"),
    "TW": ("TWD", "Asia/Taipei"),
    "CN": ("CNY", "Asia/Shanghai"),
    "JP": ("JPY", "Asia/Tokyo"),
    "KR": ("KRW", "Asia/Seoul"),
    "IN": ("INR", "Asia/Kolkata"),
    "BD": ("BDT", "Asia/Dhaka"),
    "PK": ("PKR", "Asia/Karachi"),
    "LK": ("LKR", "Asia/Colombo"),
    "AE": ("AED", "Asia/Dubai"),
    "SA": ("SAR", "Asia/Riyadh"),
    "AU": ("AUD", "Australia/Sydney"),
    "NZ": ("NZD", "Pacific/Auckland"),
    "GB": ("GBP", "Europe/London"),
    "IE": ("EUR", "Europe/Dublin"),
    "DE": ("EUR", "Europe/Berlin"),
    "FR": ("EUR", "Europe/Paris"),
    "NL": ("EUR", "Europe/Amsterdam"),
    "CH": ("CHF", "Europe/Zurich"),
    "US": ("USD", "America/New_York"),
    "CA": ("CAD", "America/Toronto"),
}


def defaults_for_country(country: str) -> tuple[str, str] | None:
    """The currency and time zone a new customer in ``country`` (ISO code) starts with, or
    ``None`` when there is no default for it."""
    return COUNTRY_DEFAULTS.get((country or "").upper())
