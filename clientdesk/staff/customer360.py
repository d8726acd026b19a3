"""The customer 360 in the staff console: one frame (header, tabs, View menu and shortcut)
around every page about one customer.

- Profile (``staff:customer``): every profile section, with a pencil where the staff member's
  group may change something (``staff:customer-section-edit``; every save gives a reason and
  goes through ``customers.actions.update_profile_section``, like the portal's). Identity
  numbers and dates of birth are masked until revealed (``staff:customer-reveal``, recorded).
- Contacts and Notes keep their own modules (``staff/contacts.py``, ``staff/notes.py``) and
  render inside the same frame.
- Activity: the customer's whole trail, staff-only rows and notes included.
- Change requests: the customer's requests (``staff/change_requests.py`` renders their pages);
  the header counts the open ones.
- Billing (``staff/billing.py``) and Account — status, closing, ownership, Login As
  (``staff/lifecycle.py``) — keep their own modules; Integrations is a placeholder until
  the sync feature arrives.

The header costs one query for the customer (owner, counts and profile annotated) and one
for the tax; a page adds a fixed number on top, whatever the customer's size.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import tzinfo
from decimal import Decimal
from typing import Any, ClassVar

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.forms.utils import ErrorDict
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    QueryDict,
)
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views import View
from django_countries import countries

from clientdesk.change_requests.models import OPEN_STATUSES, ChangeRequest
from clientdesk.core.actor import Source
from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.core.money import format_amount
from clientdesk.customers import notes as customer_notes
from clientdesk.customers import policy, queries, trail
from clientdesk.customers.access import parse_customer_number
from clientdesk.customers.actions import update_profile_section
from clientdesk.customers.models import Contact, Customer, Note
from clientdesk.customers.policy import Authority, Section
from clientdesk.customers.reveal import reveal_field
from clientdesk.customers.roles import Role
from clientdesk.customers.sections import (
    SECTION_FORMS,
    SectionForm,
    initial_values,
    section_etag,
)
from clientdesk.ledger.models import Balance
from clientdesk.taxes.rules import AppliedTax, applicable_tax
from clientdesk.web import profile

from . import change_requests as change_request_pages
from .mixins import StaffRequiredMixin

REASON_MAX = 1000
CLEAR_PREFIX = "clear_"  # the staff form's "Remove the saved …" box of a masked field
PINNED_ON_PROFILE = 3
SAVED_TEXT = "Saved — the change is live and recorded in Activity with your reason."


# --- loading the customer -------------------------------------------------------------------


def _count(model: Any) -> Coalesce:
    rows = (
        model.objects.filter(customer=OuterRef("pk"))
        .order_by()
        .values("customer")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))


def customer_queryset() -> QuerySet[Customer]:
    """Customers with everything the 360 header and profile show, in one query: the
    software level, the primary email (the owner's login), the owner's name, and the
    number of contacts and notes."""
    owner = Contact.objects.filter(customer=OuterRef("pk"), role=Role.OWNER)
    return queries.with_profile(Customer.objects.all()).annotate(
        owner_first_name=Subquery(owner.values("first_name")[:1]),
        owner_last_name=Subquery(owner.values("last_name")[:1]),
        contact_count=_count(Contact),
        note_count=_count(Note),
        open_request_count=_count_open_requests(),
        # The running balance (one row per customer): constant time whatever the ledger size.
        balance_amount=Subquery(
            Balance.objects.filter(customer=OuterRef("pk")).values("amount")[:1]
        ),
    )


def _count_open_requests() -> Coalesce:
    """The customer's open change requests (the header's "Pending change requests")."""
    rows = (
        ChangeRequest.objects.filter(customer=OuterRef("pk"), status__in=OPEN_STATUSES)
        .order_by()
        .values("customer")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))


class _ResolveCustomer(View):
    """Sets ``self.customer`` from the URL's ``number`` (``100042`` or ``C-100042``)."""

    customer: Customer

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        number = parse_customer_number(str(kwargs.get("number", ""))[:40])
        customer = customer_queryset().filter(number=number).first() if number else None
        if customer is None:
            raise Http404("No such customer.")
        self.customer = customer
        return super().dispatch(request, *args, **kwargs)


