"""The account lifecycle (seed 001): suspend and unsuspend, close and reopen, and transfer
ownership.

- **Suspend** stops every channel of every user of the customer on their very next request:
  each portal request looks the membership up and a suspended customer answers "This account
  is suspended — contact support" (``customers.access``); contact changes and invitation links
  are refused in the domain too. Users keep their other customers.
- **Close** is a soft delete, allowed only while the checklist is green (balance exactly zero,
  no open change requests, no pending invitations). The checklist is evaluated *inside* the
  close's transaction after locking the customer's row — the same lock every ledger posting
  takes first — so a payment racing the close either lands before (and the close is refused)
  or after (and is refused because the account is closed). Personal data is kept for
  ``CLIENTDESK_CLOSED_RETENTION_DAYS``, then anonymised (``retention.py``); until then a
  manager may reopen the account.
- **Transfer ownership** moves the owner role to another contact with a portal sign-in; the
  old owner becomes an admin. The customer's primary email is the owner's login email, so it
  moves with the role. Subscriptions and service assignments do not move (seed 001).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from clientdesk.audit.record import record
from clientdesk.change_requests.models import OPEN_STATUSES, ChangeRequest
from clientdesk.core.actor import Actor, Source
from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.core.money import format_amount
from clientdesk.customers import validators
from clientdesk.customers.models import Contact, Customer, Invitation
from clientdesk.customers.resources import contact_resource
from clientdesk.customers.roles import Role
from clientdesk.events.publish import publish
from clientdesk.ledger.models import Balance
from clientdesk.users.roles import MANAGER, has_staff_role

from . import notify

REASON_MAX = 500
Status = Customer.Status


# --- who may ------------------------------------------------------------------------------


def _require_manager(actor: Actor, what: str) -> None:
    if actor.source != Source.STAFF or not has_staff_role(actor.user, MANAGER):
        raise DomainError(ErrorCode.NOT_ALLOWED, f"Only managers {what}.")


def _require_owner(actor: Actor, customer: Customer, what: str) -> Contact:
    """The portal's owner acting on their own account; never through Login As."""
    if actor.impersonator is not None:
        raise DomainError(
            ErrorCode.NOT_ALLOWED, f"Support cannot {what} while signed in as the customer."
        )
    owner = Contact.objects.filter(customer=customer, role=Role.OWNER, user=actor.user).first()
    if actor.user is None or owner is None:
        raise DomainError(ErrorCode.NOT_ALLOWED, f"Only the account owner can {what}.")
    return owner


def _reason(reason: str, *, required: bool = True) -> str:
    return validators.clean_reason(
        reason, limit=REASON_MAX, required="Give a reason; it is recorded." if required else ""
    )


def _locked(customer: Customer) -> Customer:
    return Customer.objects.select_for_update().get(pk=customer.pk)


def _status_changed(
    customer: Customer, verb: str, old: str, *, reason: str, actor: Actor, extra: dict[str, Any]
) -> None:
    record(
        verb,
        actor=actor,
        customer=customer,
        target=customer,
        changes={"status": [old, customer.status]},
        reason=reason,
    )
    publish(
        verb,
        actor=actor,
        customer=customer,
        data={
            "number": customer.client_id,
            "status": customer.status,
            "previous_status": old,
            "version": customer.version,
            "reason": reason,
            **extra,
        },
    )


# --- suspend ------------------------------------------------------------------------------


def suspend_customer(customer: Customer, *, reason: str, actor: Actor) -> Customer:
    """Suspend (managers, with a reason). Already suspended: nothing changes."""
    _require_manager(actor, "suspend accounts")
    clean = _reason(reason)
    with transaction.atomic():
        locked = _locked(customer)
        if locked.status == Status.SUSPENDED:
            return locked
        if locked.status == Status.CLOSED:
            raise DomainError(ErrorCode.CONFLICT, "A closed account cannot be suspended.")
        old = locked.status
        locked.status = Status.SUSPENDED
        locked.version += 1
        locked.save(update_fields=["status", "version", "updated_at"])
        _status_changed(locked, "customer.suspended", old, reason=clean, actor=actor, extra={})
        notify.owner(locked, "suspended", reason=clean)
    return locked


def unsuspend_customer(customer: Customer, *, reason: str, actor: Actor) -> Customer:
    """Lift a suspension (managers, with a reason). Not suspended: nothing changes."""
    _require_manager(actor, "lift suspensions")
    clean = _reason(reason)
    with transaction.atomic():
        locked = _locked(customer)
        if locked.status != Status.SUSPENDED:
            return locked
        locked.status = Status.ACTIVE
        locked.version += 1
        locked.save(update_fields=["status", "version", "updated_at"])
        _status_changed(
            locked, "customer.unsuspended", Status.SUSPENDED, reason=clean, actor=actor, extra={}
        )
        notify.owner(locked, "unsuspended", reason=clean)
    return locked


