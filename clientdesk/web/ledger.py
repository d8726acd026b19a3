"""The ledger's screens, shared by the portal ("Billing & credits") and the staff 360's
Billing tab: the statement filters, the page of entries with its links, the summary and
amount wording, and the CSV download.

Reads go through ``clientdesk.ledger.queries``: the summary is the balance row (one query),
a page of entries is one keyset query (``before`` = the last entry id seen) with the
reversing entry joined, so a page costs the same whatever the number of entries.

Filters come from the query string and are never trusted: a value that does not parse is
dropped with a sentence on the page (``ignored``), never a 500. Dates are whole days in the
customer's time zone.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, tzinfo
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ObjectDoesNotExist
from django.http import HttpResponse, QueryDict, StreamingHttpResponse
from django.utils import timezone
from django.utils.cache import patch_vary_headers

from clientdesk.core.csv import csv_stream
from clientdesk.core.money import format_amount
from clientdesk.customers.models import Customer
from clientdesk.ledger import queries
from clientdesk.ledger.models import Entry

EARLIEST = date(2000, 1, 1)
LATEST = date(9998, 12, 31)
MAX_ID = 2**62
ZERO = Decimal("0.00")
BAD_PAGE_LINK = "That page link is not valid; showing the newest entries."


def customer_zone(customer: Customer) -> tzinfo:
    """The customer's time zone (UTC if the stored name is unknown to this machine)."""
    try:
        return zoneinfo.ZoneInfo(customer.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def zone_label(zone: tzinfo) -> str:
    return str(zone).replace("_", " ")


# --- filters -----------------------------------------------------------------------------------


class StatementFilterForm(forms.Form):
    """``kind``, ``from``, ``to`` (days in the customer's time zone) and the keyset cursor
    ``before``. "from" and "to" read well in the address bar but are not Python names, so
    they are added in ``__init__``."""

    kind = forms.ChoiceField(
        required=False,
        label="Kind",
        choices=[("", "Any kind"), *Entry.Kind.choices],
        error_messages={"invalid_choice": "Choose a kind of entry from the list."},
    )
    before = forms.IntegerField(
        required=False,
        label="Page link",
        min_value=1,
        max_value=MAX_ID,
        widget=forms.HiddenInput,
        error_messages=dict.fromkeys(("invalid", "min_value", "max_value"), BAD_PAGE_LINK),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, label in (("from", "From"), ("to", "To")):
            self.fields[name] = forms.DateField(
                required=False,
                label=label,
                input_formats=["%Y-%m-%d"],
                widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                error_messages={"invalid": "Enter a date as YYYY-MM-DD, such as 2026-03-31."},
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name in ("from", "to"):
            value = cleaned.get(name)
            if value is not None and not EARLIEST <= value <= LATEST:
                self.add_error(name, f"Enter a date between {EARLIEST:%Y} and {LATEST:%Y}.")
        start, end = self.cleaned_data.get("from"), self.cleaned_data.get("to")
        if start and end and start > end:
            self.add_error("to", "The end date is before the start date.")
        return self.cleaned_data


@dataclass(frozen=True)
class Applied:
    """The statement filters in force: only values that parsed."""

    kind: str = ""
    start: date | None = None
    end: date | None = None
    before: int | None = None

    @property
    def any(self) -> bool:
        return bool(self.kind or self.start or self.end)

    @property
    def filters(self) -> queries.Filters:
        return queries.Filters(kind=self.kind, since=self.start, until=self.end)

    def query(self, *, before: int | None = None) -> str:
        """The query string for these filters (and a page cursor)."""
        query = QueryDict(mutable=True)
        if self.kind:
            query["kind"] = self.kind
        if self.start:
            query["from"] = self.start.isoformat()
        if self.end:
            query["to"] = self.end.isoformat()
        if before is not None:
            query["before"] = str(before)
        return query.urlencode()


def read_filters(data: QueryDict) -> tuple[Applied, list[str]]:
    """The filters that parse, and one sentence per ignored value."""
    form = StatementFilterForm(data)
    form.is_valid()
    ignored = [
        f"{form.fields[name].label or name}: {errors[0]}"
        for name, errors in form.errors.items()
        if name in form.fields
    ]
    cleaned = form.cleaned_data
    applied = Applied(
        kind=cleaned.get("kind") or "",
        start=cleaned.get("from"),
        end=cleaned.get("to"),
        before=cleaned.get("before"),
    )
    return applied, ignored


def display_form(applied: Applied) -> StatementFilterForm:
    """An unbound form showing the filters in force (ignored values are not echoed)."""
    return StatementFilterForm(
        initial={"kind": applied.kind, "from": applied.start, "to": applied.end}
    )


# --- the summary -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SummaryView:
    """The head of a billing page, worded: the balance (signed, with what it means), the
    billing mode and limit, and what can still be spent."""

    summary: queries.Summary
    mode_label: str

    @property
    def currency(self) -> str:
        return self.summary.currency

    @property
    def state(self) -> str:
        """``credit``, ``debt`` or ``zero``: the CSS hook and the wording's switch."""
        if self.summary.balance > 0:
            return "credit"
        if self.summary.balance < 0:
            return "debt"
        return "zero"

    @property
    def balance_text(self) -> str:
        return format_amount(self.summary.balance, self.currency)

    @property
    def credits_text(self) -> str:
        return format_amount(self.summary.credits, self.currency)

    @property
    def debt_text(self) -> str:
        return format_amount(self.summary.debt, self.currency)

    @property
    def available_text(self) -> str:
        return format_amount(max(self.summary.available, ZERO), self.currency)

    @property
    def limit_text(self) -> str:
        if self.summary.credit_limit is None:
            return ""
        return format_amount(self.summary.credit_limit, self.currency)

    @property
    def is_prepaid(self) -> bool:
        return self.summary.is_prepaid


def summary_view(customer: Customer) -> SummaryView:
    """One query: the balance row."""
    return SummaryView(
        summary=queries.summary(customer),
        mode_label=Customer.BillingMode(customer.billing_mode).label
        if customer.billing_mode in Customer.BillingMode.values
        else str(customer.billing_mode),
    )


# --- rows --------------------------------------------------------------------------------------


def reversing_entry_id(entry: Entry) -> int | None:
    """The id of the entry that reversed ``entry`` (joined by the statement query)."""
    try:
        reversal = entry.reversed_by
    except ObjectDoesNotExist:
        return None
    return reversal.pk if reversal is not None else None


@dataclass(frozen=True)
class EntryRow:
    """One statement line as both interfaces show it."""

    entry: Entry
    amount_text: str
    balance_text: str
    reversed_by: int | None

    @property
    def is_debit(self) -> bool:
        return self.entry.amount < 0

    @property
    def direction(self) -> str:
        return "Debit" if self.is_debit else "Credit"

    @property
    def reverses(self) -> int | None:
        return self.entry.reverses_id

    @property
    def reversible(self) -> bool:
        """Staff may reverse it: not a reversal, not reversed already."""
        return self.entry.kind != Entry.Kind.REVERSAL and self.reversed_by is None


def entry_row(entry: Entry) -> EntryRow:
    return EntryRow(
        entry=entry,
        amount_text=format_amount(entry.amount, entry.currency),
        balance_text=format_amount(entry.balance_after, entry.currency),
        reversed_by=reversing_entry_id(entry),
    )


@dataclass(frozen=True)
class StatementPage:
    rows: list[EntryRow]
    older_url: str
    newest_url: str
    paged: bool


def statement_page(
    customer: Customer, applied: Applied, zone: tzinfo, *, base_url: str
) -> StatementPage:
    """One page of the statement (one query) and the links to the older and newest pages."""
    page = queries.statement(customer, applied.filters, zone, before=applied.before)
    older_url = newest_url = ""
    if page.next_before is not None:
        older_url = f"{base_url}?{applied.query(before=page.next_before)}"
    if applied.before is not None:
        query = applied.query()
        newest_url = f"{base_url}?{query}" if query else base_url
    return StatementPage(
        rows=[entry_row(entry) for entry in page.rows],
        older_url=older_url,
        newest_url=newest_url,
        paged=applied.before is not None,
    )


def csv_url(base_url: str, applied: Applied) -> str:
    query = applied.query()
    return f"{base_url}?{query}" if query else base_url


def statement_context(
    customer: Customer, request: Any, *, base_url: str, csv_base: str
) -> dict[str, Any]:
    """Everything the statement part of a billing page needs (two queries: the balance row
    and one page of entries)."""
    applied, ignored = read_filters(request.GET)
    zone = customer_zone(customer)
    page = statement_page(customer, applied, zone, base_url=base_url)
    return {
        "summary": summary_view(customer),
        "page": page,
        "rows": page.rows,
        "filter_form": display_form(applied),
        "filters": applied,
        "ignored": ignored,
        "zone": zone,
        "zone_name": zone_label(zone),
        "clear_url": base_url,
        "csv_url": csv_url(csv_base, applied),
    }


def vary_on_htmx(response: HttpResponse) -> HttpResponse:
    patch_vary_headers(response, ["HX-Request"])
    return response


# --- CSV ---------------------------------------------------------------------------------------

CSV_HEADER = [
    "Entry",
    "Date",
    "Kind",
    "Description",
    "Reference",
    "Amount",
    "Currency",
    "Balance after",
    "Reverses entry",
    "Reversed by entry",
]
STAFF_CSV_HEADER = [*CSV_HEADER, "Reason", "Recorded by"]


def csv_rows(
    customer: Customer, applied: Applied, zone: tzinfo, *, for_staff: bool = False
) -> Iterator[list[object]]:
    """The statement's rows for the CSV, newest first, streamed in chunks. Amounts stay
    ``Decimal`` (and ids ``int``) so that ``core.csv`` leaves them as numbers; every text a
    person typed is neutralised there."""
    rows = queries.entries(customer, applied.filters, zone)
    for entry in rows.iterator(chunk_size=2000):
        line: list[object] = [
            entry.pk,
            entry.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            entry.get_kind_display(),
            entry.description,
            entry.external_reference,
            entry.amount,
            entry.currency,
            entry.balance_after,
            entry.reverses_id,
            reversing_entry_id(entry),
        ]
        if for_staff:
            line += [entry.reason, entry.actor_label]
        yield line


def csv_response(
    customer: Customer, data: QueryDict, *, for_staff: bool = False
) -> StreamingHttpResponse:
    """The statement with the page's filters as a streamed CSV download (the cursor is
    ignored: the file holds every matching entry)."""
    applied, _ = read_filters(data)
    zone = customer_zone(customer)
    header = STAFF_CSV_HEADER if for_staff else CSV_HEADER
    response = StreamingHttpResponse(
        csv_stream(header, csv_rows(customer, applied, zone, for_staff=for_staff)),
        content_type="text/csv; charset=utf-8",
    )
    stamp = timezone.now().astimezone(zone).strftime("%Y%m%d")
    filename = f"{customer.client_id}-statement-{stamp}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response
