"""Login As (seed 001, "Log in your customer accounts … Login As or Remote Support").

A support-group staff member, giving a reason, uses the portal as one of a customer's users
for a limited time (``CLIENTDESK_LOGIN_AS_MINUTES``). The staff member's own sign-in stays
their session's identity: the middleware (``middleware.py``) presents the customer's user to
portal pages while the session is open, so ending it simply stops doing that (and the session
key is cycled). Every action taken meanwhile carries the staff member as ``impersonator`` —
in Activity ("Sam Tan as Aisha Rahman") and in outbox events. The customer sees in their
Activity that support accessed the account, and why.

Never: staff or superusers as targets, a user without portal access to that customer, a
suspended or closed customer, or a session without a reason.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from clientdesk.audit.record import record
from clientdesk.core.actor import Actor, Source
from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.customers import validators
from clientdesk.customers.models import Contact, Customer
from clientdesk.events.publish import publish
from clientdesk.users.roles import SUPPORT, has_staff_role

from .models import LoginAsSession

REASON_MAX = 500
EndReason = LoginAsSession.EndReason


def _clean_reason(reason: str) -> str:
    return validators.clean_reason(
        reason,
        limit=REASON_MAX,
        required="Give the reason for signing in as the customer; they will see it.",
    )


def start_login_as(contact: Contact, *, reason: str, actor: Actor) -> LoginAsSession:
    """Open a Login As session as ``contact``'s portal user. A staff member's earlier open
    session is ended first (one at a time)."""
    staff = actor.user
    if actor.source != Source.STAFF or actor.impersonator is not None:
        raise DomainError(ErrorCode.NOT_ALLOWED, "Login As starts from the staff console.")
    if staff is None or not has_staff_role(staff, SUPPORT):
        raise DomainError(ErrorCode.NOT_ALLOWED, "Only the support team may use Login As.")
    clean = _clean_reason(reason)
    with transaction.atomic():
        contact = Contact.objects.select_related("user", "customer").get(pk=contact.pk)
        customer = contact.customer
        user = contact.user
        if user is None or not contact.portal_access:
            raise DomainError(
                ErrorCode.CONFLICT, f"{contact} has no portal sign-in to use.", field="contact"
            )
        if user.is_staff or user.is_superuser:
            raise DomainError(ErrorCode.NOT_ALLOWED, "Staff accounts cannot be signed in as.")
        if not user.is_active:
            raise DomainError(ErrorCode.CONFLICT, f"{contact}'s sign-in is deactivated.")
        if user.pk == staff.pk:
            raise DomainError(ErrorCode.NOT_ALLOWED, "You cannot sign in as yourself.")
        if customer.status != Customer.Status.ACTIVE:
            raise DomainError(
                ErrorCode.CONFLICT,
                f"{customer.client_id} is {customer.get_status_display().lower()}; "
                "nobody can use its portal.",
            )
        for previous in LoginAsSession.objects.select_for_update().filter(
            staff=staff, ended_at__isnull=True
        ):
            _end(previous, why=EndReason.REPLACED, actor=actor)
        now = timezone.now()
        session = LoginAsSession.objects.create(
            staff=staff,
            user=user,
            customer=customer,
            contact_name=str(contact)[:200],
            reason=clean,
            started_at=now,
            expires_at=now + timedelta(minutes=settings.CLIENTDESK_LOGIN_AS_MINUTES),
        )
        record(
            "support.login_as_started",
            actor=actor,
            customer=customer,
            target=contact,
            changes={"signed_in_as": [None, str(contact)]},
            reason=clean,
        )
        publish(
            "support.login_as_started",
            actor=actor,
            customer=customer,
            data=_session_data(session),
        )
    return session


def end_login_as(session: LoginAsSession, *, why: str, actor: Actor) -> LoginAsSession:
    """End an open session (``why``: ended, expired or signed_out). Already ended: no-op."""
    with transaction.atomic():
        locked = LoginAsSession.objects.select_for_update().get(pk=session.pk)
        if locked.ended_at is not None:
            return locked
        return _end(locked, why=why, actor=actor)


def _end(session: LoginAsSession, *, why: str, actor: Actor) -> LoginAsSession:
    session.ended_at = timezone.now()
    session.end_reason = why
    session.save(update_fields=["ended_at", "end_reason"])
    # Recorded as the staff member themselves (not "as" the customer's user).
    staff_actor = Actor(
        user=session.staff, source=Source.STAFF, ip=actor.ip, request_id=actor.request_id
    )
    record(
        "support.login_as_ended",
        actor=staff_actor,
        customer=session.customer,
        changes={"signed_in_as": [session.contact_name, None]},
        reason=EndReason(why).label,
    )
    publish(
        "support.login_as_ended",
        actor=staff_actor,
        customer=session.customer,
        data=_session_data(session),
    )
    return session


def _session_data(session: LoginAsSession) -> dict[str, object]:
    return {
        "id": session.pk,
        "customer": session.customer.client_id,
        "staff_id": session.staff_id,
        "user_id": session.user_id,
        "reason": session.reason,
        "started_at": session.started_at.isoformat(),
        "expires_at": session.expires_at.isoformat(),
        "ended_at": session.ended_at.isoformat() if session.ended_at else None,
        "end_reason": session.end_reason or None,
    }
