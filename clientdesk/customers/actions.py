"""Every state change of customers and contacts. Views, commands and the API call these."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from clientdesk.audit.record import record
from clientdesk.core.actor import Actor, Source
from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.core.models import Counter
from clientdesk.events.publish import publish

from . import contact_actions, contact_forms, policy, reference, validators
from .models import DEFAULT_TOPICS, Contact, Customer
from .policy import Section
from .roles import Role
from .sections import SECTION_FORMS, jsonable, raw_value, section_etag

FIRST_CUSTOMER_NUMBER = 100001
CENTS = Decimal("0.01")  # both decimal profile columns keep two places


@dataclass(frozen=True)
class NewOwner:
    """The owner contact a new customer starts with; they get a portal invitation."""

    first_name: str
    last_name: str
    email: str


# Staff groups that may open customer accounts (DESIGN §4: support and manager).
CUSTOMER_CREATORS = frozenset({"support", "manager"})
OWNER_FIELDS = ("first_name", "last_name", "email")


def create_customer(
    *,
    display_name: str,
    kind: str = Customer.Kind.BUSINESS,
    country: str = "MY",
    currency: str | None = None,
    timezone: str | None = None,
    language: str = "en",
    pricing_model: str = Customer.PricingModel.STANDARD,
    price_adjustment_percent: Decimal | str | None = None,
    billing_mode: str = Customer.BillingMode.PREPAID,
    credit_limit: Decimal | str | None = None,
    registration_number: str = "",
    tin: str = "",
    owner: NewOwner | None = None,
    actor: Actor,
) -> Customer:
    """Open a customer account with a fresh client ID that is never reused.

    ``currency`` and ``timezone`` default from the country (``reference.defaults_for_country``).
    Every value is checked by the same section forms the profile uses; errors come back as
    one ``invalid`` with messages per field (the owner's as ``owner_first_name`` and so on).
    With ``owner``, the owner contact is added in the same transaction with portal access
    on, which emails them an invitation once the transaction commits.

    The name becomes the legal name (and, for an individual, the full name); billing follows
    legal until someone decouples it. Only staff in the support or manager group (and the
    system) may open accounts.
    """
    _check_may_create(actor)
    values = _validated_new_customer(
        display_name=display_name,
        kind=kind,
        country=country,
        currency=currency,
        timezone=timezone,
        language=language,
        pricing_model=pricing_model,
        price_adjustment_percent=price_adjustment_percent,
        billing_mode=billing_mode,
        credit_limit=credit_limit,
        registration_number=registration_number,
        tin=tin,
        owner=owner,
    )
    owner_values = values.pop("owner", None)
    with transaction.atomic():
        number = Counter.next("customer_number", start=FIRST_CUSTOMER_NUMBER)
        customer = Customer.objects.create(
            number=number,
            legal_name=values["display_name"],
            full_name=values["display_name"] if values["kind"] == Customer.Kind.INDIVIDUAL else "",
            **values,
        )
        initial = {
            name: jsonable(value) for name, value in values.items() if value not in ("", None)
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
        if owner_values is not None:  # the owner, invited once the transaction commits
            contact_actions.create_contact(
                customer, values={**owner_values, "portal_access": True}, actor=actor
            )
    return customer


def _check_may_create(actor: Actor) -> None:
    if actor.source == Source.SYSTEM:
        return
    user = actor.user
    if actor.source == Source.STAFF and user is not None and user.is_staff:
        groups = set(user.groups.values_list("name", flat=True))
        if user.is_superuser or groups & CUSTOMER_CREATORS:
            return
    raise DomainError(
        ErrorCode.NOT_ALLOWED, "Only support staff and managers can open customer accounts."
    )


def _validated_new_customer(
    *, display_name: str, owner: NewOwner | None, **given: Any
) -> dict[str, Any]:
    """The new customer's column values, validated by the profile's section forms (the
    same rules as later edits), or ``invalid`` with every message at once."""
    errors: dict[str, list[str]] = {}
    try:
        name = validators.clean_text(str(display_name or ""))
    except ValidationError as error:
        name = ""
        errors["display_name"] = list(error.messages)
    else:
        if not name:
            errors["display_name"] = ["Enter the organisation name."]
        elif len(name) > 200:
            errors["display_name"] = ["Ensure this value has at most 200 characters."]
    country = str(given["country"] or "").upper()
    defaults = reference.defaults_for_country(country) or ("", "")
    given["currency"] = given["currency"] or defaults[0]
    given["timezone"] = given["timezone"] or defaults[1]
    draft = Customer(kind=str(given["kind"] or ""), country=country)
    cleaned: dict[str, Any] = {"display_name": name}
    groups = {
        Section.ACCOUNT: [
            "kind",
            "pricing_model",
            "price_adjustment_percent",
            "billing_mode",
            "credit_limit",
        ],
        Section.LEGAL: ["country"],
        Section.PREFERENCES: ["currency", "timezone", "language"],
    }
    for section, names in groups.items():
        data = {n: country if n == "country" else given[n] for n in names}
        data = {n: "" if value is None else value for n, value in data.items()}
        form = SECTION_FORMS[section](data=data, customer=draft, fields=names)
        if form.is_valid():
            cleaned.update({n: form.cleaned_data[n] for n in names})
        else:
            errors.update({n: [str(m) for m in msgs] for n, msgs in form.errors.items()})
    if "kind" in cleaned:
        draft.kind = cleaned["kind"]
    for section, field_name in (
        (Section.BUSINESS, "registration_number"),
        (Section.EINVOICE, "tin"),
    ):
        value = str(given[field_name] or "")
        form = SECTION_FORMS[section](data={field_name: value}, customer=draft, fields=[field_name])
        if form.is_valid():
            cleaned[field_name] = form.cleaned_data[field_name]
        else:
            errors.update({n: [str(m) for m in msgs] for n, msgs in form.errors.items()})
    if cleaned.get("pricing_model") != Customer.PricingModel.CUSTOM:
        cleaned["price_adjustment_percent"] = None
    if cleaned.get("billing_mode") != Customer.BillingMode.POSTPAID:
        cleaned["credit_limit"] = None
    for decimal_name in ("price_adjustment_percent", "credit_limit"):
        if isinstance(cleaned.get(decimal_name), Decimal):
            cleaned[decimal_name] = cleaned[decimal_name].quantize(CENTS)
    if owner is not None:
        try:
            cleaned["owner"] = contact_forms.validated(
                {
                    "first_name": owner.first_name,
                    "last_name": owner.last_name,
                    "email": owner.email,
                    "role": Role.OWNER,
                    "notification_topics": DEFAULT_TOPICS,
                },
                customer=draft,
                fields=[*OWNER_FIELDS, "role", "notification_topics"],
                roles=[Role.OWNER],
            )
        except DomainError as error:
            errors.update({f"owner_{n}": msgs for n, msgs in error.errors.items()})
    if errors:
        raise DomainError(ErrorCode.INVALID, "Some values need correcting.", errors=errors)
    return cleaned


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
        data = {name: form_input(customer, name) for name in allowed} | values
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
    accesses = policy.section_access(section, authority, customer)
    allowed = [access.field.name for access in accesses if access.editable]
    refuse_unchangeable(section, accesses, values, allowed=set(allowed))
    if not allowed:
        raise DomainError(
            ErrorCode.NOT_ALLOWED, f"You cannot change {policy.SECTION_TITLES[section]}."
        )
    return allowed


def refuse_unchangeable(
    section: Section,
    accesses: list[policy.FieldAccess],
    values: dict[str, Any],
    *,
    allowed: set[str],
) -> None:
    """Refuse the whole save when ``values`` names a field that is not a profile field, not
    in ``section``, or not in ``allowed`` — a forged field is never dropped quietly."""
    by_name = {access.field.name: access for access in accesses}
    refused: dict[str, list[str]] = {}
    for name in values:
        spec = policy.FIELDS_BY_NAME.get(name)
        if spec is None:
            refused[name] = [f"“{name[:40]}” is not a profile field."]
        elif name not in by_name:
            title = policy.SECTION_TITLES[section]
            refused[name] = [f"{spec.label} is not part of {title}."]
        elif name not in allowed:
            refused[name] = [f"{spec.label} cannot be changed here: {by_name[name].reason}"]
    if refused:
        raise DomainError(
            ErrorCode.NOT_ALLOWED,
            "This save includes fields you may not change; nothing was saved.",
            errors=refused,
        )


def form_input(customer: Customer, name: str) -> Any:
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
        "changes": changes,  # field → [old, new], as in the activity trail
    }
    legal_moved = any(name in LEGAL_IDENTITY_FIELDS for name in changes)
    if section == Section.BILLING or (legal_moved and customer.billing_follows_legal):
        # Downstream billing systems learn the identity invoices now use, whatever moved it.
        data["billing_identity"] = billing_identity(customer)
    return data


LEGAL_IDENTITY_FIELDS = frozenset(
    f.name for f in policy.section_fields(Section.LEGAL, Customer.Kind.BUSINESS)
)
