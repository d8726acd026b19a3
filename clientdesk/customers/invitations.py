"""Portal invitations: the emailed, single-use link that gives a contact a sign-in.

- A link carries a random token; only its SHA-256 is stored. It expires after
  ``INVITATION_LIFETIME`` and works once: acceptance is a conditional update of the pending
  row, so of two parallel acceptances exactly one wins.
- Accepting as a new person sets a password (the link proved the mailbox, so the email is
  verified). Accepting with an existing sign-in requires being signed in as that address.
- Nothing an inviter sees depends on whether the address already has a sign-in elsewhere.
- Sending is rate-limited per customer per hour (``CLIENTDESK_INVITATIONS_PER_HOUR``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from clientdesk.audit.record import record
from clientdesk.core import ratelimit
from clientdesk.core.actor import Actor, Source
from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.events.publish import publish
from clientdesk.notifications.actions import queue_email
from clientdesk.users import actions as user_actions
from clientdesk.users.emails import email_key
from clientdesk.users.models import User

from . import contact_rules, validators
from .models import Contact, Customer, Invitation
from .resources import contact_resource
from .roles import Capability, has_capability

INVITATION_LIFETIME = timedelta(days=7)
RENEWAL_REQUEST_INTERVAL = timedelta(hours=12)


@dataclass(frozen=True)
class IssuedInvitation:
    """A sent invitation and the one copy of its token (only the email carries it)."""

    invitation: Invitation
    token: str

    @property
    def url(self) -> str:
        return accept_url(self.token)


class LinkState(StrEnum):
    """What an invitation link can be, as its page explains it."""

    VALID = "valid"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"
    CANCELLED = "cancelled"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def accept_url(token: str) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("portal:invitation", args=[token])


def find(token: str) -> Invitation | None:
    """The invitation a link names, whatever its state (None for a made-up token)."""
    if not token or len(token) > 100:
        return None
    return (
        Invitation.objects.select_related("customer", "contact")
        .filter(token_hash=hash_token(token))
        .first()
    )


def link_state(invitation: Invitation | None) -> LinkState:
    if invitation is None:
        return LinkState.UNKNOWN
    if invitation.status == Invitation.Status.ACCEPTED:
        return LinkState.USED
    if invitation.status == Invitation.Status.CANCELLED:
        return LinkState.CANCELLED
    if invitation.is_expired():
        return LinkState.EXPIRED
    return LinkState.VALID


def pending_for(customer_id: int) -> list[Invitation]:
    """The customer's pending invitations (expired ones included: they can be resent)."""
    return list(
        Invitation.objects.filter(customer_id=customer_id, status=Invitation.Status.PENDING)
        .select_related("contact")
        .order_by("-last_sent_at", "-id")
    )


# --- actions -----------------------------------------------------------------------------


def send_invitation(contact: Contact, *, actor: Actor) -> IssuedInvitation:
    """Send (or resend) the invitation of a contact whose portal access is on but who has
    no sign-in yet. A resend makes a new link and a new expiry; the old link stops working."""
    with transaction.atomic():
        locked = (
            Contact.objects.select_for_update()
            .select_related("customer")
            .filter(pk=contact.pk)
            .first()
        )
        if locked is None:
            raise DomainError(ErrorCode.NOT_FOUND, "That contact no longer exists.")
        contact = locked
        who = contact_rules.contact_actor(actor, contact.customer)
        contact_rules.require(contact_rules.access_refusal(who, contact, enable=True))
        if not contact.portal_access:
            raise DomainError(
                ErrorCode.CONFLICT, "Switch portal access on first; that sends the invitation."
            )
        if contact.user_id is not None:
            raise DomainError(ErrorCode.CONFLICT, f"{contact} already signs in to the portal.")
        return issue(contact, actor=actor)


