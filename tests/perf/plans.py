"""Query plans: capture the statements a request runs, EXPLAIN each one that reads a large
table, and say what is wrong with its plan.

What counts as wrong, on both databases:

- **a full scan** of a large table: a PostgreSQL ``Seq Scan`` (or an index scan with no
  index condition), a SQLite ``SCAN`` with or without an index. One exception: the
  outermost loop of a statement with ``LIMIT`` may walk a table (or an index) in order,
  because it stops once it has the page (``ORDER BY id DESC LIMIT 51`` reads the newest 51
  rows; a count capped at ``LIMIT 1001`` reads at most 1001). A walk nested in another loop,
  under a sort or a hash, or in a statement without ``LIMIT`` reads the whole table. A scan
  of a *partial* index is not full: such an index holds only the few rows it is made for.
- **a walk that filters on a key**: an allowed walk whose filter compares a ``…_id`` column
  (``customer_id = 42``) reads every other customer's rows too, so one customer's page must
  come from an index that starts with its key.
- **sorting rows of a large table** instead of reading them in index order: SQLite's
  ``USE TEMP B-TREE FOR ORDER BY``, a PostgreSQL ``Sort`` of more than
  ``SORTED_ROWS_ALLOWED`` rows of a large table. Sorting rows fetched by unique key (one
  page's ``id IN (…)``, the owner by the one-owner index) is sorting a page, and fine.
- an **automatic index** (SQLite builds a throwaway index because no real one fits).

The plans only mean something on tables with realistic contents and fresh statistics:
``tests.perf.filler`` writes thousands of rows and ``analyze()`` updates the statistics, as
``generate_dataset`` leaves them. PostgreSQL still plans for a few thousand rows what suits
a few thousand rows, so sequential scans, hash and merge joins are switched off while
explaining (``POSTGRES_AT_SCALE``): a Seq Scan that remains means no index can serve the
statement.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

# The tables that grow with the business: a plan that reads one of them whole is a bug.
LARGE_TABLES = frozenset(
    {
        "customers_customer",
        "customers_contact",
        "customers_note",
        "customers_invitation",
        "audit_activity",
        "ledger_entry",
        "change_requests_changerequest",
        "change_requests_message",
        "events_event",
        "webhooks_delivery",
        "webhooks_deliveryattempt",
        "notifications_maillog",
    }
)


@dataclass
class Statement:
    sql: str
    params: list[Any]

    @property
    def tables(self) -> set[str]:
        return {table for table in LARGE_TABLES if f'"{table}"' in self.sql}


@dataclass
class Captured:
    statements: list[Statement] = field(default_factory=list)

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.statements.append(Statement(sql, list(params or [])))
        return execute(sql, params, many, context)

    def reads_of_large_tables(self) -> list[Statement]:
        return [
            s
            for s in self.statements
            if s.sql.lstrip().upper().startswith(("SELECT", "WITH")) and s.tables
        ]


@contextmanager
def capture() -> Iterator[Captured]:
    """Every statement run on the default connection inside the block, with its
    parameters (so it can be explained as it ran)."""
    captured = Captured()
    with connection.execute_wrapper(captured):
        yield captured


def analyze() -> None:
    """Fresh planner statistics for every table (as ``generate_dataset`` leaves them)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for table in sorted(LARGE_TABLES):
                cursor.execute(f"ANALYZE {table}")
        else:
            cursor.execute("ANALYZE")


def forget_statistics() -> None:
    """SQLite keeps statistics in ``sqlite_stat1``: drop them (and make the connection reread
    them) so later tests plan as they did before, whatever the rollback keeps in memory."""
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'")
        if cursor.fetchone():
            cursor.execute("DELETE FROM sqlite_stat1")
        cursor.execute("ANALYZE sqlite_master")


# --- explaining ------------------------------------------------------------------------------


# PostgreSQL plans for the test's few thousand rows what suits a few thousand rows: a hash
# join over a sequential scan of a "small" table. Switching those off leaves the plans it
# would choose at scale *if an index allows them*: a Seq Scan that remains means no index
# serves the statement. Sorts stay allowed (sorting one page is right at any scale); a sort
# of more than ``SORTED_ROWS_ALLOWED`` rows of a large table is a fault.
POSTGRES_AT_SCALE = ["enable_seqscan = off", "enable_hashjoin = off", "enable_mergejoin = off"]
SORTED_ROWS_ALLOWED = 200  # four pages


@contextmanager
def _planning_at_scale() -> Iterator[Any]:
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            yield cursor
            return
        for setting in POSTGRES_AT_SCALE:
            cursor.execute(f"SET {setting}")
        try:
            yield cursor
        finally:
            for setting in POSTGRES_AT_SCALE:
                cursor.execute(f"RESET {setting.split()[0]}")


def explain(statement: Statement) -> str:
    """The plan as text (for messages)."""
    with _planning_at_scale() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("EXPLAIN " + statement.sql, statement.params)
            return "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("EXPLAIN QUERY PLAN " + statement.sql, statement.params)
        rows = cursor.fetchall()
    depth: dict[int, int] = {0: -1}
    lines = []
    for node, parent, _unused, detail in rows:
        depth[node] = depth.get(parent, -1) + 1
        lines.append("  " * depth[node] + detail)
    return "\n".join(lines)


