# ruff: noqa: S311, S608 -- test data from a seeded (repeatable) generator; the SQL is built
# from model metadata only.
"""A large, realistic data set for measuring search and pages at scale.

Customers and contacts are written with bulk statements (``executemany`` on SQLite, ``COPY``
on PostgreSQL) with ids chosen here, not through the actions: this is test data, and going
through the actions (one transaction, Activity and an event per row) would take hours at a
million customers. The database's own triggers and indexes still apply, so search sees the
rows exactly as it sees customers created by staff.

Names mix Malay, Chinese, Indian and English names; most customers are businesses in
Malaysia, some elsewhere in the region; contacts per customer follow a long tail, and a few
customers are very large.
"""

from __future__ import annotations

import itertools
import math
import queue
import random
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from django.db import connection, transaction
from django.db.models import Max, Model

from clientdesk.audit.models import Activity
from clientdesk.change_requests.models import ChangeRequest
from clientdesk.core.bulk import BulkRows
from clientdesk.core.models import Counter
from clientdesk.customers import search_sql
from clientdesk.customers.actions import FIRST_CUSTOMER_NUMBER
from clientdesk.customers.models import Contact, Customer
from clientdesk.ledger.models import Balance, Entry


def _words(text: str) -> list[str]:
    return text.split()


MALAY_FIRST = _words(
    """
    Ahmad Aisyah Amir Aminah Azlan Farid Hafiz Hidayah Ismail Khairul Nurul Siti Zainal
    Zulkifli Faridah Hakim Rosli Salmah Syafiq Wan
    """
)
MALAY_LAST = _words(
    """
    Abdullah Rahman Ismail Hassan Ibrahim Yusof Omar Ahmad Osman Salleh Aziz Hamid Harun
    Jamal Kassim
    """
)
CHINESE_FIRST = _words(
    """
    Wei Ming Mei Ling Jia Hui Kok Leong Siew Lan Chee Keong Hui Min Boon Huat Li Ting Jun
    Hao Xin Yi Kah Wai
    """
)
CHINESE_LAST = _words(
    """
    Tan Lim Lee Ng Wong Chan Goh Ong Teo Chong Yap Chua Koh Lau Ho Low Foo Leong
    """
)
INDIAN_FIRST = _words(
    """
    Arjun Priya Kavitha Ravi Suresh Deepa Ganesh Lakshmi Vijay Anand Meena Rajesh Devi Kumar
    """
)
INDIAN_LAST = _words(
    """
    Subramaniam Krishnan Pillai Nair Raman Muthu Govindasamy Rajan Chandran Naidu
    """
)
ENGLISH_FIRST = _words(
    """
    James Emily Oliver Sophie Daniel Grace Thomas Hannah Michael Chloe David Laura
    """
)
ENGLISH_LAST = _words(
    """
    Smith Jones Taylor Brown Williams Wilson Johnson Davies Evans Thomas Walker
    """
)
PEOPLE = [
    (MALAY_FIRST, MALAY_LAST, 0.40),
    (CHINESE_FIRST, CHINESE_LAST, 0.35),
    (INDIAN_FIRST, INDIAN_LAST, 0.15),
    (ENGLISH_FIRST, ENGLISH_LAST, 0.10),
]
COMPANY_WORDS = _words(
    """
    Maju Jaya Cahaya Bintang Harimau Teratai Gemilang Sinar Mutiara Permata Setia Bumi
    Global Pacific Eastern Golden Dragon Phoenix Lotus Summit Apex Vertex Horizon Pinnacle
    Nusantara Borneo Melaka Penang Johor Perak Kedah Pahang Selangor Sabah Sarawak Kinabalu
    Orchid Jasmine Rimba Samudera Angkasa Wira Perdana Mega Prima Delta Omega Sigma Nova
    Citra Indah Makmur Sentosa Bestari Lestari Murni Cemerlang Unggul Kencana Sakura
    Evergreen Crystal Silver Emerald Sapphire Ruby Jade Amber Coral Ocean River Valley
    Highland Lake
    """
)
COMPANY_TRADES = _words(
    """
    Digital Teknologi Logistik Trading Enterprise Holdings Industries Engineering Solutions
    Systems Networks Consulting Services Builders Construction Plantation Foods Marine
    Motors Travel Media Resources Capital Ventures Healthcare Pharma Energy Agro Retail
    Design Hardware Software Cloud Data Security Telecom Properties Realty Education
    Textiles
    """
)
SUFFIXES = {"MY": "Sdn Bhd", "SG": "Pte Ltd", "ID": "PT", "TH": "Co., Ltd.", "PH": "Inc."}
COUNTRIES = [("MY", 0.78), ("SG", 0.12), ("ID", 0.04), ("TH", 0.03), ("PH", 0.02), ("AU", 0.01)]
CURRENCIES = {"MY": "MYR", "SG": "SGD", "ID": "IDR", "TH": "THB", "PH": "PHP", "AU": "AUD"}
TIMEZONES = {
    "MY": "Asia/Kuala_Lumpur",
    "SG": "Asia/Singapore",
    "ID": "Asia/Jakarta",
    "TH": "Asia/Bangkok",
    "PH": "Asia/Manila",
    "AU": "Australia/Sydney",
}
ROLES = ["admin", "billing", "technical", "member"]
# Malaysian registered addresses: (city, ISO 3166-2 state, postcode).
MY_PLACES = [
    ("Kuala Lumpur", "MY-14", "50450"),
    ("Petaling Jaya", "MY-10", "47810"),
    ("Shah Alam", "MY-10", "40000"),
    ("George Town", "MY-07", "10200"),
    ("Johor Bahru", "MY-01", "80000"),
    ("Ipoh", "MY-08", "30000"),
    ("Kota Kinabalu", "MY-12", "88000"),
    ("Kuching", "MY-13", "93000"),
    ("Melaka", "MY-04", "75000"),
    ("Seremban", "MY-05", "70000"),
]
LARGE_CUSTOMERS = 5  # customers with many hundreds of contacts
LARGE_CUSTOMER_CONTACTS = 500
# A large customer's history: deep enough that its Activity tab has hundreds of pages and its
# ledger is 2 000 times a typical one (the balance must not care).
LARGE_CUSTOMER_ACTIVITY = 20_000
LARGE_CUSTOMER_ENTRIES = 10_000


