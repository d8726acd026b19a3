"""``manage.py check_invariants``: prove the data is consistent (``clientdesk/demo/invariants.py``).

Ledger sums equal balances, one owner per customer, no shared login email, the outbox
drained. Exits 1 with the list of problems when one fails; ``--wait`` first gives the
background workers up to that many seconds to drain the outbox (after a load test),
``--strict`` also fails on webhook deliveries that failed and tasks that failed, and
``--json`` writes the result for scripts. Reads only; safe on a live database.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from clientdesk.demo.invariants import CHECKS, STRICT_CHECKS, check_outbox, run_checks


class Command(BaseCommand):
    help = "Check the data invariants (ledger, owners, login emails, outbox); exit 1 on a breach."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--only",
            action="append",
            choices=sorted(STRICT_CHECKS),
            help="run only this check (repeatable)",
        )
        parser.add_argument(
            "--strict", action="store_true", help="also fail on failed deliveries and tasks"
        )
        parser.add_argument(
            "--wait",
            type=float,
            default=0.0,
            help="seconds to wait for the outbox to drain before checking (default 0)",
        )
        parser.add_argument("--json", default="", help="write the result to this file")

    def handle(self, *args: Any, **options: Any) -> None:
        names = options["only"] or list(STRICT_CHECKS if options["strict"] else CHECKS)
        waited = self._wait_for_outbox(options["wait"]) if "outbox" in names else 0.0
        results = run_checks(names, strict=options["strict"])
        problems = [line for lines in results.values() for line in lines]
        if options["json"]:
            path = Path(options["json"])
            path.parent.mkdir(parents=True, exist_ok=True)
            body = {"ok": not problems, "waited_seconds": round(waited, 1), "checks": results}
            path.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
        for name, lines in results.items():
            mark = "ok" if not lines else "FAILED"
            self.stdout.write(f"  {name:<9} {mark}")
        if problems:
            for line in problems:
                self.stderr.write(line)
            raise CommandError(f"{len(problems)} invariant problem(s).")
        self.stdout.write(self.style.SUCCESS(f"Every invariant holds ({', '.join(names)})."))

    def _wait_for_outbox(self, seconds: float) -> float:
        """Poll until the outbox is drained or ``seconds`` have passed; returns the wait."""
        started = time.monotonic()
        while seconds > 0 and check_outbox():
            if time.monotonic() - started >= seconds:
                break
            time.sleep(0.5)
        return time.monotonic() - started
