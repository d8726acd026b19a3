"""``manage.py loadtest_prepare --out fixture.json``: the data the load test runs against.

Run on a fresh, migrated database (``scripts/loadtest.py`` makes one on a throwaway
PostgreSQL server); it refuses a database that has users. It adds:

- ``--customers`` generated customers (``demo.dataset.generate``) for staff to search;
- ``--portal-customers`` business customers opened through the actions, each with an owner
  and an admin who sign in with one password (consecutive simulated customers share an
  account, so their saves meet), a legal address to request changes to, a customer API key
  made by the owner, and a credit top-up to charge against;
- support agents and managers with an authenticator (TOTP) enrolled with a known secret,
  one sign-in per simulated staff member (allauth refuses a code used twice by one user);
- staff of the support and billing groups with staff API keys (profile and ledger scopes),
  one per simulated API client, so each has its own rate-limit budget;
- a webhook endpoint at ``--webhook-url``, registered by a manager through the real action,
  whose signing secret the receiver gets.

Everything is written through the actions (Activity rows and outbox events included),
except the generated customers and the password: it is hashed once with the configured
hasher (Argon2) and given to every sign-in, as hashing it a hundred times would only
slow the preparation down. The fixture (JSON) lists the password, the sign-ins with their
TOTP secrets, the API tokens, the webhook secret and search terms; it holds credentials
for this throwaway database only.
"""

from __future__ import annotations

import json
import random
import secrets
import time
from pathlib import Path
from typing import Any

from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from clientdesk.apikeys import actions as api_keys
from clientdesk.core.actor import Actor, Source
from clientdesk.customers import actions as customer_actions
from clientdesk.customers import contact_actions
from clientdesk.customers.models import Contact, Customer
from clientdesk.customers.roles import Role
from clientdesk.demo.dataset import generate
from clientdesk.ledger import actions as ledger
from clientdesk.users import actions as user_actions
from clientdesk.users.models import User
from clientdesk.webhooks import actions as webhooks

DOMAIN = "loadtest.example"
CUSTOMER_KEY_SCOPES = ["customers:read", "customers:write", "ledger:read", "events:read"]
STAFF_KEY_SCOPES = [
    "customers:read",
    "customers:write",
    "ledger:read",
    "ledger:write",
    "events:read",
]
COMPANY_WORDS = ["Maju", "Teratai", "Cahaya", "Harmoni", "Gemilang", "Sinar", "Jaya", "Bestari"]
COMPANY_TRADES = ["Digital", "Logistik", "Hartanah", "Teknologi", "Perunding", "Niaga"]
FIRST_NAMES = ["Aisha", "Farid", "Mei Ling", "Ravi", "Siti", "Daniel", "Priya", "Wei Jie"]
LAST_NAMES = ["Rahman", "Ismail", "Tan", "Kumar", "Lim", "Wong", "Nair", "Chong"]
STATES = ["Selangor", "Johor", "Penang", "Perak", "Sabah", "Sarawak", "Melaka"]
SEARCH_SAMPLE = 300


