"""Who may do what to a customer's contacts. The contact actions enforce these rules; the
pages ask the same functions which buttons to show, so a button is never offered that the
action would refuse.

The rules (seed 004, DESIGN §4):

- owner and admin manage contacts; an admin grants roles up to admin, never owner;
- staff in the support or manager group (and superusers) manage contacts from the console;
- every contact may edit their own name, phone and notification topics;
- nobody changes the owner's role, removes the owner or switches off the owner's access
  (ownership moves only by an ownership transfer);
- nobody changes their own role, switches off their own access or removes themselves: that
  could remove their own last route to administration;
- a portal-enabled contact's email is their sign-in and the owner's email is the customer's
  primary email: both change only through the login email flows.
"""

from __future__ import annotations

from dataclasses import dataclass

from clientdesk.core.actor import Actor, Source
from clientdesk.core.errors import DomainError, ErrorCode

from .models import Contact, Customer
from .roles import Capability, Role, has_capability

STAFF_CONTACT_MANAGERS = frozenset({"support", "manager"})

# The roles a contact manager can give; owner only moves by an ownership transfer.
GRANTABLE_ROLES: tuple[Role, ...] = (Role.ADMIN, Role.BILLING, Role.TECHNICAL, Role.MEMBER)

MANAGED_FIELDS = frozenset(
    {"first_name", "last_name", "email", "phone", "job_title", "role", "notification_topics"}
)
OWN_FIELDS = frozenset({"first_name", "last_name", "phone", "notification_topics"})

LOGIN_EMAIL_LOCKED = (
    "This is their sign-in email, so it cannot be changed here. The login email change "
    "(ask your provider's support, or request it from My Account) updates it everywhere at once."
)
PRIMARY_EMAIL_LOCKED = (
    "This is the account's primary email and the owner's sign-in. It changes only through "
    "the primary email change: request it from My Account, or ask your provider's support."
)


@dataclass(frozen=True)
class ContactActor:
    """An actor as the contact rules see them on one customer."""

    source: Source
    manages: bool
    own_contact_id: int | None = None  # the actor's own contact on this customer (portal)

    @property
    def grantable_roles(self) -> tuple[Role, ...]:
        return GRANTABLE_ROLES if self.manages else ()

    def is_self(self, contact: Contact) -> bool:
        return self.own_contact_id is not None and self.own_contact_id == contact.pk


SUSPENDED_MESSAGE = "This account is suspended — contact support."


def contact_actor(actor: Actor, customer: Customer) -> ContactActor:
    """Resolve ``actor`` on ``customer``. A portal or API user who is not a portal contact of
    it gets not-found (existence is not revealed); staff outside the contact-managing groups
    may look but not change."""
    if actor.source in (Source.PORTAL, Source.API):
        own = (
            Contact.objects.filter(customer=customer, user=actor.user, portal_access=True)
            .only("pk", "role")
            .first()
            if actor.user is not None
            else None
        )
        if own is None or customer.status == Customer.Status.CLOSED:
            raise DomainError(ErrorCode.NOT_FOUND, "No such customer.")
        if customer.status == Customer.Status.SUSPENDED:
            raise DomainError(ErrorCode.NOT_ALLOWED, SUSPENDED_MESSAGE)
        return ContactActor(
            actor.source, has_capability(own.role, Capability.MANAGE_CONTACTS), own.pk
        )
    if actor.source == Source.STAFF:
        user = actor.user
        if user is None or not user.is_staff:
            raise DomainError(ErrorCode.NOT_ALLOWED, "Only staff may act from the staff console.")
        groups = set(user.groups.values_list("name", flat=True))
        return ContactActor(
            actor.source, user.is_superuser or bool(groups & STAFF_CONTACT_MANAGERS)
        )
    return ContactActor(actor.source, manages=True)


def editable_fields(who: ContactActor, contact: Contact) -> frozenset[str]:
    """The contact fields ``who`` may change on ``contact`` (empty: view only)."""
    if contact.is_owner:
        # The owner is above an admin: only the owner and staff edit the owner's details.
        if who.is_self(contact) or (who.manages and who.source in (Source.STAFF, Source.SYSTEM)):
            fields = MANAGED_FIELDS - {"role", "email"}
        else:
            return frozenset()
    elif who.manages:
        fields = MANAGED_FIELDS - ({"role"} if who.is_self(contact) else set())
    elif who.is_self(contact):
        fields = OWN_FIELDS
    else:
        return frozenset()
    if contact.user_id is not None:
        fields = fields - {"email"}
    return frozenset(fields)


def locked_reason(field: str, who: ContactActor, contact: Contact) -> str:
    """Why ``field`` is not editable by ``who`` (for the page and the error message)."""
    if field == "email" and contact.is_owner:
        return PRIMARY_EMAIL_LOCKED
    if field == "email" and contact.user_id is not None:
        return LOGIN_EMAIL_LOCKED
    if field == "role" and contact.is_owner:
        return "The owner's role changes only by transferring ownership."
    if field == "role" and who.is_self(contact):
        return "You cannot change your own role; ask another administrator."
    if contact.is_owner and not who.is_self(contact):
        return "Only the owner, or your provider's support, can change the owner's details."
    if not who.manages and not who.is_self(contact):
        return "Only the account's owner or an administrator can change contacts."
    if not who.manages:
        return "Ask the account's owner or an administrator to change this for you."
    return "You cannot change this."


def check_fields(who: ContactActor, contact: Contact, names: set[str]) -> None:
    """Refuse the whole change when it touches a field ``who`` may not edit."""
    allowed = editable_fields(who, contact)
    for name in sorted(names - allowed):
        if name not in MANAGED_FIELDS:
            raise DomainError(ErrorCode.INVALID, f"{name} is not a contact field.", field=name)
        raise DomainError(ErrorCode.NOT_ALLOWED, locked_reason(name, who, contact), field=name)


def check_role(who: ContactActor, role: str) -> None:
    """``role`` must be one ``who`` can give."""
    if role == Role.OWNER:
        raise DomainError(
            ErrorCode.NOT_ALLOWED,
            "Nobody can be made owner here: ownership moves by an ownership transfer.",
            field="role",
        )
    if role not in who.grantable_roles:
        raise DomainError(ErrorCode.NOT_ALLOWED, "You cannot give that role.", field="role")


def create_refusal(who: ContactActor) -> str:
    """Why ``who`` may not add contacts ("" when they may)."""
    if not who.manages:
        return "Only the account's owner or an administrator can add contacts."
    return ""


def delete_refusal(who: ContactActor, contact: Contact) -> str:
    """Why ``who`` may not remove ``contact`` ("" when they may)."""
    if not who.manages:
        return "Only the account's owner or an administrator can remove contacts."
    if contact.is_owner:
        return "The owner cannot be removed. Transfer ownership first."
    if who.is_self(contact):
        return "You cannot remove yourself; ask another administrator."
    return ""


def access_refusal(who: ContactActor, contact: Contact, *, enable: bool) -> str:
    """Why ``who`` may not switch ``contact``'s portal access on or off ("" when they may)."""
    if not who.manages:
        return "Only the account's owner or an administrator can change portal access."
    if not enable and contact.is_owner:
        return "The owner's portal access cannot be switched off. Transfer ownership first."
    if not enable and who.is_self(contact):
        return "You cannot switch off your own access; ask another administrator."
    return ""


def require(refusal: str) -> None:
    if refusal:
        raise DomainError(ErrorCode.NOT_ALLOWED, refusal)