class StaffCustomerMixin(StaffRequiredMixin, _ResolveCustomer):
    """Staff pages about one customer: ``/staff/customers/<number>/…``.

    The staff checks run first (not signed in → sign-in; not staff → 404; missing role → 403),
    then the customer is resolved (unknown → 404), so nobody outside the console can probe
    which client IDs exist. ``self.customer`` carries the 360 header's annotations.
    """

    def reload_customer(self) -> None:
        self.customer = customer_queryset().get(pk=self.customer.pk)


# --- the frame: header, tabs, View menu, shortcut --------------------------------------------


@dataclass(frozen=True)
class Tab:
    key: str
    label: str
    url: str
    current: bool = False
    count: int | None = None


@dataclass(frozen=True)
class Shortcut:
    key: str  # the ``go`` value
    label: str
    url: str


@dataclass(frozen=True)
class Header:
    customer: Customer
    owner_name: str
    owner_email: str
    country_name: str
    tax: AppliedTax | None
    contact_count: int
    pending_requests: int = 0
    balance: Decimal = Decimal("0.00")

    @property
    def balance_text(self) -> str:
        return format_amount(abs(self.balance), self.customer.currency)

    @property
    def balance_state(self) -> str:
        """``credit``, ``debt`` or ``zero`` (the close checklist wants exactly zero)."""
        return "credit" if self.balance > 0 else "debt" if self.balance < 0 else "zero"


TABS: tuple[tuple[str, str, str], ...] = (
    ("profile", "Profile", "staff:customer"),
    ("contacts", "Contacts", "staff:contacts"),
    ("change-requests", "Change requests", "staff:customer-change-requests"),
    ("billing", "Billing", "staff:customer-billing"),
    ("account", "Status & ownership", "staff:customer-lifecycle"),
    ("notes", "Notes", "staff:notes"),
    ("activity", "Activity", "staff:customer-activity"),
    ("integrations", "Integrations", "staff:customer-integrations"),
)


def profile_url(number: int, section: str = "") -> str:
    """The Profile tab, with ``section`` open and scrolled to."""
    url = reverse("staff:customer", args=[number])
    if section:
        query = QueryDict(mutable=True)
        query["open"] = section
        url = f"{url}?{query.urlencode()}#section-{section}"
    return url


def section_edit_url(number: int, section: Section) -> str:
    return reverse("staff:customer-section-edit", args=[number, section.value])


def section_cancel_url(number: int, section: Section) -> str:
    return profile_url(number, section.value)


STAFF_LINKS = profile.SectionLinks(
    edit=section_edit_url, save=section_edit_url, cancel=section_cancel_url
)


def header_for(customer: Customer) -> Header:
    """The header's facts (one query: the tax; the rest is annotated on ``customer``)."""
    first = getattr(customer, "owner_first_name", None) or ""
    last = getattr(customer, "owner_last_name", None) or ""
    country = str(customer.country or "")
    return Header(
        customer=customer,
        owner_name=f"{first} {last}".strip(),
        owner_email=str(getattr(customer, "owner_email", None) or ""),
        country_name=str(countries.name(country)) if country else "",
        tax=applicable_tax(customer),
        contact_count=int(getattr(customer, "contact_count", 0) or 0),
        pending_requests=int(getattr(customer, "open_request_count", 0) or 0),
        balance=getattr(customer, "balance_amount", None) or Decimal("0.00"),
    )


def shortcuts_for(customer: Customer) -> tuple[list[Shortcut], list[Shortcut]]:
    """The View menu's and the shortcut's items: profile sections, then the other tabs."""
    number = customer.number
    applicable = set(policy.sections_for(customer.kind))
    sections = [
        Shortcut(f"section-{s.value}", policy.SECTION_TITLES[s], profile_url(number, s.value))
        for s in profile.SECTION_ORDER
        if s in applicable
    ]
    pages = [
        Shortcut(key, label, reverse(name, args=[number]))
        for key, label, name in TABS
        if key != "profile"
    ]
    return sections, pages


