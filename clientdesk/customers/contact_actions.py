"""Every state change of a customer's contacts and their portal access.

Each action checks the rules in ``contact_rules``, validates values with the shared contact
form, changes the rows in one transaction, and writes one Activity row and one outbox event
per change (``contact.*``): the provider's other systems learn every change (seed 004).
Invitations have their own module, ``invitations``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction

from clientdesk.audit.record import record
from clientdesk.core.actor import Actor, Source
from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.events.publish import publish
from clientdesk.users.models import User

from . import contact_forms, contact_rules, invitations
from .models import DEFAULT_TOPICS, Contact, Customer, Invitation
from .resources import contact_resource
from .roles import Role

DUPLICATE_EMAIL = "This account already has a contact with this email."


def create_contact(
    customer: Customer,
    *,
    values: Mapping[str, Any],
    actor: Actor,
    user: User | None = None,
) -> Contact:
    """Add a person to ``customer``. With ``portal_access`` on, they are invited at once.
    The owner role is given only to a customer's first owner, by the system or staff.

    ``values``: first_name, last_name, email, phone, job_title, role, notification_topics,
    portal_access (strings as typed, or Python values). ``user`` links an existing sign-in
    without an invitation; only the system may do that (demo data, imports).
    """
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        who = contact_rules.contact_actor(actor, customer)
        contact_rules.require(contact_rules.create_refusal(who))
        if user is not None and actor.source != Source.SYSTEM:
            raise DomainError(ErrorCode.NOT_ALLOWED, "Only the system links a sign-in directly.")
        names = set(values)
        unknown = names - contact_rules.MANAGED_FIELDS - {"portal_access"}
        if unknown:
            name = sorted(unknown)[0]
            raise DomainError(ErrorCode.INVALID, f"{name} is not a contact field.", field=name)
        role = str(values.get("role") or Role.MEMBER)
        # A customer without an owner gets its first one from the system or staff (when the
        # account is opened); after that, ownership moves only by a transfer.
        owner_allowed = actor.source in (Source.SYSTEM, Source.STAFF) and (
            not customer.contacts.filter(role=Role.OWNER).exists()
        )
        roles = [*who.grantable_roles, *([Role.OWNER] if owner_allowed else [])]
        if role == Role.OWNER and not owner_allowed:
            contact_rules.check_role(who, role)
        clean = contact_forms.validated(
            {"role": role, "notification_topics": DEFAULT_TOPICS, **values},
            customer=customer,
            fields=[*contact_rules.MANAGED_FIELDS, "portal_access"],
            roles=roles,
        )
        wants_access = clean.pop("portal_access") or user is not None
        if user is not None:
            clean["email"] = user.email
        _refuse_duplicate_email(customer, clean["email"])
        contact = Contact(customer=customer, **clean)
        if user is not None:
            contact.user = user
            contact.portal_access = True
        _save_new(contact)
        record(
            "contact.created",
            actor=actor,
            customer=customer,
            target=contact,
            changes={
                name: [None, value] for name, value in clean.items() if value not in ("", None, [])
            },
        )
        publish("contact.created", actor=actor, customer=customer, data=contact_resource(contact))
        if wants_access and user is None:
            _switch_access_on(contact, actor=actor)
    return contact


def update_contact(
    contact: Contact,
    *,
    values: Mapping[str, Any],
    actor: Actor,
    version: int | None = None,
) -> Contact:
    """Change a contact's details (and role). Fields the actor may not change refuse the
    whole save; ``version`` is the one the editor started from (stale: refused).

    Changing the email of a contact whose invitation is pending sends a fresh invitation to
    the new address (the old link stops working).
    """
    with transaction.atomic():
        contact = _locked(contact)
        customer = contact.customer
        who = contact_rules.contact_actor(actor, customer)
        contact_rules.check_fields(who, contact, set(values))
        if "role" in values and str(values["role"]) != contact.role:
            contact_rules.check_role(who, str(values["role"]))
        if version is not None and int(version) != contact.version:
            raise DomainError(
                ErrorCode.STALE_VERSION,
                "Someone else changed this contact while you were editing. "
                "Reload to see their change, then make yours again.",
            )
        roles = [*who.grantable_roles, contact.role]
        clean = contact_forms.validated(values, customer=customer, fields=values, roles=roles)
        changes = {
            name: [getattr(contact, name), value]
            for name, value in clean.items()
            if getattr(contact, name) != value
        }
        if not changes:
            return contact
        if "email" in changes:
            _refuse_duplicate_email(customer, clean["email"], exclude=contact.pk)
        for name, (_, new) in changes.items():
            setattr(contact, name, new)
        contact.version += 1
        _save(contact, [*changes, "version"])
        record("contact.updated", actor=actor, customer=customer, target=contact, changes=changes)
        publish(
            "contact.updated",
            actor=actor,
            customer=customer,
            data={**contact_resource(contact), "changes": changes},
        )
        if "email" in changes and contact.portal_access and contact.user_id is None:
            invitations.cancel_pending(contact, reason="email_changed", actor=actor)
            invitations.issue(contact, actor=actor)
    return contact


def change_role(
    contact: Contact, *, role: str, actor: Actor, version: int | None = None
) -> Contact:
    """Give ``contact`` another role (never owner: that is an ownership transfer)."""
    return update_contact(contact, values={"role": role}, actor=actor, version=version)


def delete_contact(contact: Contact, *, actor: Actor, version: int | None = None) -> None:
    """Remove a person from the customer; their pending invitation dies with them. Their
    sign-in stays (they may be a contact of other customers). ``version``: the one the
    caller saw (an API If-Match); changed since: refused."""
    with transaction.atomic():
        contact = _locked(contact, version=version)
        customer = contact.customer
        who = contact_rules.contact_actor(actor, customer)
        contact_rules.require(contact_rules.delete_refusal(who, contact))
        snapshot = contact_resource(contact)
        invitations.cancel_pending(contact, reason="contact_deleted", actor=actor, quiet=True)
        record(
            "contact.deleted",
            actor=actor,
            customer=customer,
            target=contact,
            changes={
                "email": [contact.email, None],
                "role": [contact.role, None],
            },
        )
        contact.delete()
        publish("contact.deleted", actor=actor, customer=customer, data=snapshot)


def grant_portal_access(contact: Contact, *, actor: Actor, version: int | None = None) -> Contact:
    """Switch portal access on and send the invitation. Already on: nothing changes (a double
    submit is not an error)."""
    with transaction.atomic():
        contact = _locked(contact, version=version)
        who = contact_rules.contact_actor(actor, contact.customer)
        contact_rules.require(contact_rules.access_refusal(who, contact, enable=True))
        if contact.portal_access:
            return contact
        _switch_access_on(contact, actor=actor)
    return contact


def revoke_portal_access(
    contact: Contact, *, actor: Actor, reason: str = "", version: int | None = None
) -> Contact:
    """Switch portal access off. It takes effect on the user's very next request to this
    customer (every portal request looks the membership up); their other customers are
    unaffected. A pending invitation is cancelled."""
    with transaction.atomic():
        contact = _locked(contact, version=version)
        customer = contact.customer
        who = contact_rules.contact_actor(actor, customer)
        contact_rules.require(contact_rules.access_refusal(who, contact, enable=False))
        if not contact.portal_access:
            return contact
        had_login = contact.user_id is not None
        invitations.cancel_pending(contact, reason="access_revoked", actor=actor, quiet=True)
        contact.portal_access = False
        contact.user = None
        contact.version += 1
        _save(contact, ["portal_access", "user", "version"])
        record(
            "contact.portal_access_revoked",
            actor=actor,
            customer=customer,
            target=contact,
            changes={"portal_access": [True, False]},
            reason=reason,
        )
        publish(
            "contact.portal_access_revoked",
            actor=actor,
            customer=customer,
            data={**contact_resource(contact), "had_login": had_login},
        )
    return contact


def _switch_access_on(contact: Contact, *, actor: Actor) -> Invitation:
    contact.portal_access = True
    contact.version += 1
    _save(contact, ["portal_access", "version"])
    record(
        "contact.portal_access_granted",
        actor=actor,
        customer=contact.customer,
        target=contact,
        changes={"portal_access": [False, True]},
    )
    publish(
        "contact.portal_access_granted",
        actor=actor,
        customer=contact.customer,
        data=contact_resource(contact),
    )
    return invitations.issue(contact, actor=actor).invitation


def _locked(contact: Contact, *, version: int | None = None) -> Contact:
    """The contact's current row, locked for this transaction (gone: not found; changed
    since ``version``: stale)."""
    locked = (
        Contact.objects.select_for_update()
        .select_related("customer")
        .filter(pk=contact.pk, customer_id=contact.customer_id)
        .first()
    )
    if locked is None:
        raise DomainError(ErrorCode.NOT_FOUND, "That contact no longer exists.")
    if version is not None and int(version) != locked.version:
        raise DomainError(
            ErrorCode.STALE_VERSION,
            "Someone else changed this contact meanwhile. Reload it and try again.",
        )
    return locked


def _refuse_duplicate_email(customer: Customer, email: str, *, exclude: int | None = None) -> None:
    others = Contact.objects.filter(customer=customer, email__iexact=email)
    if exclude is not None:
        others = others.exclude(pk=exclude)
    if others.exists():
        raise DomainError(ErrorCode.CONFLICT, DUPLICATE_EMAIL, field="email")


def _save_new(contact: Contact) -> None:
    try:
        with transaction.atomic():
            contact.save()
    except IntegrityError as exc:  # a concurrent add of the same email or a second owner
        raise DomainError(ErrorCode.CONFLICT, DUPLICATE_EMAIL, field="email") from exc


def _save(contact: Contact, fields: list[str]) -> None:
    try:
        with transaction.atomic():
            contact.save(update_fields=[*fields, "updated_at"])
    except IntegrityError as exc:
        raise DomainError(ErrorCode.CONFLICT, DUPLICATE_EMAIL, field="email") from exc
