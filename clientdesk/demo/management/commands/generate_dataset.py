"""``manage.py generate_dataset --customers 1000000``: a large realistic data set for
benchmarks (see ``clientdesk/demo/dataset.py``). Adds to what is there; never run it on a
database with real customers."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from clientdesk.demo.dataset import generate

SIZES = {"S": 10_000, "M": 1_000_000}


class Command(BaseCommand):
    help = "Add a large, realistic set of customers and contacts (for benchmarks)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--customers",
            default="S",
            help="How many customers: S (10 000), M (1 000 000) or a number.",
        )
        parser.add_argument("--seed", type=int, default=42, help="Random seed (repeatable).")
        parser.add_argument("--batch-size", type=int, default=5000)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        size = str(options["customers"]).upper().replace("_", "")
        customers = SIZES.get(size) or int(size)
        result = generate(
            customers=customers,
            seed=options["seed"],
            batch_size=options["batch_size"],
            progress=not options["no_progress"],
        )
        self.stdout.write(
            f"Added {result.customers:,} customers and {result.contacts:,} contacts in "
            f"{result.seconds:,.1f} s ({result.customers_per_second:,.0f} customers/s)."
        )
