"""The demo data set loaded by ``make run`` on first start. Sign-ins are printed and listed
in the README; every password is ``DEMO_PASSWORD``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEMO_PASSWORD = "clientdesk-demo-2026"  # noqa: S105 - printed on purpose; demo only


@dataclass(frozen=True)
class DemoLogin:
    email: str
    who: str


DEMO_LOGINS = [
    DemoLogin("aisha@maju-digital.example", "customer owner (Maju Digital Sdn Bhd)"),
    DemoLogin("farid@maju-digital.example", "customer member (Maju Digital Sdn Bhd)"),
    DemoLogin("lim@ledgerwise.example", "accountant on two customers (switcher)"),
    DemoLogin("nurul@mail.example", "individual customer (owner)"),
    DemoLogin("siti@teratai.example", "billing contact (decoupled billing details)"),
    DemoLogin("support@clientdesk.example", "staff: support agent (enrols 2FA on first visit)"),
    DemoLogin("manager@clientdesk.example", "staff: manager (enrols 2FA on first visit)"),
    DemoLogin("billing@clientdesk.example", "staff: billing"),
    DemoLogin("admin@clientdesk.example", "superuser (/admin/)"),
]


@dataclass(frozen=True)
class DemoPerson:
    email: str
    first_name: str
    last_name: str
    role: str  # customers.roles.Role value
    job_title: str = ""
    phone: str = ""
    # "active": signs in with DEMO_PASSWORD; "invited": invitation pending; "off": no access.
    portal: str = "active"


@dataclass(frozen=True)
class DemoCustomer:
    name: str
    kind: str  # customers.models.Customer.Kind value
    people: tuple[DemoPerson, ...]
    country: str = "MY"
    currency: str = "MYR"
    timezone: str = "Asia/Kuala_Lumpur"
    # section → values, applied in this order through update_profile_section
    profile: dict[str, dict[str, Any]] = field(default_factory=dict)
    software_level: str = ""


# Ordered product release levels that staff maintain (seed 002's "software level").
DEMO_SOFTWARE_LEVELS = ["3.0", "4.0", "4.0 SP2", "5.0"]


# (email, full name, staff roles, superuser)
DEMO_STAFF = [
    ("support@clientdesk.example", "Sam Tan", ["support"], False),
    ("manager@clientdesk.example", "Mei Ling Wong", ["manager", "support"], False),
    ("billing@clientdesk.example", "Ravi Kumar", ["billing"], False),
    ("admin@clientdesk.example", "Data Admin", [], True),
]

_LIM = DemoPerson("lim@ledgerwise.example", "Lim", "Wei Jie", "billing")

DEMO_CUSTOMERS = [
    # A Malaysian Sdn Bhd with complete e-invoice details.
    DemoCustomer(
        "Maju Digital Sdn Bhd",
        "business",
        (
            DemoPerson(
                "aisha@maju-digital.example", "Aisha", "Rahman", "owner", "Managing Director"
            ),
            DemoPerson(
                "farid@maju-digital.example", "Farid", "Ismail", "member", "Project Manager"
            ),
            _LIM,
            DemoPerson(
                "daniel@maju-digital.example",
                "Daniel",
                "Tan",
                "technical",
                "Systems Engineer",
                "+60 12-345 6789",
                portal="invited",
            ),
            DemoPerson(
                "meiling@maju-digital.example",
                "Mei Ling",
                "Chong",
                "member",
                "Accounts Payable",
                portal="off",
            ),
        ),
        software_level="4.0",
        profile={
            "legal": {
                "legal_name": "Maju Digital Sdn. Bhd.",
                "legal_line1": "Level 8, Menara Maju",
                "legal_line2": "Jalan Teknologi 3/9",
                "legal_city": "Petaling Jaya",
                "legal_postcode": "47810",
                "legal_state": "Selangor",
                "country": "MY",
            },
            "business": {
                "trading_name": "Maju Digital",
                "registration_number": "201901012345",
                "website": "https://maju-digital.example",
            },
            "personal": {
                "full_name": "Aisha binti Rahman",
                "nationality": "MY",
                "date_of_birth": "1985-07-12",
                "id_type": "nric",
                "id_number": "850712-10-5568",
            },
            "einvoice": {
                "tin": "C2584563200",
                "sst_number": "W10-1808-32000092",
                "msic_code": "62010",
                "business_activity": "Software development and managed hosting",
                "einvoice_email": "einvoice@maju-digital.example",
            },
            "contact": {
                "billing_email": "accounts@maju-digital.example",
                "phone": "03-7890 1234",
                "mobile": "012-345 6789",
            },
        },
    ),
    # An individual.
    DemoCustomer(
        "Nurul Huda binti Ahmad",
        "individual",
        (DemoPerson("nurul@mail.example", "Nurul Huda", "binti Ahmad", "owner"),),
        software_level="3.0",
        profile={
            "legal": {
                "legal_name": "Nurul Huda binti Ahmad",
                "legal_line1": "12, Jalan Tun Razak",
                "legal_city": "Kuala Lumpur",
                "legal_postcode": "50400",
                "legal_state": "MY-14",
                "country": "MY",
            },
            "personal": {
                "full_name": "Nurul Huda binti Ahmad",
                "nationality": "MY",
                "date_of_birth": "1990-02-14",
                "id_type": "nric",
                "id_number": "900214-14-5432",
            },
            "einvoice": {"tin": "IG11500200", "msic_code": "00000"},
            "contact": {"mobile": "+60 13-456 7890"},
        },
    ),
    # A Singapore company.
    DemoCustomer(
        "Harbourline Logistics Pte Ltd",
        "business",
        (DemoPerson("grace@harbourline.example", "Grace", "Lee", "owner"), _LIM),
        country="SG",
        currency="SGD",
        timezone="Asia/Singapore",
        software_level="5.0",
        profile={
            "legal": {
                "legal_name": "Harbourline Logistics Pte. Ltd.",
                "legal_line1": "1 Harbourfront Avenue",
                "legal_line2": "#14-07 Keppel Bay Tower",
                "legal_city": "Singapore",
                "legal_postcode": "098632",
                "country": "SG",
            },
            "business": {"registration_number": "201912345R"},
            "contact": {"phone": "+65 6123 4567"},
        },
    ),
    # Billing details decoupled from the legal ones (invoices go to the head office).
    DemoCustomer(
        "Teratai Hospitality Sdn Bhd",
        "business",
        (
            DemoPerson("hafiz@teratai.example", "Hafiz", "Omar", "owner"),
            DemoPerson("siti@teratai.example", "Siti", "Aminah", "billing"),
        ),
        software_level="4.0 SP2",
        profile={
            "legal": {
                "legal_name": "Teratai Hospitality Sdn. Bhd.",
                "legal_line1": "Lot 3, Jalan Pantai Cenang",
                "legal_city": "Langkawi",
                "legal_postcode": "07000",
                "legal_state": "Kedah",
                "country": "MY",
            },
            "billing": {
                "billing_follows_legal": False,
                "billing_name": "Teratai Group Accounts Department",
                "billing_line1": "Suite 21-3, Menara Teratai",
                "billing_line2": "Jalan Sultan Ismail",
                "billing_city": "Kuala Lumpur",
                "billing_postcode": "50250",
                "billing_state": "MY-14",
                "billing_country": "MY",
            },
            "business": {"registration_number": "201501023456"},
        },
    ),
]


@dataclass(frozen=True)
class DemoTaxRule:
    country: str
    name: str
    rate: str  # percent
    effective_from: str  # ISO date; a later rule for the country ends this one


# In date order per country: each rule ends the one before it (rates change by a new rule).
DEMO_TAX_RULES = [
    DemoTaxRule("MY", "SST", "6.00", "2018-09-01"),
    DemoTaxRule("MY", "SST", "8.00", "2024-03-01"),
    DemoTaxRule("SG", "GST", "7.00", "2007-07-01"),
    DemoTaxRule("SG", "GST", "8.00", "2023-01-01"),
    DemoTaxRule("SG", "GST", "9.00", "2024-01-01"),
    DemoTaxRule("ID", "PPN", "10.00", "1985-01-01"),
    DemoTaxRule("ID", "PPN", "11.00", "2022-04-01"),
    DemoTaxRule("TH", "VAT", "7.00", "1999-04-01"),
    DemoTaxRule("PH", "VAT", "12.00", "2006-02-01"),
]
