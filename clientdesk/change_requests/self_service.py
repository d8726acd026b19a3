"""Verified self-service change of the login email (issue 7 item 9), off by default.

With ``CLIENTDESK_SELF_SERVICE_EMAIL_CHANGE`` on, a customer's owner changes their own login
email without staff (seed 003 is the default: staff do it under a recorded procedure):

1. ``request_login_email_change`` — the owner, freshly re-authenticated (the view's job),
   names a new address. It is checked like the staff procedure checks it
   (``email_checks.check_new_login_email``). A verification link goes to the new address
   (24 hours, single use) and at once a notice goes to the old address with a "this was not
   me" link. A newer request supersedes the pending one: its link stops working.
2. ``confirm_login_email_change`` — the link's page, on POST (never on GET: mail scanners
   open links). The address is checked again (someone may have taken it meanwhile), then
   the login email, the allauth address and every linked contact change together exactly as
   in the staff procedure (``primary_email.set_login_email`` / ``update_linked_contacts``),
   the user's sessions end, and the old address is told. Of two parallel confirmations
   exactly one wins: the pending row is locked and moved out of pending.
3. ``report_not_me`` — the old address's link: cancels whatever change is pending, ends the
   user's sessions and flags the customer for staff review (a staff-only Activity row, an
   outbox event, an email to the staff inbox). Repeated clicks do nothing more.

django-allauth's own email management (``/accounts/email/``, ``ACCOUNT_CHANGE_EMAIL``) is
switched off in Clientdesk because a login email must change together with the contacts,
the customer's primary email, Activity and the outbox; its re-authentication
(``reauthentication_required``) guards the request page.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from clientdesk.audit.record import record
from clientdesk.core import ratelimit
from clientdesk.core.actor import Actor, Source
from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.customers.models import Contact, Customer
from clientdesk.customers.roles import Role
from clientdesk.events.publish import publish
from clientdesk.notifications.actions import queue_email
from clientdesk.users.actions import end_all_sessions
from clientdesk.users.models import User

from .actions import cancel_change_request
from .email_checks import EmailRefused, check_new_login_email, validated_new_login_email
from .models import OPEN_STATUSES, ChangeRequest, Kind
from .models_login_email import LoginEmailChange, LoginEmailChangeStatus
from .primary_email import set_login_email, update_linked_contacts

Status = LoginEmailChangeStatus

LINK_LIFETIME = timedelta(hours=24)
# The old address's "this was not me" link outlives the verification link: the owner may
# read the notice days later, even after the change was made.
NOT_ME_LIFETIME = timedelta(days=30)
ATTEMPTS_PER_HOUR = 10  # per user, refused ones included: a request mails two addresses
TOKEN_MAX = 100
VERIFICATION_METHOD = "self_service_link"
EMAIL_PREFIX = "change_requests/email/self_service"

LINK_MESSAGES = {
    "unknown": "This link is not valid. Open the link from the email again, in full.",
    "expired": "This link has expired (links work for 24 hours). Ask for a new one from My "
    "Account.",
    "used": "This link has already been used: the login email was changed with it.",
    "superseded": "A newer request replaced this one, so this link no longer works. Use the "
    "link in the most recent email.",
    "cancelled": "This change was cancelled because it was reported as not made by the "
    "account owner.",
    "not_me_expired": "This link has expired. If a change to your login email was not made "
    "by you, contact us.",
}


class UnconfirmedWarning(DomainError):
    """The address looks like a typo (``gmial.com``) and the owner has not confirmed it:
    nothing was sent. ``suggestion`` is the likely-intended address."""

    def __init__(self, message: str, *, suggestion: str) -> None:
        super().__init__(ErrorCode.INVALID, message, field="new_email")
        self.suggestion = suggestion


@dataclass(frozen=True)
class RequestedChange:
    """A pending change and the one copy of its tokens (only the emails carry them)."""

    change: LoginEmailChange
    token: str
    not_me_token: str
    warnings: list[str] = field(default_factory=list)
    superseded: int = 0


@dataclass(frozen=True)
class ConfirmedChange:
    change: LoginEmailChange
    old_email: str
    new_email: str
    sessions_ended: int


@dataclass(frozen=True)
class NotMeReport:
    change: LoginEmailChange
    already_reported: bool
    cancelled: int = 0
    sessions_ended: int = 0


# --- helpers --------------------------------------------------------------------------------


def enabled() -> bool:
    return bool(getattr(settings, "CLIENTDESK_SELF_SERVICE_EMAIL_CHANGE", False))


def may_change_own_login_email(membership: Contact | None) -> bool:
    """Whether the self-service page is for this portal contact: the setting is on and
    they are the customer's owner with a sign-in."""
    return (
        enabled()
        and membership is not None
        and membership.role == Role.OWNER
        and membership.user_id is not None
    )


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def confirm_url(token: str) -> str:
    return _absolute(reverse("portal:login-email-confirm", args=[token]))