def frame_context(customer: Customer, current: str) -> dict[str, Any]:
    """What ``staff/customer/frame.html`` needs; ``current`` is the tab's key."""
    note_count = int(getattr(customer, "note_count", 0) or 0)
    header = header_for(customer)
    counts = {
        "contacts": header.contact_count,
        "notes": note_count,
        "change-requests": header.pending_requests,
    }
    tabs = [
        Tab(key, label, reverse(name, args=[customer.number]), key == current, counts.get(key))
        for key, label, name in TABS
    ]
    sections, pages = shortcuts_for(customer)
    return {
        "customer": customer,
        "header": header,
        "tabs": tabs,
        "current_tab": next((t for t in tabs if t.current), tabs[0]),
        "note_count": note_count,
        "shortcut_sections": sections,
        "shortcut_pages": pages,
    }


class CustomerFrameMixin(StaffCustomerMixin):
    """Adds the 360 frame to the template context (``frame_tab``: the current tab)."""

    frame_tab: ClassVar[str] = "profile"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)
        context.update(frame_context(self.customer, self.frame_tab))
        return context

    def frame(self, **extra: Any) -> dict[str, Any]:
        """The context for a page of this frame (for views without ``get_context_data``)."""
        return {
            **frame_context(self.customer, self.frame_tab),
            "staff_roles": sorted(self.staff_roles),
            **extra,
        }


def staff_authority(user: Any, roles: set[str]) -> Authority:
    """The field policy's view of this staff member, from the groups already read."""
    return Authority(
        Source.STAFF,
        staff_groups=frozenset(roles - {"superuser"}),
        is_superuser=bool(user.is_superuser),
    )


def _vary_on_htmx(response: HttpResponse) -> HttpResponse:
    patch_vary_headers(response, ["HX-Request"])
    return response


# --- Profile tab ----------------------------------------------------------------------------


class ProfileMixin(CustomerFrameMixin, View):
    """The Profile tab and what edits it: sections built for this staff member."""

    template_name = "staff/customer/profile.html"

    @property
    def authority(self) -> Authority:
        return staff_authority(self.request.user, self.staff_roles)

    def resolve_section(self, slug: str) -> Section:
        try:
            return profile.resolve_section(slug[:40], self.customer)
        except profile.UnknownSection:
            raise Http404("No such section.") from None

    def section_view(
        self, section: Section, *, revealed: frozenset[str] = frozenset()
    ) -> profile.SectionView:
        view = profile.build_section(
            self.customer, section, self.authority, links=STAFF_LINKS, revealed=revealed
        )
        if view is None:  # staff see every field; kept for safety
            raise Http404("No such section.")
        return view

    def page(
        self,
        *,
        editing: profile.SectionView | None = None,
        form: SectionForm | None = None,
        open_key: str = "",
        revealed: frozenset[str] = frozenset(),
        status: int = 200,
    ) -> TemplateResponse:
        """The whole Profile tab, with ``editing`` (if any) in edit mode."""
        sections = profile.build_sections(
            self.customer, self.authority, links=STAFF_LINKS, revealed=revealed
        )
        for index, view in enumerate(sections):
            if editing is not None and view.key == editing.key:
                sections[index] = editing
                editing.editing = True
            view.open = view.key == open_key or any(row.revealed for row in view.rows)
        if not open_key and editing is None and sections and not revealed:
            sections[0].open = True
        pinned = customer_notes.notes_for(self.customer, limit=PINNED_ON_PROFILE)
        context = self.frame(
            sections=sections,
            edit_form=form,
            notes=pinned,
            can_edit_any=any(view.can_edit for view in sections),
        )
        return TemplateResponse(self.request, self.template_name, context, status=status)

    def section_partial(
        self, view: profile.SectionView, *, refresh: bool = False, status: int = 200
    ) -> TemplateResponse:
        """htmx: one section in view mode; after a save, the header and the e-invoice status
        too (out-of-band swaps), since a save can change the name, the country or readiness."""
        context: dict[str, Any] = {
            "section": view,
            "customer": self.customer,
            "staff_roles": sorted(self.staff_roles),  # the rows' buttons read the roles
        }
        if refresh:
            context["header_oob"] = header_for(self.customer)
            if view.key != Section.EINVOICE:
                context["einvoice_oob"] = self.section_view(Section.EINVOICE)
        return TemplateResponse(
            self.request, "staff/customer/section_partial.html", context, status=status
        )

    def form_partial(self, view: profile.SectionView, form: SectionForm) -> TemplateResponse:
        return TemplateResponse(
            self.request,
            "components/profile_section_form.html",
            {"section": view, "form": form, "customer": self.customer},
        )


