"""What the bench needs beyond the generated data, made through the real actions: staff and
portal sign-ins, API keys, and open change requests for the approval scenario. Running the
bench again on the same database reuses them."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.db.models import Count
from django.test import Client

from clientdesk.apikeys.actions import create_staff_key
from clientdesk.change_requests.actions import submit_change_request
from clientdesk.change_requests.models import OPEN_STATUSES, ChangeRequest
from clientdesk.core.actor import Actor, Source
from clientdesk.customers.models import Contact, Customer
from clientdesk.users import actions as user_actions
from clientdesk.users.models import User

from .samples import sample

PASSWORD = "bench-password-2026"  # noqa: S105 -- the bench's own throwaway users
TOTP_SECRET = "JBSWY3DPEHPK3PXP"  # noqa: S105
API_SCOPES = ["customers:read", "customers:write", "ledger:read", "ledger:write"]


@dataclass
class Cast:
    """Who the bench signs in as, and the customers it looks at."""

    support: User
    manager: User
    owner: User  # owner of ``typical``
    large_owner: User  # owner of ``large`` (hundreds of contacts)
    typical: Customer
    large: Customer
    customers: list[Customer]
    api_token: str


def _user(email: str, name: str, *, staff_roles: list[str] | None = None) -> User:
    existing = User.objects.filter(email=email).first()
    if existing:
        return existing
    user = user_actions.create_user(
        email=email,
        full_name=name,
        password=PASSWORD,
        staff_roles=staff_roles,
        actor=Actor.system(),
    )
    if staff_roles and not Authenticator.objects.filter(user=user).exists():
        TOTP.activate(user, TOTP_SECRET)
    return user


def _owner_user(customer: Customer, email: str) -> User:
    """A sign-in for the customer's owner contact (generated contacts have none)."""
    user = _user(email, "Bench Owner")
    owner = Contact.objects.filter(customer=customer, role="owner").first()
    if owner is not None and owner.user_id != user.pk:
        Contact.objects.filter(pk=owner.pk).update(user=user, portal_access=True)
    return user


def _large_customer() -> Customer:
    """The customer with the most contacts (the generator makes a few with 500)."""
    row = (
        Contact.objects.values("customer_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .values_list("customer_id", flat=True)
        .first()
    )
    if row is None:
        raise LookupError("No contacts: run generate_dataset first.")
    return Customer.objects.get(pk=row)


def cast(rng: random.Random) -> Cast:
    support = _user(
        "bench-support@bench.example", "Bench Support", staff_roles=["support", "billing"]
    )
    manager = _user("bench-manager@bench.example", "Bench Manager", staff_roles=["manager"])
    active = Customer.objects.filter(status="active")
    customers = sample(rng, active, 60)
    typical = next(c for c in customers if c.contacts.count() <= 4)
    large = _large_customer()
    owner = _owner_user(typical, "bench-owner@bench.example")
    large_owner = _owner_user(large, "bench-large-owner@bench.example")
    actor = Actor(support, Source.STAFF)
    _, token = create_staff_key(actor=actor, name="Bench key", scopes=API_SCOPES)
    return Cast(
        support=support,
        manager=manager,
        owner=owner,
        large_owner=large_owner,
        typical=typical,
        large=large,
        customers=customers,
        api_token=token,
    )


def session_cookie(user: User) -> str:
    """A signed-in session for ``user`` (as after sign-in and, for staff, two-factor)."""
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def open_requests(cast: Cast, count: int, rng: random.Random) -> list[ChangeRequest]:
    """``count`` open legal-name requests raised by support, each on its own customer, for the
    manager to approve (one open request per kind and customer)."""
    actor = Actor(cast.support, Source.STAFF)
    busy = set(
        ChangeRequest.objects.filter(status__in=OPEN_STATUSES, kind="legal").values_list(
            "customer_id", flat=True
        )
    )
    made: list[ChangeRequest] = []
    # Malaysian customers have a complete registered address (a request is validated as a
    # save of the whole section would be).
    complete = Customer.objects.filter(status="active", country="MY").exclude(legal_line1="")
    for customer in sample(rng, complete, count * 3):
        if customer.pk in busy:
            continue
        busy.add(customer.pk)
        made.append(
            submit_change_request(
                customer,
                kind="legal",
                values={"legal_name": f"{customer.legal_name or customer.display_name} Berhad"},
                actor=actor,
                note="Renamed (bench).",
            )
        )
        if len(made) == count:
            break
    return made


def describe(cast: Cast) -> dict[str, Any]:
    return {
        "typical_customer": cast.typical.client_id,
        "large_customer": cast.large.client_id,
        "large_customer_contacts": cast.large.contacts.count(),
    }
