"""Every state change of customers and contacts. Views, commands and the API call these."""

from __future__ import annotations

from django.db import transaction

from clientdesk.audit.record import record
from clientdesk.core.actor import Actor
from clientdesk.core.models import Counter
from clientdesk.events.publish import publish
from clientdesk.users.models import User

from .models import Contact, Customer
from .roles import Role

FIRST_CUSTOMER_NUMBER = 100001


def create_customer(
    *, display_name: str, kind: str = Customer.Kind.BUSINESS, actor: Actor
) -> Customer:
    """Open a customer account with a fresh client ID that is never reused."""
    with transaction.atomic():
        number = Counter.next("customer_number", start=FIRST_CUSTOMER_NUMBER)
        customer = Customer.objects.create(number=number, display_name=display_name, kind=kind)
        record(
            "customer.created",
            actor=actor,
            customer=customer,
            target=customer,
            changes={"display_name": [None, display_name], "kind": [None, kind]},
        )
        publish(
            "customer.created",
            actor=actor,
            customer=customer,
            data={"number": customer.client_id, "display_name": display_name, "kind": kind},
        )
    return customer


def add_contact(
    customer: Customer,
    *,
    first_name: str,
    last_name: str = "",
    email: str,
    role: str = Role.MEMBER,
    user: User | None = None,
    actor: Actor,
) -> Contact:
    """Add a person to a customer; with ``user`` the contact may use the portal."""
    with transaction.atomic():
        contact = Contact.objects.create(
            customer=customer,
            first_name=first_name,
            last_name=last_name,
            email=getattr(user, "email", None) or email,
            role=role,
            user=user,
            portal_access=user is not None,
        )
        record(
            "contact.created",
            actor=actor,
            customer=customer,
            target=contact,
            changes={"email": [None, contact.email], "role": [None, role]},
        )
        publish(
            "contact.created",
            actor=actor,
            customer=customer,
            data={"id": contact.pk, "email": contact.email, "role": role},
        )
    return contact
