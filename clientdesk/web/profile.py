"""The profile sections as people see them: My Account in the portal and the Profile tab of
the staff console's customer 360.

Everything here reads the field policy (``customers.policy``): which fields the viewer sees,
which they may change, and why the others are locked. The views only add URLs (``links``)
and pick a template. Nothing here queries the database: pass a customer loaded with
``customers.queries.profile_customer`` so the primary email and software level are at hand.

Staff see sensitive values (identity numbers, dates of birth) masked unless the field is in
``revealed`` (revealing is an action of its own, recorded in Activity:
``customers.reveal.reveal_field``). Customers see their own values in full.

Change requests (seed 002): a customer's ``approval`` fields are *requestable*: the section's
form offers them, marked "needs approval", and a save turns them into a request. While a
request is open for a section (pass the customer's ``open_requests`` to ``build_sections``:
one query for the page) the section shows current vs requested side by side, and its approval
fields are locked until the request is decided or cancelled.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms
from django.conf import settings
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from django.utils.timesince import timesince

from clientdesk.change_requests import self_service
from clientdesk.change_requests import values as request_values
from clientdesk.change_requests.actions import may_see
from clientdesk.change_requests.models import ChangeRequest, Kind, Status
from clientdesk.customers import einvoice, policy
from clientdesk.customers.actions import billing_identity
from clientdesk.customers.display import display_value, format_value, mask, masked_for_customer
from clientdesk.customers.models import Customer
from clientdesk.customers.policy import Authority, FieldAccess, Mode, Section
from clientdesk.customers.roles import Role
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
    pending: bool = False  # an open change request covers it: shown in the comparison


@dataclass
class CompareRow:
    """One field of a change request: the value now and the value asked for. ``changed``:
    the request asks for a different value (highlighted, and said in words, not colour
    only). ``outcome``: "approved" / "rejected" once the request is decided."""

    label: str
    current: str
    requested: str
    changed: bool
    outcome: str = ""


@dataclass
class RequestSummary:
    """A change request as the customer sees it: on the section it covers (My Account)
    and on the Requests pages."""

    number: int
    reference: str
    title: str
    status: str
    status_label: str
    badge: str
    created_at: datetime
    age: str  # "sent 3 days ago"
    ago: str  # "3 days ago", "just now"
    exact: str  # "3 May 2025, 14:02 (Asia/Kuala_Lumpur)"
    is_open: bool
    awaiting_reply: bool
    url: str = ""
    cancel_url: str = ""
    rows: list[CompareRow] = field(default_factory=list)


@dataclass
class Alert:
    level: str  # info | success | warning | error
    text: str
    title: str = ""
    live: bool = False
    html: str = ""  # safe markup (format_html) shown after the text, e.g. a link


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
    pending: bool = False  # an open change request covers this section (``request``)
    pending_label: str = ""
    # Change requests (portal): the approval fields the viewer may ask to change now (in the
    # form, marked "needs approval"), the sentence that says so, and the open request.
    requestable: list[str] = field(default_factory=list)
    approval_notice: str = ""
    request: RequestSummary | None = None

    @property
    def form_fields(self) -> list[str]:
        """The fields the edit form offers: those that save at once, then those that become
        a change request."""
        return [*self.editable, *(n for n in self.requestable if n not in self.editable)]

    @property
    def shown_rows(self) -> list[Row]:
        """View mode: the rows listed as values (those under an open request are shown in
        the comparison instead)."""
        return [row for row in self.rows if not row.pending]

    @property
    def locked_rows(self) -> list[Row]:
        """Edit mode: what the viewer sees in the section but cannot change here (reference
        rows such as the registered company name included, with their note as the help)."""
        locked: list[Row] = []
        offered = set(self.form_fields)
        for row in self.rows:
            if row.name and row.name in offered:
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


def request_url(number: int, request_number: int) -> str:
    return reverse("portal:change-request", args=[number, request_number])


def request_cancel_url(number: int, request_number: int) -> str:
    return reverse("portal:change-request-cancel", args=[number, request_number])


def primary_email_request_url(number: int) -> str:
    return reverse("portal:primary-email-request", args=[number])


def login_email_change_url(number: int) -> str:
    return reverse("portal:login-email-change", args=[number])


@dataclass(frozen=True)
class SectionLinks:
    """Where a section's pencil (``edit``), its form (``save``, POST) and Cancel (``cancel``)
    go: each interface has its own URLs. The portal also links a section's open change
    request (``request``, ``request_cancel``) and the primary email's "Request a change"."""

    edit: Callable[[int, Section], str]
    save: Callable[[int, Section], str]
    cancel: Callable[[int, Section], str]
    request: Callable[[int, int], str] | None = None
    request_cancel: Callable[[int, int], str] | None = None
    primary_email_request: Callable[[int], str] | None = None
    login_email_change: Callable[[int], str] | None = None  # verified self-service, if on


