"""The floors a page is measured against, in the same run:

- **raw SQL**: the statements the page issued, replayed through the database driver's own
  cursor (no Django at all) — what the data costs;
- **bare view**: a Django view that replays the same statements through Django's cursor and
  returns a short body, behind the full middleware stack — what the data costs once Django
  serves it (the page's own work is the difference: ORM, forms, templates);
- **hello world**: a view that returns "hello" — what any request costs.

A write's statements cannot be replayed as they are (unique keys, the row already moved), so
writes are replayed inside a transaction that is rolled back, each statement in a savepoint
whose refusal is ignored: the same statements, the same locks, nothing kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.http import HttpRequest, HttpResponse

SKIPPED = re.compile(r"^\s*(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT|BEGIN|COMMIT)", re.I)
WRITES = re.compile(r"^\s*(INSERT|UPDATE|DELETE)", re.I)


@dataclass
class Captured:
    """The statements of one request, in order, with their parameters."""

    statements: list[tuple[str, Any]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.statements)

    @property
    def writes(self) -> bool:
        return any(WRITES.match(sql) for sql, _ in self.statements)

    def replayable(self) -> list[tuple[str, Any]]:
        return [(sql, params) for sql, params in self.statements if not SKIPPED.match(sql)]


@contextmanager
def capturing() -> Iterator[Captured]:
    """Record every statement this thread's connection runs (executemany counts once)."""
    captured = Captured()

    def record(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        captured.statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield captured


def _driver_sql(sql: str) -> str:
    """Django writes ``%s`` placeholders; sqlite3 wants ``?`` (and ``%%`` means ``%``)."""
    if connection.vendor != "sqlite":
        return sql
    return sql.replace("%s", "?").replace("%%", "%")


def replay_raw(captured: Captured) -> None:
    """Run the statements on the driver's cursor: the database's share of the request."""
    connection.ensure_connection()
    raw = connection.connection
    statements = captured.replayable()
    cursor = raw.cursor()
    try:
        if not captured.writes:
            for sql, params in statements:
                cursor.execute(_driver_sql(sql), params or ())
                if cursor.description:
                    cursor.fetchall()
            return
        cursor.execute("BEGIN IMMEDIATE" if connection.vendor == "sqlite" else "BEGIN")
        try:
            for sql, params in statements:
                cursor.execute("SAVEPOINT bench")
                try:
                    cursor.execute(_driver_sql(sql), params or ())
                    if cursor.description:
                        cursor.fetchall()
                    cursor.execute("RELEASE SAVEPOINT bench")
                except Exception:  # a refused replay (unique key): the cost was paid
                    cursor.execute("ROLLBACK TO SAVEPOINT bench")
        finally:
            cursor.execute("ROLLBACK")
    finally:
        cursor.close()


def replay_django(captured: Captured) -> None:
    """The same statements through Django's cursor (its wrappers and converters)."""
    statements = captured.replayable()
    if not captured.writes:
        with connection.cursor() as cursor:
            for sql, params in statements:
                cursor.execute(sql, params)
                if cursor.description:
                    cursor.fetchall()
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            for sql, params in statements:
                try:
                    with transaction.atomic():
                        cursor.execute(sql, params)
                        if cursor.description:
                            cursor.fetchall()
                except DatabaseError:
                    pass  # a refused replay (unique key): the cost was paid
        transaction.set_rollback(True)


# What the bare view replays, by key (filled by the bench before it times the view).
REPLAYS: dict[str, Captured] = {}


def bare_view(request: HttpRequest, key: str) -> HttpResponse:
    replay_django(REPLAYS[key])
    return HttpResponse(b"replayed", content_type="text/plain")


def hello_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"hello", content_type="text/plain")
