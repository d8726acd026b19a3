"""Load the demo data once. A second run leaves existing data alone."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from clientdesk.core.actor import Actor
from clientdesk.customers import actions as customer_actions
from clientdesk.customers import contact_actions
from clientdesk.customers.models import SoftwareLevel
from clientdesk.demo.data import (
    DEMO_CUSTOMERS,
    DEMO_LOGINS,
    DEMO_PASSWORD,
    DEMO_SOFTWARE_LEVELS,
    DEMO_STAFF,
    DEMO_TAX_RULES,
)
from clientdesk.demo.ledger_demo import load_demo_ledgers
from clientdesk.demo.resources_demo import seed_demo_resources
from clientdesk.demo.webhooks_demo import DEMO_URL, seed_webhook_endpoint
from clientdesk.taxes import actions as tax_actions
from clientdesk.taxes.models import TaxRule
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
        added = self._load_tax_rules()
        if added:
            self.stdout.write(self.style.SUCCESS(f"Demo tax rules added for {', '.join(added)}."))
        resources = seed_demo_resources()  # only into an empty library
        if resources:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo resources added: {resources} (one a draft, one scheduled)."
                )
            )
        ledger = load_demo_ledgers()  # fixed idempotency keys: a second run posts nothing
        if ledger.posted:
            self.stdout.write(self.style.SUCCESS(f"Demo ledger entries posted: {ledger.posted}."))
        for problem in ledger.problems:
            self.stdout.write(self.style.WARNING(f"Demo ledger: {problem}"))
        # After the demo data, so its own events are not sent to the receiver in one burst.
        hook = seed_webhook_endpoint()  # once; the local receiver knows its secret
        if hook.created:
            self.stdout.write(self.style.SUCCESS(f"Demo webhook endpoint registered: {DEMO_URL}."))
        if hook.problem:
            self.stdout.write(
                self.style.WARNING(f"Demo webhook endpoint not registered: {hook.problem}")
            )
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
        levels = {
            label: SoftwareLevel.objects.get_or_create(label=label, defaults={"position": n})[0]
            for n, label in enumerate(DEMO_SOFTWARE_LEVELS, start=1)
        }
        users: dict[str, User] = {}
        for demo in DEMO_CUSTOMERS:
            customer = customer_actions.create_customer(
                display_name=demo.name,
                kind=demo.kind,
                country=demo.country,
                currency=demo.currency,
                timezone=demo.timezone,
                actor=system,
            )
            for section, values in demo.profile.items():
                customer_actions.update_profile_section(
                    customer, section=section, values=values, actor=system
                )
            if demo.software_level:
                customer_actions.update_profile_section(
                    customer,
                    section="preferences",
                    values={"software_level": levels[demo.software_level].pk},
                    actor=system,
                )
            for person in demo.people:
                if person.portal == "active" and person.email not in users:
                    users[person.email] = user_actions.create_user(
                        email=person.email,
                        full_name=f"{person.first_name} {person.last_name}",
                        password=DEMO_PASSWORD,
                        actor=system,
                    )
                contact_actions.create_contact(
                    customer,
                    values={
                        "first_name": person.first_name,
                        "last_name": person.last_name,
                        "email": person.email,
                        "role": person.role,
                        "job_title": person.job_title,
                        "phone": person.phone,
                        "portal_access": person.portal == "invited",
                    },
                    user=users.get(person.email) if person.portal == "active" else None,
                    actor=system,
                )

    @transaction.atomic
    def _load_tax_rules(self) -> list[str]:
        """The demo tax rules, through the same action managers use. A country that has
        rules already is left alone, so a second run (or rules a manager keeps) changes
        nothing, and databases seeded before tax rules existed get them."""
        system = Actor.system()
        existing = set(TaxRule.objects.values_list("country", flat=True).distinct())
        added: list[str] = []
        for demo in DEMO_TAX_RULES:
            if demo.country in existing:
                continue
            tax_actions.add_tax_rule(
                country=demo.country,
                name=demo.name,
                rate=demo.rate,
                effective_from=datetime.date.fromisoformat(demo.effective_from),
                reason="Demo data",
                actor=system,
            )
            if demo.country not in added:
                added.append(demo.country)
        return added