# --- close --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckItem:
    key: str
    label: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Checklist:
    items: list[CheckItem]

    @property
    def ok(self) -> bool:
        return all(item.ok for item in self.items)

    @property
    def problems(self) -> list[str]:
        return [item.detail for item in self.items if not item.ok]


def close_checklist(customer: Customer) -> Checklist:
    """What must hold before ``customer`` can close (three small indexed queries)."""
    balance = Balance.objects.filter(customer=customer).values_list("amount", flat=True).first()
    amount = balance if balance is not None else Decimal("0.00")
    if amount > 0:
        money = f"Credits of {format_amount(amount, customer.currency)} must be withdrawn first."
    elif amount < 0:
        money = f"A debt of {format_amount(-amount, customer.currency)} must be paid first."
    else:
        money = "The balance is exactly zero."
    open_requests = ChangeRequest.objects.filter(
        customer=customer, status__in=OPEN_STATUSES
    ).count()
    invitations = Invitation.objects.filter(
        customer=customer, status=Invitation.Status.PENDING, expires_at__gt=timezone.now()
    ).count()
    return Checklist(
        [
            CheckItem("balance", "Balance exactly zero", amount == 0, money),
            CheckItem(
                "change_requests",
                "No open change requests",
                open_requests == 0,
                f"{open_requests} change request{'s' if open_requests != 1 else ''} must be "
                "decided or cancelled first."
                if open_requests
                else "No change request is open.",
            ),
            CheckItem(
                "invitations",
                "No pending invitations",
                invitations == 0,
                f"{invitations} portal invitation{'s' if invitations != 1 else ''} must be "
                "cancelled first."
                if invitations
                else "No invitation is waiting.",
            ),
        ]
    )


def retention_ends(customer: Customer) -> datetime | None:
    if customer.closed_at is None:
        return None
    return customer.closed_at + timedelta(days=settings.CLIENTDESK_CLOSED_RETENTION_DAYS)


def close_customer(customer: Customer, *, reason: str, actor: Actor) -> Customer:
    """Close the account (a manager, or the owner in the portal) when the checklist is green.

    The checklist is read after the customer row is locked, in the same transaction as the
    close: nothing can post money or reopen a request in between."""
    if actor.source == Source.STAFF:
        _require_manager(actor, "close accounts")
    else:
        _require_owner(actor, customer, "close the account")
    clean = _reason(reason, required=actor.source == Source.STAFF)
    with transaction.atomic():
        locked = _locked(customer)
        if locked.status == Status.CLOSED:
            return locked
        checklist = close_checklist(locked)
        if not checklist.ok:
            raise DomainError(
                ErrorCode.CONFLICT,
                "The account cannot close yet: " + " ".join(checklist.problems),
            )
        old = locked.status
        locked.status = Status.CLOSED
        locked.closed_at = timezone.now()
        locked.version += 1
        locked.save(update_fields=["status", "closed_at", "version", "updated_at"])
        ends = retention_ends(locked)
        _status_changed(
            locked,
            "customer.closed",
            old,
            reason=clean,
            actor=actor,
            extra={"retained_until": ends.isoformat() if ends else None},
        )
        notify.owner(locked, "closed", reason=clean, retained_until=ends)
    return locked


def reopen_customer(customer: Customer, *, reason: str, actor: Actor) -> Customer:
    """Reopen a closed account within the retention period (managers, with a reason)."""
    _require_manager(actor, "reopen accounts")
    clean = _reason(reason)
    with transaction.atomic():
        locked = _locked(customer)
        if locked.status != Status.CLOSED:
            return locked
        ends = retention_ends(locked)
        if locked.anonymised_at is not None or (ends is not None and ends <= timezone.now()):
            raise DomainError(
                ErrorCode.CONFLICT,
                "The retention period has ended; the account's personal data is gone and it "
                "cannot be reopened.",
            )
        locked.status = Status.ACTIVE
        locked.closed_at = None
        locked.version += 1
        locked.save(update_fields=["status", "closed_at", "version", "updated_at"])
        _status_changed(
            locked, "customer.reopened", Status.CLOSED, reason=clean, actor=actor, extra={}
        )
        notify.owner(locked, "reopened", reason=clean)
    return locked


# --- ownership ----------------------------------------------------------------------------

