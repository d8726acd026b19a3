"""Changing a customer's primary (login) email — the staff procedure of seed 003.

The primary email is the owner's login email (DESIGN §1): the owner's ``User.email``, their
allauth address and every contact linked to that user change together, in one transaction,
so they can never disagree. The user's sessions end (the login email is part of the session
hash, see ``users.models.User.get_session_auth_hash``) and outstanding password-reset links
stop working (reset tokens are bound to the email). A staff note records how the client's
identity was verified, why, and who authorised it; Activity keeps old and new values; the
outbox tells downstream systems (cPanel, WHOIS, billing) through
``customer.primary_email_changed``. After commit the new address gets a confirmation and the
old one a notice.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from clientdesk.audit.record import record
from clientdesk.core.actor import Actor, Source
from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.customers import validators
from clientdesk.customers.models import Contact, Customer, Note
from clientdesk.customers.notes import add_note
from clientdesk.customers.roles import Role
from clientdesk.events.publish import publish
from clientdesk.notifications.actions import queue_email
from clientdesk.users.actions import end_all_sessions
from clientdesk.users.models import User

from .actions import close_with_procedure
from .email_checks import validated_new_login_email
from .models import OPEN_STATUSES, ChangeRequest, Kind

# DESIGN §4: the support group runs the procedure; managers may too.
PROCEDURE_GROUPS = frozenset({"support", "manager"})
REFERENCE_MAX = 300
REASON_MAX = 300


class VerificationMethod(models.TextChoices):
    """How staff confirmed they were talking to the account holder (seed 003 step 1)."""

    SECURITY_QUESTION = "security_question", "Security question answered"
    REGISTERED_EMAIL = "registered_email", "Confirmation from the registered email"
    PHONE_CALLBACK = "phone_callback", "Phone call-back to the number on file"
    ID_DOCUMENT = "id_document", "Identity document checked"
    OTHER = "other", "Other (described in the evidence reference)"


@dataclass(frozen=True)
class EmailChange:
    customer: Customer
    old_email: str
    new_email: str
    note: Note
    closed_request: ChangeRequest | None


def may_run_procedure(user: Any) -> bool:
    if not getattr(user, "is_staff", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return bool(set(user.groups.values_list("name", flat=True)) & PROCEDURE_GROUPS)


def change_primary_email(
    customer: Customer,
    *,
    new_email: str,
    verification_method: str,
    verification_reference: str,
    reason: str,
    authorised_by: User | None,
    actor: Actor,
    change_request: ChangeRequest | None = None,
) -> EmailChange:
    """Give the customer's owner a new login email, after staff verified who asked.

    Every input is required: the verification method and its evidence reference (a ticket,
    call reference or document number), the reason, and the staff member who authorised it.
    An open primary-email change request of the customer is closed as approved."""
    if actor.source != Source.STAFF or not may_run_procedure(actor.user):
        raise DomainError(
            ErrorCode.NOT_ALLOWED, "Only support staff and managers change a login email."
        )
    errors: dict[str, list[str]] = {}
    if verification_method not in VerificationMethod.values:
        errors["verification_method"] = ["Choose how you verified the client's identity."]
    evidence = _text(verification_reference, "verification_reference", REFERENCE_MAX, errors)
    why = _text(reason, "reason", REASON_MAX, errors)
    if authorised_by is None:
        errors["authorised_by"] = ["Choose who authorised the change."]
    elif not authorised_by.is_staff or not authorised_by.is_active:
        errors["authorised_by"] = ["Choose an active member of staff."]
    if errors:
        raise DomainError(ErrorCode.INVALID, "Check the highlighted fields.", errors=errors)
    assert authorised_by is not None
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        owner = (
            Contact.objects.select_for_update(of=("self",))
            .filter(customer=customer, role=Role.OWNER)
            .select_related("user")
            .first()
        )
        if owner is None or owner.user is None:
            raise DomainError(
                ErrorCode.CONFLICT,
                "The owner has no sign-in yet, so there is no login email to change. Edit "
                "the owner contact's email and send the invitation again instead.",
            )
        user = User.objects.select_for_update().get(pk=owner.user.pk)
        checked = validated_new_login_email(
            user, new_email, same_text="That is already the login email."
        )
        old = user.email
        # Sessions first: once the email changes their hash no longer matches, and allauth
        # would drop them without the record of ending them.
        end_all_sessions(user, actor=actor, reason="login email changed")
        set_login_email(user, checked.address)
        update_linked_contacts(user, checked.address, old=old, actor=actor, reason=why)
        method = VerificationMethod(verification_method)
        note = add_note(
            customer,
            kind=Note.Kind.EMAIL_CHANGE,
            body=(
                f"Primary email changed from {old} to {checked.address} on "
                f"{_local_now(customer):%Y-%m-%d %H:%M %Z}.\n"
                f"Identity verified by: {method.label} (evidence: {evidence}).\n"
                f"Reason: {why}\nAuthorised by: {authorised_by}."
            ),
            reason=why,
            authorised_by=authorised_by,
            actor=actor,
        )
        record(
            "customer.primary_email_changed",
            actor=actor,
            customer=customer,
            target=customer,
            changes={"primary_email": [old, checked.address]},
            reason=why,
        )
        publish(
            "customer.primary_email_changed",
            actor=actor,
            customer=customer,
            data={
                "number": customer.client_id,
                "old_email": old,
                "new_email": checked.address,
                "owner_contact_id": owner.pk,
                "verification_method": method.value,
                "note_id": note.pk,
            },
        )
        closed = _close_open_request(customer, change_request, actor=actor, reason=why)
        _notify(customer, old=old, new=checked.address, owner=owner)
    return EmailChange(customer, old, checked.address, note, closed)


def set_login_email(user: User, address: str) -> None:
    """The login and allauth's copy of it. Staff vouch for the address (they verified the
    client), so it is stored as verified, like staff-created logins."""
    user.email = address
    try:
        with transaction.atomic():
            user.save(update_fields=["email"])
    except IntegrityError:
        raise DomainError(
            ErrorCode.CONFLICT,
            "Another sign-in took this address a moment ago; choose a different one.",
            field="new_email",
        ) from None
    EmailAddress.objects.filter(user=user).delete()
    EmailAddress.objects.create(user=user, email=address, verified=True, primary=True)


def update_linked_contacts(
    user: User, address: str, *, old: str, actor: Actor, reason: str
) -> None:
    """A linked contact's email is its user's login email (``Contact`` docstring), on every
    customer the person belongs to."""
    for contact in Contact.objects.select_for_update().filter(user=user).select_related("customer"):
        contact.email = address
        contact.version += 1
        contact.save(update_fields=["email", "version", "updated_at"])
        record(
            "contact.updated",
            actor=actor,
            customer=contact.customer,
            target=contact,
            changes={"email": [old, address]},
            reason=reason,
        )


def _close_open_request(
    customer: Customer, given: ChangeRequest | None, *, actor: Actor, reason: str
) -> ChangeRequest | None:
    if given is not None and given.customer_id != customer.pk:
        raise DomainError(ErrorCode.NOT_FOUND, "No such change request for this customer.")
    request = (
        ChangeRequest.objects.filter(
            customer=customer, kind=Kind.PRIMARY_EMAIL, status__in=OPEN_STATUSES
        ).first()
        if given is None
        else given
    )
    if request is None:
        return None
    close_with_procedure(request, actor=actor, reason=f"Changed by the email procedure: {reason}")
    return request


def _notify(customer: Customer, *, old: str, new: str, owner: Contact) -> None:
    context = {
        "customer": customer,
        "contact": owner,
        "old_email": old,
        "new_email": new,
        "changed_at": timezone.now(),
        "support_email": settings.CLIENTDESK_SUPPORT_EMAIL,
    }
    queue_email(
        to=new,
        template="change_requests/email/login_email_changed_new",
        context=context,
        customer_id=customer.pk,
    )
    queue_email(
        to=old,
        template="change_requests/email/login_email_changed_old",
        context=context,
        customer_id=customer.pk,
    )


def _local_now(customer: Customer) -> Any:
    """Now, in the customer's time zone (the note is read against their calls and emails)."""
    try:
        zone = zoneinfo.ZoneInfo(customer.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("UTC")
    return timezone.localtime(timezone=zone)


def _text(value: str, name: str, limit: int, errors: dict[str, list[str]]) -> str:
    try:
        text = validators.clean_text(value or "")
    except Exception as error:  # ValidationError: control characters and the like
        errors[name] = list(getattr(error, "messages", [str(error)]))
        return ""
    if not text:
        errors[name] = ["This field is required."]
    elif len(text) > limit:
        errors[name] = [f"Keep this under {limit} characters (it has {len(text)})."]
    return text
