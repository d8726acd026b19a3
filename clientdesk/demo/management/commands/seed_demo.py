"""Load the demo data once. A second run leaves existing data alone."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from clientdesk.core.actor import Actor
from clientdesk.customers import actions as customer_actions
from clientdesk.customers.models import Customer
from clientdesk.customers.roles import Role
from clientdesk.demo.data import DEMO_LOGINS, DEMO_PASSWORD
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

        def user(email: str, name: str, **kw: Any) -> User:
            return user_actions.create_user(
                email=email, full_name=name, password=DEMO_PASSWORD, actor=system, **kw
            )

        user("support@clientdesk.example", "Sam Tan", staff_roles=["support"])
        user("manager@clientdesk.example", "Mei Ling Wong", staff_roles=["manager", "support"])
        user("billing@clientdesk.example", "Ravi Kumar", staff_roles=["billing"])
        user("admin@clientdesk.example", "Data Admin", is_superuser=True)

        aisha = user("aisha@maju-digital.example", "Aisha Rahman")
        farid = user("farid@maju-digital.example", "Farid Ismail")
        lim = user("lim@ledgerwise.example", "Lim Wei Jie")

        maju = customer_actions.create_customer(
            display_name="Maju Digital Sdn Bhd", kind=Customer.Kind.BUSINESS, actor=system
        )
        add = customer_actions.add_contact
        add(
            maju,
            first_name="Aisha",
            last_name="Rahman",
            email=aisha.email,
            role=Role.OWNER,
            user=aisha,
            actor=system,
        )
        add(
            maju,
            first_name="Farid",
            last_name="Ismail",
            email=farid.email,
            role=Role.MEMBER,
            user=farid,
            actor=system,
        )
        add(
            maju,
            first_name="Lim",
            last_name="Wei Jie",
            email=lim.email,
            role=Role.BILLING,
            user=lim,
            actor=system,
        )

        nurul = customer_actions.create_customer(
            display_name="Nurul Huda binti Ahmad", kind=Customer.Kind.INDIVIDUAL, actor=system
        )
        nurul_user = user("nurul@mail.example", "Nurul Huda binti Ahmad")
        add(
            nurul,
            first_name="Nurul Huda",
            last_name="binti Ahmad",
            email=nurul_user.email,
            role=Role.OWNER,
            user=nurul_user,
            actor=system,
        )

        harbour = customer_actions.create_customer(
            display_name="Harbourline Logistics Pte Ltd", kind=Customer.Kind.BUSINESS, actor=system
        )
        grace_user = user("grace@harbourline.example", "Grace Lee")
        add(
            harbour,
            first_name="Grace",
            last_name="Lee",
            email=grace_user.email,
            role=Role.OWNER,
            user=grace_user,
            actor=system,
        )
        add(
            harbour,
            first_name="Lim",
            last_name="Wei Jie",
            email=lim.email,
            role=Role.BILLING,
            user=lim,
            actor=system,
        )