@dataclass(frozen=True)
class History:
    """How much history each customer gets, on average (the issue's M: 1 M customers,
    10 M activity rows, 5 M ledger entries, 100 000 change requests)."""

    activity: float = 10.0
    ledger_entries: float = 5.0
    change_requests: float = 0.1


NO_HISTORY = History(activity=0, ledger_entries=0, change_requests=0)


@dataclass
class Progress:
    """A one-line progress bar on stderr: done/total, rate and time left."""

    label: str
    total: int
    done: int = 0
    started: float = 0.0
    out: Any = sys.stderr

    def __post_init__(self) -> None:
        self.started = time.perf_counter()

    def advance(self, count: int) -> None:
        self.done += count
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        rate = self.done / elapsed
        width = 30
        filled = int(width * self.done / max(self.total, 1))
        left = (self.total - self.done) / rate if rate else 0
        self.out.write(
            f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] "
            f"{self.done:,}/{self.total:,} {rate:,.0f}/s {left:,.0f}s left "
        )
        self.out.flush()

    def finish(self) -> float:
        self.out.write("\n")
        return time.perf_counter() - self.started


@dataclass
class Generated:
    customers: int
    contacts: int
    seconds: float
    activity: int = 0
    ledger_entries: int = 0
    change_requests: int = 0

    @property
    def rows(self) -> int:
        return (
            self.customers
            + self.contacts
            + self.activity
            + self.ledger_entries
            + self.change_requests
        )

    @property
    def customers_per_second(self) -> float:
        return self.customers / self.seconds if self.seconds else 0.0


