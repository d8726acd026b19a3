"""The demo customers' ledgers (issue 8): posted through ``ledger.actions`` like any posting.

- Maju Digital (prepaid): top-ups, monthly charges, a charge posted by mistake and reversed,
  a goodwill adjustment; in credit.
- Teratai Hospitality (postpaid, credit limit MYR 5,000): charges on account, a part
  payment; owes money.
- Harbourline Logistics (prepaid, SGD): a top-up, a charge and the rest withdrawn; zero.
- Nurul Huda: no entries (the empty statement).

Every posting has a fixed idempotency key (``demo-…``), so loading again posts nothing new
and answers with the first postings: ``seed_demo`` may call ``load_demo_ledgers`` on every
run. The postings are the system's (``Actor.system()``); switching Teratai to postpaid is a
manager action, done as the demo manager with a reason (skipped if that user is missing).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from clientdesk.core.actor import Actor, Source
from clientdesk.core.errors import DomainError
from clientdesk.customers.models import Customer
from clientdesk.ledger import actions as ledger
from clientdesk.users.models import User

DEMO_MANAGER_EMAIL = "manager@clientdesk.example"


@dataclass(frozen=True)
class DemoPosting:
    key: str  # the idempotency key, unique per customer
    kind: str  # ledger.models.Entry.Kind value
    amount: str
    description: str
    reference: str = ""
    reason: str = ""
    direction: str = ""  # adjustments: credit or debit
    reverse: str = ""  # "reverse the posting with this key" (kind and amount are ignored)


@dataclass(frozen=True)
class DemoLedger:
    legal_name: str  # found by legal name (the display name may follow the trading name)
    postings: tuple[DemoPosting, ...]
    billing_mode: str = Customer.BillingMode.PREPAID
    credit_limit: str = ""
    mode_reason: str = ""


DEMO_LEDGERS: list[DemoLedger] = [
    DemoLedger(
        "Maju Digital Sdn. Bhd.",
        (
            DemoPosting(
                "demo-maju-1", "top_up", "1500.00", "Credit top-up by FPX", "FPX-20260105-88213"
            ),
            DemoPosting(
                "demo-maju-2", "charge", "389.00", "Managed hosting, January", "INV-2026-0112"
            ),
            DemoPosting("demo-maju-3", "charge", "89.90", "Domain renewal maju-digital.example"),
            DemoPosting(
                "demo-maju-4", "charge", "389.00", "Managed hosting, January", "INV-2026-0112"
            ),
            DemoPosting(
                "demo-maju-5",
                "reversal",
                "",
                "",
                reason="The January hosting invoice was charged twice.",
                reverse="demo-maju-4",
            ),
            DemoPosting(
                "demo-maju-6", "charge", "389.00", "Managed hosting, February", "INV-2026-0208"
            ),
            DemoPosting(
                "demo-maju-7",
                "adjustment",
                "50.00",
                "Goodwill credit for the 2 February outage",
                reason="Service credit agreed by support for the outage on 2 February.",
                direction="credit",
            ),
            DemoPosting(
                "demo-maju-8", "top_up", "500.00", "Credit top-up by bank transfer", "MBB-774120"
            ),
            DemoPosting(
                "demo-maju-9", "charge", "389.00", "Managed hosting, March", "INV-2026-0307"
            ),
        ),
    ),
    DemoLedger(
        "Teratai Hospitality Sdn. Bhd.",
        (
            DemoPosting(
                "demo-teratai-1", "charge", "1850.00", "Hotel booking engine, Q1", "INV-2026-0031"
            ),
            DemoPosting(
                "demo-teratai-2", "charge", "1200.00", "Guest Wi-Fi portal, Q1", "INV-2026-0032"
            ),
            DemoPosting(
                "demo-teratai-3",
                "debt_payment",
                "1000.00",
                "Part payment by bank transfer",
                "CIMB-551902",
            ),
            DemoPosting(
                "demo-teratai-4", "charge", "240.00", "SMS notifications, February", "INV-2026-0219"
            ),
        ),
        billing_mode=Customer.BillingMode.POSTPAID,
        credit_limit="5000.00",
        mode_reason="Demo data: 30-day payment terms agreed with the group accounts department.",
    ),
    DemoLedger(
        "Harbourline Logistics Pte. Ltd.",
        (
            DemoPosting(
                "demo-harbour-1", "top_up", "300.00", "Credit top-up by PayNow", "PN-8812034"
            ),
            DemoPosting("demo-harbour-2", "charge", "180.00", "Fleet tracking, January"),
            DemoPosting(
                "demo-harbour-3",
                "withdrawal",
                "120.00",
                "Remaining credits refunded on request",
                "REF-SG-0042",
            ),
        ),
    ),
]


@dataclass
class LoadResult:
    posted: int = 0
    already: int = 0
    problems: list[str] = field(default_factory=list)


def load_demo_ledgers(ledgers: list[DemoLedger] | None = None) -> LoadResult:
    """Post the demo ledgers; a second run posts nothing (the keys answer with the first
    postings). A customer that is missing is skipped; a refused posting is reported."""
    result = LoadResult()
    system = Actor.system()
    for demo in DEMO_LEDGERS if ledgers is None else ledgers:
        customer = Customer.objects.filter(legal_name=demo.legal_name).order_by("pk").first()
        if customer is None:
            continue
        with transaction.atomic():
            customer = _ensure_mode(customer, demo, result)
            keys: dict[str, int] = {}
            for posting in demo.postings:
                try:
                    if posting.reverse:
                        original_id = keys.get(posting.reverse)
                        entry = (
                            customer.ledger_entries.filter(pk=original_id).first()
                            if original_id is not None
                            else None
                        )
                        if entry is None:
                            result.problems.append(f"{posting.key}: nothing to reverse")
                            continue
                        done = ledger.reverse_entry(
                            entry, reason=posting.reason, idempotency_key=posting.key, actor=system
                        )
                    else:
                        done = ledger.post_entry(
                            customer,
                            kind=posting.kind,
                            amount=posting.amount,
                            description=posting.description,
                            external_reference=posting.reference,
                            reason=posting.reason,
                            direction=posting.direction,
                            idempotency_key=posting.key,
                            actor=system,
                        )
                except DomainError as error:
                    result.problems.append(f"{customer.client_id} {posting.key}: {error.message}")
                    continue
                keys[posting.key] = done.entry.pk
                if done.created:
                    result.posted += 1
                else:
                    result.already += 1
    return result


def _ensure_mode(customer: Customer, demo: DemoLedger, result: LoadResult) -> Customer:
    """Put the customer in the demo's billing mode (a manager action) before posting."""
    if customer.billing_mode == demo.billing_mode and (
        demo.billing_mode == Customer.BillingMode.PREPAID or customer.credit_limit is not None
    ):
        return customer
    manager = User.objects.filter(email__iexact=DEMO_MANAGER_EMAIL, is_staff=True).first()
    if manager is None:
        result.problems.append(f"{customer.client_id}: no demo manager to set the billing mode")
        return customer
    try:
        return ledger.change_billing_mode(
            customer,
            billing_mode=demo.billing_mode,
            credit_limit=demo.credit_limit,
            reason=demo.mode_reason or "Demo data",
            actor=Actor(manager, Source.STAFF),
        )
    except DomainError as error:
        result.problems.append(f"{customer.client_id}: {error.message}")
        return customer