class Customer360View(ProfileMixin):
    """The 360's Profile tab. ``?open=<section>`` opens a section; ``?go=<key>`` is the
    shortcut form (works without JavaScript): it redirects to the chosen section or tab. An
    htmx GET with ``?open=`` answers with just that section (the edit form's Cancel)."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        go = request.GET.get("go")
        if go is not None:
            target = self.shortcut_target(go[:60])
            if target:
                return HttpResponseRedirect(target)
            messages.warning(request, "Choose a section or a page from the list.")
        open_key = request.GET.get("open", "")[:40]
        if request.htmx and open_key:  # type: ignore[attr-defined]
            section = self.resolve_section(open_key)
            return _vary_on_htmx(self.section_partial(self.section_view(section)))
        return _vary_on_htmx(self.page(open_key=open_key))

    def shortcut_target(self, key: str) -> str:
        sections, pages = shortcuts_for(self.customer)
        return next((item.url for item in [*sections, *pages] if item.key == key), "")


class StaffSectionForm:
    """The section form as staff edit it: the fields their group may change, sensitive ones
    blank (they stay masked: leave blank to keep, type to replace), and a mandatory reason."""

    @staticmethod
    def build(
        customer: Customer, section: Section, editable: list[str], data: Any = None
    ) -> SectionForm:
        form = SECTION_FORMS[section](data=data, customer=customer, fields=editable)
        ordered: dict[str, forms.Field] = {}
        for name, field in form.fields.items():
            ordered[name] = field
            if name not in sensitive_names(editable):
                continue
            form.initial[name] = ""
            field.required = False
            saved = bool(getattr(customer, name, None))
            field.help_text = (
                f"Masked here (currently {'set' if saved else 'not set'}). Leave blank to keep "
                "the saved value; type a new value to replace it."
            )
            if saved:  # a masked value can still be removed, on purpose
                ordered[CLEAR_PREFIX + name] = forms.BooleanField(
                    required=False,
                    label=f"Remove the saved {policy.FIELDS_BY_NAME[name].label.lower()}",
                )
        form.fields = ordered
        form.fields["reason"] = forms.CharField(
            label="Reason for this change",
            max_length=REASON_MAX,
            widget=forms.Textarea(attrs={"rows": 2}),
            help_text="Recorded in Activity with the change, e.g. the client's request by "
            "phone, identity verified.",
            error_messages={"required": "Say why you are making this change."},
        )
        return form


def sensitive_names(names: list[str]) -> list[str]:
    return [n for n in names if policy.FIELDS_BY_NAME[n].sensitive]


class SectionEditView(ProfileMixin):
    """GET: a section in edit mode (htmx: the form partial; otherwise the Profile tab with that
    section open as a form). POST: save it with a reason through the same action as the
    portal. Fields this staff member's group may not change are shown locked, with why."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        section = self.resolve_section(kwargs["section"])
        view = self.editable_view(section)
        view.etag = section_etag(self.customer, section)
        view.editing = True
        form = StaffSectionForm.build(self.customer, section, view.editable)
        if request.htmx:  # type: ignore[attr-defined]
            return _vary_on_htmx(self.form_partial(view, form))
        return _vary_on_htmx(self.page(editing=view, form=form))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        section = self.resolve_section(kwargs["section"])
        view = self.editable_view(section)
        htmx = bool(request.htmx)  # type: ignore[attr-defined]
        values = profile.posted_values(request.POST, SECTION_FORMS[section], view.editable)
        for name in sensitive_names(view.editable):
            if request.POST.get(CLEAR_PREFIX + name) in ("on", "true", "1"):
                values[name] = ""  # removed on purpose (the checkbox), recorded with the reason
            elif name in values and not str(values[name] or "").strip():
                del values[name]  # blank: keep the saved (masked) value
        reason = str(request.POST.get("reason", "")).strip()
        etag = str(request.POST.get("etag", "")).strip()[:64] or None
        try:
            if len(reason) > REASON_MAX:
                raise DomainError(
                    ErrorCode.INVALID,
                    f"Keep the reason under {REASON_MAX} characters (it has {len(reason)}).",
                    field="reason",
                )
            result = update_profile_section(
                self.customer,
                section=section,
                values=values,
                actor=request.actor,  # type: ignore[attr-defined]
                etag=etag,
                reason=reason,
            )
        except DomainError as error:
            if error.code == ErrorCode.NOT_FOUND:
                raise Http404(error.message) from None
            return _vary_on_htmx(self.failed(section, error, etag=etag, htmx=htmx))
        text = SAVED_TEXT if result.changed else profile.NOTHING_CHANGED_TEXT
        if not htmx:
            level = messages.SUCCESS if result.changed else messages.INFO
            messages.add_message(request, level, text)
            return HttpResponseRedirect(profile_url(self.customer.number, section.value))
        self.reload_customer()
        view = self.section_view(section)
        view.alert = profile.Alert("success" if result.changed else "info", text, live=True)
        view.open = True
        return _vary_on_htmx(self.section_partial(view, refresh=result.changed))

    def editable_view(self, section: Section) -> profile.SectionView:
        view = self.section_view(section)
        if not view.can_edit:
            title = policy.SECTION_TITLES[section]
            raise PermissionDenied(
                f"Your staff role cannot change {title}. Ask a manager if it needs changing."
            )
        return view

    def failed(
        self, section: Section, error: DomainError, *, etag: str | None, htmx: bool
    ) -> HttpResponse:
        """The form again with the input, the errors next to the fields, and for a conflict
        the values saved meanwhile. Nothing was saved (htmx: 200, so that it swaps)."""
        self.reload_customer()
        view = self.section_view(section)
        view.editing = True
        data = self.request.POST
        form = StaffSectionForm.build(self.customer, section, view.editable, data=data)
        form.cleaned_data = {}
        form._errors = ErrorDict()  # type: ignore[attr-defined]
        if error.code == ErrorCode.STALE_VERSION:
            probe = self.probe(section, view.editable)
            view.conflict = True
            view.conflict_rows = profile.conflict_rows(self.customer, view, probe)
            view.alert = profile.Alert("warning", error.message, title="This section changed")
            view.etag = section_etag(self.customer, section)
        else:
            if error.code == ErrorCode.NOT_ALLOWED and error.errors:
                form.add_error(None, error.message)
            error.add_to_form(form)
            if error.field == "reason":
                # The action stops at a missing reason; say what else is wrong at once.
                probe = self.probe(section, view.editable)
                if not probe.is_valid():
                    for name, errors in probe.errors.items():
                        for message in errors:
                            form.add_error(name if name in form.fields else None, message)
            view.etag = etag or section_etag(self.customer, section)
        if htmx:
            return self.form_partial(view, form)
        return self.page(editing=view, form=form, status=400)

    def probe(self, section: Section, editable: list[str]) -> SectionForm:
        """The section form bound as the action binds it: the saved values, with what was
        posted on top (a blank masked field keeps its saved value)."""
        values = profile.posted_values(self.request.POST, SECTION_FORMS[section], editable)
        data = initial_values(self.customer, editable)
        for name, value in values.items():
            if name in sensitive_names(editable) and not str(value or "").strip():
                continue
            data[name] = value
        return SECTION_FORMS[section](data=data, customer=self.customer, fields=editable)