def _weighted(rng: random.Random, options: Sequence[tuple[Any, float]]) -> Any:
    pick = rng.random() * sum(weight for _, weight in options)
    for option, weight in options:
        pick -= weight
        if pick < 0:
            return option
    return options[-1][0]


def _person(rng: random.Random) -> tuple[str, str]:
    firsts, lasts, _ = _weighted(rng, [(p, p[2]) for p in PEOPLE])
    return rng.choice(firsts), rng.choice(lasts)


def _company(rng: random.Random, country: str) -> str:
    words = [rng.choice(COMPANY_WORDS), rng.choice(COMPANY_WORDS)]
    if rng.random() < 0.5:
        words.append(rng.choice(COMPANY_TRADES))
    name = " ".join(dict.fromkeys(words))  # no "Maju Maju"
    suffix = SUFFIXES.get(country, "Pty Ltd")
    return f"{suffix} {name}" if suffix == "PT" else f"{name} {suffix}"


def _phone(rng: random.Random) -> str:
    # 012, 013, 016, 017, 019: mobile ranges that are valid at every 7-digit number.
    return f"+601{rng.choice('23679')}{rng.randrange(10**6, 10**7)}"


def _contact_count(rng: random.Random) -> int:
    """A long tail averaging three contacts (the issue's 1 M customers / 3 M contacts): most
    customers have one to four, some a dozen or more. ``int`` of an exponential with mean
    ``m`` averages 1 / (e^(1/m) − 1), which is 2 for m = 1 / ln 1.5 ≈ 2.466."""
    return min(1 + int(rng.expovariate(math.log(1.5))), 60)


@dataclass
class _Batch:
    customers: list[list[Any]]
    contacts: list[list[Any]]
    activity: list[list[Any]]
    entries: list[list[Any]]
    balances: list[list[Any]]
    change_requests: list[list[Any]]


class _Builder:
    """Makes the rows, batch by batch (pure Python: it runs in its own thread while the
    database writes the batch before, so the two cores share the work)."""

    def __init__(self, *, customers: int, seed: int, batch_size: int, history: History) -> None:
        self.rng = random.Random(seed)
        self.total, self.batch_size, self.history = customers, batch_size, history
        self.customer_rows, self.contact_rows = BulkRows(Customer), BulkRows(Contact)
        self.next_customer_id = _next_id(Customer)
        self.next_contact_id = _next_id(Contact)
        self.first_number = Counter.reserve(
            "customer_number", customers, start=FIRST_CUSTOMER_NUMBER
        )
        self.large = set(self.rng.sample(range(customers), min(LARGE_CUSTOMERS, customers)))
        self.now = datetime.now(UTC)
        self.topics = self.contact_rows.prepare("notification_topics", ["account"])
        self.prepare_time = partial(self.customer_rows.prepare, "created_at")
        self.histories = _HistoryBuilder(self, history) if history != NO_HISTORY else None

    def batches(self) -> Iterator[_Batch]:
        for start in range(0, self.total, self.batch_size):
            yield self._batch(range(start, min(start + self.batch_size, self.total)))

    def _batch(self, indexes: range) -> _Batch:
        rng, batch = self.rng, _Batch([], [], [], [], [], [])
        for i in indexes:
            customer_id = self.next_customer_id + i
            values, people = _customer(rng, self.first_number + i, self.now)
            created = values["created_at"]
            values["created_at"] = values["updated_at"] = self.prepare_time(created)
            batch.customers.append(self.customer_rows.row({"id": customer_id, **values}))
            count = LARGE_CUSTOMER_CONTACTS if i in self.large else _contact_count(rng)
            names = []
            for n, contact in enumerate(_contacts(rng, people, count, values, self.topics)):
                contact.update(id=self.next_contact_id, customer_id=customer_id)
                if n == 0:
                    contact["role"] = "owner"
                batch.contacts.append(self.contact_rows.row(contact))
                names.append(f"{contact['first_name']} {contact['last_name']}")
                self.next_contact_id += 1
            if self.histories:
                self.histories.add(
                    batch, customer_id, values, created, names, large=i in self.large
                )
        return batch