def faults(statement: Statement) -> list[str]:
    """What is wrong with the statement's plan (see the module docstring); [] if nothing."""
    if connection.vendor == "postgresql":
        return _postgres_faults(statement)
    return _sqlite_faults(statement)


@dataclass(frozen=True)
class IndexInfo:
    columns: tuple[str, ...]
    unique: bool
    partial: bool


_indexes: dict[str, dict[str, IndexInfo]] = {}


def indexes() -> dict[str, IndexInfo]:
    """The large tables' indexes by name (read once per database)."""
    key = f"{connection.vendor}:{connection.settings_dict['NAME']}"
    if key not in _indexes:
        _indexes[key] = _read_indexes()
    return _indexes[key]


def _read_indexes() -> dict[str, IndexInfo]:
    found: dict[str, IndexInfo] = {}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT i.relname, x.indisunique, x.indpred IS NOT NULL, "
                "ARRAY(SELECT a.attname FROM unnest(x.indkey) k "
                "JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k) "
                "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
                "JOIN pg_class t ON t.oid = x.indrelid WHERE t.relname = ANY(%s)",
                [sorted(LARGE_TABLES)],
            )
            for name, unique, partial, columns in cursor.fetchall():
                found[name] = IndexInfo(tuple(columns), unique, partial)
            return found
        for table in LARGE_TABLES:
            cursor.execute(f"PRAGMA index_list({table})")
            for _seq, name, unique, _origin, partial in cursor.fetchall():
                cursor.execute(f"PRAGMA index_info({name})")
                columns = tuple(row[2] for row in cursor.fetchall() if row[2])
                found[name] = IndexInfo(columns, bool(unique), bool(partial))
    return found


def _has_limit(sql: str) -> bool:
    return re.search(r"\bLIMIT\b", sql, re.IGNORECASE) is not None


def _aliases(sql: str) -> dict[str, str]:
    """Django's table aliases (``"customers_customer" U0``) and the tables themselves."""
    names = {table: table for table in LARGE_TABLES}
    for table, alias in re.findall(r'"(\w+)" (?:AS )?"?([A-Z]\d+)\b"?', sql):
        names[alias] = table
    return names


def _key_filter(sql: str, alias: str) -> str | None:
    """A ``<something>_id`` column of ``alias`` that the statement's WHERE compares by
    equality. A walk in index order that filters on one reads the rows of every other
    customer (contact, endpoint…) too: one customer's page must come from an index that
    starts with its key."""
    where = sql.split(" WHERE ", 1)[1] if " WHERE " in sql else ""
    prefix = f'"{alias}"' if not re.fullmatch(r"[A-Z]\d+", alias) else alias
    found = re.search(rf'{prefix}\."(\w+_id)" (?:= |IN \()', where)
    return found.group(1) if found else None


def _one_row_per_key(index: str, condition: str) -> bool:
    """Whether ``condition`` binds every column of the unique ``index`` by equality, so the
    lookup finds at most one row per key (``id IN (…)`` of one page is a page)."""
    info = indexes().get(index)
    if info is None or not info.unique or "<" in condition or ">" in condition:
        return False
    return all(re.search(rf"\b{column}\b\s*=", condition) for column in info.columns)


SQLITE_ACCESS = re.compile(
    r"^(SCAN|SEARCH) (\w+)(?: USING (?:(?:COVERING )?INDEX (\w+)|(INTEGER PRIMARY KEY)))?"
    r"(?: \((.*)\))?"
)


def _sqlite_faults(statement: Statement) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + statement.sql, statement.params)
        rows = cursor.fetchall()
    names = _aliases(statement.sql)
    limited = _has_limit(statement.sql)
    found: list[str] = []
    sorts: list[str] = []
    unbounded = False  # reads a range of a large table, not just rows by unique key
    first_loop: dict[int, int] = {}  # parent node → its first table access (the outer loop)
    for node, parent, _unused, detail in rows:
        if "USE TEMP B-TREE FOR" in detail and "ORDER BY" in detail:
            sorts.append(detail)
        if "AUTOMATIC" in detail:
            found.append(f"builds an automatic index: {detail}")
        access = SQLITE_ACCESS.match(detail)
        if not access:
            continue
        first_loop.setdefault(parent, node)
        kind, alias, index, rowid, condition = access.groups()
        table = names.get(alias)
        if table not in LARGE_TABLES:
            continue
        condition = condition or ""
        by_key = (rowid and condition == "rowid=?") or (
            index and kind == "SEARCH" and _one_row_per_key(index, condition)
        )
        if not by_key:
            unbounded = True
        if kind == "SEARCH":
            continue
        if index and indexes().get(index, IndexInfo((), False, False)).partial:
            continue  # a partial index holds only the few rows it is made for
        if limited and first_loop[parent] == node:
            key = _key_filter(statement.sql, alias)
            if key:
                found.append(f"walks {table} in order filtering on {key}: {detail}")
            continue  # an ordered walk that stops at the LIMIT
        found.append(f"reads {table} in full: {detail}")
    if unbounded:
        # Sorting rows fetched by unique key (``id IN (…)`` of one page) is sorting a page.
        found += [f"sorts in a temporary B-tree: {detail}" for detail in sorts]
    return found


