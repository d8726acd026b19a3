"""Erasing a closed account's personal data once its retention period has passed.

What is erased: every profile field that describes a person or a company, the contacts (and
their invitations), the sign-ins that belonged to nobody else, the bodies of staff notes,
change-request values and messages, the values recorded in Activity, and the mail log's
copies. What is kept: the customer row under its number with a pseudonym as its name, its
status and dates, and every ledger entry (bookkeeping law) — they now point at a customer
that identifies nobody.

Notes, Activity and ledger entries are append-only for people; this job is the one
sanctioned writer that redacts them, through the models' base managers. Outbox events keep
their type and the client ID; their payloads (names, emails) are replaced.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from clientdesk.audit.models import Activity
from clientdesk.audit.record import record
from clientdesk.change_requests.models import ChangeRequest, LoginEmailChange, Message
from clientdesk.core.actor import Actor
from clientdesk.customers.models import Contact, Customer, Invitation, Note
from clientdesk.events.models import Event
from clientdesk.events.publish import publish
from clientdesk.notifications.models import MailLog
from clientdesk.remote_support.models import LoginAsSession
from clientdesk.resources.models import ResourceDownload
from clientdesk.users.models import User

ERASED = "[erased]"
# Profile fields kept: they describe the account, not a person.
KEPT_FIELDS = frozenset(
    {
        "id",
        "number",
        "kind",
        "status",
        "pricing_model",
        "price_adjustment_percent",
        "billing_mode",
        "credit_limit",
        "first_ledger_entry_at",
        "closed_at",
        "anonymised_at",
        "version",
        "currency",
        "timezone",
        "language",
        "software_level",
        "created_at",
        "updated_at",
        "billing_follows_legal",
    }
)


def pseudonym(customer: Customer) -> str:
    """A stable name that identifies nobody: ``Erased account 3f9a1c2b``."""
    digest = hashlib.sha256(f"{settings.SECRET_KEY}:{customer.pk}".encode()).hexdigest()
    return f"Erased account {digest[:8]}"


def due(now: datetime | None = None) -> list[int]:
    """Closed customers whose retention period has ended and are not yet anonymised."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.CLIENTDESK_CLOSED_RETENTION_DAYS)
    return list(
        Customer.objects.filter(
            status=Customer.Status.CLOSED, closed_at__lte=cutoff, anonymised_at__isnull=True
        ).values_list("pk", flat=True)[:500]
    )


def anonymise_customer(customer: Customer, *, actor: Actor) -> Customer:
    """Erase ``customer``'s personal data (closed and past retention; checked again here)."""
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        cutoff = timezone.now() - timedelta(days=settings.CLIENTDESK_CLOSED_RETENTION_DAYS)
        if locked.anonymised_at is not None:
            return locked
        if locked.status != Customer.Status.CLOSED or not locked.closed_at:
            raise ValueError(f"{locked.client_id} is not closed")
        if locked.closed_at > cutoff:
            raise ValueError(f"{locked.client_id} is still within its retention period")
        _erase_profile(locked)
        people = _erase_people(locked)
        _erase_records(locked, people)
        record(
            "customer.anonymised",
            actor=actor,
            customer=locked,
            target=locked,
            reason="Retention period ended",
        )
        publish(
            "customer.anonymised",
            actor=actor,
            customer=locked,
            data={"number": locked.client_id, "status": locked.status},
        )
    return locked


def _erase_profile(customer: Customer) -> None:
    for field in Customer._meta.concrete_fields:
        if field.name in KEPT_FIELDS or field.primary_key:
            continue
        if field.name == "other_emails":
            customer.other_emails = []
        elif field.null:
            setattr(customer, field.attname, None)
        else:
            setattr(customer, field.attname, "")
    customer.display_name = pseudonym(customer)
    customer.billing_follows_legal = True
    customer.anonymised_at = timezone.now()
    customer.version += 1
    customer.save()


def _erase_people(customer: Customer) -> set[int]:
    """Removes the contacts and erases sign-ins nobody else uses; returns every user id that
    was a contact here (their names are erased from this customer's records)."""
    contacts = Contact.objects.filter(customer=customer)
    user_ids = set(contacts.exclude(user=None).values_list("user_id", flat=True))
    Invitation.objects.filter(customer=customer).delete()
    LoginEmailChange.objects.filter(customer=customer).delete()
    contacts.delete()
    # Sign-ins that were only this customer's: nobody can use them, so they are erased too.
    orphans = (
        User.objects.filter(pk__in=user_ids, is_staff=False, is_superuser=False)
        .annotate(n=Count("contacts"))
        .filter(n=0)
    )
    for user in orphans:
        EmailAddress.objects.filter(user=user).delete()
        user.email = f"erased-{user.pk}@erased.invalid"
        user.full_name = ""
        user.is_active = False
        user.set_unusable_password()
        user.save()
    return user_ids


def _erase_records(customer: Customer, people: set[int]) -> None:
    Note._base_manager.filter(customer=customer).update(body=ERASED, reason=ERASED)
    ChangeRequest.objects.filter(customer=customer).update(
        requested={}, snapshot={}, note="", decision_reason=""
    )
    Message.objects.filter(change_request__customer=customer).update(body=ERASED)
    Activity._base_manager.filter(customer=customer).filter(
        ~Q(changes={}) | ~Q(target_repr="") | Q(ip__isnull=False)
    ).update(changes={}, target_repr="", ip=None)
    # Who did what stays (the actor's id); the names and free text go.
    Activity._base_manager.filter(customer=customer, actor_id__in=people).update(actor_label=ERASED)
    Activity._base_manager.filter(customer=customer).exclude(reason="").update(reason=ERASED)
    Event.objects.filter(customer=customer).update(
        data={"number": customer.client_id, "erased": True}
    )
    LoginAsSession.objects.filter(customer=customer).update(contact_name=ERASED)
    ResourceDownload.objects.filter(customer=customer).update(actor_label=ERASED)
    MailLog.objects.filter(customer_id=customer.pk).update(
        to=ERASED, subject=ERASED, text_body="", html_body="", kept_text=""
    )