def not_me_url(token: str) -> str:
    return _absolute(reverse("portal:login-email-not-me", args=[token]))


def find(token: str) -> LoginEmailChange | None:
    """The change a verification link names, whatever its state (None for a made-up one)."""
    if not _plausible(token):
        return None
    return (
        LoginEmailChange.objects.select_related("customer", "user")
        .filter(token_hash=hash_token(token))
        .first()
    )


def find_by_not_me(token: str) -> LoginEmailChange | None:
    if not _plausible(token):
        return None
    return (
        LoginEmailChange.objects.select_related("customer", "user")
        .filter(not_me_token_hash=hash_token(token))
        .first()
    )


def link_state(change: LoginEmailChange | None) -> str:
    """What a verification link can do: valid, unknown, expired, used, superseded,
    cancelled (the keys of ``LINK_MESSAGES``)."""
    if change is None:
        return "unknown"
    if change.status == Status.CONFIRMED:
        return "used"
    if change.status == Status.SUPERSEDED:
        return "superseded"
    if change.status == Status.CANCELLED:
        return "cancelled"
    if change.is_expired():
        return "expired"
    return "valid"


def not_me_state(change: LoginEmailChange | None) -> str:
    """What a "this was not me" link can do: valid, reported (already done), unknown,
    not_me_expired."""
    if change is None:
        return "unknown"
    if change.reported_at is not None:
        return "reported"
    if change.created_at + NOT_ME_LIFETIME <= timezone.now():
        return "not_me_expired"
    return "valid"


def pending_for(user: Any) -> LoginEmailChange | None:
    """The user's pending, unexpired change, for the request page."""
    if not getattr(user, "is_authenticated", False):
        return None
    return (
        LoginEmailChange.objects.filter(
            user=user, status=Status.PENDING, expires_at__gt=timezone.now()
        )
        .only("new_email", "expires_at", "created_at")
        .first()
    )


def staff_inbox() -> list[str]:
    """Who hears about a flagged customer: ``CLIENTDESK_CHANGE_REQUEST_INBOX`` when set,
    otherwise every active manager (the rule of ``notify.staff_recipients``)."""
    inbox = list(getattr(settings, "CLIENTDESK_CHANGE_REQUEST_INBOX", []) or [])
    if inbox:
        return inbox
    managers = User.objects.filter(is_staff=True, is_active=True, groups__name="manager")
    return sorted(set(managers.values_list("email", flat=True)))


# --- actions --------------------------------------------------------------------------------


