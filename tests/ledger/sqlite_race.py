"""Run the charge race on a fresh SQLite file (``python -m tests.ledger.sqlite_race DIR``);
prints the result as JSON. Used by test_ledger_concurrency.py."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict
from decimal import Decimal


def main(directory: str) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{directory}/race.sqlite3"
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from tests.ledger import race

    amount = Decimal(sys.argv[3] if len(sys.argv) > 3 else "10.00")
    covered = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    customer, staff = race.set_up(covered=covered, amount=amount)
    result = race.run(customer, staff, writers=50, amount=amount)
    print(json.dumps(asdict(result), default=str))


if __name__ == "__main__":
    main(sys.argv[1])