def _next_id(model: type[Model]) -> int:
    return int(model._default_manager.aggregate(m=Max("id"))["m"] or 0) + 1


ACTIVITY_VERBS = [
    ("customer.updated", 0.30),
    ("contact.updated", 0.20),
    ("ledger.entry_posted", 0.20),
    ("contact.created", 0.10),
    ("note.added", 0.08),
    ("invitation.sent", 0.06),
    ("change_request.submitted", 0.06),
]
VERB_NAMES = [verb for verb, _ in ACTIVITY_VERBS]
VERB_CUMULATIVE = list(itertools.accumulate(weight for _, weight in ACTIVITY_VERBS))
PROFILE_CHANGES = [
    {"phone": ["+60312345678", "+60387654321"]},
    {"billing_email": ["accounts@old.example", "finance@new.example"]},
    {"address_line1": ["12 Jalan Ampang", "8 Jalan Sultan Ismail"], "postcode": ["50450", "50250"]},
    {"einvoice_email": ["", "einvoice@company.example"]},
    {"website": ["", "https://company.example"]},
]
CHANGE_REQUEST_STATUSES = [
    ("approved", 0.60),
    ("rejected", 0.15),
    ("partly_approved", 0.05),
    ("cancelled", 0.05),
    ("open", 0.10),
    ("awaiting_customer", 0.05),
]