def request_login_email_change(
    customer: Customer, *, new_email: str, actor: Actor, warnings_accepted: bool = True
) -> RequestedChange:
    """The owner of ``customer`` asks to sign in with ``new_email``. Refusals name the field
    ``new_email``; likely typos come back as ``warnings`` — or, with
    ``warnings_accepted=False`` (a form that asks for a confirming tick), stop the request
    as an ``UnconfirmedWarning`` before anything is sent."""
    _require_enabled()
    user = actor.user
    if actor.source != Source.PORTAL or user is None:
        raise DomainError(
            ErrorCode.NOT_ALLOWED, "Only the account owner changes their login email here."
        )
    if actor.impersonator is not None:
        raise DomainError(
            ErrorCode.NOT_ALLOWED,
            "The login email cannot be changed while acting as the customer (Login As).",
        )
    with transaction.atomic():
        # Lock order of every login-email change (the staff procedure's too): the customer,
        # then the user, then the user's change rows.
        locked = Customer.objects.select_for_update().filter(pk=customer.pk).first()
        if locked is None:
            raise DomainError(ErrorCode.NOT_FOUND, "No such customer.")
        customer = locked
        user = User.objects.select_for_update().get(pk=user.pk)
        role = (
            Contact.objects.filter(customer=customer, user=user, portal_access=True)
            .values_list("role", flat=True)
            .first()
        )
        if role is None:
            raise DomainError(ErrorCode.NOT_FOUND, "No such customer.")
        if role != Role.OWNER:
            raise DomainError(
                ErrorCode.NOT_ALLOWED,
                "Only the account owner can change the primary email (their login).",
            )
        # Every attempt counts, refused ones too: the answers say whether an address has a
        # sign-in, so they must not be asked for in bulk.
        if not ratelimit.allow(
            f"login-email-change:{user.pk}", limit=ATTEMPTS_PER_HOUR, window_seconds=3600
        ):
            raise DomainError(
                ErrorCode.RATE_LIMITED,
                "You have tried several addresses in the last hour. Wait, then try again.",
                field="new_email",
            )
        checked = validated_new_login_email(
            user, new_email, same_text="That is already your login email."
        )
        old = user.email
        # The checks word their warnings for staff; the owner reads their own.
        warnings = [
            f"Did you mean {checked.suggestion}? Check the spelling of the address."
            for _ in checked.warnings[:1]
        ]
        if warnings and not warnings_accepted:
            raise UnconfirmedWarning(warnings[0], suggestion=checked.suggestion)
        now = timezone.now()
        superseded = LoginEmailChange.objects.filter(user=user, status=Status.PENDING).update(
            status=Status.SUPERSEDED, decided_at=now
        )
        token = secrets.token_urlsafe(32)
        not_me_token = secrets.token_urlsafe(32)
        change = LoginEmailChange.objects.create(
            user=user,
            customer=customer,
            old_email=old,
            new_email=checked.address,
            token_hash=hash_token(token),
            not_me_token_hash=hash_token(not_me_token),
            created_at=now,
            expires_at=now + LINK_LIFETIME,
        )
        record(
            "customer.login_email_change_requested",
            actor=actor,
            customer=customer,
            target=customer,
            changes={"new_email": [None, checked.address]},
            reason="Waiting for the new address to be verified",
        )
        publish(
            "customer.login_email_change_requested",
            actor=actor,
            customer=customer,
            data={
                "number": customer.client_id,
                "user_id": user.pk,
                "old_email": old,
                "new_email": checked.address,
                "expires_at": change.expires_at.isoformat(),
                "superseded": superseded,
            },
        )
        context = _context(change, user=user)
        queue_email(
            to=checked.address,
            template=f"{EMAIL_PREFIX}_verify",
            context={**context, "url": confirm_url(token)},
            customer_id=customer.pk,
            secrets=[token],
        )
        queue_email(
            to=old,
            template=f"{EMAIL_PREFIX}_requested_old",
            context={**context, "url": not_me_url(not_me_token)},
            customer_id=customer.pk,
            secrets=[not_me_token],
        )
    return RequestedChange(change, token, not_me_token, warnings, superseded)


