"""Every state change of customers and contacts. Views, commands and the API call these."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction

from clientdesk.audit.record import record
from clientdesk.core.actor import Actor, Source
from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.core.models import Counter
from clientdesk.events.publish import publish

from . import policy
from .models import Contact, Customer
from .policy import Section
from .sections import SECTION_FORMS, jsonable, raw_value, section_etag

FIRST_CUSTOMER_NUMBER = 100001
CENTS = Decimal("0.01")  # both decimal profile columns keep two places


def create_customer(
    *,
    display_name: str,
    kind: str = Customer.Kind.BUSINESS,
    country: str = "MY",
    currency: str = "MYR",
    timezone: str = "Asia/Kuala_Lumpur",
    language: str = "en",
    actor: Actor,
) -> Customer:
    """Open a customer account with a fresh client ID that is never reused.

    The name becomes the legal name (and, for an individual, the full name); billing follows
    legal until someone decouples it.
    """
    with transaction.atomic():
        number = Counter.next("customer_number", start=FIRST_CUSTOMER_NUMBER)
        customer = Customer.objects.create(
            number=number,
            display_name=display_name,
            kind=kind,
            legal_name=display_name,
            full_name=display_name if kind == Customer.Kind.INDIVIDUAL else "",
            country=country,
            currency=currency,
            timezone=timezone,
            language=language,
        )
        initial = {
            "display_name": display_name,
            "kind": kind,
            "country": country,
            "currency": currency,
            "timezone": timezone,
            "language": language,
        }
        record(
            "customer.created",
            actor=actor,
            customer=customer,
            target=customer,
            changes={name: [None, value] for name, value in initial.items()},
        )
        publish(
            "customer.created",
            actor=actor,
            customer=customer,
            data={"number": customer.client_id, **initial},
        )
    return customer


def authority_of(actor: Actor, customer: Customer) -> policy.Authority:
    """How the field policy sees ``actor`` on ``customer``: their role for portal and API
    actors (not a portal contact of it: not found), their groups for staff."""
    if actor.source in (Source.PORTAL, Source.API):
        role = (
            Contact.objects.filter(customer=customer, user=actor.user, portal_access=True)
            .values_list("role", flat=True)
            .first()
        )
        if actor.user is None or role is None:
            raise DomainError(ErrorCode.NOT_FOUND, "No such customer.")
        return policy.authority_for(actor, role=role)
    if actor.source == Source.STAFF and not getattr(actor.user, "is_staff", False):
        raise DomainError(ErrorCode.NOT_ALLOWED, "Only staff may act from the staff console.")
    return policy.authority_for(actor, role=None)


@dataclass(frozen=True)
class ProfileUpdate:
    """What a section save changed: field → [old, new] (empty when nothing changed)."""

    customer: Customer
    changes: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def update_profile_section(
    customer: Customer,
    *,
    section: Section | str,
    values: dict[str, Any],
    actor: Actor,
    etag: str | None = None,
    reason: str = "",
) -> ProfileUpdate:
    """Apply a save of one profile section, as the field policy allows ``actor``.

    ``values`` maps field names to submitted values (strings as typed, or Python values);
    fields left out keep their current value. A field the policy does not let ``actor``
    change, or that belongs to another section, refuses the whole save. ``etag`` is the
    section fingerprint the editor started from: if someone saved the section since, the
    save is refused with ``stale_version``. Staff must give a ``reason``.
    """
    section = Section(section)
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        authority = authority_of(actor, customer)
        if authority.is_staff and not reason.strip():
            raise DomainError(
                ErrorCode.INVALID, "Say why you are making this change.", field="reason"
            )
        allowed = _check_fields_allowed(customer, section, authority, values)
        if etag is not None and etag != section_etag(customer, section):
            raise DomainError(
                ErrorCode.STALE_VERSION,
                "Someone else saved this section while you were editing it. Review the "
                "current values, then save again.",
            )
        data = {name: _form_input(customer, name) for name in allowed} | values
        form = SECTION_FORMS[section](data=data, customer=customer, fields=allowed)
        if not form.is_valid():
            raise DomainError(
                ErrorCode.INVALID,
                "Some values need correcting.",
                errors={name: [str(m) for m in messages] for name, messages in form.errors.items()},
            )
        changes = _apply(customer, form.cleaned_data)
        if not changes:
            return ProfileUpdate(customer)
        _derive_display_name(customer, changes)
        customer.version += 1
        customer.save()
        record(
            "customer.updated",
            actor=actor,
            customer=customer,
            target=customer,
            changes=changes,
            reason=reason.strip(),
        )
        publish(
            "customer.updated",
            actor=actor,
            customer=customer,
            data=_updated_event(customer, section, changes),
        )
    return ProfileUpdate(customer, changes)


def _check_fields_allowed(
    customer: Customer, section: Section, authority: policy.Authority, values: dict[str, Any]
) -> list[str]:
    """The fields ``authority`` may change in ``section``; refuses forged extras loudly."""
    accesses = {a.field.name: a for a in policy.section_access(section, authority, customer)}
    refused: dict[str, list[str]] = {}
    for name in values:
        spec = policy.FIELDS_BY_NAME.get(name)
        if spec is None:
            refused[name] = [f"“{name[:40]}” is not a profile field."]
        elif name not in accesses:
            title = policy.SECTION_TITLES[section]
            refused[name] = [f"{spec.label} is not part of {title}."]
        elif not accesses[name].editable:
            refused[name] = [f"{spec.label} cannot be changed here: {accesses[name].reason}"]
    if refused:
        raise DomainError(
            ErrorCode.NOT_ALLOWED,
            "This save includes fields you may not change; nothing was saved.",
            errors=refused,
        )
    allowed = [name for name, access in accesses.items() if access.editable]
    if not allowed:
        raise DomainError(
            ErrorCode.NOT_ALLOWED, f"You cannot change {policy.SECTION_TITLES[section]}."
        )
    return allowed


def _form_input(customer: Customer, name: str) -> Any:
    """A field's current value in the shape a form accepts, for fields not submitted."""
    value = raw_value(customer, name)
    if name == "other_emails":
        return "\n".join(value or [])
    if name == "software_level":
        return getattr(value, "pk", "")
    if value is None:
        return ""
    return value


