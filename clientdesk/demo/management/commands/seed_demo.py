"""Load the demo data once. A second run leaves existing data alone."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from clientdesk.core.actor import Actor
from clientdesk.customers import actions as customer_actions
from clientdesk.demo.data import DEMO_CUSTOMERS, DEMO_LOGINS, DEMO_PASSWORD, DEMO_STAFF
from clientdesk.users import actions as user_actions
from clientdesk.users.models import User


class Command(BaseCommand):
    help = "Load demo customers and sign-ins (only when the database has no users yet)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--print-logins", action="store_true", help="Print the sign-ins.")

    def handle(self, *args: Any, **options: Any) -> None:
        if User.objects.exists():
            self.stdout.write("Demo data: database already has users; leaving it as it is.")
        else:
            self._load()
            self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        if options["print_logins"]:
            self.stdout.write("")
            self.stdout.write(f"Demo sign-ins (password for all: {DEMO_PASSWORD})")
            for login in DEMO_LOGINS:
                self.stdout.write(f"  {login.email:<32} {login.who}")

    @transaction.atomic
    def _load(self) -> None:
        system = Actor.system()
        for email, name, roles, superuser in DEMO_STAFF:
            user_actions.create_user(
                email=email,
                full_name=name,
                password=DEMO_PASSWORD,
                staff_roles=roles,
                is_superuser=superuser,
                actor=system,
            )
        users: dict[str, User] = {}
        for demo in DEMO_CUSTOMERS:
            customer = customer_actions.create_customer(
                display_name=demo.name, kind=demo.kind, actor=system
            )
            for person in demo.people:
                if person.email not in users:
                    users[person.email] = user_actions.create_user(
                        email=person.email,
                        full_name=f"{person.first_name} {person.last_name}",
                        password=DEMO_PASSWORD,
                        actor=system,
                    )
                customer_actions.add_contact(
                    customer,
                    first_name=person.first_name,
                    last_name=person.last_name,
                    email=person.email,
                    role=person.role,
                    user=users[person.email],
                    actor=system,
                )