class RevealView(ProfileMixin):
    """POST ``field``: reveal one masked value (recorded in Activity). htmx: just that row
    comes back; otherwise the Profile tab with the value shown. GET: 405."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        name = str(request.POST.get("field", ""))[:60]
        htmx = bool(request.htmx)  # type: ignore[attr-defined]
        try:
            reveal_field(
                self.customer,
                field=name,
                actor=request.actor,  # type: ignore[attr-defined]
            )
        except DomainError as error:
            if htmx:
                return _vary_on_htmx(HttpResponse(error.message, status=400))
            messages.error(request, error.message)
            return HttpResponseRedirect(profile_url(self.customer.number))
        revealed = frozenset({name})
        section = policy.FIELDS_BY_NAME[name].section
        view = self.section_view(section, revealed=revealed)
        if htmx:
            row = next(r for r in view.rows if r.name == name)
            return _vary_on_htmx(
                TemplateResponse(
                    request,
                    "staff/customer/profile_row.html",
                    {"row": row, "customer": self.customer, "live": True},
                )
            )
        return _vary_on_htmx(self.page(open_key=section.value, revealed=revealed))


# --- Activity tab ---------------------------------------------------------------------------


MAX_ID = 2**62
ACTIVITY_GROUPS: dict[str, str] = {**trail.GROUPS, **trail.STAFF_GROUPS}


class ActivityFilterForm(forms.Form):
    what = forms.ChoiceField(
        required=False,
        label="What",
        choices=[("", "Anything"), *ACTIVITY_GROUPS.items()],
        error_messages={"invalid_choice": "Choose a kind of entry from the list."},
    )
    before = forms.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, widget=forms.HiddenInput
    )


@dataclass(frozen=True)
class ActivityItem:
    entry: trail.TrailEntry
    note: Note | None


def customer_zone(customer: Customer) -> tzinfo:
    try:
        return zoneinfo.ZoneInfo(customer.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


class ActivityView(CustomerFrameMixin, View):
    """The customer's whole trail for staff, newest first in keyset pages: customers' own
    changes, staff changes with their reasons, staff notes (with their text) and reveals.
    Identity numbers and birth dates stay masked here too."""

    frame_tab = "activity"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = ActivityFilterForm(request.GET)
        form.is_valid()
        ignored = [f"{form.fields[n].label or n}: {e[0]}" for n, e in form.errors.items()]
        group = form.cleaned_data.get("what") or ""
        before = form.cleaned_data.get("before")
        page = trail.customer_trail(
            self.customer,
            for_customer=False,
            mask_sensitive=True,
            group=group,
            before=before,
        )
        note_ids = [
            int(e.target_id)
            for e in page.entries
            if e.verb == "note.added" and e.target_id.isdigit()
        ]
        notes = (
            {n.pk: n for n in Note.objects.filter(customer=self.customer, pk__in=note_ids)}
            if note_ids
            else {}
        )
        items = [
            ActivityItem(e, notes.get(int(e.target_id)) if e.target_id.isdigit() else None)
            for e in page.entries
        ]
        base = reverse("staff:customer-activity", args=[self.customer.number])
        older_url = newest_url = ""
        if page.next_before is not None:
            older_url = f"{base}?{self.query(group, page.next_before)}"
        if before is not None:
            query = self.query(group, None)
            newest_url = f"{base}?{query}" if query else base
        zone = customer_zone(self.customer)
        context = self.frame(
            items=items,
            filter_form=ActivityFilterForm(initial={"what": group}),
            group=group,
            ignored=ignored,
            older_url=older_url,
            newest_url=newest_url,
            clear_url=base,
            zone=zone,
            zone_name=str(zone).replace("_", " "),
            paged=before is not None,
        )
        return TemplateResponse(request, "staff/customer/activity.html", context)

    @staticmethod
    def query(group: str, before: int | None) -> str:
        query = QueryDict(mutable=True)
        if group:
            query["what"] = group
        if before is not None:
            query["before"] = str(before)
        return query.urlencode()


class ChangeRequestsView(CustomerFrameMixin, View):
    """The customer's change requests, newest first (one query): status, age and a link to
    each request's page in the queue (``staff:change-request``), where it is decided."""

    frame_tab = "change-requests"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        rows = change_request_pages.customer_rows(self.customer)
        context = self.frame(
            rows=rows,
            open_rows=[row for row in rows if row.request.is_open],
            queue_url=reverse("staff:change-requests")
            + f"?status=all&customer={self.customer.client_id}",
            **change_request_pages.nav_open_requests(request),
        )
        return TemplateResponse(request, "staff/customer/change_requests.html", context)
