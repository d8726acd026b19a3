# ruff: noqa: S311 -- test data from a seeded (repeatable) generator
"""A realistic customer CSV for trying and measuring the customer import
(``customers.imports``): what a provider exports from WHMCS, FOSSBilling or a spreadsheet.

Names come from the data set generator's lists (Malay, Chinese, Indian and English names;
company names in the region's styles), 78 % of customers are Malaysian, 15 % individuals;
Malaysian businesses carry an SSM number and a TIN, individuals an IG TIN; about half have
an address, most a phone; a few names are written in Chinese characters or with accents.
Owner emails, registration numbers and TINs are unique within a file, and files made with
different seeds (1 to 6) do not collide with each other.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

from clientdesk.customers.imports import COLUMN_NAMES

from .dataset import COUNTRIES, _company, _person, _phone, _weighted

CITIES = [
    ("Kuala Lumpur", "50450", "MY-14"),
    ("Petaling Jaya", "46200", "MY-10"),
    ("Shah Alam", "40000", "MY-10"),
    ("George Town", "10200", "MY-07"),
    ("Johor Bahru", "80000", "MY-01"),
    ("Ipoh", "30000", "MY-08"),
    ("Kota Kinabalu", "88000", "MY-12"),
    ("Kuching", "93000", "MY-13"),
    ("Melaka", "75000", "MY-04"),
]
STREETS = ["Jalan Maju", "Jalan Teknologi", "Jalan Ampang", "Jalan Tun Razak", "Lorong Bunga"]
UNICODE_NAMES = [("伟明", "陈"), ("美玲", "林"), ("Zoë", "Müller"), ("José", "Peña")]
UNICODE_COMPANIES = ["Café Nusantara", "陈氏贸易", "Crème Brûlée Bakery", "Mutiara Élan"]


def make_import_csv(path: str | Path, rows: int, seed: int = 1) -> Path:
    """Write ``rows`` customers to ``path`` (UTF-8 with a BOM, as Excel saves it)."""
    rng = random.Random(seed)
    target = Path(path)
    with target.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(COLUMN_NAMES)
        for index in range(rows):
            writer.writerow(_row(rng, index, seed))
    return target


def _row(rng: random.Random, index: int, seed: int) -> list[str]:
    country = _weighted(rng, COUNTRIES)
    individual = rng.random() < 0.15
    unicode_name = rng.random() < 0.03
    first, last = rng.choice(UNICODE_NAMES) if unicode_name else _person(rng)
    if individual:
        name = f"{first} {last}" if not unicode_name else f"{last}{first}"
    elif unicode_name:
        name = f"{rng.choice(UNICODE_COMPANIES)} Sdn Bhd"
    else:
        name = _company(rng, country)
    domain = "".join(ch for ch in name.lower() if ch.isascii() and ch.isalnum())[:20] or "mail"
    local = "".join(ch for ch in f"{first}.{last}".lower() if ch.isascii() and ch != " ")
    values = dict.fromkeys(COLUMN_NAMES, "")
    values.update(
        kind="individual" if individual else "business",
        name=name,
        country=country,
        owner_first_name=first,
        owner_last_name=last,
        owner_email=f"{local.strip('.') or 'owner'}.{seed}x{index}@{domain}.example",
    )
    if country == "MY":
        if individual:
            values["tin"] = f"IG{seed % 100:02d}{index:08d}"
        else:
            # Registered this year: generate_dataset's customers have 1990–2025, so a file
            # imports into a generated data set without colliding (make bench does that).
            year = 2026 - (index // 1_000_000) % 36
            values["registration_number"] = f"{year}{seed % 6 + 1:02d}{index % 1_000_000:06d}"
            values["tin"] = f"C{seed % 100:02d}{index:08d}"
        if rng.random() < 0.5:
            city, postcode, state = rng.choice(CITIES)
            values.update(
                address_line1=f"No. {rng.randrange(1, 200)}, {rng.choice(STREETS)} "
                f"{rng.randrange(1, 12)}",
                city=city,
                postcode=postcode,
                state=state,
            )
    if rng.random() < 0.6:
        values["phone"] = _phone(rng)
    if rng.random() < 0.4:
        values["owner_phone"] = _phone(rng)
    if rng.random() < 0.3:
        values["billing_mode"] = "postpaid"
        values["credit_limit"] = rng.choice(["1000", "5000.00", "20000"])
    if not individual and rng.random() < 0.05:
        values["pricing_model"] = "custom"
        values["price_adjustment_percent"] = rng.choice(["-10", "-5", "7.5"])
    return [values[name] for name in COLUMN_NAMES]
