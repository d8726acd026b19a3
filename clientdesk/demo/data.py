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
