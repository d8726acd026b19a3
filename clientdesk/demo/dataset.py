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
from functools import partial
from typing import Any

from django.db import connection, transaction
from django.db.models import Max, Model

from clientdesk.core.models import Counter
from clientdesk.customers import search_sql
from clientdesk.customers.actions import FIRST_CUSTOMER_NUMBER
from clientdesk.customers.models import Contact, Customer


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
LARGE_CUSTOMERS = 5  # customers with many hundreds of contacts
LARGE_CUSTOMER_CONTACTS = 500


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
    return f"+601{rng.choice('0234679')}{rng.randrange(10**6, 10**7)}"


def _contact_count(rng: random.Random) -> int:
    """A long tail averaging three contacts (the issue's 1 M customers / 3 M contacts): most
    customers have one to four, some a dozen or more. ``int`` of an exponential with mean
    ``m`` averages 1 / (e^(1/m) − 1), which is 2 for m = 1 / ln 1.5 ≈ 2.466."""
    return min(1 + int(rng.expovariate(math.log(1.5))), 60)


class _Rows:
    """Builds full rows for one model from a few values, every other column at its default
    (bulk SQL gets no help from Django's defaults). Rows are lists in column order."""

    def __init__(self, model: type[Model]) -> None:
        fields = list(model._meta.concrete_fields)
        self.columns = [str(f.column) for f in fields]
        self.table = model._meta.db_table
        self.position = {f.attname: i for i, f in enumerate(fields)}
        self.template = [f.get_db_prep_save(f.get_default(), connection) for f in fields]
        self._fields = {f.attname: f for f in fields}

    def prepared(self, name: str, value: Any) -> Any:
        """``value`` as the database takes it (JSON encoded, for example)."""
        return self._fields[name].get_db_prep_save(value, connection)

    def row(self, values: dict[str, Any]) -> list[Any]:
        row = self.template.copy()
        position = self.position
        for name, value in values.items():
            row[position[name]] = value
        return row


def _writer(rows: _Rows) -> Callable[[list[list[Any]]], None]:
    columns = ", ".join(connection.ops.quote_name(c) for c in rows.columns)
    if connection.vendor == "postgresql":

        def copy(batch: list[list[Any]]) -> None:
            raw = connection.connection  # psycopg's connection, for COPY
            with (
                raw.cursor() as cursor,
                cursor.copy(f"COPY {rows.table} ({columns}) FROM STDIN") as copy_in,
            ):
                for row in batch:
                    copy_in.write_row(row)

        return copy
    marks = ", ".join(["%s"] * len(rows.columns))
    sql = f"INSERT INTO {rows.table} ({columns}) VALUES ({marks})"

    def insert(batch: list[list[Any]]) -> None:
        with connection.cursor() as cursor:
            cursor.executemany(sql, batch)

    return insert


@dataclass
class _Batch:
    customers: list[list[Any]]
    contacts: list[list[Any]]