BLOCKING = frozenset(
    {"Sort", "Incremental Sort", "Hash", "Materialize", "WindowAgg", "SetOp", "Group"}
)
PG_INDEX_SCANS = ("Index Scan", "Index Only Scan", "Bitmap Index Scan")


def _pg_by_key(node: dict[str, Any]) -> bool:
    """Whether an access finds at most one row per key of a unique index."""
    if node["Node Type"] in PG_INDEX_SCANS:
        return _one_row_per_key(str(node.get("Index Name")), str(node.get("Index Cond", "")))
    if node["Node Type"] in ("Bitmap Heap Scan", "BitmapOr", "BitmapAnd"):
        return all(_pg_by_key(child) for child in node.get("Plans", []))
    return False


def _postgres_faults(statement: Statement) -> list[str]:
    with _planning_at_scale() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + statement.sql, statement.params)
        (document,) = cursor.fetchone()
    plan = (json.loads(document) if isinstance(document, str) else document)[0]["Plan"]
    found: list[str] = []

    def unbounded_read(node: dict[str, Any]) -> str | None:
        """A large table read under ``node`` by range, not by unique key (nor under a
        Limit, whose rows are already few)."""
        if node["Node Type"] == "Limit":
            return None
        if node.get("Relation Name") in LARGE_TABLES and not _pg_by_key(node):
            return str(node["Relation Name"])
        for child in node.get("Plans", []):
            table = unbounded_read(child)
            if table:
                return table
        return None

    def walk(node: dict[str, Any], *, under_limit: bool, outer: bool) -> None:
        kind = node["Node Type"]
        table = node.get("Relation Name")
        index = indexes().get(str(node.get("Index Name")), IndexInfo((), False, False))
        whole = kind == "Seq Scan" or (
            kind in ("Index Scan", "Index Only Scan")
            and "Index Cond" not in node
            and not index.partial  # a partial index holds only the few rows it is made for
        )
        if whole and table in LARGE_TABLES:
            if not (under_limit and outer):
                found.append(f"reads {table} in full ({kind} {node.get('Index Name', '')})")
            else:  # a walk in order that stops at the LIMIT: see _key_filter
                key = re.search(r"\b(\w+_id) = ", str(node.get("Filter", "")))
                if key:
                    found.append(f"walks {table} in order filtering on {key.group(1)}")
        if kind in ("Sort", "Incremental Sort"):
            sorted_table = unbounded_read(node)
            rows = max((child.get("Plan Rows", 0) for child in node.get("Plans", [])), default=0)
            if sorted_table and rows > SORTED_ROWS_ALLOWED:
                found.append(
                    f"sorts {rows} rows of {sorted_table} ({kind}: {node.get('Sort Key')})"
                )
        # Under a Limit, rows stream: a scan stops when the page is full. A node that
        # reads all its input before it answers (a sort, a hash, an aggregate) does not.
        streams = kind not in BLOCKING and "Aggregate" not in kind
        for child in node.get("Plans", []):
            relation = child.get("Parent Relationship")
            walk(
                child,
                under_limit=(kind == "Limit" or (under_limit and streams))
                and relation not in ("SubPlan", "InitPlan"),
                # An InitPlan runs once; a SubPlan once per row of its parent.
                outer=outer and relation not in ("Inner", "SubPlan"),
            )

    walk(plan, under_limit=False, outer=True)
    return found


def check_plans(
    run: Callable[..., Any],
    *args: Any,
    expect: set[str] | None = None,
    page_index: set[str] | None = None,
    label: str = "",
    **kwargs: Any,
) -> tuple[Any, list[str]]:
    """``run(*args, **kwargs)`` (a request), then explain every read of a large table it
    made. Returns what ``run`` returned and a description of each fault. ``expect``: large
    tables the request must read (so a test cannot pass by capturing nothing);
    ``page_index``: a statement with ``ORDER BY`` (the page) must use one of these indexes,
    where walking another index in order would pass the rules but read far more rows."""
    with capture() as captured:
        result = run(*args, **kwargs)
    reads = captured.reads_of_large_tables()
    read_tables = set().union(*(s.tables for s in reads)) if reads else set()
    problems = []
    missing = (expect or set()) - read_tables
    if missing:
        problems.append(f"{label}: never read {sorted(missing)}")
    ordered = []
    for statement in reads:
        plan = explain(statement)
        if "ORDER BY" in statement.sql:
            ordered.append(plan)
        for fault in faults(statement):
            problems.append(f"{label}: {fault}\n  {statement.sql}\n{plan}")
    if page_index and not any(name in plan for plan in ordered for name in page_index):
        problems.append(f"{label}: no page uses {sorted(page_index)}:\n" + "\n\n".join(ordered))
    return result, problems
