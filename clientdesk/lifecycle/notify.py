"""The lifecycle's emails: the owner hears of every status change, both sides of an
ownership transfer hear of it. Called inside the action's transaction; ``queue_email``
delivers after commit."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from clientdesk.customers.models import Contact, Customer
from clientdesk.customers.roles import Role
from clientdesk.notifications.actions import queue_email

from . import actions


def _support() -> dict[str, str]:
    return {
        "support_email": settings.CLIENTDESK_SUPPORT_EMAIL,
        "support_phone": settings.CLIENTDESK_SUPPORT_PHONE,
        "support_hours": settings.CLIENTDESK_SUPPORT_HOURS,
    }


def owner(customer: Customer, event: str, **context: Any) -> None:
    """``event``: suspended, unsuspended, closed or reopened."""
    contact = Contact.objects.filter(customer=customer, role=Role.OWNER).first()
    if contact is None or not contact.email:
        return
    queue_email(
        to=contact.email,
        template=f"lifecycle/email/{event}",
        context={"customer": customer, "contact": contact, **_support(), **context},
        customer_id=customer.pk,
    )


def ownership(customer: Customer, *, old_owner: Contact | None, new_owner: Contact) -> None:
    context = {
        "customer": customer,
        "old_owner": old_owner,
        "new_owner": new_owner,
        "what_moves": actions.WHAT_MOVES,
        "what_stays": actions.WHAT_STAYS,
        **_support(),
    }
    recipients = [new_owner.email]
    if old_owner is not None and old_owner.email:
        recipients.append(old_owner.email)
    for address in recipients:
        queue_email(
            to=address,
            template="lifecycle/email/ownership_transferred",
            context={**context, "is_new_owner": address == new_owner.email},
            customer_id=customer.pk,
        )
