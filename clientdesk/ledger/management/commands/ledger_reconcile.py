"""``manage.py ledger_reconcile``: prove every stored balance equals the sum of its entries.

Exits 1 and lists the customers whose balance or entry count differs (a bug or a manual
database edit); run it after restores and on a schedule in production."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from clientdesk.ledger.queries import reconcile


class Command(BaseCommand):
    help = "Check that every ledger balance equals the sum of its entries."

    def handle(self, *args: Any, **options: Any) -> None:
        mismatches = reconcile()
        for m in mismatches:
            self.stderr.write(
                f"customer {m.customer_id}: stored {m.stored} over {m.stored_count} entries, "
                f"entries sum to {m.summed} over {m.counted}"
            )
        if mismatches:
            raise CommandError(f"{len(mismatches)} balance(s) do not match their entries.")
        self.stdout.write("Every balance equals the sum of its entries.")
