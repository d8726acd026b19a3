"""The customers list in the staff console, and its CSV export.

Built to stay fast at a million customers:

- Filters (status, kind, country, billing mode, software level, created from/to) come from
  the query string through a form: a value that does not parse is dropped with a note, an
  unknown parameter is ignored, nothing is echoed unchecked. Closed accounts (soft-deleted)
  are left out unless the status filter asks for them (``closed``, or ``all``).
- Sorting only on allow-listed, indexed columns: client ID (``number``, unique), name
  (``display_name``, id) and created (``created_at``, id), each either way. Any other
  ``sort`` value falls back to the default, newest client ID first.
- Keyset pagination: "Next page" carries an opaque, signed cursor holding the last row's
  sort value and id; no OFFSET, so page 1 000 costs what page 1 costs.
- No exact COUNT(*): the page says "42 customers" or "1000+ customers", from a count
  capped at ``COUNT_CAP + 1`` rows.
- The export streams (``StreamingHttpResponse`` over ``iterator(chunk_size=…)``), at most
  ``EXPORT_MAX_ROWS`` rows in the list's order, every cell neutralised against formula
  injection (``core.csv``), and each export is recorded in Activity
  (``customers.exports.record_customer_export``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, ClassVar

from django import forms
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    QueryDict,
    StreamingHttpResponse,
)
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views import View
from django_countries import countries

from clientdesk.core.csv import csv_stream
from clientdesk.core.errors import DomainError
from clientdesk.customers.access import parse_customer_number
from clientdesk.customers.exports import record_customer_export
from clientdesk.customers.models import Customer, SoftwareLevel

from .mixins import StaffRequiredMixin

PAGE_SIZE = 50
COUNT_CAP = 1000
EXPORT_MAX_ROWS = 100_000
EXPORT_CHUNK = 2000
EARLIEST = date(2000, 1, 1)
LATEST = date(9998, 12, 31)
MAX_ID = 2**62
CURSOR_SALT = "clientdesk.staff.customers.cursor"
CURSOR_MAX = 1000  # characters; a longer ``after`` is not one of ours

# sort key → (column, label). Each column has an index; ``id`` breaks ties.
SORTS: dict[str, tuple[str, str]] = {
    "number": ("number", "Client ID"),
    "name": ("display_name", "Name"),
    "created": ("created_at", "Created"),
}
DEFAULT_SORT = "-number"
LIST_FIELDS = (
    "id",
    "number",
    "display_name",
    "kind",
    "status",
    "country",
    "billing_mode",
    "software_level__label",
    "created_at",
)
NO_LEVEL = "none"
# Closed accounts are soft-deleted (issue 8): the default list leaves them out; the status
# filter "closed" (or "all") shows them.
ANY_STATUS = "all"


def customer_url(number: int) -> str:
    """The customer's page in the console (the 360), or its contacts where the 360 is not
    routed."""
    try:
        return reverse("staff:customer", args=[number])
    except NoReverseMatch:
        return reverse("staff:contacts", args=[number])


def safe_customer_number(value: str) -> int | None:
    """``parse_customer_number`` for untrusted input: odd digits (``²``) are no number."""
    try:
        return parse_customer_number(value[:30])
    except ValueError:
        return None


# --- filters ---------------------------------------------------------------------------------


class CustomerFilterForm(forms.Form):
    status = forms.ChoiceField(
        required=False,
        label="Status",
        choices=[
            ("", "Not closed"),
            *Customer.Status.choices,
            (ANY_STATUS, "Any status, closed included"),
        ],
    )
    kind = forms.ChoiceField(
        required=False, label="Type", choices=[("", "Any type"), *Customer.Kind.choices]
    )
    country = forms.ChoiceField(required=False, label="Country")
    billing_mode = forms.ChoiceField(
        required=False,
        label="Billing mode",
        choices=[("", "Any billing mode"), *Customer.BillingMode.choices],
    )
    software_level = forms.ChoiceField(required=False, label="Software level")
    created_from = forms.DateField(
        required=False,
        label="Created from",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    created_to = forms.DateField(
        required=False,
        label="Created to",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args: Any, levels: list[SoftwareLevel], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        country = self.fields["country"]
        assert isinstance(country, forms.ChoiceField)
        country.choices = [("", "Any country"), *((c.code, c.name) for c in countries)]
        level = self.fields["software_level"]
        assert isinstance(level, forms.ChoiceField)
        level.choices = [
            ("", "Any level"),
            (NO_LEVEL, "Not set"),
            *((str(lv.pk), lv.label) for lv in levels),
        ]
        for form_field in self.fields.values():
            form_field.error_messages["invalid_choice"] = "Choose a value from the list."

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name in ("created_from", "created_to"):
            value = cleaned.get(name)
            if value is not None and not EARLIEST <= value <= LATEST:
                self.add_error(name, f"Enter a date between {EARLIEST:%Y} and {LATEST:%Y}.")
        start, end = self.cleaned_data.get("created_from"), self.cleaned_data.get("created_to")
        if start and end and start > end:
            self.add_error("created_to", "The end date is before the start date.")
        return self.cleaned_data


@dataclass(frozen=True)
class CustomerFilters:
    """The filters and sort in force: only values that parsed."""

    status: str = ""
    kind: str = ""
    country: str = ""
    billing_mode: str = ""
    software_level: str = ""  # a level id, NO_LEVEL, or ""
    created_from: date | None = None
    created_to: date | None = None
    sort: str = DEFAULT_SORT
    ignored: tuple[str, ...] = field(default=(), compare=False)

    FILTER_NAMES: ClassVar[tuple[str, ...]] = (
        "status",
        "kind",
        "country",
        "billing_mode",
        "software_level",
        "created_from",
        "created_to",
    )

    @property
    def any(self) -> bool:
        return any(getattr(self, name) for name in self.FILTER_NAMES)

    def as_dict(self) -> dict[str, str]:
        """JSON-safe: what an export records in Activity."""
        values = {name: getattr(self, name) for name in self.FILTER_NAMES}
        result = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in values.items() if v}
        result["sort"] = self.sort
        return result

    def query(self, *, sort: str | None = None, after: str = "") -> str:
        """The query string for these filters (with another sort, or a page cursor)."""
        query = QueryDict(mutable=True)
        for name, value in self.as_dict().items():
            if name != "sort":
                query[name] = value
        chosen = sort if sort is not None else self.sort
        if chosen != DEFAULT_SORT:
            query["sort"] = chosen
        if after:
            query["after"] = after
        return query.urlencode()

    def apply(self, rows: QuerySet[Customer]) -> QuerySet[Customer]:
        if not self.status:
            rows = rows.exclude(status=Customer.Status.CLOSED)
        elif self.status != ANY_STATUS:
            rows = rows.filter(status=self.status)
        if self.kind:
            rows = rows.filter(kind=self.kind)
        if self.country:
            rows = rows.filter(country=self.country)
        if self.billing_mode:
            rows = rows.filter(billing_mode=self.billing_mode)
        if self.software_level == NO_LEVEL:
            rows = rows.filter(software_level__isnull=True)
        elif self.software_level:
            rows = rows.filter(software_level_id=int(self.software_level))
        if self.created_from:
            rows = rows.filter(created_at__gte=_day_start(self.created_from))
        if self.created_to:
            rows = rows.filter(created_at__lt=_day_start(self.created_to + timedelta(days=1)))
        return rows


def _day_start(day: date) -> datetime:
    """Days are UTC days: the console shows and filters times in UTC."""
    return datetime.combine(day, time.min, tzinfo=UTC)


ALLOWED_SORTS = frozenset({*SORTS, *(f"-{key}" for key in SORTS)})


def clean_sort(value: str) -> str:
    """An allow-listed sort (``name``, ``-created``…) or the default."""
    return value if value in ALLOWED_SORTS else DEFAULT_SORT


def read_filters(data: QueryDict, levels: list[SoftwareLevel]) -> CustomerFilters:
    form = CustomerFilterForm(data, levels=levels)
    form.is_valid()
    ignored = tuple(
        f"{form.fields[name].label or name}: {errors[0]}"
        for name, errors in form.errors.items()
        if name in form.fields
    )
    cleaned = form.cleaned_data
    return CustomerFilters(
        status=cleaned.get("status") or "",
        kind=cleaned.get("kind") or "",
        country=cleaned.get("country") or "",
        billing_mode=cleaned.get("billing_mode") or "",
        software_level=cleaned.get("software_level") or "",
        created_from=cleaned.get("created_from"),
        created_to=cleaned.get("created_to"),
        sort=clean_sort(str(data.get("sort", ""))[:20]),
        ignored=ignored,
    )


def display_form(filters: CustomerFilters, levels: list[SoftwareLevel]) -> CustomerFilterForm:
    """An unbound form showing the filters in force (ignored values are not echoed)."""
    return CustomerFilterForm(
        levels=levels,
        initial={name: getattr(filters, name) or "" for name in CustomerFilters.FILTER_NAMES},
    )


# --- sorting and keyset pages ----------------------------------------------------------------


def ordered(rows: QuerySet[Customer], sort: str) -> QuerySet[Customer]:
    column = SORTS[sort.lstrip("-")][0]
    descending = sort.startswith("-")
    if column == "number":  # unique: no tie-breaker needed
        return rows.order_by("-number" if descending else "number")
    if descending:
        return rows.order_by(f"-{column}", "-id")
    return rows.order_by(column, "id")


def make_cursor(customer: Customer, sort: str) -> str:
    column = SORTS[sort.lstrip("-")][0]
    value = getattr(customer, column)
    if isinstance(value, datetime):
        value = value.isoformat()
    return signing.dumps({"s": sort, "v": value, "i": customer.pk}, salt=CURSOR_SALT)


def read_cursor(token: str, sort: str) -> tuple[Any, int] | None:
    """The (sort value, id) a cursor holds, or None if it is not a cursor of this sort."""
    if not token or len(token) > CURSOR_MAX:
        return None
    try:
        data = signing.loads(token, salt=CURSOR_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("s") != sort:
        return None
    value, pk = data.get("v"), data.get("i")
    if not isinstance(pk, int) or isinstance(pk, bool) or not 0 < pk <= MAX_ID:
        return None
    column = SORTS[sort.lstrip("-")][0]
    if column == "number":
        ok = isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID
        return (value, pk) if ok else None
    if column == "display_name":
        return (value, pk) if isinstance(value, str) and len(value) <= 200 else None
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    if moment is None or moment.tzinfo is None:
        return None
    return moment, pk


def after_cursor(
    rows: QuerySet[Customer], sort: str, position: tuple[Any, int]
) -> QuerySet[Customer]:
    column = SORTS[sort.lstrip("-")][0]
    value, pk = position
    op = "lt" if sort.startswith("-") else "gt"
    if column == "number":
        return rows.filter(**{f"number__{op}": value})
    return rows.filter(Q(**{f"{column}__{op}": value}) | Q(**{column: value, f"id__{op}": pk}))


def bounded_count(rows: QuerySet[Customer], limit: int) -> int:
    """How many rows match, counting no further than ``limit`` (one bounded query:
    ``SELECT COUNT(*) FROM (SELECT id … LIMIT limit)``)."""
    return rows.order_by().values("pk")[:limit].count()


def customer_rows(filters: CustomerFilters) -> QuerySet[Customer]:
    rows = Customer.objects.select_related("software_level").only(*LIST_FIELDS)
    return ordered(filters.apply(rows), filters.sort)


def software_levels() -> list[SoftwareLevel]:
    return list(SoftwareLevel.objects.order_by("position"))


# --- views -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SortLink:
    key: str
    label: str
    url: str
    aria_sort: str  # "ascending" / "descending" / "" (not sorted by this column)
    next_direction: str  # what following the link does, for screen readers


class CustomerListView(StaffRequiredMixin, View):
    """``/staff/customers/``: every staff role."""

    template_name = "staff/customers/list.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        levels = software_levels()
        filters = read_filters(request.GET, levels)
        ignored = list(filters.ignored)
        rows = customer_rows(filters)
        matching = bounded_count(filters.apply(Customer.objects.all()), COUNT_CAP + 1)
        token = str(request.GET.get("after", ""))
        position = read_cursor(token, filters.sort) if token else None
        if token and position is None:
            ignored.append(
                "Page: the page link has expired or was changed; this is the first page."
            )
        if position is not None:
            rows = after_cursor(rows, filters.sort, position)
        page = list(rows[: PAGE_SIZE + 1])
        has_next = len(page) > PAGE_SIZE
        page = page[:PAGE_SIZE]
        base = reverse("staff:customers")
        next_url = (
            f"{base}?{filters.query(after=make_cursor(page[-1], filters.sort))}" if has_next else ""
        )
        query = filters.query()
        context = {
            "filters": filters,
            "filter_form": display_form(filters, levels),
            "ignored": ignored,
            "rows": [(customer, customer_url(customer.number)) for customer in page],
            "count": min(matching, COUNT_CAP),
            "count_capped": matching > COUNT_CAP,
            "next_url": next_url,
            "first_url": f"{base}?{query}" if position is not None else "",
            "clear_url": base,
            "export_url": reverse("staff:customers-export") + (f"?{query}" if query else ""),
            "export_max_rows": EXPORT_MAX_ROWS,
            "sort_links": self.sort_links(filters, base),
            "staff_roles": sorted(self.staff_roles),
        }
        return TemplateResponse(request, self.template_name, context)

    @staticmethod
    def sort_links(filters: CustomerFilters, base: str) -> dict[str, SortLink]:
        links = {}
        for key, (_column, label) in SORTS.items():
            current = filters.sort.lstrip("-") == key
            descending = filters.sort.startswith("-")
            if current:
                aria = "descending" if descending else "ascending"
                target = key if descending else f"-{key}"
            else:
                aria = ""
                target = f"-{key}" if key == "created" else key
            query = filters.query(sort=target)
            links[key] = SortLink(
                key=key,
                label=label,
                url=f"{base}?{query}" if query else base,
                aria_sort=aria,
                next_direction="descending" if target.startswith("-") else "ascending",
            )
        return links


EXPORT_HEADER = (
    "Client ID",
    "Name",
    "Type",
    "Status",
    "Country code",
    "Country",
    "Billing mode",
    "Software level",
    "Created (UTC)",
)


def export_lines(rows: QuerySet[Customer]) -> Iterator[list[object]]:
    for customer in rows.iterator(chunk_size=EXPORT_CHUNK):
        yield [
            customer.client_id,
            customer.display_name,
            customer.get_kind_display(),
            customer.get_status_display(),
            str(customer.country),
            countries.name(str(customer.country)) if customer.country else "",
            customer.get_billing_mode_display(),
            customer.software_level.label if customer.software_level else "",
            customer.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        ]


class CustomerExportView(StaffRequiredMixin, View):
    """``/staff/customers/export.csv``: the filtered list as CSV, for every staff role (each
    export is recorded in Activity)."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        filters = read_filters(request.GET, software_levels())
        rows = customer_rows(filters)
        row_count = bounded_count(filters.apply(Customer.objects.all()), EXPORT_MAX_ROWS)
        try:
            record_customer_export(
                actor=request.actor,  # type: ignore[attr-defined]
                filters=filters.as_dict(),
                row_count=row_count,
            )
        except DomainError as error:
            raise PermissionDenied(error.message) from None
        stamp = timezone.now().astimezone(UTC).strftime("%Y%m%d-%H%M%S")
        response = StreamingHttpResponse(
            csv_stream(EXPORT_HEADER, export_lines(rows[:EXPORT_MAX_ROWS])),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="customers-{stamp}.csv"'
        return response