def confirm_login_email_change(token: str, *, actor: Actor) -> ConfirmedChange:
    """Use the verification link: the login email becomes the new address. Works signed in
    or not (the link proves the new mailbox; the request proved the owner). Exactly one of
    parallel confirmations wins; a used, superseded, cancelled or expired link is refused."""
    _require_enabled()
    if not _plausible(token):
        raise DomainError(ErrorCode.NOT_FOUND, LINK_MESSAGES["unknown"])
    with transaction.atomic():
        change, user = _locked(token_hash=hash_token(token))
        state = link_state(change)
        if change is None or user is None or state != "valid":
            code = ErrorCode.NOT_FOUND if change is None else ErrorCode.CONFLICT
            raise DomainError(code, LINK_MESSAGES[state])
        customer = change.customer
        if user.email != change.old_email:
            raise DomainError(
                ErrorCode.CONFLICT,
                "The login email changed since this link was sent, so it no longer works. "
                "Sign in and ask again if you still want a different address.",
            )
        owned = list(
            Contact.objects.filter(user=user, role=Role.OWNER, portal_access=True)
            .select_related("customer")
            .order_by("customer_id")
        )
        if not any(contact.customer_id == customer.pk for contact in owned):
            raise DomainError(
                ErrorCode.CONFLICT,
                f"You are no longer the owner of {customer.display_name}, so this change "
                "cannot be made. Contact us if you still need it.",
            )
        try:
            checked = check_new_login_email(change.new_email, user_id=user.pk)
        except EmailRefused as refused:
            raise DomainError(ErrorCode.CONFLICT, str(refused), field="new_email") from None
        # The owner asked and the link proved the new mailbox: the change is theirs, whoever
        # (if anyone) is signed in on the browser that opened the link.
        actor = Actor(user, Source.PORTAL, ip=actor.ip, request_id=actor.request_id)
        old, new = change.old_email, checked.address
        now = timezone.now()
        change.status = Status.CONFIRMED
        change.decided_at = now
        change.save(update_fields=["status", "decided_at"])
        reason = "Changed by the owner; the new address was verified by an emailed link."
        # Sessions first: once the email changes their hash no longer matches, and allauth
        # would drop them from its list without ending (or counting) them.
        ended = end_all_sessions(user, actor=actor, reason="login email changed")
        set_login_email(user, new)  # a racing new sign-in with the address: refused
        update_linked_contacts(user, new, old=old, actor=actor, reason=reason)
        for contact in owned:  # the primary email of every customer the person owns
            record(
                "customer.primary_email_changed",
                actor=actor,
                customer=contact.customer,
                target=contact.customer,
                changes={"primary_email": [old, new]},
                reason=reason,
            )
            publish(
                "customer.primary_email_changed",
                actor=actor,
                customer=contact.customer,
                data={
                    "number": contact.customer.client_id,
                    "old_email": old,
                    "new_email": new,
                    "owner_contact_id": contact.pk,
                    "verification_method": VERIFICATION_METHOD,
                    "note_id": None,
                },
            )
            _cancel_open_request(contact.customer, actor=actor)
        queue_email(
            to=old,
            template=f"{EMAIL_PREFIX}_changed_old",
            context={**_context(change, user=user), "changed_at": now},
            customer_id=customer.pk,
        )
    return ConfirmedChange(change, old, new, ended)


