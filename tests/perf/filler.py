"""Realistic filler rows for query-plan tests, written in bulk (thousands of rows in well
under a second on SQLite).

Shapes follow ``generate_dataset``: most customers active and Malaysian, a few suspended or
closed or elsewhere in the region; history spread over many customers plus one deep
customer (the one a test pages through); change requests mostly decided; the mail log mostly
sent. Rows are test data written straight to the tables, not through the actions (as the
data set generator does): the plans only care about how many rows of which kind exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from clientdesk.audit.models import Activity
from clientdesk.change_requests.models import ChangeRequest, Status
from clientdesk.customers.models import Contact, Customer, Note
from clientdesk.ledger.models import Entry
from clientdesk.notifications.models import MailLog
from clientdesk.users.models import User

FIRST_NUMBER = 700_000
COUNTRIES = ["MY"] * 78 + ["SG"] * 8 + ["ID"] * 5 + ["TH"] * 4 + ["PH"] * 3 + ["VN"] * 2
NAMES = ["Maju", "Jaya", "Sinar", "Harimau", "Evergreen", "Golden", "Pacific", "Lotus", "Teknik"]
DECIDED = [Status.APPROVED, Status.REJECTED, Status.CANCELLED, Status.PARTLY_APPROVED]


@dataclass(frozen=True)
class Filled:
    customers: list[int]  # the filler customers' ids
    deep: Customer  # the customer with a long history


def customers(count: int) -> list[int]:
    """``count`` customers: 90 % active, 7 % suspended, 3 % closed; 78 % in Malaysia;
    created over ten years (not in id order)."""
    now = timezone.now()
    rows = []
    for i in range(count):
        status = (
            Customer.Status.CLOSED
            if i % 33 == 0
            else Customer.Status.SUSPENDED
            if i % 14 == 0
            else Customer.Status.ACTIVE
        )
        name = f"{NAMES[i % len(NAMES)]} {NAMES[(i // 9) % len(NAMES)]} {i:05d} Sdn Bhd"
        rows.append(
            Customer(
                number=FIRST_NUMBER + i,
                display_name=name,
                legal_name=name,
                status=status,
                closed_at=now if status == Customer.Status.CLOSED else None,
                country=COUNTRIES[(i * 7) % len(COUNTRIES)],
                kind=Customer.Kind.INDIVIDUAL if i % 5 == 0 else Customer.Kind.BUSINESS,
            )
        )
    made = Customer.objects.bulk_create(rows, batch_size=500)
    ids = [c.pk for c in made] or list(
        Customer.objects.filter(number__gte=FIRST_NUMBER).values_list("pk", flat=True)
    )
    # auto_now_add stamped them all "now": spread the creation dates over ten years.
    for step in range(40):
        Customer.objects.filter(pk__in=ids[step::40]).update(
            created_at=now - timedelta(days=(step * 97) % 3650)
        )
    return ids


def contacts(customer_ids: list[int], per_customer: int = 2) -> None:
    rows = [
        Contact(
            customer_id=customer_id,
            first_name=f"{NAMES[(n + k) % len(NAMES)]}",
            last_name=f"Person{n}",
            email=f"p{n}.{k}@filler.example",
            role="owner" if k == 0 else "member",
        )
        for n, customer_id in enumerate(customer_ids)
        for k in range(per_customer)
    ]
    Contact.objects.bulk_create(rows, batch_size=1000)


def activity(customer_ids: list[int], count: int, *, staff_only_every: int = 4) -> None:
    rows = [
        Activity(
            customer_id=customer_ids[n % len(customer_ids)],
            verb="customer.updated" if n % 3 else "note.added",
            actor_label="System",
            source=Activity.Source.SYSTEM,
            changes={"trading_name": [f"Old {n}", f"New {n}"]},
            staff_only=n % staff_only_every == 0,
        )
        for n in range(count)
    ]
    Activity.objects.bulk_create(rows, batch_size=1000)


def ledger(customer_ids: list[int], count: int) -> None:
    now = timezone.now()
    rows = []
    for n in range(count):
        charge = n % 4 == 3
        rows.append(
            Entry(
                customer_id=customer_ids[n % len(customer_ids)],
                kind=Entry.Kind.CHARGE if charge else Entry.Kind.TOP_UP,
                amount=Decimal("-1.00") if charge else Decimal("2.00"),
                currency="MYR",
                balance_after=Decimal(n),
                description=f"Filler {n}",
                idempotency_key=f"filler-{n}",
                fingerprint="x",
                actor_label="System",
                source="system",
                created_at=now - timedelta(hours=count - n),
            )
        )
    Entry.objects.bulk_create(rows, batch_size=1000)


def change_requests(customer_ids: list[int], count: int, *, open_every: int = 5) -> None:
    """``count`` requests, one in ``open_every`` still open (each on its own customer and
    kind, as the one-open-per-kind constraint wants)."""
    kinds = [k for k in ChangeRequest.Kind.values if k != "primary_email"]
    rows = []
    for n in range(count):
        is_open = n % open_every == 0
        rows.append(
            ChangeRequest(
                number=FIRST_NUMBER + n,
                customer_id=customer_ids[n % len(customer_ids)],
                kind=kinds[(n // open_every) % len(kinds)] if is_open else kinds[n % len(kinds)],
                status=Status.OPEN if is_open else DECIDED[n % len(DECIDED)],
                requested={"legal_name": f"Name {n}"},
                snapshot={},
                submitted_by_label="Someone",
                submitted_source="portal",
            )
        )
    ChangeRequest.objects.bulk_create(rows, batch_size=1000)


def notes(customer_ids: list[int], count: int, *, author: User) -> None:
    rows = [
        Note(
            customer_id=customer_ids[n % len(customer_ids)],
            body=f"Called about invoice {n}",
            reason="Customer call",
            author=author,
            authorised_by=author,
            pinned=n % 50 == 0,
        )
        for n in range(count)
    ]
    Note.objects.bulk_create(rows, batch_size=1000)


def mail(customer_ids: list[int], count: int) -> None:
    statuses = [MailLog.Status.SENT] * 18 + [MailLog.Status.FAILED, MailLog.Status.QUEUED]
    rows = [
        MailLog(
            to=f"p{n}@filler.example",
            subject=f"Your account {n}",
            template=["invitation", "password_reset", "change_request_decided"][n % 3],
            status=statuses[n % len(statuses)],
            customer_id=customer_ids[n % len(customer_ids)] if n % 5 else None,
        )
        for n in range(count)
    ]
    MailLog.objects.bulk_create(rows, batch_size=1000)


HISTORY = frozenset({"contacts", "activity", "ledger", "change_requests", "notes", "mail"})


def fill(
    deep: Customer,
    *,
    author: User,
    history: frozenset[str] = HISTORY,
    customers_count: int = 3000,
) -> Filled:
    """A business's worth of customers around ``deep`` and the kinds of ``history`` a test
    reads (each kind costs a fraction of a second); ``deep`` gets a long history of its own.
    ``author`` writes the staff notes."""
    ids = customers(customers_count)
    if "contacts" in history:
        contacts(ids)
    # The deep customer holds about 1 % of the history (a large customer among thousands):
    # enough pages to page deep, few enough that its rows are found through its index.
    if "activity" in history:
        activity(ids, 12000)
        activity([deep.pk], 150)
    if "ledger" in history:
        ledger(ids, 12000)
        ledger([deep.pk], 150)
    if "change_requests" in history:
        change_requests(ids, 2000)
    if "notes" in history:
        notes(ids, 3000, author=author)
        notes([deep.pk], 300, author=author)
    if "mail" in history:
        mail(ids, 8000)
        mail([deep.pk], 80)
    return Filled(customers=ids, deep=deep)
