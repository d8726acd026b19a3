"""The demo data set loaded by ``make run`` on first start. Sign-ins are printed and listed
in the README; every password is ``DEMO_PASSWORD``."""

from __future__ import annotations

from dataclasses import dataclass

DEMO_PASSWORD = "clientdesk-demo-2026"  # noqa: S105 - printed on purpose; demo only


@dataclass(frozen=True)
class DemoLogin:
    email: str
    who: str


DEMO_LOGINS = [
    DemoLogin("aisha@maju-digital.example", "customer owner (Maju Digital Sdn Bhd)"),
    DemoLogin("farid@maju-digital.example", "customer member (Maju Digital Sdn Bhd)"),
    DemoLogin("lim@ledgerwise.example", "accountant on two customers (switcher)"),
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


@dataclass(frozen=True)
class DemoCustomer:
    name: str
    kind: str  # customers.models.Customer.Kind value
    people: tuple[DemoPerson, ...]


# (email, full name, staff roles, superuser)
DEMO_STAFF = [
    ("support@clientdesk.example", "Sam Tan", ["support"], False),
    ("manager@clientdesk.example", "Mei Ling Wong", ["manager", "support"], False),
    ("billing@clientdesk.example", "Ravi Kumar", ["billing"], False),
    ("admin@clientdesk.example", "Data Admin", [], True),
]

_LIM = DemoPerson("lim@ledgerwise.example", "Lim", "Wei Jie", "billing")

DEMO_CUSTOMERS = [
    DemoCustomer(
        "Maju Digital Sdn Bhd",
        "business",
        (
            DemoPerson("aisha@maju-digital.example", "Aisha", "Rahman", "owner"),
            DemoPerson("farid@maju-digital.example", "Farid", "Ismail", "member"),
            _LIM,
        ),
    ),
    DemoCustomer(
        "Nurul Huda binti Ahmad",
        "individual",
        (DemoPerson("nurul@mail.example", "Nurul Huda", "binti Ahmad", "owner"),),
    ),
    DemoCustomer(
        "Harbourline Logistics Pte Ltd",
        "business",
        (DemoPerson("grace@harbourline.example", "Grace", "Lee", "owner"), _LIM),
    ),
]