def report_not_me(token: str, *, actor: Actor) -> NotMeReport:
    """The "this was not me" link, from the notice to the old address (no sign-in needed): cancel
    what is pending, end the user's sessions and flag the customer for staff review. A
    second click changes nothing and says it was already reported."""
    _require_enabled()
    if not _plausible(token):
        raise DomainError(ErrorCode.NOT_FOUND, LINK_MESSAGES["unknown"])
    with transaction.atomic():
        change, user = _locked(not_me_token_hash=hash_token(token))
        state = not_me_state(change)
        if change is None or user is None:
            raise DomainError(ErrorCode.NOT_FOUND, LINK_MESSAGES["unknown"])
        if state == "reported":
            return NotMeReport(change, already_reported=True)
        if state != "valid":
            raise DomainError(ErrorCode.CONFLICT, LINK_MESSAGES[state])
        customer = change.customer
        now = timezone.now()
        pending = list(
            LoginEmailChange.objects.select_for_update().filter(user=user, status=Status.PENDING)
        )
        for row in pending:
            row.status = Status.CANCELLED
            row.decided_at = now
            row.save(update_fields=["status", "decided_at"])
        change.reported_at = now
        change.save(update_fields=["reported_at"])
        ended = end_all_sessions(
            user, actor=actor, reason="a login email change was reported as not made by them"
        )
        applied = change.status == Status.CONFIRMED
        if applied:
            reason = (
                f"“This was not me” was reported from {change.old_email} after the login "
                f"email had already been changed to {change.new_email}. Check with the "
                "client and change it back with the email procedure if needed."
            )
        else:
            reason = (
                f"“This was not me” was reported from {change.old_email} for a requested "
                f"change of the login email to {change.new_email}; the change was cancelled."
            )
        if pending:
            record(
                "customer.login_email_change_cancelled",
                actor=actor,
                customer=customer,
                target=customer,
                changes={"new_email": [pending[0].new_email, None]},
                reason="Reported as not made by the account owner",
            )
        record(
            "customer.flagged_for_review",
            actor=actor,
            customer=customer,
            target=customer,
            changes={"review": [None, "login email change reported as not made by the owner"]},
            reason=reason,
            staff_only=True,
        )
        publish(
            "customer.flagged_for_review",
            actor=actor,
            customer=customer,
            data={
                "number": customer.client_id,
                "reason": reason,
                "source": "login_email_not_me",
                "user_id": user.pk,
                "old_email": change.old_email,
                "new_email": change.new_email,
                "change_applied": applied,
                "cancelled": len(pending),
                "sessions_ended": ended,
            },
        )
        inbox = staff_inbox()
        if inbox:
            queue_email(
                to=inbox,
                template=f"{EMAIL_PREFIX}_flagged_staff",
                context={
                    **_context(change, user=user),
                    "reason": reason,
                    "applied": applied,
                    "url": _absolute(reverse("staff:customer", args=[customer.number])),
                },
                customer_id=customer.pk,
            )
    return NotMeReport(change, already_reported=False, cancelled=len(pending), sessions_ended=ended)


# --- internals ------------------------------------------------------------------------------


def _locked(**lookup: str) -> tuple[LoginEmailChange | None, User | None]:
    """The change a link names and its user, locked in the order every login-email change
    takes: customer, user, change rows (so two of them never wait on each other)."""
    row = LoginEmailChange.objects.filter(**lookup).values("customer_id", "user_id").first()
    if row is None:
        return None, None
    Customer.objects.select_for_update().filter(pk=row["customer_id"]).first()
    user = User.objects.select_for_update().get(pk=row["user_id"])
    change = (
        LoginEmailChange.objects.select_for_update(of=("self",))
        .select_related("customer")
        .get(**lookup)
    )
    return change, user


def _require_enabled() -> None:
    if not enabled():
        raise DomainError(
            ErrorCode.NOT_FOUND,
            "Changing the login email yourself is not available. Ask support to change it.",
        )


def _plausible(token: str) -> bool:
    return bool(token) and len(token) <= TOKEN_MAX


def _absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def _context(change: LoginEmailChange, *, user: User) -> dict[str, Any]:
    owner = Contact.objects.filter(customer=change.customer_id, user=user).first()
    return {
        "customer": change.customer,
        "first_name": owner.first_name if owner is not None else "",
        "old_email": change.old_email,
        "new_email": change.new_email,
        "requested_at": change.created_at,
        "expires_at": change.expires_at,
        "support_email": settings.CLIENTDESK_SUPPORT_EMAIL,
    }


def _cancel_open_request(customer: Customer, *, actor: Actor) -> None:
    """A primary-email change request still open for staff is moot once the owner changed
    the address themselves: cancel it (as the owner), so staff do not change it again."""
    request = (
        ChangeRequest.objects.filter(
            customer=customer, kind=Kind.PRIMARY_EMAIL, status__in=OPEN_STATUSES
        )
        .select_related("customer")
        .first()
    )
    if request is not None:
        cancel_change_request(request, actor=actor)
