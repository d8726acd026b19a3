"""The field policy: for every profile field, who may see it and how it may change.

Modes (DESIGN.md §1):

- ``direct``   — applies on save, for the roles whose capability covers the section;
- ``approval`` — the customer may only *request* it (a change request); staff managers apply it;
- ``verified`` — the primary (login) email, changed only through its own procedure;
- ``staff``    — staff set it; customers see it read-only;
- ``readonly`` — nobody edits it here (the system or a dedicated action maintains it).

Lock conditions make a field read-only for everyone while they hold (the currency once the
first ledger entry exists). ``settings.CLIENTDESK_FIELD_MODES`` overrides a field's mode per
deployment (checked at start-up by ``customers/checks.py``).

Every interface asks this module, through ``field_access``, and the actions enforce it: a
field the policy does not let you change is refused, never silently applied.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from django.conf import settings

from clientdesk.core.actor import Actor, Source

from .roles import Capability, Role, has_capability

if TYPE_CHECKING:
    from .models import Customer


class Mode(StrEnum):
    DIRECT = "direct"
    APPROVAL = "approval"
    VERIFIED = "verified"
    STAFF = "staff"
    READONLY = "readonly"


class Section(StrEnum):
    PERSONAL = "personal"
    BUSINESS = "business"
    EINVOICE = "einvoice"
    CONTACT = "contact"
    LEGAL = "legal"
    BILLING = "billing"
    PREFERENCES = "preferences"
    ACCOUNT = "account"


SECTION_TITLES: dict[Section, str] = {
    Section.PERSONAL: "Personal Details",
    Section.BUSINESS: "Business Details",
    Section.EINVOICE: "E-Invoice Information",
    Section.CONTACT: "Contact Information",
    Section.LEGAL: "Legal identity",
    Section.BILLING: "Billing identity",
    Section.PREFERENCES: "Preferences",
    Section.ACCOUNT: "Account",
}

# The portal capability that lets a role change a section's direct fields (and request
# approval fields). ``None``: no portal role changes that section.
SECTION_EDIT_CAPABILITY: dict[Section, Capability | None] = {
    Section.PERSONAL: Capability.EDIT_PROFILE,
    Section.BUSINESS: Capability.EDIT_PROFILE,
    Section.EINVOICE: Capability.EDIT_BILLING_PROFILE,
    Section.CONTACT: Capability.EDIT_PROFILE,
    Section.LEGAL: Capability.EDIT_PROFILE,
    Section.BILLING: Capability.EDIT_BILLING_PROFILE,
    Section.PREFERENCES: Capability.EDIT_PROFILE,
    Section.ACCOUNT: None,
}

# Staff groups that may apply each mode directly (superusers may apply all of them).
STAFF_EDITORS: dict[Mode, frozenset[str]] = {
    Mode.DIRECT: frozenset({"support", "manager"}),
    Mode.APPROVAL: frozenset({"manager"}),
    Mode.STAFF: frozenset({"billing", "manager"}),
}

BUSINESS = frozenset({"business"})
INDIVIDUAL = frozenset({"individual"})
BOTH_KINDS = BUSINESS | INDIVIDUAL
ALL_ROLES = frozenset(Role)
ACCOUNT_HOLDERS = frozenset({Role.OWNER, Role.ADMIN})
MONEY_ROLES = frozenset({Role.OWNER, Role.ADMIN, Role.BILLING})


@dataclass(frozen=True)
class Lock:
    """A condition under which a field cannot change, and the sentence that says why."""

    key: str
    reason: str
    holds: Callable[[Customer], bool]


CURRENCY_LOCK = Lock(
    "ledger_started",
    "The currency is fixed once the first ledger entry exists.",
    lambda customer: customer.currency_locked,
)


@dataclass(frozen=True)
class Field:
    """One profile field. ``stored=False``: shown and governed here, kept elsewhere (the
    primary email is the owner's login email). ``sensitive``: masked in the customer's
    activity trail."""

    name: str
    label: str
    section: Section
    mode: Mode
    kinds: frozenset[str] = BOTH_KINDS
    view: frozenset[Role] = ALL_ROLES
    sensitive: bool = False
    stored: bool = True
    locks: tuple[Lock, ...] = ()


def _fields(section: Section, mode: Mode, *specs: tuple[str, str], **options: Any) -> list[Field]:
    return [Field(name, label, section, mode, **options) for name, label in specs]


FIELDS: tuple[Field, ...] = (
    *_fields(
        Section.PERSONAL,
        Mode.DIRECT,
        ("full_name", "Full name"),
        ("nationality", "Nationality"),
        ("id_type", "Identity document"),
        view=ACCOUNT_HOLDERS,
    ),
    *_fields(
        Section.PERSONAL,
        Mode.DIRECT,
        ("date_of_birth", "Date of birth"),
        ("id_number", "Identity document number"),
        view=ACCOUNT_HOLDERS,
        sensitive=True,
    ),
    Field(
        "registration_number",
        "Company registration number",
        Section.BUSINESS,
        Mode.APPROVAL,
        kinds=BUSINESS,
    ),
    *_fields(
        Section.BUSINESS,
        Mode.DIRECT,
        ("trading_name", "Trading name"),
        ("website", "Website"),
        kinds=BUSINESS,
    ),
    *_fields(
        Section.EINVOICE,
        Mode.DIRECT,
        ("tin", "Tax identification number (TIN)"),
        ("sst_number", "SST registration number"),
        ("tourism_tax_number", "Tourism tax registration number"),
        ("msic_code", "MSIC code"),
        ("business_activity", "Business activity description"),
        ("einvoice_email", "E-invoice email"),
    ),
    Field("primary_email", "Primary email", Section.CONTACT, Mode.VERIFIED, stored=False),
    *_fields(
        Section.CONTACT,
        Mode.DIRECT,
        ("billing_email", "Billing email"),
        ("other_emails", "Other emails"),
        ("phone", "Phone"),
        ("mobile", "Mobile"),
        ("postal_line1", "Postal address line 1"),
        ("postal_line2", "Postal address line 2"),
        ("postal_city", "Postal city"),
        ("postal_postcode", "Postal postcode"),
        ("postal_state", "Postal state"),
        ("postal_country", "Postal country"),
    ),
    *_fields(
        Section.LEGAL,
        Mode.APPROVAL,
        ("legal_name", "Legal name"),
        ("legal_line1", "Registered address line 1"),
        ("legal_line2", "Registered address line 2"),
        ("legal_city", "Registered city"),
        ("legal_postcode", "Registered postcode"),
        ("legal_state", "Registered state"),
        ("country", "Country"),
    ),
    *_fields(
        Section.BILLING,
        Mode.APPROVAL,
        ("billing_follows_legal", "Billing follows legal"),
        ("billing_name", "Billing name"),
        ("billing_line1", "Billing address line 1"),
        ("billing_line2", "Billing address line 2"),
        ("billing_city", "Billing city"),
        ("billing_postcode", "Billing postcode"),
        ("billing_state", "Billing state"),
        ("billing_country", "Billing country"),
    ),
    Field("currency", "Currency", Section.PREFERENCES, Mode.DIRECT, locks=(CURRENCY_LOCK,)),
    *_fields(
        Section.PREFERENCES,
        Mode.DIRECT,
        ("timezone", "Time zone"),
        ("language", "Language"),
        ("software_level", "Software level"),
    ),
    *_fields(Section.ACCOUNT, Mode.READONLY, ("number", "Client ID"), ("status", "Status")),
    Field("kind", "Customer type", Section.ACCOUNT, Mode.STAFF),
    *_fields(
        Section.ACCOUNT,
        Mode.STAFF,
        ("pricing_model", "Pricing model"),
        ("price_adjustment_percent", "Price adjustment (%)"),
        view=MONEY_ROLES,
    ),
    # Changed by a manager on the Billing tab (ledger.actions.change_billing_mode), which
    # checks them against the balance: postpaid → prepaid only without debt.
    *_fields(
        Section.ACCOUNT,
        Mode.READONLY,
        ("billing_mode", "Billing mode"),
        ("credit_limit", "Credit limit"),
        view=MONEY_ROLES,
    ),
)

FIELDS_BY_NAME: dict[str, Field] = {field.name: field for field in FIELDS}
OVERRIDABLE_MODES = frozenset({Mode.DIRECT, Mode.APPROVAL, Mode.STAFF, Mode.READONLY})


def field(name: str) -> Field:
    return FIELDS_BY_NAME[name]


def effective_mode(spec: Field) -> Mode:
    """The field's mode after this deployment's ``CLIENTDESK_FIELD_MODES`` override."""
    override = getattr(settings, "CLIENTDESK_FIELD_MODES", {}).get(spec.name)
    return Mode(override) if override else spec.mode


def section_fields(section: Section, kind: str) -> list[Field]:
    """The fields of ``section`` that apply to a customer of ``kind``, in display order."""
    return [f for f in FIELDS if f.section == section and kind in f.kinds]


def sections_for(kind: str) -> list[Section]:
    return [s for s in Section if section_fields(s, kind)]


@dataclass(frozen=True)
class Authority:
    """Who is asking, as the policy sees it: a portal contact with a role, staff with their
    groups, or the system."""

    source: Source
    role: Role | None = None
    staff_groups: frozenset[str] = frozenset()
    is_superuser: bool = False

    @classmethod
    def portal(cls, role: str) -> Authority:
        return cls(Source.PORTAL, role=Role(role))

    @classmethod
    def staff(cls, user: Any) -> Authority:
        groups = frozenset(user.groups.values_list("name", flat=True))
        return cls(Source.STAFF, staff_groups=groups, is_superuser=user.is_superuser)

    @classmethod
    def system(cls) -> Authority:
        return cls(Source.SYSTEM)

    @property
    def is_staff(self) -> bool:
        return self.source == Source.STAFF

    @property
    def is_customer(self) -> bool:
        return self.source in (Source.PORTAL, Source.API)

    def can_view(self, spec: Field) -> bool:
        return not self.is_customer or (self.role is not None and self.role in spec.view)

    def may_edit_section(self, section: Section) -> bool:
        if not self.is_customer:
            return True
        capability = SECTION_EDIT_CAPABILITY[section]
        return (
            self.role is not None
            and capability is not None
            and has_capability(self.role, capability)
        )


def authority_for(actor: Actor, *, role: str | None) -> Authority:
    """The policy's view of ``actor``; ``role`` is their contact role for portal/API actors."""
    if actor.source in (Source.PORTAL, Source.API):
        if role is None:
            raise ValueError("a portal or API actor needs their contact role")
        return Authority(actor.source, role=Role(role))
    if actor.source == Source.STAFF:
        return Authority.staff(actor.user)
    return Authority.system()


@dataclass(frozen=True)
class FieldAccess:
    """What ``authority`` may do with one field of one customer, and if not, why."""

    field: Field
    mode: Mode
    visible: bool
    editable: bool  # the change applies on save
    requestable: bool  # the change may be requested for approval
    reason: str  # why it is not editable ("" when it is)


def field_access(spec: Field, authority: Authority, customer: Customer) -> FieldAccess:
    mode = effective_mode(spec)
    visible = authority.can_view(spec)

    def denied(reason: str, *, requestable: bool = False) -> FieldAccess:
        return FieldAccess(spec, mode, visible, False, requestable and visible, reason)

    for lock in spec.locks:
        if lock.holds(customer):
            return denied(lock.reason)
    if mode == Mode.READONLY:
        return denied("Maintained by the system.")
    if mode == Mode.VERIFIED:
        if authority.is_customer:
            return denied(
                "This is the account's login ID. It can only be changed through a verified "
                "request to support."
            )
        return denied("Changed only with the email-change procedure.")
    if authority.is_customer:
        if mode == Mode.STAFF:
            return denied("Set by your provider. Contact support to change it.")
        if not customer.is_active:
            return denied("The account is not active, so changes are paused.")
        if not authority.may_edit_section(spec.section):
            return denied("Your role on this account cannot change this.")
        if mode == Mode.DIRECT:
            return FieldAccess(spec, mode, visible, visible, False, "")
        return denied("Changes need approval — request a change.", requestable=True)
    if authority.is_staff:
        allowed = authority.is_superuser or bool(authority.staff_groups & STAFF_EDITORS[mode])
        if allowed:
            return FieldAccess(spec, mode, True, True, False, "")
        return denied("Your staff role cannot change this.")
    return FieldAccess(spec, mode, True, True, False, "")  # the system


def section_access(section: Section, authority: Authority, customer: Customer) -> list[FieldAccess]:
    return [field_access(f, authority, customer) for f in section_fields(section, customer.kind)]


def editable_names(section: Section, authority: Authority, customer: Customer) -> list[str]:
    return [a.field.name for a in section_access(section, authority, customer) if a.editable]