# Said on the confirmation screen and in the emails (seed 001: "ownership transfer does not
# lead to subscription assignment transfer").
WHAT_MOVES = (
    "Ownership of the account: the right to transfer it again and to close it.",
    "The primary email: it becomes the new owner's sign-in email.",
)
WHAT_STAYS = (
    "Subscriptions and service assignments stay where they are.",
    "Other contacts keep their roles; the current owner becomes an admin.",
    "API keys created by the current owner keep working until someone revokes them.",
)


def transfer_candidates(customer: Customer) -> list[Contact]:
    """Contacts who could become the owner: portal access with an accepted sign-in."""
    return list(
        Contact.objects.filter(
            customer=customer,
            portal_access=True,
            user__isnull=False,
            user__is_active=True,
            user__is_staff=False,
        )
        .exclude(role=Role.OWNER)
        .select_related("user")
        .order_by("first_name", "last_name", "id")
    )


def transfer_ownership(
    customer: Customer, *, new_owner_id: int, actor: Actor, reason: str = ""
) -> Contact:
    """Make contact ``new_owner_id`` the owner; the old owner becomes an admin.

    From the portal only the owner may do this (after re-authentication, which the view
    asks for); in the staff console a manager, with a reason. The new owner must be a
    contact of this customer with an active portal sign-in. At every moment there is exactly
    one owner: the old owner steps down and the new one steps up in one transaction, and
    the database allows at most one owner per customer."""
    staff = actor.source == Source.STAFF
    if staff:
        _require_manager(actor, "transfer ownership")
    else:
        _require_owner(actor, customer, "transfer ownership")
    clean = _reason(reason, required=staff)
    with transaction.atomic():
        locked = _locked(customer)
        if locked.status != Status.ACTIVE:
            raise DomainError(
                ErrorCode.CONFLICT, "Only an active account's ownership can be transferred."
            )
        contacts = {
            contact.pk: contact
            # of=self: PostgreSQL cannot lock the nullable side of the user join.
            for contact in Contact.objects.select_for_update(of=("self",))
            .filter(Q(customer=locked) & (Q(role=Role.OWNER) | Q(pk=new_owner_id)))
            .select_related("user")
        }
        old_owner = next((c for c in contacts.values() if c.role == Role.OWNER), None)
        new_owner = contacts.get(new_owner_id)
        _check_new_owner(new_owner, old_owner)
        assert new_owner is not None
        assert new_owner.user is not None
        if old_owner is not None:
            old_owner.role = Role.ADMIN
            old_owner.version += 1
            old_owner.save(update_fields=["role", "version", "updated_at"])
        new_owner.role = Role.OWNER
        new_owner.version += 1
        new_owner.save(update_fields=["role", "version", "updated_at"])
        old_email = old_owner.email if old_owner is not None else None
        record(
            "customer.ownership_transferred",
            actor=actor,
            customer=locked,
            target=new_owner,
            changes={
                "owner": [str(old_owner) if old_owner else None, str(new_owner)],
                "primary_email": [old_email, new_owner.user.email],
            },
            reason=clean,
        )
        publish(
            "customer.ownership_transferred",
            actor=actor,
            customer=locked,
            data={
                "number": locked.client_id,
                "previous_owner": contact_resource(old_owner) if old_owner else None,
                "owner": contact_resource(new_owner),
                "primary_email": new_owner.user.email,
                "previous_primary_email": old_email,
                "reason": clean,
            },
        )
        notify.ownership(locked, old_owner=old_owner, new_owner=new_owner)
    return new_owner


def _check_new_owner(new_owner: Contact | None, old_owner: Contact | None) -> None:
    if new_owner is None:
        raise DomainError(ErrorCode.INVALID, "Choose a contact of this account.", field="new_owner")
    if old_owner is not None and new_owner.pk == old_owner.pk:
        raise DomainError(
            ErrorCode.INVALID, "That contact is already the owner.", field="new_owner"
        )
    user = new_owner.user
    if not new_owner.portal_access or user is None:
        raise DomainError(
            ErrorCode.INVALID,
            f"{new_owner} has no portal sign-in yet; the new owner must have accepted a portal "
            "invitation.",
            field="new_owner",
        )
    if user.is_staff or user.is_superuser:
        raise DomainError(
            ErrorCode.INVALID, "Staff sign-ins cannot own a customer account.", field="new_owner"
        )
    if not user.is_active:
        raise DomainError(
            ErrorCode.INVALID,
            f"{new_owner}'s sign-in is suspended; choose another contact.",
            field="new_owner",
        )
