"""Invariants the data must satisfy whatever happened: after a load test, a restore, an
incident. Each check is a plain function returning a list of problems (empty: it holds), so
the load test (``scripts/loadtest.py``), ``manage.py check_invariants`` and the tests call
the same code.

- ``ledger``: every stored balance equals the sum of its entries (``ledger.queries.reconcile``,
  the same proof ``manage.py ledger_reconcile`` gives);
- ``owners``: every customer that is not closed and has contacts has exactly one owner (the
  database refuses a second owner; a missing one — all contacts but the owner deleted, or
  an owner demoted without a transfer — only a check can find). Closed customers are left
  out: anonymisation deletes their contacts, and a closed account changes no more;
- ``emails``: no two sign-ins share a login email, compared the way sign-in compares them
  (``users.emails.email_key``: Unicode NFKC and case-folded), no user's stored key has
  drifted from their email, and allauth's copies of the addresses belong to one user each;
- ``outbox``: every outbox event has been relayed (has a feed position, so its webhook
  deliveries exist), no webhook delivery is waiting or being sent, no background task is
  waiting or running, and no logged email is still waiting to be sent;
- ``failures`` (strict mode only): no webhook delivery gave up or waits for a retry, no
  email failed and no task failed. Left out by default because a live system keeps
  failed deliveries to a dead endpoint for weeks.

Each check reads in a few aggregate queries (``emails`` walks the users, which are far
fewer than customers); none writes anything.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

from allauth.account.models import EmailAddress
from django.db.models import Count, Q
from django.db.models.functions import Lower
from django_tasks_db.models import DBTaskResult

from clientdesk.customers.models import NUMBER_PREFIX, Contact, Customer
from clientdesk.customers.roles import Role
from clientdesk.events.models import Event
from clientdesk.ledger.queries import reconcile
from clientdesk.notifications.models import MailLog
from clientdesk.users.emails import email_key
from clientdesk.users.models import User
from clientdesk.webhooks.models import Delivery

# At most this many lines per check; the rest is counted ("… and 12 more").
SHOWN = 20

Check = Callable[[], list[str]]


def _bounded(problems: list[str], total: int | None = None) -> list[str]:
    total = len(problems) if total is None else total
    if total > SHOWN:
        return [*problems[:SHOWN], f"… and {total - SHOWN} more"]
    return problems


def _client_ids(customer_ids: Iterable[int]) -> dict[int, str]:
    rows = Customer.objects.filter(pk__in=list(customer_ids)).values_list("pk", "number")
    return {pk: f"{NUMBER_PREFIX}{number}" for pk, number in rows}


def check_ledger() -> list[str]:
    """Every stored balance (and entry count) equals the sum (and count) of its entries."""
    mismatches = reconcile()
    names = _client_ids(m.customer_id for m in mismatches[:SHOWN])
    problems = [
        f"ledger: {names.get(m.customer_id, f'customer id {m.customer_id}')} stores balance "
        f"{m.stored:.2f} over {m.stored_count} entries, but its entries sum to {m.summed:.2f} over "
        f"{m.counted}"
        for m in mismatches[:SHOWN]
    ]
    return _bounded(problems, len(mismatches))


def check_owners() -> list[str]:
    """Exactly one owner per customer that is not closed and has contacts."""
    rows = list(
        Contact.objects.exclude(customer__status=Customer.Status.CLOSED)
        .values("customer_id")
        .annotate(owners=Count("id", filter=Q(role=Role.OWNER)))
        .exclude(owners=1)
        .order_by("customer_id")
        .values_list("customer_id", "owners")
    )
    names = _client_ids(pk for pk, _ in rows[:SHOWN])
    problems = [
        f"owners: {names.get(pk, f'customer id {pk}')} has {owners} owners (exactly one expected)"
        for pk, owners in rows[:SHOWN]
    ]
    return _bounded(problems, len(rows))


def check_emails() -> list[str]:
    """No two users share a login email (case- and Unicode-insensitively); every user's
    comparison key matches their email; allauth's addresses belong to one user each."""
    problems: list[str] = []
    by_key: dict[str, list[int]] = defaultdict(list)
    rows = User.objects.order_by("pk").values_list("pk", "email", "email_key")
    for pk, email, stored_key in rows.iterator(chunk_size=5000):
        key = email_key(email)
        by_key[key].append(pk)
        if stored_key != key:
            problems.append(
                f"emails: user {pk} ({email}) has the comparison key {stored_key!r}, "
                f"not {key!r}: the unique constraint no longer protects this address"
            )
    for key, users in by_key.items():
        if len(users) > 1:
            problems.append(
                f"emails: {len(users)} users sign in as {key} "
                f"(user ids {', '.join(map(str, users))})"
            )
    shared = (
        EmailAddress.objects.annotate(folded=Lower("email"))
        .values("folded")
        .annotate(owners=Count("user_id", distinct=True))
        .filter(owners__gt=1)
        .order_by("folded")
        .values_list("folded", "owners")
    )
    for folded, owners in shared[: SHOWN + 1]:
        problems.append(f"emails: the address {folded} is on {owners} users' accounts")
    return _bounded(problems)


