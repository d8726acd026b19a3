"""``manage.py import_customers FILE --actor EMAIL [--dry-run]``: import customers from a
CSV file, as the staff console's "Import customers" page does (``customers.imports``).

The actor must be a staff member with the manager role (or a superuser); the import is
recorded under their name. Every problem is printed with its line and column, and then
nothing is imported; ``--dry-run`` only checks the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from clientdesk.core.actor import Actor, Source
from clientdesk.core.errors import DomainError
from clientdesk.customers.imports import import_customers
from clientdesk.users.emails import email_key
from clientdesk.users.models import User


class Command(BaseCommand):
    help = "Import customers (and their owners) from a CSV file; all or nothing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the CSV file (UTF-8; see docs/operations.md)")
        parser.add_argument("--actor", required=True, help="email of the manager importing")
        parser.add_argument("--dry-run", action="store_true", help="check the file only")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(email_key=email_key(options["actor"])).first()
        if user is None:
            raise CommandError(f"No user with the email {options['actor']}.")
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No file {path}.")
        actor = Actor(user=user, source=Source.STAFF)
        try:
            with path.open("rb") as source:
                result = import_customers(
                    actor=actor, source=source, dry_run=options["dry_run"], file_name=path.name
                )
        except DomainError as error:
            raise CommandError(error.message) from None
        if not result.ok:
            for problem in result.problems:
                self.stdout.write(str(problem))
            if result.more_problems:
                self.stdout.write(f"… and {result.more_problems:,} more problems.")
            raise CommandError(
                f"{result.problem_count:,} problem{'s' if result.problem_count != 1 else ''} "
                f"in {result.rows_with_problems:,} of {result.rows:,} rows: nothing was imported."
            )
        if result.dry_run:
            self.stdout.write(
                f"{result.rows:,} customers ready to import (checked in "
                f"{result.validate_seconds:.1f} s); nothing was imported (--dry-run)."
            )
            return
        seconds = result.seconds
        rate = result.imported / seconds if seconds else 0.0
        self.stdout.write(
            f"Imported {result.imported:,} customers in {seconds:.1f} s ({rate:,.0f}/s): "
            f"{result.first_client_id} to {result.last_client_id}."
        )