def cancel_invitation(invitation: Invitation, *, actor: Actor) -> Invitation:
    """Cancel a pending invitation: its link stops working and, as the person never signed
    in, their portal access is switched back off."""
    with transaction.atomic():
        invitation = _locked(invitation)
        contact = Contact.objects.select_for_update().get(pk=invitation.contact_id)
        who = contact_rules.contact_actor(actor, invitation.customer)
        contact_rules.require(contact_rules.access_refusal(who, contact, enable=True))
        if invitation.status != Invitation.Status.PENDING:
            raise DomainError(ErrorCode.CONFLICT, "This invitation is no longer pending.")
        _cancel(invitation, reason="cancelled")
        if contact.portal_access and contact.user_id is None:
            contact.portal_access = False
            contact.version += 1
            contact.save(update_fields=["portal_access", "version", "updated_at"])
        record(
            "invitation.cancelled",
            actor=actor,
            customer=invitation.customer,
            target=contact,
            changes={"invitation": [invitation.email, None]},
        )
        publish(
            "invitation.cancelled",
            actor=actor,
            customer=invitation.customer,
            data={**_invitation_data(invitation), "contact": contact_resource(contact)},
        )
    return invitation


def accept_invitation(
    token: str,
    *,
    actor: Actor,
    user: User | None = None,
    password: str = "",
    full_name: str = "",
) -> Contact:
    """Use an invitation link. Signed in (``user``): it must be the invited address. Not
    signed in: a new sign-in is created with ``password`` — unless the address already has
    one, then the person must sign in first. Exactly one of parallel acceptances wins."""
    with transaction.atomic():
        invitation = find(token)
        state = link_state(invitation)
        if invitation is None or state != LinkState.VALID:
            raise DomainError(ErrorCode.CONFLICT, LINK_MESSAGES[state])
        if invitation.customer.status != Customer.Status.ACTIVE:
            raise DomainError(
                ErrorCode.CONFLICT,
                "This account is suspended or closed, so its invitations cannot be used now — "
                "contact support.",
            )
        now = timezone.now()
        # The single-use gate: only one transaction can move the row out of pending.
        won = Invitation.objects.filter(
            pk=invitation.pk, status=Invitation.Status.PENDING, expires_at__gt=now
        ).update(status=Invitation.Status.ACCEPTED, accepted_at=now, updated_at=now)
        if not won:
            raise DomainError(ErrorCode.CONFLICT, LINK_MESSAGES[LinkState.USED])
        if user is not None:
            _check_signed_in_user(user, invitation)
        else:
            user = _new_user(invitation, password=password, full_name=full_name, actor=actor)
        contact = Contact.objects.select_for_update().get(pk=invitation.contact_id)
        if not contact.portal_access:  # access switched off after sending: link is void
            raise DomainError(ErrorCode.CONFLICT, LINK_MESSAGES[LinkState.CANCELLED])
        _refuse_second_contact(contact, user)
        contact.user = user
        contact.email = user.email  # one value: the contact's email is the login email
        contact.version += 1
        contact.save(update_fields=["user", "email", "version", "updated_at"])
        Invitation.objects.filter(pk=invitation.pk).update(accepted_by=user)
        # The row read before the single-use gate still says pending; the event tells what
        # the gate wrote.
        invitation.status = Invitation.Status.ACCEPTED
        invitation.accepted_at = now
        invitation.accepted_by = user
        _mark_email_verified(user)
        as_user = dataclasses.replace(actor, user=user, source=Source.PORTAL)
        record(
            "invitation.accepted",
            actor=as_user,
            customer=invitation.customer,
            target=contact,
            changes={"portal_login": [None, user.email]},
        )
        publish(
            "invitation.accepted",
            actor=as_user,
            customer=invitation.customer,
            data={**_invitation_data(invitation), "contact": contact_resource(contact)},
        )
    return contact