def check_outbox() -> list[str]:
    """Nothing left in flight: events relayed, deliveries finished, tasks done."""
    problems: list[str] = []
    unrelayed = Event.objects.filter(position__isnull=True).count()
    if unrelayed:
        problems.append(f"outbox: {unrelayed} event(s) not relayed yet (no feed position)")
    in_flight = dict(
        Delivery.objects.filter(status__in=[Delivery.Status.PENDING, Delivery.Status.SENDING])
        .values("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    for status, n in sorted(in_flight.items()):
        problems.append(f"outbox: {n} webhook deliveries still {status}")
    waiting = DBTaskResult.objects.ready().count()  # due now (not scheduled for later)
    if waiting:
        problems.append(f"outbox: {waiting} background task(s) waiting to run")
    running = DBTaskResult.objects.running().count()
    if running:
        problems.append(f"outbox: {running} background task(s) still running")
    queued = MailLog.objects.filter(status=MailLog.Status.QUEUED).count()
    if queued:
        problems.append(f"outbox: {queued} email(s) logged but not sent yet")
    return problems


def check_failures() -> list[str]:
    """Strict mode: no delivery gave up and no task failed (a load test expects none)."""
    problems: list[str] = []
    failed = Delivery.objects.filter(status=Delivery.Status.FAILED).count()
    if failed:
        problems.append(f"failures: {failed} webhook deliveries failed for good")
    retrying = Delivery.objects.filter(status=Delivery.Status.PENDING, attempts__gt=0).count()
    if retrying:
        problems.append(f"failures: {retrying} webhook deliveries failed and wait for a retry")
    mails = MailLog.objects.filter(status=MailLog.Status.FAILED).count()
    if mails:
        problems.append(f"failures: {mails} email(s) could not be sent")
    tasks = list(
        DBTaskResult.objects.failed()
        .values("task_path", "exception_class_path")
        .annotate(n=Count("id"))
        .order_by("task_path")
        .values_list("task_path", "exception_class_path", "n")
    )
    for path, exception, n in tasks:
        problems.append(f"failures: {n} task(s) {path} failed ({exception or 'no exception'})")
    return _bounded(problems)


CHECKS: dict[str, Check] = {
    "ledger": check_ledger,
    "owners": check_owners,
    "emails": check_emails,
    "outbox": check_outbox,
}
STRICT_CHECKS: dict[str, Check] = {**CHECKS, "failures": check_failures}


def run_checks(names: Iterable[str] | None = None, *, strict: bool = False) -> dict[str, list[str]]:
    """The problems found by each named check (all of them by default)."""
    available = STRICT_CHECKS if strict else CHECKS
    chosen = list(names) if names is not None else list(available)
    unknown = [name for name in chosen if name not in STRICT_CHECKS]
    if unknown:
        raise ValueError(f"Unknown check(s): {', '.join(unknown)}")
    return {name: STRICT_CHECKS[name]() for name in chosen}
