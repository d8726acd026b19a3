"""``make bench`` must not rot: the whole bench runs on a small generated data set, on a
database of its own (a SQLite file, or a scratch database on the test PostgreSQL server), in
a separate process as ``make bench`` runs it, and writes its JSON and its table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from clientdesk.demo.bench import report

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def bench_database(tmp_path: Path) -> Iterator[str]:
    database = settings.DATABASES["default"]
    if "sqlite" in database["ENGINE"]:
        yield f"sqlite:///{tmp_path}/bench.sqlite3"
        return
    import psycopg

    name = f"bench_{uuid.uuid4().hex[:8]}"
    base = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def manage(database_url: str, *args: str) -> str:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "config.settings.dev",
        "DEBUG": "0",
    }
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_the_whole_bench_runs_and_writes_its_figures(bench_database: str, tmp_path: Path) -> None:
    manage(bench_database, "migrate", "--no-input", "-v0")
    manage(bench_database, "generate_dataset", "--customers", "400", "--no-progress")
    figures_path = tmp_path / "bench.json"
    manage(
        bench_database,
        "bench",
        "--runs",
        "3",
        "--rounds",
        "2",
        "--webhook-events",
        "200",
        "--import-rows",
        "300",
        "--json",
        str(figures_path),
    )
    figures = json.loads(figures_path.read_text(encoding="utf-8"))
    rows = {row["name"]: row for row in figures["scenarios"]}
    for wanted in (
        "search: selective name",
        "search: common 3-letter term",
        "search: exact email",
        "search: client ID",
        "search: phone",
        "customer 360",
        "My Account",
        "customers list, deep page",
        "Activity (all customers), deep page",
        "360 Activity tab, deep page",
        "API: customer list",
        "API: update a profile section",
        "change-request approval",
        "ledger posting, 30 concurrent writers on one customer",
        "50 concurrent writers (staff notes)",
        "Activity's share of a write",
        "ledger balance, 10 000 entries vs a few",
        "sign-in (configured hasher)",
        "webhook delivery (200 events)",
        "CSV import (300 customers)",
    ):
        assert wanted in rows, wanted
        assert rows[wanted]["p50"] > 0 and rows[wanted]["throughput"] > 0, wanted
    contacts = next(name for name in rows if name.startswith("contacts page ("))
    assert contacts == "contacts page (500 contacts)"
    # Page scenarios carry their three floors and their SQL count.
    for name in ("customer 360", "My Account", "API: customer list", "change-request approval"):
        row = rows[name]
        assert row["sql"] > 0
        for floor in ("raw", "bare", "hello"):
            assert row[floor]["p50"] > 0, (name, floor)
        assert row["bare"]["p50"] >= row["raw"]["p50"] * 0.5  # Django adds to the driver
    assert rows["50 concurrent writers (staff notes)"]["extra"]["locked"] == 0
    assert figures["data"]["activity"] > 0 and figures["data"]["ledger_entries"] > 0

    doc = tmp_path / "performance.md"
    doc.write_text("# Performance\n\nProse.\n\n<!-- bench:begin -->old<!-- bench:end -->\n")
    report.write_doc(doc, [figures_path])
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# Performance\n\nProse.") and "old" not in text
    assert "| customer 360" in text and text.count(report.BEGIN) == 1


def test_a_verdict_reads_each_kind_of_target() -> None:
    def row(name: str, **values: object) -> dict[str, object]:
        base = {"name": name, "p50": 10.0, "p95": 20.0, "throughput": 100.0, "extra": {}}
        return {**base, **values}

    page_1 = row("list, page 1")
    deep = row("list, deep page", p50=14.0, target={"max_ratio": 1.3})
    rows = {"list, page 1": page_1, "list, deep page": deep}
    assert report.verdict(deep, rows) == "missed"  # 1.4 × page 1
    assert report.verdict(row("a", target={"p95_ms": 20}), {}) == "met"
    assert report.verdict(row("a", target={"p95_ms": 19.9}), {}) == "missed"
    shared = row("a", target={"bare_throughput_share": 0.5}, bare={"throughput": 190.0})
    assert report.verdict(shared, {}) == "met"
    locked = row("w", target={"min_rate": 50}, extra={"locked": 1})
    assert report.verdict(locked, {}) == "missed"
    refused = row("w", target={"min_rate": 50}, extra={"errors": 2})
    assert report.verdict(refused, {}) == "missed"
    assert report.verdict(row("b", target={}), {}) == ""
