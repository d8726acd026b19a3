"""``manage.py bench_search``: how fast staff search answers on the current database.

Runs each scenario with varied terms drawn from the data (a warm-up, then ``--runs`` timed
searches) and prints p50/p95/p99 in milliseconds and the SQL statements per search. It times
``customers.search.search_customers`` in-process — the database work plus loading the hits —
not HTTP. Load a data set first: ``manage.py generate_dataset --customers M``.
"""

from __future__ import annotations

import json
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, reset_queries
from django.test.utils import CaptureQueriesContext

from clientdesk.customers.models import Contact, Customer
from clientdesk.customers.search import search_customers
from clientdesk.demo.bench.samples import COMMON_TERMS, Samples, misspelt


class Command(BaseCommand):
    help = "Measure staff search latency (p50/p95/p99) on the current database."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--runs", type=int, default=200)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--json", dest="json_path", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        rng = random.Random(options["seed"])  # noqa: S311 -- sampling, not secrets
        runs = options["runs"]
        customers = Customer.objects.count()  # once, for the report (not a hot path)
        if customers == 0:
            raise CommandError("No customers: run generate_dataset first.")
        contacts = Contact.objects.count()
        samples = Samples(rng, runs)
        scenarios: dict[str, Callable[[int], str]] = {
            "selective: full company name": lambda i: samples.customer(i).display_name,
            "selective: person's full name": lambda i: samples.contact(i).full_name,
            "common 3-letter term": lambda i: COMMON_TERMS[i % len(COMMON_TERMS)],
            "exact email": lambda i: samples.contact(i).email.upper(),
            "email prefix": lambda i: samples.contact(i).email[:8],
            "client ID": lambda i: samples.customer(i).client_id,
            "phone (as dialled)": lambda i: samples.phone(i),
            "misspelt name (similar names)": lambda i: misspelt(samples.customer(i).display_name),
        }
        self.stdout.write(
            f"{connection.vendor}: {customers:,} customers, {contacts:,} contacts; "
            f"{runs} searches per scenario"
        )
        self.stdout.write("| scenario | p50 ms | p95 ms | p99 ms | max ms | SQL per search |")
        self.stdout.write("|---|---:|---:|---:|---:|---:|")
        report = {"vendor": connection.vendor, "customers": customers, "contacts": contacts}
        results = {}
        for name, term_for in scenarios.items():
            for i in range(10):  # warm-up: caches, prepared plans
                search_customers(term_for(i))
            timings, statements = [], []
            for i in range(runs):
                term = term_for(i)
                reset_queries()
                with CaptureQueriesContext(connection) as queries:
                    started = time.perf_counter()
                    page = search_customers(term)
                    timings.append((time.perf_counter() - started) * 1000)
                statements.append(len(queries.captured_queries))
                if name != "common 3-letter term" and not page.hits:
                    raise CommandError(f"{name}: no hit for {term!r} — the scenario is broken")
            row = _percentiles(timings) | {"sql": statistics.median(statements)}
            results[name] = row
            self.stdout.write(
                f"| {name} | {row['p50']:.1f} | {row['p95']:.1f} | {row['p99']:.1f} | "
                f"{row['max']:.1f} | {row['sql']:.0f} |"
            )
        if options["json_path"]:
            with open(options["json_path"], "w", encoding="utf-8") as out:
                json.dump(report | {"scenarios": results}, out, indent=2)


def _percentiles(timings: list[float]) -> dict[str, float]:
    ordered = sorted(timings)

    def at(fraction: float) -> float:
        return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": ordered[-1]}