class Command(BaseCommand):
    help = "Prepare a fresh database for the load test and write its fixture (JSON)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", required=True, help="where to write the fixture (JSON)")
        parser.add_argument("--customers", type=int, default=2000, help="generated customers")
        parser.add_argument("--portal-customers", type=int, default=40)
        parser.add_argument("--support", type=int, default=30, help="support agents (TOTP)")
        parser.add_argument("--managers", type=int, default=20, help="managers (TOTP)")
        parser.add_argument("--api-clients", type=int, default=30, help="staff API keys")
        parser.add_argument("--webhook-url", default="", help="register this webhook endpoint")
        parser.add_argument("--seed", type=int, default=11)

    def handle(self, *args: Any, **options: Any) -> None:
        if User.objects.exists():
            raise CommandError(
                "This database has users already: prepare the load test on a fresh database."
            )
        started = time.monotonic()
        rng = random.Random(options["seed"])  # noqa: S311 - repeatable test data
        if options["customers"]:
            generate(customers=options["customers"], seed=options["seed"], progress=False)
        password = f"lt-{secrets.token_urlsafe(12)}"
        fixture = self._prepare(rng, password=password, options=options)
        fixture["search_terms"] = _search_terms(rng, exclude=fixture["portal_customer_ids"])
        del fixture["portal_customer_ids"]
        path = Path(options["out"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(fixture, indent=2) + "\n", encoding="utf-8")
        path.chmod(0o600)
        self.stdout.write(
            f"Load test data ready in {time.monotonic() - started:.1f} s: "
            f"{Customer.objects.count():,} customers, {len(fixture['portal_users'])} portal "
            f"sign-ins, {len(fixture['staff'])} staff sign-ins, "
            f"{len(fixture['api_keys'])} API keys; fixture {path}"
        )

    @transaction.atomic
    def _prepare(self, rng: random.Random, *, password: str, options: dict[str, Any]) -> Any:
        system = Actor.system()
        hashed = make_password(password)  # once, with the configured hasher

        def user(email: str, name: str, roles: list[str] | None = None) -> User:
            made = user_actions.create_user(
                email=email, full_name=name, password=None, staff_roles=roles, actor=system
            )
            User.objects.filter(pk=made.pk).update(password=hashed)
            made.password = hashed
            return made

        staff: list[dict[str, Any]] = []
        managers: list[User] = []
        for group, count in (("support", options["support"]), ("manager", options["managers"])):
            for n in range(1, count + 1):
                roles = ["manager", "support"] if group == "manager" else ["support"]
                person = user(f"{group}-{n:02d}@{DOMAIN}", f"{group.title()} {n:02d}", roles)
                secret = generate_totp_secret()
                TOTP.activate(person, secret)
                staff.append({"email": person.email, "totp_secret": secret, "role": group})
                if group == "manager":
                    managers.append(person)

        portal_users: list[dict[str, Any]] = []
        keys: list[dict[str, Any]] = []
        customers: list[str] = []
        customer_ids: list[int] = []
        for n in range(1, options["portal_customers"] + 1):
            customer, people = _portal_customer(rng, n, user=user, actor=system)
            customers.append(customer.client_id)
            customer_ids.append(customer.pk)
            for role, person in people:
                portal_users.append(
                    {"email": person.email, "customer": customer.client_id, "role": role}
                )
            _, token = api_keys.create_customer_key(
                actor=Actor(people[0][1], Source.PORTAL),
                customer=customer,
                name="Load test ERP",
                scopes=CUSTOMER_KEY_SCOPES,
            )
            keys.append({"kind": "customer", "token": token, "customer": customer.client_id})
            ledger.post_entry(
                customer,
                kind="top_up",
                amount="500.00",
                description="Opening credit",
                idempotency_key=f"loadtest-opening-{customer.client_id}",
                actor=system,
            )

        staff_keys: list[dict[str, Any]] = []
        for n in range(1, options["api_clients"] + 1):
            person = user(f"api-{n:02d}@{DOMAIN}", f"Integration {n:02d}", ["support", "billing"])
            _, token = api_keys.create_staff_key(
                actor=Actor(person, Source.STAFF),
                name=f"Load test CRM {n}",
                scopes=STAFF_KEY_SCOPES,
            )
            staff_keys.append({"kind": "staff", "token": token})

        webhook: dict[str, Any] = {}
        if options["webhook_url"]:
            if not managers:
                raise CommandError("A webhook endpoint is registered by a manager: --managers 1+")
            endpoint, secret = webhooks.create_endpoint(
                actor=Actor(managers[0], Source.STAFF),
                url=options["webhook_url"],
                target="Billing",
                description="Load test: every event to the local receiver",
            )
            webhook = {"id": endpoint.pk, "url": endpoint.url, "secret": secret}

        return {
            "password": password,
            "portal_users": portal_users,
            "portal_customers": customers,
            "portal_customer_ids": customer_ids,
            "staff": staff,
            # Staff keys first: the first API clients post to the ledger.
            "api_keys": [*staff_keys, *keys],
            "webhook": webhook,
        }


def _portal_customer(
    rng: random.Random, n: int, *, user: Any, actor: Actor
) -> tuple[Customer, list[tuple[str, User]]]:
    name = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_TRADES)} {n:03d} Sdn Bhd"
    customer = customer_actions.create_customer(display_name=name, country="MY", actor=actor)
    customer_actions.update_profile_section(
        customer,
        section="legal",
        values={
            "legal_name": name,
            "legal_line1": f"Level {rng.randrange(1, 30)}, Menara {rng.choice(COMPANY_WORDS)}",
            "legal_city": "Petaling Jaya",
            "legal_postcode": f"{rng.randrange(40000, 49999)}",
            "legal_state": rng.choice(STATES),
        },
        actor=actor,
    )
    customer_actions.update_profile_section(
        customer,
        section="business",
        values={"trading_name": name.removesuffix(" Sdn Bhd"), "website": "https://example.com"},
        actor=actor,
    )
    people: list[tuple[str, User]] = []
    for role in (Role.OWNER, Role.ADMIN):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{role.value}-{customer.number}@{DOMAIN}"
        person = user(email, f"{first} {last}")
        contact_actions.create_contact(
            customer,
            values={"first_name": first, "last_name": last, "email": email, "role": role.value},
            user=person,
            actor=actor,
        )
        people.append((role.value, person))
    return customer, people


def _search_terms(rng: random.Random, *, exclude: list[int]) -> list[dict[str, str]]:
    """What support agents type: 3-letter fragments, names, client IDs, emails."""
    pool = list(
        Customer.objects.exclude(pk__in=exclude)
        .exclude(status=Customer.Status.CLOSED)
        .order_by("?")
        .values_list("pk", "number", "display_name")[:SEARCH_SAMPLE]
    )
    emails = dict(
        Contact.objects.filter(
            customer_id__in=[pk for pk, _, _ in pool], role=Role.OWNER
        ).values_list("customer_id", "email")
    )
    terms: list[dict[str, str]] = []
    for pk, number, display_name in pool:
        words = [word for word in display_name.split() if len(word) >= 3]
        kind = rng.choice(["fragment", "name", "client_id", "email"])
        if kind == "fragment" and words:
            terms.append({"kind": kind, "q": rng.choice(words)[:3].lower()})
        elif kind == "name" and words:
            terms.append({"kind": kind, "q": " ".join(words[:2])})
        elif kind == "email" and pk in emails:
            terms.append({"kind": kind, "q": emails[pk]})
        else:
            terms.append({"kind": "client_id", "q": f"C-{number}"})
    return terms
