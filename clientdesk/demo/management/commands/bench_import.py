"""``manage.py bench_import``: how fast the customer import checks and writes a large file.

Writes a realistic CSV (``demo/import_csv.py``) to a temporary folder, then runs the real
``customers.imports.import_customers`` — the same action the staff page and
``manage.py import_customers`` call — and reports customers per second for the check, the
write and the whole import, the SQL statements run, the process's CPU time (the machine
may be shared: CPU time says what the import itself cost) and the load average. Run it on
a fresh database (``migrate`` first): the rows it imports stay.

    manage.py bench_import --rows 100000 --json /tmp/import.json
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from clientdesk.core.actor import Actor, Source
from clientdesk.customers.imports import import_customers
from clientdesk.demo.import_csv import make_import_csv
from clientdesk.users.actions import create_user
from clientdesk.users.models import User

BENCH_ACTOR = "import-bench@staff.example"


class Command(BaseCommand):
    help = "Measure the customer import (check and write) on a generated CSV file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rows", type=int, default=100_000)
        parser.add_argument("--seed", type=int, default=1, help="1 to 6 never collide")
        parser.add_argument("--json", dest="json_path", default="")
        parser.add_argument(
            "--actor",
            default="",
            help=f"a manager's email; default: {BENCH_ACTOR}, made a manager if missing",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        rows = options["rows"]
        if rows < 1:
            raise CommandError("--rows must be at least 1.")
        actor = Actor(user=self._manager(options["actor"]), source=Source.STAFF)
        with tempfile.TemporaryDirectory(prefix="bench_import_") as folder:
            path = make_import_csv(Path(folder) / "customers.csv", rows, seed=options["seed"])
            size = path.stat().st_size
            statements = [0]
            cpu_started = time.process_time()
            with connection.execute_wrapper(_counter(statements)), path.open("rb") as source:
                result = import_customers(actor=actor, source=source, file_name=path.name)
            cpu = time.process_time() - cpu_started
        if not result.ok:
            for problem in result.problems[:20]:
                self.stderr.write(str(problem))
            raise CommandError(f"The generated file has {result.problem_count} problems.")
        load = os.getloadavg()
        report = {
            "vendor": connection.vendor,
            "rows": result.rows,
            "bytes": size,
            "seconds": round(result.seconds, 3),
            "customers_per_second": round(result.rows / result.seconds),
            "validate_seconds": round(result.validate_seconds, 3),
            "validate_per_second": round(result.rows / result.validate_seconds),
            "write_seconds": round(result.write_seconds, 3),
            "write_per_second": round(result.rows / result.write_seconds),
            "cpu_seconds": round(cpu, 3),
            "sql_statements": statements[0],
            "first_client_id": result.first_client_id,
            "last_client_id": result.last_client_id,
            "load_average": [round(value, 2) for value in load],
        }
        self.stdout.write(
            f"{connection.vendor}: imported {result.rows:,} customers ({size / 1e6:.1f} MB) in "
            f"{result.seconds:.2f} s: {report['customers_per_second']:,}/s — check "
            f"{result.validate_seconds:.2f} s ({report['validate_per_second']:,}/s), write "
            f"{result.write_seconds:.2f} s ({report['write_per_second']:,}/s); CPU {cpu:.2f} s; "
            f"{statements[0]:,} SQL statements"
            f"{' (COPY not counted)' if connection.vendor == 'postgresql' else ''}; "
            f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
        )
        if options["json_path"]:
            Path(options["json_path"]).write_text(json.dumps(report, indent=2) + "\n")

    def _manager(self, email: str) -> User:
        if email:
            user = User.objects.filter(email__iexact=email).first()
            if user is None:
                raise CommandError(f"No user {email}.")
            return user
        user = User.objects.filter(email=BENCH_ACTOR).first()
        if user is None:
            Group.objects.get_or_create(name="manager")  # a flushed test database lacks it
            user = create_user(
                email=BENCH_ACTOR,
                full_name="Import benchmark",
                password=None,
                staff_roles=["manager"],
                actor=Actor.system(),
            )
            self.stdout.write(f"Made {BENCH_ACTOR} a staff manager for the measurement.")
        return user


def _counter(statements: list[int]) -> Callable[..., Any]:
    def count(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        statements[0] += 1
        return execute(sql, params, many, context)

    return count