PORTAL_LINKS = SectionLinks(
    edit=edit_url,
    save=section_url,
    cancel=section_url,
    request=request_url,
    request_cancel=request_cancel_url,
    primary_email_request=primary_email_request_url,
    login_email_change=login_email_change_url,
)


def build_section(
    customer: Customer,
    section: Section,
    authority: Authority,
    *,
    links: SectionLinks = PORTAL_LINKS,
    revealed: frozenset[str] = frozenset(),
    requests: Mapping[str, ChangeRequest] | None = None,
) -> SectionView | None:
    """The section as ``authority`` sees it, or None when they see none of its fields.
    ``revealed``: the sensitive fields a staff member has just revealed. ``requests``: the
    customer's open change requests by kind (``change_requests.queries.open_requests``);
    without them no request is shown."""
    accesses = policy.section_access(section, authority, customer)
    visible = [a for a in accesses if a.visible]
    if not visible:
        return None
    editable = [a.field.name for a in accesses if a.editable]
    requestable = [a.field.name for a in accesses if a.requestable and not a.editable]
    requests = requests or {}
    open_request = _visible_request(requests, section.value, authority)
    rows = _rows(
        customer,
        section,
        visible,
        authority=authority,
        revealed=revealed,
        links=links,
        requests=requests,
    )
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
    if open_request is not None:
        _show_pending(view, customer, section, visible, open_request, links=links)
    elif requestable:
        view.requestable = requestable
        view.can_edit = True
        view.approval_notice = approval_notice(section, visible, requestable)
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
    requests: Mapping[str, ChangeRequest] | None = None,
) -> list[SectionView]:
    applicable = set(policy.sections_for(customer.kind))
    views = [
        build_section(
            customer, section, authority, links=links, revealed=revealed, requests=requests
        )
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
    links: SectionLinks = PORTAL_LINKS,
    requests: Mapping[str, ChangeRequest] | None = None,
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
        changeable = access.editable or access.requestable
        row = Row(
            label=access.field.label,
            value=value,
            name=name,
            locked=not changeable,
            locked_help=access.reason if not changeable else "",
            sensitive=hidden and name not in revealed,
            revealed=hidden and name in revealed,
        )
        if name == "primary_email":
            _primary_email_row(row, customer, authority, links=links, requests=requests or {})
        rows.append(row)
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


# --- change requests (portal) ---------------------------------------------------------------

# What the customer reads for each status ("awaiting customer" is them: "your reply").
STATUS_LABELS: dict[str, str] = {
    Status.OPEN: "Open",
    Status.AWAITING_CUSTOMER: "Awaiting your reply",
    Status.APPROVED: "Approved",
    Status.PARTLY_APPROVED: "Partly approved",
    Status.REJECTED: "Rejected",
    Status.CANCELLED: "Cancelled",
}

# Billing identity fields → the key of ``billing_identity`` that invoices use right now.
BILLING_EFFECTIVE = {
    "billing_name": "name",
    "billing_line1": "line1",
    "billing_line2": "line2",
    "billing_city": "city",
    "billing_postcode": "postcode",
    "billing_state": "state",
    "billing_country": "country",
}


def provider_name() -> str:
    return str(settings.SITE_NAME)


def customer_zone(customer: Customer) -> tzinfo:
    try:
        return ZoneInfo(customer.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def ago_text(when: datetime, *, now: datetime | None = None) -> str:
    """ "3 days ago", "just now"."""
    now = now or timezone.now()
    if (now - when).total_seconds() < 60:
        return "just now"
    return f"{timesince(when, now, depth=1)} ago"


def age_text(when: datetime, *, now: datetime | None = None, verb: str = "sent") -> str:
    """ "sent 3 days ago", "sent just now"."""
    return f"{verb} {ago_text(when, now=now)}"


def exact_time(when: datetime, customer: Customer) -> str:
    """The moment in the customer's time zone, for a ``title`` or a header line."""
    zone = customer_zone(customer)
    local = timezone.localtime(when, zone)
    return f"{local.day} {local:%b %Y, %H:%M} ({str(zone).replace('_', ' ')})"


def approval_notice(section: Section, visible: list[FieldAccess], requestable: list[str]) -> str:
    """The sentence at the top of a form with requestable fields."""
    provider = provider_name()
    names = set(requestable)
    if all(a.field.name in names for a in visible):
        what = policy.SECTION_TITLES[section]
        return f"Changes to {what} are reviewed by {provider} before they apply."
    labels = [a.field.label for a in visible if a.field.name in names]
    return (
        f"Changes to {_and_list(labels)} are reviewed by {provider} before they apply; "
        "the other fields save at once."
    )


def _and_list(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def current_shown(customer: Customer, name: str) -> str:
    """A field's value now, in words; billing fields as invoices use them (the legal ones
    while billing follows legal)."""
    if name in BILLING_EFFECTIVE and customer.billing_follows_legal:
        value = billing_identity(customer)[BILLING_EFFECTIVE[name]]
        return format_value(name, value, customer=customer) or "—"
    return format_value(name, raw_value(customer, name), customer=customer) or "—"


def compare_rows(
    customer: Customer, request: ChangeRequest, names: list[str] | None = None
) -> list[CompareRow]:
    """Current vs requested for ``names`` (default: the fields the request asks for).
    A decided request compares with the values as they were when it was sent."""
    names = list(request.requested) if names is None else names
    decided = not request.is_open
    rows: list[CompareRow] = []
    for name in names:
        asked = name in request.requested
        if decided:
            before = request_values.shown(customer, name, request.snapshot.get(name))
        else:
            before = current_shown(customer, name)
        requested = request_values.shown(customer, name, request.requested[name]) if asked else ""
        outcome = ""
        if asked and name in (request.approved_fields or []):
            outcome = "approved"
        elif asked and name in (request.rejected_fields or []):
            outcome = "rejected"
        rows.append(
            CompareRow(
                label=request_values.label(name),
                current=before,
                requested=requested if asked else before,
                changed=asked and (decided or requested != before),
                outcome=outcome,
            )
        )
    return rows


def request_summary(
    request: ChangeRequest,
    customer: Customer,
    *,
    links: SectionLinks = PORTAL_LINKS,
    rows: list[CompareRow] | None = None,
    now: datetime | None = None,
) -> RequestSummary:
    summary = RequestSummary(
        number=request.number,
        reference=request.reference,
        title=request.title,
        status=request.status,
        status_label=STATUS_LABELS.get(request.status, request.get_status_display()),
        badge=request_values.STATUS_TONES.get(request.status, "neutral"),
        created_at=request.created_at,
        age=age_text(request.created_at, now=now),
        ago=ago_text(request.created_at, now=now),
        exact=exact_time(request.created_at, customer),
        is_open=request.is_open,
        awaiting_reply=request.status == Status.AWAITING_CUSTOMER,
        rows=rows or [],
    )
    if links.request is not None:
        summary.url = links.request(customer.number, request.number)
    if links.request_cancel is not None and request.is_open:
        summary.cancel_url = links.request_cancel(customer.number, request.number)
    return summary


def _visible_request(
    requests: Mapping[str, ChangeRequest], kind: str, authority: Authority
) -> ChangeRequest | None:
    """The open request of ``kind``, when the viewer's role may see it (never for staff
    here: the staff console has its own request pages)."""
    if not authority.is_customer or authority.role is None:
        return None
    if not may_see(authority.role, kind):
        return None
    found = requests.get(kind)
    return found if found is not None and found.is_open else None


def _show_pending(
    view: SectionView,
    customer: Customer,
    section: Section,
    visible: list[FieldAccess],
    request: ChangeRequest,
    *,
    links: SectionLinks,
) -> None:
    """While a request is open: its approval fields are compared (view mode) and locked
    (edit mode); the section's direct fields stay editable."""
    approval = [a.field.name for a in visible if a.mode == Mode.APPROVAL]
    names = approval + [n for n in request.requested if n not in approval]
    summary = request_summary(
        request, customer, links=links, rows=compare_rows(customer, request, names)
    )
    view.request = summary
    view.pending = True
    view.pending_label = f"{request.reference} pending"
    locked_help = (
        f"Change requested in {request.reference}; locked until {provider_name()} decides "
        "or you cancel the request."
    )
    for row in view.rows:
        if row.name in names or (not row.name and section == Section.BILLING):
            row.pending = True
            row.locked = True
            row.locked_help = locked_help
            row.locked_link_url = summary.url
            row.locked_link_label = f"View {request.reference}" if summary.url else ""


def _primary_email_row(
    row: Row,
    customer: Customer,
    authority: Authority,
    *,
    links: SectionLinks,
    requests: Mapping[str, ChangeRequest],
) -> None:
    """The owner may ask to change the login email ("Request a change"), or change it
    themselves when verified self-service is on; while a request is open the row says so
    instead. Other roles see the lock text only."""
    if not (authority.is_customer and authority.role == Role.OWNER):
        return
    open_request = _visible_request(requests, Kind.PRIMARY_EMAIL.value, authority)
    if open_request is not None:
        new = str(open_request.requested.get("primary_email", ""))
        row.note = f"Change to {new} requested ({open_request.reference})."
        if links.request is not None:
            row.note_link_url = links.request(customer.number, open_request.number)
            row.note_link_label = "View request"
        return
    if not customer.is_active:
        return
    if self_service.enabled() and links.login_email_change is not None:
        row.locked_help = (
            "This is the account's login ID. You can change it yourself: we send a link to "
            "the new address to confirm it."
        )
        row.locked_link_url = links.login_email_change(customer.number)
        row.locked_link_label = "Change login email"
    elif links.primary_email_request is not None:
        row.locked_link_url = links.primary_email_request(customer.number)
        row.locked_link_label = "Request a change"