class _HistoryBuilder:
    """Each generated customer's past: Activity rows, ledger entries with their running
    balance (and the ``Balance`` they add up to, as ``ledger_reconcile`` checks), and change
    requests, most of them decided. Verbs and sources are the real ones, so the trail reads
    like a real account's; the JSON values are prepared once and reused (preparing per row
    would double the load time)."""

    def __init__(self, builder: _Builder, history: History) -> None:
        self.rng, self.history, self.now = builder.rng, history, builder.now
        self.activity_rows, self.entry_rows = BulkRows(Activity), BulkRows(Entry)
        self.balance_rows, self.request_rows = BulkRows(Balance), BulkRows(ChangeRequest)
        self.next_activity_id = _next_id(Activity)
        self.next_entry_id = _next_id(Entry)
        self.next_request_id = _next_id(ChangeRequest)
        expected_requests = int(builder.total * history.change_requests * 1.5) + 100
        self.next_request_number = Counter.reserve(
            "change_request_number", expected_requests, start=1
        )
        self.last_request_number = self.next_request_number + expected_requests - 1
        prepared = partial(self.activity_rows.prepare, "changes")
        self.changes = [prepared(change) for change in PROFILE_CHANGES]
        self.no_changes = prepared({})
        self.time = _time_writer()
        self.legal = partial(self.request_rows.prepare, "requested")
        self.empty_list = self.request_rows.prepare("approved_fields", [])

    def add(
        self,
        batch: _Batch,
        customer_id: int,
        customer: dict[str, Any],
        created: datetime,
        people: list[str],
        *,
        large: bool,
    ) -> None:
        rng, history = self.rng, self.history
        activity = LARGE_CUSTOMER_ACTIVITY if large else _long_tail(rng, history.activity)
        entries = LARGE_CUSTOMER_ENTRIES if large else _long_tail(rng, history.ledger_entries)
        span = (self.now - created).total_seconds()
        self._activity(batch, customer_id, created, span, activity, people)
        self._ledger(batch, customer_id, customer, created, span, entries)
        if rng.random() < history.change_requests:
            self._change_request(batch, customer_id, customer, created, span, people[0])

    def _activity(
        self,
        batch: _Batch,
        customer_id: int,
        created: datetime,
        span: float,
        count: int,
        people: list[str],
    ) -> None:
        rng, row = self.rng, self.activity_rows.row
        moments = sorted(rng.random() * span for _ in range(count))
        verbs = rng.choices(VERB_NAMES, cum_weights=VERB_CUMULATIVE, k=count)
        for offset, verb in zip(moments, verbs, strict=True):
            who = rng.choice(people)
            staff = verb == "note.added" or rng.random() < 0.2
            batch.activity.append(
                row(
                    {
                        "id": self.next_activity_id,
                        "occurred_at": self.time(created + timedelta(seconds=offset)),
                        "actor_label": "Support agent" if staff else who,
                        "source": "staff" if staff else "portal",
                        "customer_id": customer_id,
                        "verb": verb,
                        "target_repr": who if verb.startswith(("contact", "invitation")) else "",
                        "changes": (
                            rng.choice(self.changes)
                            if verb in ("customer.updated", "contact.updated")
                            else self.no_changes
                        ),
                        "staff_only": verb == "note.added",
                    }
                )
            )
            self.next_activity_id += 1

    def _ledger(
        self,
        batch: _Batch,
        customer_id: int,
        customer: dict[str, Any],
        created: datetime,
        span: float,
        count: int,
    ) -> None:
        """Top-ups and charges that never take a prepaid balance below zero; each entry
        carries the balance after it, and the last one is the customer's ``Balance``."""
        if not count:
            return
        rng, row, currency = self.rng, self.entry_rows.row, customer["currency"]
        cents = 0
        moments = sorted(rng.random() * span for _ in range(count))
        for n, offset in enumerate(moments):
            if cents < 5_000 or rng.random() < 0.3:
                kind, amount = "top_up", rng.choice((10_000, 20_000, 50_000, 100_000))
                description = "Credit top-up"
            else:
                kind, amount = "charge", -rng.randrange(500, min(cents, 30_000) + 1)
                description = rng.choice(("Monthly hosting", "Domain renewal", "Support hours"))
            cents += amount
            batch.entries.append(
                row(
                    {
                        "id": self.next_entry_id,
                        "customer_id": customer_id,
                        "kind": kind,
                        "amount": Decimal(amount).scaleb(-2),
                        "currency": currency,
                        "balance_after": Decimal(cents).scaleb(-2),
                        "description": description,
                        "idempotency_key": f"generated-{n}",
                        "fingerprint": "generated",
                        "actor_label": "Billing system",
                        "source": "api",
                        "created_at": self.time(created + timedelta(seconds=offset)),
                    }
                )
            )
            self.next_entry_id += 1
        batch.balances.append(
            self.balance_rows.row(
                {
                    "customer_id": customer_id,
                    "amount": Decimal(cents).scaleb(-2),
                    "entry_count": count,
                    "updated_at": self.time(created + timedelta(seconds=moments[-1])),
                }
            )
        )

    def _change_request(
        self,
        batch: _Batch,
        customer_id: int,
        customer: dict[str, Any],
        created: datetime,
        span: float,
        owner: str,
    ) -> None:
        if self.next_request_number > self.last_request_number:
            return  # the reserved numbers are used up (a very lucky draw): stop adding
        rng = self.rng
        status = _weighted(rng, CHANGE_REQUEST_STATUSES)
        asked = created + timedelta(seconds=rng.random() * span)
        decided = status not in ("open", "awaiting_customer", "cancelled")
        name = customer["legal_name"]
        values = {
            "id": self.next_request_id,
            "number": self.next_request_number,
            "customer_id": customer_id,
            "kind": "legal",
            "status": status,
            "requested": self.legal({"legal_name": f"{name} (renamed)"}),
            "snapshot": self.legal({"legal_name": name}),
            "note": "Our company was renamed; the SSM certificate is attached.",
            "submitted_by_label": owner,
            "submitted_source": "portal",
            "created_at": self.time(asked),
            "updated_at": self.time(asked),
            "approved_fields": self.empty_list,
            "rejected_fields": self.empty_list,
        }
        if decided:
            values["decided_at"] = self.time(asked + timedelta(hours=rng.randrange(1, 72)))
            values["decision_reason"] = "Checked against the SSM record."
        batch.change_requests.append(self.request_rows.row(values))
        self.next_request_id += 1
        self.next_request_number += 1


