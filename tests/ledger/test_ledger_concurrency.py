"""Fifty concurrent charges against a prepaid balance that covers ten: exactly ten succeed
and the balance never goes negative — on PostgreSQL (row locks) and on SQLite (IMMEDIATE
transactions). Five concurrent postings with one idempotency key make one entry."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from tests.ledger import race

ROOT = Path(__file__).resolve().parents[2]


def check(result: race.RaceResult | dict) -> None:
    data = result if isinstance(result, dict) else result.__dict__
    assert data["errors"] == []
    assert data["succeeded"] == 10
    assert data["refused"] == 40
    assert Decimal(str(data["balance"])) == Decimal(str(data["summed"])) == Decimal("0.00")
    assert Decimal(str(data["lowest_balance_after"])) >= 0
    assert data["replays_created"] == 1
    assert data["replays_replayed"] == 4
    assert data["same_key_entries"] == 1


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_fifty_charges_on_postgresql_exactly_ten_succeed() -> None:
    customer, staff = race.set_up(covered=10, amount=Decimal("10.00"))
    check(race.run(customer, staff, writers=50, amount=Decimal("10.00")))


def test_fifty_charges_on_sqlite_exactly_ten_succeed(tmp_path: Path) -> None:
    """In its own process: the suite's SQLite database is in memory and per connection."""
    completed = subprocess.run(
        [sys.executable, "-m", "tests.ledger.sqlite_race", str(tmp_path), "10", "10.00"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    check(json.loads(completed.stdout.strip().splitlines()[-1]))
