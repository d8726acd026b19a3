"""The profile sections as people see them: My Account in the portal and the Profile tab of
the staff console's customer 360.

Everything here reads the field policy (``customers.policy``): which fields the viewer sees,
which they may change, and why the others are locked. The views only add URLs (``links``)
and pick a template. Nothing here queries the database: pass a customer loaded with
``customers.queries.profile_customer`` so the primary email and software level are at hand.

Staff see sensitive values (identity numbers, dates of birth) masked unless the field is in
``revealed`` (revealing is an action of its own, recorded in Activity:
``customers.reveal.reveal_field``). Customers see their own values in full.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.http import QueryDict
from django.urls import reverse
from django.utils.datastructures import MultiValueDict

from clientdesk.customers import einvoice, policy
from clientdesk.customers.actions import billing_identity
from clientdesk.customers.display import display_value, format_value, mask, masked_for_customer
from clientdesk.customers.models import Customer
from clientdesk.customers.policy import Authority, FieldAccess, Section
from clientdesk.customers.sections import jsonable, raw_value

# The order of the panels on My Account (seed 000 puts these four first).
SECTION_ORDER: tuple[Section, ...] = (
    Section.PERSONAL,
    Section.EINVOICE,
    Section.BUSINESS,
    Section.CONTACT,
    Section.LEGAL,
    Section.BILLING,
    Section.PREFERENCES,
    Section.ACCOUNT,
)

SECTION_DESCRIPTIONS: dict[Section, str] = {
    Section.PERSONAL: "The person who holds this account, as on their identity document.",
    Section.EINVOICE: "What we put on the e-invoices we issue to you (LHDN MyInvois).",
    Section.BUSINESS: "How your company is registered and how it presents itself.",
    Section.CONTACT: "Where we reach you. Invoices and statements go to the billing email.",
    Section.LEGAL: "The registered name and address. The country decides the tax applied.",
    Section.BILLING: "The name and address printed on your invoices.",
    Section.PREFERENCES: "Currency, time zone, language and the software level you run.",
    Section.ACCOUNT: "How your provider has set up this account.",
}

# The same sections described for staff (the customer 360's Profile tab).
STAFF_SECTION_DESCRIPTIONS: dict[Section, str] = {
    Section.PERSONAL: "The account holder as on their identity document. Identity numbers "
    "and dates of birth stay masked until you reveal them; each reveal is recorded.",
    Section.EINVOICE: "What goes on the e-invoices issued to this customer (LHDN MyInvois).",
    Section.BUSINESS: "How the company is registered and how it presents itself.",
    Section.CONTACT: "Where the customer is reached. The primary email is the owner's login "
    "and changes only with the email-change procedure.",
    Section.LEGAL: "The organisation's registered name and address. The country decides the "
    "tax applied.",
    Section.BILLING: "The name and address on invoices. By default they are the legal ones; "
    "turn off “Billing follows legal” to set a different billing name.",
    Section.PREFERENCES: "Currency, time zone, language and software level.",
    Section.ACCOUNT: "Staff-only settings: customer type, pricing and billing mode.",
}

BILLING_COPY_FIELDS = frozenset(f.name for f in policy.FIELDS if f.section == Section.BILLING) - {
    "billing_follows_legal"
}

SAVED_TEXT = "Saved — changes are live"
NOTHING_CHANGED_TEXT = "No changes to save"


class UnknownSection(LookupError):
    """The slug names no section, or one that does not apply to this customer."""


def resolve_section(slug: str, customer: Customer) -> Section:
    try:
        section = Section(slug)
    except ValueError:
        raise UnknownSection(slug) from None
    if section not in policy.sections_for(customer.kind):
        raise UnknownSection(slug)
    return section


@dataclass
class Row:
    """One line of a section: a label and the value in words. ``lines`` replaces ``value``
    for multi-line values (an address); ``note`` is a small line under the value."""

    label: str
    value: str = ""
    name: str = ""
    lines: list[str] = field(default_factory=list)
    locked: bool = False
    locked_help: str = ""
    locked_link_url: str = ""
    locked_link_label: str = ""
    note: str = ""
    note_link_url: str = ""
    note_link_label: str = ""
    sensitive: bool = False  # staff: shown masked until revealed
    revealed: bool = False  # staff: the clear value, after a recorded reveal


@dataclass
class Alert:
    level: str  # info | success | warning | error
    text: str
    title: str = ""
    live: bool = False


@dataclass
class Badge:
    status: str
    label: str


@dataclass
class EInvoiceStatus:
    """Is the customer ready for e-invoicing, what is missing, and the registration the
    e-invoice will carry (derived from Business or Personal Details)."""

    ready: bool
    missing: list[str]
    registration: str  # "BRN 202001012345", "" when missing
    registration_source: str  # "Business Details" / "Personal Details"

    @property
    def badge(self) -> Badge:
        if self.ready:
            return Badge("success", "E-invoice ready")
        return Badge("warning", "Details missing")


@dataclass
class ConflictRow:
    """After a conflict: a field whose saved value differs from what the person entered.
    ``yours`` is None when their input could not be read (it did not validate)."""

    label: str
    saved: str
    yours: str | None


@dataclass
class SectionView:
    """What ``components/profile_section.html`` (view mode) and
    ``components/profile_section_form.html`` (edit mode) render."""

    key: str
    title: str
    description: str
    rows: list[Row]
    can_edit: bool
    editable: list[str]
    edit_url: str = ""
    action_url: str = ""
    cancel_url: str = ""
    note: str = ""  # one lock reason shared by several rows, said once
    alert: Alert | None = None
    badge: Badge | None = None
    einvoice: EInvoiceStatus | None = None
    extra_template: str = ""
    etag: str = ""
    conflict: bool = False
    conflict_rows: list[ConflictRow] = field(default_factory=list)
    editing: bool = False
    open: bool = False
    pending: bool = False

    @property
    def locked_rows(self) -> list[Row]:
        """Edit mode: what the viewer sees in the section but cannot change here (reference
        rows such as the registered company name included, with their note as the help)."""
        locked: list[Row] = []
        for row in self.rows:
            if row.name and row.name in self.editable:
                continue
            if row.name:
                locked.append(row)
            else:
                locked.append(
                    Row(
                        label=row.label,
                        value=row.value or ", ".join(row.lines),
                        locked=True,
                        locked_help=row.note,
                        locked_link_url=row.note_link_url,
                        locked_link_label=row.note_link_label,
                    )
                )
        return locked


def edit_url(number: int, section: Section) -> str:
    return reverse("portal:account-section-edit", args=[number, section.value])


def section_url(number: int, section: Section) -> str:
    """GET: the view partial (Cancel); POST: save."""
    return reverse("portal:account-section", args=[number, section.value])


def account_url(number: int, *, open_section: str = "") -> str:
    url = reverse("portal:account", args=[number])
    if open_section:
        query = QueryDict(mutable=True)
        query["open"] = open_section
        url = f"{url}?{query.urlencode()}#section-{open_section}"
    return url


@dataclass(frozen=True)
class SectionLinks:
    """Where a section's pencil (``edit``), its form (``save``, POST) and Cancel (``cancel``)
    go: each interface has its own URLs."""

    edit: Callable[[int, Section], str]
    save: Callable[[int, Section], str]
    cancel: Callable[[int, Section], str]


PORTAL_LINKS = SectionLinks(edit=edit_url, save=section_url, cancel=section_url)


def build_section(
    customer: Customer,
    section: Section,
    authority: Authority,
    *,
    links: SectionLinks = PORTAL_LINKS,
    revealed: frozenset[str] = frozenset(),
) -> SectionView | None:
    """The section as ``authority`` sees it, or None when they see none of its fields.
    ``revealed``: the sensitive fields a staff member has just revealed."""
    accesses = policy.section_access(section, authority, customer)
    visible = [a for a in accesses if a.visible]
    if not visible:
        return None
    editable = [a.field.name for a in accesses if a.editable]
    rows = _rows(customer, section, visible, authority=authority, revealed=revealed)
    descriptions = STAFF_SECTION_DESCRIPTIONS if authority.is_staff else SECTION_DESCRIPTIONS
    view = SectionView(
        key=section.value,
        title=policy.SECTION_TITLES[section],
        description=descriptions[section],
        rows=rows,
        can_edit=bool(editable),
        editable=editable,
        edit_url=links.edit(customer.number, section),
        action_url=links.save(customer.number, section),
        cancel_url=links.cancel(customer.number, section),
    )
    view.note = _shared_lock_reason(rows)
    if section == Section.EINVOICE:
        view.einvoice = einvoice_status(customer, authority, revealed=revealed)
        view.badge = view.einvoice.badge
        view.extra_template = (
            "staff/customer/einvoice_status.html"
            if authority.is_staff
            else "portal/partials/einvoice_status.html"
        )
    return view


def build_sections(
    customer: Customer,
    authority: Authority,
    *,
    links: SectionLinks = PORTAL_LINKS,
    revealed: frozenset[str] = frozenset(),
) -> list[SectionView]:
    applicable = set(policy.sections_for(customer.kind))
    views = [
        build_section(customer, section, authority, links=links, revealed=revealed)
        for section in SECTION_ORDER
        if section in applicable
    ]
    return [view for view in views if view is not None]


def masks_sensitive(authority: Authority) -> bool:
    """Staff see identity numbers and dates of birth masked until they reveal them."""
    return authority.is_staff


def _rows(
    customer: Customer,
    section: Section,
    visible: list[FieldAccess],
    *,
    authority: Authority,
    revealed: frozenset[str],
) -> list[Row]:
    masking = masks_sensitive(authority)
    rows: list[Row] = []
    following = customer.billing_follows_legal
    if section == Section.BUSINESS:
        rows.append(
            Row(
                label="Registered company name",
                value=customer.legal_name,
                note="The legal name; it is kept under Legal identity.",
                note_link_url="#section-legal",
                note_link_label="Go to Legal identity",
            )
        )
    for access in visible:
        name = access.field.name
        if section == Section.BILLING and following and name in BILLING_COPY_FIELDS:
            continue
        value = display_value(customer, name)
        hidden = masking and access.field.sensitive and bool(value)
        if hidden and name not in revealed:
            value = masked_for_customer(access.field, value)
        rows.append(
            Row(
                label=access.field.label,
                value=value,
                name=name,
                locked=not access.editable,
                locked_help=access.reason if not access.editable else "",
                sensitive=hidden and name not in revealed,
                revealed=hidden and name in revealed,
            )
        )
        if name == "billing_follows_legal" and following:
            rows.append(_effective_billing_row(customer))
    return rows


def _effective_billing_row(customer: Customer) -> Row:
    identity = billing_identity(customer)
    place = " ".join(part for part in (identity["postcode"], identity["city"]) if part)
    lines = [
        identity["name"],
        identity["line1"],
        identity["line2"],
        place,
        format_value("legal_state", identity["state"], customer=customer),
        format_value("country", identity["country"], customer=customer),
    ]
    return Row(
        label="Invoices are addressed to",
        lines=[line for line in lines if line],
        note="Same as legal: billing follows every change to Legal identity.",
    )


def _shared_lock_reason(rows: list[Row]) -> str:
    """When several locked rows share one reason, say it once for the section and keep
    only the lock icon on those rows; rare reasons (the primary email's) stay on their row."""
    reasons = Counter(row.locked_help for row in rows if row.locked and row.locked_help)
    if not reasons:
        return ""
    reason, count = reasons.most_common(1)[0]
    if count < 2:
        return ""
    for row in rows:
        if row.locked_help == reason:
            row.locked_help = ""
    return reason


def einvoice_status(
    customer: Customer, authority: Authority, *, revealed: frozenset[str] = frozenset()
) -> EInvoiceStatus:
    ready = einvoice.readiness(customer)
    scheme, number = einvoice.registration(customer)
    source = "Business Details" if customer.is_business else "Personal Details"
    shown = ""
    if scheme:
        source_field = "registration_number" if customer.is_business else "id_number"
        spec = policy.field(source_field)
        hidden = masks_sensitive(authority) and spec.sensitive and source_field not in revealed
        if hidden:  # staff: masked as on the Personal Details row
            shown = masked_for_customer(spec, format_value(source_field, number, customer=customer))
        elif authority.can_view(spec):
            shown = format_value(source_field, number, customer=customer)
        else:
            shown = mask(number)
        shown = f"{scheme} {shown}"
    return EInvoiceStatus(
        ready=ready.ready,
        missing=list(ready.missing),
        registration=shown,
        registration_source=source,
    )


def conflict_rows(
    customer: Customer, view: SectionView, form: forms.Form | None
) -> list[ConflictRow]:
    """The fields where the saved values and the person's input differ (their change, and
    the other person's that a second save would replace). Without a valid ``form``: every
    saved value, so nothing is hidden."""
    if form is None or not form.is_valid():
        return [
            ConflictRow(row.label, row.value or ", ".join(row.lines), None)
            for row in view.rows
            if row.name
        ]
    rows: list[ConflictRow] = []
    for row in view.rows:
        if row.name not in form.cleaned_data:
            continue
        new = form.cleaned_data[row.name]
        if jsonable(raw_value(customer, row.name)) != jsonable(new):
            yours = format_value(row.name, new, customer=customer)
            rows.append(ConflictRow(row.label, row.value, yours))
    return rows


# --- reading a save from a POST -----------------------------------------------------------

IGNORED_KEYS = frozenset({"csrfmiddlewaretoken", "etag"})


def posted_values(
    data: QueryDict, form_class: type[forms.Form], editable: list[str]
) -> dict[str, Any]:
    """The ``values`` for ``update_profile_section``: every editable field as posted
    (an unticked checkbox is False; a text field left out of the POST keeps its value),
    plus every other posted key that names a profile field, so that the action refuses a
    forged field instead of this view dropping it quietly."""
    values: dict[str, Any] = {}
    for name in editable:
        form_field = form_class.base_fields.get(name)
        if isinstance(form_field, forms.BooleanField):
            values[name] = forms.CheckboxInput().value_from_datadict(data, MultiValueDict(), name)
        elif name in data:
            values[name] = data.get(name, "")
    for name in data:
        if name in IGNORED_KEYS or name in values:
            continue
        if name in policy.FIELDS_BY_NAME:
            values[name] = data.get(name, "")
    return values


def cannot_edit_text(section: Section, customer: Customer) -> str:
    """Why a save of ``section`` is refused outright (no field the viewer may change)."""
    title = policy.SECTION_TITLES[section]
    if not customer.is_active:
        return f"The account is not active, so changes to {title} are paused."
    return f"You cannot change {title} here. Ask the account owner or an admin."