def _time_writer() -> Callable[[datetime], Any]:
    """A UTC datetime as the database takes it, the way Django's SQLite backend writes it
    (naive UTC text) without its per-value checks: a third of the build time otherwise."""
    if connection.vendor == "sqlite":
        return lambda moment: moment.replace(tzinfo=None).isoformat(" ")
    return lambda moment: moment


def _long_tail(rng: random.Random, mean: float) -> int:
    """A count averaging ``mean``: most customers near it, a few with many times more."""
    if mean <= 0:
        return 0
    return int(rng.expovariate(1 / mean) + 0.5)


def _in_background(items: Iterator[_Batch], ahead: int = 2) -> Iterator[_Batch]:
    """Iterate ``items`` in a thread, keeping up to ``ahead`` ready."""
    done = object()
    ready: queue.Queue[Any] = queue.Queue(maxsize=ahead)

    def produce() -> None:
        try:
            for item in items:
                ready.put(item)
        except BaseException as error:  # handed to the consumer, which raises it
            ready.put(error)
        ready.put(done)

    threading.Thread(target=produce, daemon=True).start()
    while (item := ready.get()) is not done:
        if isinstance(item, BaseException):
            raise item
        yield item


def generate(
    *,
    customers: int,
    seed: int = 42,
    batch_size: int = 5000,
    progress: bool = True,
    history: History = NO_HISTORY,
) -> Generated:
    """Add ``customers`` customers (their contacts and, with ``history``, their Activity,
    ledger and change requests) to the database.

    A load at least as large as what is there already runs in bulk mode: the secondary
    indexes are dropped first and built once at the end (sorting a million keys beats a
    million B-tree inserts), and SQLite's search index is filled in one statement.
    """
    builder = _Builder(customers=customers, seed=seed, batch_size=batch_size, history=history)
    writers = [
        (name, rows.write)
        for name, rows in (
            ("customers", builder.customer_rows),
            ("contacts", builder.contact_rows),
            *(
                (
                    ("entries", builder.histories.entry_rows),
                    ("balances", builder.histories.balance_rows),
                    ("activity", builder.histories.activity_rows),
                    ("change_requests", builder.histories.request_rows),
                )
                if builder.histories
                else ()
            ),
        )
    ]
    bulk = customers >= max(builder.next_customer_id - 1, 1)
    bar = Progress("customers", customers) if progress else None
    written = dict.fromkeys(("contacts", "activity", "entries", "change_requests"), 0)
    started = time.perf_counter()
    first_ids = (builder.next_customer_id, builder.next_contact_id)
    tables = BULK_TABLES + (HISTORY_TABLES if builder.histories else ())
    with (
        _fast_writes(),
        _search_triggers_paused(),
        _indexes_dropped(enabled=bulk, bar=bar, tables=tables),
    ):
        for batch in _in_background(builder.batches()):
            with transaction.atomic():
                for name, write in writers:
                    rows = getattr(batch, name)
                    if rows:
                        write(rows)
                        written[name] = written.get(name, 0) + len(rows)
                if not bulk:
                    _index_for_search(
                        (batch.customers[0][0], batch.customers[-1][0]),
                        (batch.contacts[0][0], batch.contacts[-1][0]),
                    )
            if bar:
                bar.advance(len(batch.customers))
        if bulk:
            _index_for_search(
                (first_ids[0], builder.next_customer_id + customers - 1),
                (first_ids[1], builder.next_contact_id - 1),
            )
    seconds = time.perf_counter() - started
    if bar:
        bar.finish()
    _after_load(with_history=builder.histories is not None)
    return Generated(
        customers=customers,
        contacts=written["contacts"],
        seconds=seconds,
        activity=written["activity"],
        ledger_entries=written["entries"],
        change_requests=written["change_requests"],
    )