def _apply(customer: Customer, cleaned: dict[str, Any]) -> dict[str, list[Any]]:
    changes: dict[str, list[Any]] = {}
    for name, new in cleaned.items():
        old = raw_value(customer, name)
        if isinstance(new, Decimal):
            new = new.quantize(CENTS)  # what the column stores, so "2500" equals 2500.00
        if old == new:
            continue
        changes[name] = [jsonable(old), jsonable(new)]
        setattr(customer, name, new)
    return changes


def _derive_display_name(customer: Customer, changes: dict[str, list[Any]]) -> None:
    """The name the account is listed and searched under: the trading name (businesses) or
    the full name (individuals), falling back to the legal name."""
    preferred = customer.trading_name if customer.is_business else customer.full_name
    name = preferred or customer.legal_name or customer.display_name
    if name != customer.display_name:
        changes["display_name"] = [customer.display_name, name]
        customer.display_name = name


def billing_identity(customer: Customer) -> dict[str, str]:
    """The name and address invoices use: the legal ones while billing follows legal."""
    if customer.billing_follows_legal:
        return {
            "name": customer.legal_name,
            "line1": customer.legal_line1,
            "line2": customer.legal_line2,
            "city": customer.legal_city,
            "postcode": customer.legal_postcode,
            "state": customer.legal_state,
            "country": str(customer.country or ""),
        }
    return {
        "name": customer.billing_name,
        "line1": customer.billing_line1,
        "line2": customer.billing_line2,
        "city": customer.billing_city,
        "postcode": customer.billing_postcode,
        "state": customer.billing_state,
        "country": str(customer.billing_country or ""),
    }


def _updated_event(
    customer: Customer, section: Section, changes: dict[str, list[Any]]
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "number": customer.client_id,
        "section": section.value,
        "version": customer.version,
        "changed_fields": sorted(changes),
        "values": {name: new for name, (_, new) in changes.items()},
    }
    legal_moved = any(name in LEGAL_IDENTITY_FIELDS for name in changes)
    if section == Section.BILLING or (legal_moved and customer.billing_follows_legal):
        # Downstream billing systems learn the identity invoices now use, whatever moved it.
        data["billing_identity"] = billing_identity(customer)
    return data


LEGAL_IDENTITY_FIELDS = frozenset(
    f.name for f in policy.section_fields(Section.LEGAL, Customer.Kind.BUSINESS)
)