def request_new_invitation(token: str, *, actor: Actor) -> bool:
    """Someone holding an expired or cancelled link asks for a new one: the account's
    contact managers are emailed (at most once per ``RENEWAL_REQUEST_INTERVAL``). Returns
    whether a request was sent; the page says the same either way."""
    with transaction.atomic():
        invitation = find(token)
        if link_state(invitation) not in (LinkState.EXPIRED, LinkState.CANCELLED):
            return False
        assert invitation is not None
        invitation = _locked(invitation)
        now = timezone.now()
        last = invitation.renewal_requested_at
        if last is not None and now - last < RENEWAL_REQUEST_INTERVAL:
            return False
        if _needs_no_new_link(invitation.contact, now=now):
            return False
        invitation.renewal_requested_at = now
        invitation.save(update_fields=["renewal_requested_at", "updated_at"])
        customer = invitation.customer
        managers = [
            c.email
            for c in customer.contacts.filter(portal_access=True, user__isnull=False)
            if has_capability(c.role, Capability.MANAGE_CONTACTS)
        ]
        record(
            "invitation.renewal_requested",
            actor=actor,
            customer=customer,
            target=invitation.contact,
        )
        publish(
            "invitation.renewal_requested",
            actor=actor,
            customer=customer,
            data=_invitation_data(invitation),
        )
        if managers:
            queue_email(
                to=managers,
                template="customers/email/invitation_renewal",
                context={
                    "customer": customer,
                    "contact": invitation.contact,
                    "contacts_url": settings.SITE_URL.rstrip("/")
                    + reverse("portal:contacts", args=[customer.number]),
                },
                customer_id=customer.pk,
            )
    return True


# --- building blocks the contact actions share (call inside their transaction) ------------


def issue(contact: Contact, *, actor: Actor) -> IssuedInvitation:
    """Create or renew the contact's pending invitation and email the link."""
    customer = contact.customer
    limit = settings.CLIENTDESK_INVITATIONS_PER_HOUR
    if not ratelimit.allow(f"invitations:{customer.pk}", limit=limit, window_seconds=3600):
        raise DomainError(
            ErrorCode.RATE_LIMITED,
            f"This account has sent {limit} invitations in the last hour, the most allowed. "
            "Try again later.",
        )
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    invitation = (
        Invitation.objects.select_for_update()
        .filter(contact=contact, status=Invitation.Status.PENDING)
        .first()
    )
    resend = invitation is not None
    if invitation is None:
        invitation = Invitation(customer=customer, contact=contact, sent_count=0)
    invitation.email = contact.email
    invitation.token_hash = hash_token(token)
    invitation.expires_at = now + INVITATION_LIFETIME
    invitation.last_sent_at = now
    invitation.sent_count += 1
    invitation.invited_by = actor.user
    invitation.invited_by_label = actor.label[:300]
    invitation.renewal_requested_at = None
    invitation.save()
    record(
        "invitation.sent",
        actor=actor,
        customer=customer,
        target=contact,
        changes={"invitation": [None, contact.email]},
        reason="resent" if resend else "",
    )
    publish(
        "invitation.sent",
        actor=actor,
        customer=customer,
        data={**_invitation_data(invitation), "resend": resend},
    )
    queue_email(
        to=contact.email,
        template="customers/email/invitation",
        context={
            "customer": customer,
            "contact": contact,
            "inviter": _inviter_name(actor),
            "url": accept_url(token),
            "expires_at": invitation.expires_at,
        },
        customer_id=customer.pk,
    )
    return IssuedInvitation(invitation, token)


def cancel_pending(contact: Contact, *, reason: str, actor: Actor, quiet: bool = False) -> None:
    """Cancel the contact's pending invitation, if any (its link stops working)."""
    invitation = (
        Invitation.objects.select_for_update()
        .filter(contact=contact, status=Invitation.Status.PENDING)
        .first()
    )
    if invitation is None:
        return
    _cancel(invitation, reason=reason)
    if not quiet:
        record(
            "invitation.cancelled",
            actor=actor,
            customer=contact.customer,
            target=contact,
            changes={"invitation": [invitation.email, None]},
            reason=reason.replace("_", " "),
        )
    publish(
        "invitation.cancelled",
        actor=actor,
        customer=contact.customer,
        data={**_invitation_data(invitation), "reason": reason},
    )


LINK_MESSAGES: dict[LinkState, str] = {
    LinkState.VALID: "",
    LinkState.UNKNOWN: "This invitation link is not valid. Check that you copied all of it.",
    LinkState.EXPIRED: "This invitation has expired.",
    LinkState.USED: "This invitation has already been used.",
    LinkState.CANCELLED: "This invitation was cancelled.",
}