BULK_TABLES: tuple[str, ...] = (Customer._meta.db_table, Contact._meta.db_table)
HISTORY_TABLES: tuple[str, ...] = (
    Activity._meta.db_table,
    Entry._meta.db_table,
    ChangeRequest._meta.db_table,
)


@contextmanager
def _fast_writes() -> Iterator[None]:
    """Test data can be made again, so the load skips waiting for the disk: SQLite's
    ``synchronous=OFF`` and a 1 GB page cache, PostgreSQL's asynchronous commit and memory
    for building indexes. Restored afterwards (the connection may serve more work)."""
    if connection.vendor == "sqlite":
        # threads: CREATE INDEX may sort with a helper thread (the machine has two cores).
        on = ["PRAGMA synchronous=OFF", "PRAGMA cache_size=-1000000", "PRAGMA threads=2"]
        off = ["PRAGMA synchronous=NORMAL", "PRAGMA cache_size=-2000", "PRAGMA threads=0"]
    else:
        on = ["SET synchronous_commit = off", "SET maintenance_work_mem = '1GB'"]
        off = ["RESET synchronous_commit", "RESET maintenance_work_mem"]
    with connection.cursor() as cursor:
        for statement in on:
            cursor.execute(statement)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for statement in off:
                cursor.execute(statement)


