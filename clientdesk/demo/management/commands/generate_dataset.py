"""``manage.py generate_dataset --customers M``: a large realistic data set for benchmarks
(see ``clientdesk/demo/dataset.py``). Adds to what is there; never run it on a database with
real customers."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from clientdesk.demo.dataset import History, generate

SIZES = {"S": 10_000, "M": 1_000_000}
DEFAULT = History()


class Command(BaseCommand):
    help = (
        "Add a large, realistic set of customers, contacts and their history (Activity, "
        "ledger entries, change requests), for benchmarks."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--customers",
            default="S",
            help="How many customers: S (10 000), M (1 000 000) or a number.",
        )
        parser.add_argument(
            "--activity",
            type=float,
            default=DEFAULT.activity,
            help="Activity rows per customer on average (M: 10 million).",
        )
        parser.add_argument(
            "--ledger-entries",
            type=float,
            default=DEFAULT.ledger_entries,
            help="Ledger entries per customer on average (M: 5 million).",
        )
        parser.add_argument(
            "--change-requests",
            type=float,
            default=DEFAULT.change_requests,
            help="Change requests per customer (a share, at most 1; M: 100 000).",
        )
        parser.add_argument(
            "--customers-only",
            action="store_true",
            help="Customers and contacts without any history (fastest).",
        )
        parser.add_argument("--seed", type=int, default=42, help="Random seed (repeatable).")
        parser.add_argument("--batch-size", type=int, default=5000)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        size = str(options["customers"]).upper().replace("_", "")
        try:
            customers = SIZES.get(size) or int(size)
        except ValueError:
            raise CommandError("--customers takes S, M or a number.") from None
        if customers < 1 or options["batch_size"] < 1:
            raise CommandError("--customers and --batch-size must be at least 1.")
        history = History(
            activity=0 if options["customers_only"] else max(options["activity"], 0),
            ledger_entries=0 if options["customers_only"] else max(options["ledger_entries"], 0),
            change_requests=(
                0 if options["customers_only"] else min(max(options["change_requests"], 0), 1)
            ),
        )
        result = generate(
            customers=customers,
            seed=options["seed"],
            batch_size=options["batch_size"],
            progress=not options["no_progress"],
            history=history,
        )
        self.stdout.write(
            f"Added {result.customers:,} customers, {result.contacts:,} contacts, "
            f"{result.activity:,} activity rows, {result.ledger_entries:,} ledger entries and "
            f"{result.change_requests:,} change requests in {result.seconds:,.1f} s "
            f"({result.customers_per_second:,.0f} customers/s, "
            f"{result.rows / max(result.seconds, 1e-9):,.0f} rows/s)."
        )