def _cancel(invitation: Invitation, *, reason: str) -> None:
    invitation.status = Invitation.Status.CANCELLED
    invitation.cancelled_at = timezone.now()
    invitation.cancel_reason = reason
    invitation.save(update_fields=["status", "cancelled_at", "cancel_reason", "updated_at"])


def _locked(invitation: Invitation) -> Invitation:
    locked = (
        Invitation.objects.select_for_update()
        .select_related("customer", "contact")
        .filter(pk=invitation.pk)
        .first()
    )
    if locked is None:
        raise DomainError(ErrorCode.NOT_FOUND, "That invitation no longer exists.")
    return locked


def _needs_no_new_link(contact: Contact, *, now: Any) -> bool:
    """The person already signs in, or a newer link is on its way: nobody needs asking."""
    return (
        contact.user_id is not None
        or contact.invitations.filter(status=Invitation.Status.PENDING, expires_at__gt=now).exists()
    )


def _check_signed_in_user(user: User, invitation: Invitation) -> None:
    if user.is_staff:
        raise DomainError(
            ErrorCode.NOT_ALLOWED,
            "Staff sign-ins cannot join a customer. Sign out, then open the link again.",
        )
    if email_key(user.email) != email_key(invitation.email):
        raise DomainError(
            ErrorCode.NOT_ALLOWED,
            "This invitation is for another email address than the one you are signed in "
            "with. Sign out, then open the link again.",
        )


def _refuse_second_contact(contact: Contact, user: User) -> None:
    """The sign-in must not become a second contact of the account: neither by the user
    (already linked to another contact) nor by the address (the login email, which the
    contact takes on, may be another contact's spelling of the invited one)."""
    others = Contact.objects.filter(customer_id=contact.customer_id).exclude(pk=contact.pk)
    if others.filter(user=user).exists():
        raise DomainError(ErrorCode.CONFLICT, "You already use the portal for this account.")
    if others.filter(email__iexact=user.email).exists():
        raise DomainError(
            ErrorCode.CONFLICT,
            f"Another contact of this account already has the address {user.email}. Ask the "
            "account's owner or an administrator to correct it, then open the link again.",
        )


def _new_user(invitation: Invitation, *, password: str, full_name: str, actor: Actor) -> User:
    if User.objects.filter(email_key=email_key(invitation.email)).exists():
        raise DomainError(
            ErrorCode.CONFLICT,
            "This address already has a sign-in. Sign in first, then open the link again.",
        )
    try:
        name = validators.clean_text(full_name) or invitation.contact.full_name
    except ValidationError as exc:
        raise DomainError(
            ErrorCode.INVALID, exc.messages[0], errors={"full_name": list(exc.messages)}
        ) from exc
    candidate = User(email=invitation.email, full_name=name)
    try:
        validate_password(password, candidate)
    except ValidationError as exc:
        raise DomainError(
            ErrorCode.INVALID, exc.messages[0], errors={"password1": list(exc.messages)}
        ) from exc
    return user_actions.create_user(
        email=invitation.email, full_name=name[:150], password=password, actor=actor
    )


def _mark_email_verified(user: User) -> None:
    """Following the link proved the mailbox."""
    from allauth.account.models import EmailAddress

    EmailAddress.objects.filter(user=user, email__iexact=user.email).update(verified=True)


def _inviter_name(actor: Actor) -> str:
    if actor.user is None:
        return settings.SITE_NAME
    if actor.source == Source.STAFF:
        return f"{settings.SITE_NAME} support"
    return str(actor.user)


def _invitation_data(invitation: Invitation) -> dict[str, Any]:
    return {
        "id": invitation.pk,
        "customer": invitation.customer.client_id,
        "contact_id": invitation.contact_id,
        "email": invitation.email,
        "status": invitation.status,
        "expires_at": invitation.expires_at.isoformat(),
        "sent_count": invitation.sent_count,
    }