def _secondary_indexes(tables: Sequence[str] = BULK_TABLES) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the indexes of ``tables`` that enforce nothing: unique
    indexes and primary keys stay, so the load is still checked."""
    marks = ", ".join(["%s"] * len(tables))
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                f"AND sql NOT LIKE 'CREATE UNIQUE%%' AND tbl_name IN ({marks}) ORDER BY name",
                list(tables),
            )
        else:
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                f"AND tablename IN ({marks}) AND indexdef NOT LIKE 'CREATE UNIQUE%%' "
                "ORDER BY indexname",
                list(tables),
            )
        return [(str(name), str(sql)) for name, sql in cursor.fetchall()]


@contextmanager
def _indexes_dropped(
    *, enabled: bool, bar: Progress | None, tables: Sequence[str] = BULK_TABLES
) -> Iterator[None]:
    """Drop the secondary indexes for the load and build them again afterwards, whatever
    happens (an interrupted load still leaves a usable, indexed database)."""
    if not enabled:
        yield
        return
    indexes = _secondary_indexes(tables)
    with connection.cursor() as cursor:
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX IF EXISTS {connection.ops.quote_name(name)}")
    try:
        yield
    finally:
        if bar:
            bar.out.write(f"\nbuilding {len(indexes)} indexes… ")
            bar.out.flush()
        with connection.cursor() as cursor:
            for _, sql in indexes:
                cursor.execute(sql)


@contextmanager
def _search_triggers_paused() -> Iterator[None]:
    """Make per-row search indexing cheap while loading, and restore it whatever happens.

    SQLite: drop the triggers that index each row (the batches are indexed at once by
    ``_index_for_search``). PostgreSQL: let the trigram GIN indexes queue new entries
    (``fastupdate``) and merge the queue once at the end, and pause the triggers that add
    names' words to the dictionary (``_index_for_search`` fills it by id range).
    """
    statements = (
        search_sql.SQLITE_TRIGGERS
        if connection.vendor == "sqlite"
        else [
            *(f"SELECT gin_clean_pending_list('{name}')" for name in search_sql.PG_GIN_INDEXES),
            *(f"ALTER INDEX {name} SET (fastupdate = off)" for name in search_sql.PG_GIN_INDEXES),
            *search_sql.PG_WORD_TRIGGERS,
        ]
    )
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for name in search_sql.SQLITE_TRIGGER_NAMES:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
        else:
            for name in search_sql.PG_GIN_INDEXES:
                cursor.execute(f"ALTER INDEX {name} SET (fastupdate = on)")
            for statement in search_sql.PG_WORD_TRIGGER_DROPS:
                cursor.execute(statement)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)


def _index_for_search(customer_ids: tuple[int, int], contact_ids: tuple[int, int]) -> None:
    if connection.vendor != "sqlite":
        # PostgreSQL's indexes follow the rows by themselves; the word dictionary does not.
        customer_fill, contact_fill = search_sql.PG_WORDS_FILL_RANGES
        with connection.cursor() as cursor:
            cursor.execute(customer_fill, list(customer_ids))
            cursor.execute(contact_fill, list(contact_ids))
        return
    customer_statements, contact_statements = search_sql.SQLITE_INDEX_RANGES
    with connection.cursor() as cursor:
        for statement in customer_statements:
            cursor.execute(statement, list(customer_ids))
        for statement in contact_statements:
            cursor.execute(statement, list(contact_ids))


def _customer(
    rng: random.Random, number: int, now: datetime
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    country = _weighted(rng, COUNTRIES)
    individual = rng.random() < 0.15
    owner = _person(rng)
    name = f"{owner[0]} {owner[1]}" if individual else _company(rng, country)
    created = now - timedelta(days=rng.randrange(0, 3650), seconds=rng.randrange(86400))
    values: dict[str, Any] = {
        "number": number,
        "kind": "individual" if individual else "business",
        "status": _weighted(rng, [("active", 0.93), ("suspended", 0.04), ("closed", 0.03)]),
        "display_name": name,
        "legal_name": name,
        "full_name": name if individual else "",
        "country": country,
        "currency": CURRENCIES[country],
        "timezone": TIMEZONES[country],
        "billing_mode": "postpaid" if rng.random() < 0.3 else "prepaid",
        "phone": _phone(rng) if rng.random() < 0.6 else "",
        "created_at": created,
        "updated_at": created,
    }
    if values["status"] == "closed":
        values["closed_at"] = created + (now - created) / 2
    if values["billing_mode"] == "postpaid":
        values["credit_limit"] = rng.choice([1000, 5000, 20000])
    if not individual and rng.random() < 0.2:
        values["trading_name"] = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_TRADES)}"
    if country == "MY":
        city, state, postcode = rng.choice(MY_PLACES)
        values["legal_line1"] = f"{rng.randrange(1, 200)}, Jalan {rng.choice(COMPANY_WORDS)}"
        values["legal_city"], values["legal_state"], values["legal_postcode"] = (
            city,
            state,
            postcode,
        )
    if not individual and country == "MY":
        year = rng.randrange(1990, 2026)
        values["registration_number"] = f"{year}0{rng.randrange(1, 7)}{number % 10**6:06d}"
        values["tin"] = f"C{number:010d}"
    elif individual and country == "MY":
        values["tin"] = f"IG{number:010d}"
    return values, [owner]


def _contacts(
    rng: random.Random,
    people: list[tuple[str, str]],
    count: int,
    customer: dict[str, Any],
    topics: Any,
) -> Iterator[dict[str, Any]]:
    domain = "".join(ch for ch in customer["display_name"].lower() if ch.isalnum())[:20] or "mail"
    for n in range(count):
        first, last = people[0] if n == 0 else _person(rng)
        local = f"{first}.{last}".lower().replace(" ", "")
        yield {
            "first_name": first,
            "last_name": last,
            "email": f"{local}{n or ''}@{domain}.example",
            "phone": _phone(rng) if rng.random() < 0.5 else "",
            "role": rng.choice(ROLES),
            "notification_topics": topics,
            "created_at": customer["created_at"],
            "updated_at": customer["created_at"],
        }


def _after_load(*, with_history: bool) -> None:
    """Let the database catch up: sequences past the ids we chose, fresh statistics."""
    models: list[type[Model]] = [Customer, Contact]
    if with_history:
        models += [Activity, Entry, ChangeRequest]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for model in models:
                table = model._meta.db_table
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT MAX(id) FROM {table}))"
                )
            for table in [*(m._meta.db_table for m in models), Balance._meta.db_table]:
                cursor.execute(f"ANALYZE {table}")
        else:
            cursor.execute("ANALYZE")