class _Builder:
    """Makes the rows, batch by batch (pure Python: it runs in its own thread while the
    database writes the batch before, so the two cores share the work)."""

    def __init__(self, *, customers: int, seed: int, batch_size: int) -> None:
        self.rng = random.Random(seed)
        self.total, self.batch_size = customers, batch_size
        self.customer_rows, self.contact_rows = _Rows(Customer), _Rows(Contact)
        self.next_customer_id = (Customer.objects.aggregate(m=Max("id"))["m"] or 0) + 1
        self.next_contact_id = (Contact.objects.aggregate(m=Max("id"))["m"] or 0) + 1
        self.first_number = _reserve_numbers(customers)
        self.large = set(self.rng.sample(range(customers), min(LARGE_CUSTOMERS, customers)))
        self.now = datetime.now(UTC)
        self.topics = self.contact_rows.prepared("notification_topics", ["account"])
        self.prepare_time = partial(self.customer_rows.prepared, "created_at")

    def batches(self) -> Iterator[_Batch]:
        for start in range(0, self.total, self.batch_size):
            yield self._batch(range(start, min(start + self.batch_size, self.total)))

    def _batch(self, indexes: range) -> _Batch:
        rng, batch = self.rng, _Batch([], [])
        for i in indexes:
            customer_id = self.next_customer_id + i
            values, people = _customer(rng, self.first_number + i, self.now)
            values["created_at"] = values["updated_at"] = self.prepare_time(values["created_at"])
            batch.customers.append(self.customer_rows.row({"id": customer_id, **values}))
            count = LARGE_CUSTOMER_CONTACTS if i in self.large else _contact_count(rng)
            for n, contact in enumerate(_contacts(rng, people, count, values, self.topics)):
                contact.update(id=self.next_contact_id, customer_id=customer_id)
                if n == 0:
                    contact["role"] = "owner"
                batch.contacts.append(self.contact_rows.row(contact))
                self.next_contact_id += 1
        return batch


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
    *, customers: int, seed: int = 42, batch_size: int = 5000, progress: bool = True
) -> Generated:
    """Add ``customers`` customers (and their contacts) to the database.

    A load at least as large as what is there already runs in bulk mode: the secondary
    indexes are dropped first and built once at the end (sorting a million keys beats a
    million B-tree inserts), and SQLite's search index is filled in one statement.
    """
    builder = _Builder(customers=customers, seed=seed, batch_size=batch_size)
    write_customers = _writer(builder.customer_rows)
    write_contacts = _writer(builder.contact_rows)
    bulk = customers >= max(builder.next_customer_id - 1, 1)
    bar = Progress("customers", customers) if progress else None
    contacts_written = 0
    started = time.perf_counter()
    first_ids = (builder.next_customer_id, builder.next_contact_id)
    with _fast_writes(), _search_triggers_paused(), _indexes_dropped(enabled=bulk, bar=bar):
        for batch in _in_background(builder.batches()):
            with transaction.atomic():
                write_customers(batch.customers)
                write_contacts(batch.contacts)
                if not bulk:
                    _index_for_search(
                        (batch.customers[0][0], batch.customers[-1][0]),
                        (batch.contacts[0][0], batch.contacts[-1][0]),
                    )
            contacts_written += len(batch.contacts)
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
    _after_load()
    return Generated(customers=customers, contacts=contacts_written, seconds=seconds)


BULK_TABLES = (Customer._meta.db_table, Contact._meta.db_table)


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


def _secondary_indexes() -> list[tuple[str, str]]:
    """(name, CREATE statement) of the customer and contact indexes that enforce nothing:
    unique indexes and primary keys stay, so the load is still checked."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                "AND sql NOT LIKE 'CREATE UNIQUE%%' AND tbl_name IN (%s, %s)",
                list(BULK_TABLES),
            )
        else:
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                "AND tablename IN (%s, %s) AND indexdef NOT LIKE 'CREATE UNIQUE%%'",
                list(BULK_TABLES),
            )
        return [(str(name), str(sql)) for name, sql in cursor.fetchall()]


@contextmanager
def _indexes_dropped(*, enabled: bool, bar: Progress | None) -> Iterator[None]:
    """Drop the secondary indexes for the load and build them again afterwards, whatever
    happens (an interrupted load still leaves a usable, indexed database)."""
    if not enabled:
        yield
        return
    indexes = _secondary_indexes()
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


def _reserve_numbers(count: int) -> int:
    """Take ``count`` consecutive client IDs from the counter (never reused later)."""
    with transaction.atomic():
        first = Counter.next("customer_number", start=FIRST_CUSTOMER_NUMBER)
        Counter.objects.filter(name="customer_number").update(value=first + count - 1)
    return first


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


def _after_load() -> None:
    """Let the database catch up: sequences past the ids we chose, fresh statistics."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for model in (Customer, Contact):
                table = model._meta.db_table
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT MAX(id) FROM {table}))"
                )
            cursor.execute("ANALYZE customers_customer")
            cursor.execute("ANALYZE customers_contact")
        else:
            cursor.execute("ANALYZE")
