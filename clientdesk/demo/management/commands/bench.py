"""``manage.py bench``: time every hot path on the current database, with floors measured
in the same run (see ``clientdesk/demo/bench`` and docs/performance.md).

Load a data set first (``generate_dataset --customers M``). Writes ``--json`` (one file per
database); ``--write-doc`` puts the tables of the given JSON files in docs/performance.md.
"""

from __future__ import annotations

import json
import logging
import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.test.utils import override_settings

from clientdesk.audit.models import Activity
from clientdesk.change_requests.models import ChangeRequest
from clientdesk.customers.models import Contact, Customer
from clientdesk.demo.bench import report, setup
from clientdesk.demo.bench.scenarios import Bench, BenchFailure, Result, Scenario
from clientdesk.demo.bench.stats import summarise
from clientdesk.ledger.models import Entry


class Command(BaseCommand):
    help = "Measure pages, API, writes and sign-in against floors measured in the same run."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--runs", type=int, default=200, help="Requests per round.")
        parser.add_argument("--rounds", type=int, default=3, help="Rounds (median reported).")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--only", default="", help="Run the scenarios whose name has this.")
        parser.add_argument(
            "--webhook-events", type=int, default=20_000, help="0 leaves webhooks out."
        )
        parser.add_argument(
            "--import-rows", type=int, default=100_000, help="0 leaves the CSV import out."
        )
        parser.add_argument("--json", dest="json_path", default="")
        parser.add_argument(
            "--write-doc",
            nargs="*",
            metavar="JSON",
            help="Only write these JSON files' tables into docs/performance.md.",
        )
        parser.add_argument("--doc", default="docs/performance.md")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["write_doc"] is not None:
            files = [Path(p) for p in options["write_doc"]]
            report.write_doc(Path(options["doc"]), files)
            self.stdout.write(f"Wrote {len(files)} table(s) into {options['doc']}.")
            return
        if not Customer.objects.exists():
            raise CommandError("No customers: run generate_dataset first.")
        # The bench's own URLs (floors), and no API rate limit: 600 requests a minute per key
        # would stop the bench, not measure it (the limit's counter still runs each request).
        with (
            _logs_discarded(),
            override_settings(
                ROOT_URLCONF="clientdesk.demo.bench.urls",
                CLIENTDESK_API_REQUESTS_PER_MINUTE=10**9,
                ALLOWED_HOSTS=["testserver", "127.0.0.1", "localhost"],
            ),
        ):
            figures = self._run(options)
        if options["json_path"]:
            path = Path(options["json_path"])
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(figures, indent=2), encoding="utf-8")
        self.stdout.write(report.table(figures))
        if figures["failures"]:
            raise CommandError(
                "Failed: " + "; ".join(f"{k}: {v}" for k, v in figures["failures"].items())
            )

    def _run(self, options: dict[str, Any]) -> dict[str, Any]:
        rng = random.Random(options["seed"])  # noqa: S311 -- sampling, not secrets
        cast = setup.cast(rng)
        bench = Bench(cast, runs=options["runs"], seed=options["seed"])
        heavy = bench.heavy(
            webhook_events=options["webhook_events"], import_rows=options["import_rows"]
        )
        heavy = [
            s
            for s in heavy
            if (options["webhook_events"] or "webhook" not in s.name)
            and (options["import_rows"] or "import" not in s.name)
        ]
        scenarios = [
            s
            for s in [*bench.scenarios(), *bench.special(), *heavy]
            if options["only"].lower() in s.name.lower()
        ]
        load_before = os.getloadavg()[0]
        data = _data_size()  # before the CSV import adds its customers
        rounds: dict[str, list[Result]] = {s.name: [] for s in scenarios}
        failures: dict[str, str] = {}
        for number in range(options["rounds"]):
            for scenario in scenarios:
                if scenario.once and number > 0:
                    continue
                self.stderr.write(f"round {number + 1}: {scenario.name}…")
                try:
                    rounds[scenario.name].append(scenario.run(number))
                except (BenchFailure, CommandError) as failure:
                    # Keep measuring the rest: one broken scenario must not lose the run.
                    failures[scenario.name] = str(failure)
                    self.stderr.write(f"  FAILED: {failure}")
        return {
            "vendor": connection.vendor,
            "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "load_before": load_before,
            "cpus": os.cpu_count(),
            "runs": options["runs"],
            "rounds": options["rounds"],
            "data": data,
            "setup": setup.describe(cast),
            "scenarios": [_row(s, rounds[s.name]) for s in scenarios if rounds[s.name]],
            "failures": failures,
        }


@contextmanager
def _logs_discarded() -> Iterator[None]:
    """Every request still writes its log line (a real cost), into /dev/null instead of the
    bench's report."""
    handlers = [
        handler
        for logger in [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
        if isinstance(logger, logging.Logger)
        for handler in logger.handlers
        if isinstance(handler, logging.StreamHandler)
        and not isinstance(handler, logging.FileHandler)
    ]
    with open(os.devnull, "w", encoding="utf-8") as devnull:
        streams = [handler.setStream(devnull) for handler in handlers]
        try:
            yield
        finally:
            for handler, stream in zip(handlers, streams, strict=True):
                if stream is not None:
                    handler.setStream(stream)


def _row(scenario: Scenario, results: list[Result]) -> dict[str, Any]:
    main = summarise([r.timing for r in results])
    row: dict[str, Any] = {
        "name": scenario.name,
        "group": scenario.group,
        "note": scenario.note,
        "target": asdict(scenario.target),
        **main.as_dict(),
        "sql": sorted(r.sql for r in results)[len(results) // 2],
        "extra": _median_extra(results),
    }
    for floor in ("raw", "bare", "hello"):
        timings = [getattr(r, floor) for r in results if getattr(r, floor) is not None]
        row[floor] = summarise(timings).as_dict() if timings else None
    return row


# Counts of things that must never happen: the worst round is reported, not the median.
WORST_OF_ROUNDS = {"locked", "errors"}


def _median_extra(results: list[Result]) -> dict[str, float]:
    keys = {key for r in results for key in r.extra}
    extra = {}
    for key in sorted(keys):
        values = sorted(r.extra[key] for r in results if key in r.extra)
        extra[key] = values[-1] if key in WORST_OF_ROUNDS else values[len(values) // 2]
    return extra


def _data_size() -> dict[str, int]:
    """Exact row counts of the data set (a few seconds at a million customers)."""
    sizes = {
        "customers": Customer.objects.count(),
        "contacts": Contact.objects.count(),
        "activity": Activity.objects.count(),
        "ledger_entries": Entry.objects.count(),
        "change_requests": ChangeRequest.objects.count(),
    }
    return sizes
