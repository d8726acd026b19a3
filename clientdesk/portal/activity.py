"""The portal's Activity page: the customer's trail with who / what / when filters.

Filters come from the query string and are never trusted: a value that does not parse, or
that names a person who is not on this account, is dropped with a note on the page.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from django import forms
from django.http import QueryDict

from clientdesk.customers.models import Contact, Customer
from clientdesk.customers.trail import GROUPS, TrailEntry

EARLIEST = date(2000, 1, 1)
LATEST = date(9998, 12, 31)
MAX_ID = 2**62

# Activity.Source labels → the short badge word and its icon.
SOURCE_BADGES: dict[str, tuple[str, str]] = {
    "Portal": ("Portal", "computer-desktop"),
    "Staff console": ("Staff", "lifebuoy"),
    "API": ("API", "code-bracket"),
    "System": ("System", "cog-6-tooth"),
}


def customer_zone(customer: Customer) -> tzinfo:
    """The customer's time zone (UTC if the stored name is unknown to this machine)."""
    try:
        return zoneinfo.ZoneInfo(customer.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def people_choices(customer: Customer) -> list[tuple[int, str]]:
    """The customer's contacts that have a sign-in, as (user id, name) — one query."""
    contacts = (
        Contact.objects.filter(customer=customer, user__isnull=False)
        .select_related("user")
        .order_by("first_name", "last_name", "id")
    )
    return [(c.user_id, c.full_name or c.email) for c in contacts if c.user_id is not None]


class ActivityFilterForm(forms.Form):
    """who, what, from, to and the keyset cursor ``before``."""

    who = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        label="Who",
        error_messages={"invalid_choice": "Choose a person on this account from the list."},
    )
    what = forms.ChoiceField(
        required=False,
        label="What",
        error_messages={"invalid_choice": "Choose a kind of change from the list."},
    )
    before = forms.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, widget=forms.HiddenInput
    )

    def __init__(self, *args: Any, people: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        who = self.fields["who"]
        assert isinstance(who, forms.TypedChoiceField)
        who.choices = [("", "Anyone"), *people]
        what = self.fields["what"]
        assert isinstance(what, forms.ChoiceField)
        what.choices = [("", "Anything"), *GROUPS.items()]
        # "from" and "to" read well in the address bar but are not Python names.
        self.fields["from"] = forms.DateField(
            required=False,
            label="From",
            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        )
        self.fields["to"] = forms.DateField(
            required=False,
            label="To",
            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        )

    def _in_range(self, name: str) -> date | None:
        value: date | None = self.cleaned_data.get(name)
        if value is not None and not EARLIEST <= value <= LATEST:
            raise forms.ValidationError(
                f"Enter a date between {EARLIEST:%Y} and {LATEST:%Y}.", code="range"
            )
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name in ("from", "to"):
            if name in cleaned:
                try:
                    self._in_range(name)
                except forms.ValidationError as error:
                    self.add_error(name, error)
        start, end = self.cleaned_data.get("from"), self.cleaned_data.get("to")
        if start and end and start > end:
            self.add_error("to", "The end date is before the start date.")
        return self.cleaned_data


@dataclass(frozen=True)
class AppliedFilters:
    actor_id: int | None = None
    group: str = ""
    start: date | None = None
    end: date | None = None
    before: int | None = None

    @property
    def any(self) -> bool:
        return bool(self.actor_id is not None or self.group or self.start or self.end)

    def query(self, *, before: int | None = None) -> str:
        """The query string for these filters (and a page cursor)."""
        query = QueryDict(mutable=True)
        if self.actor_id is not None:
            query["who"] = str(self.actor_id)
        if self.group:
            query["what"] = self.group
        if self.start:
            query["from"] = self.start.isoformat()
        if self.end:
            query["to"] = self.end.isoformat()
        if before is not None:
            query["before"] = str(before)
        return query.urlencode()

    def bounds(self, zone: tzinfo) -> tuple[datetime | None, datetime | None]:
        """``since`` and ``until`` for the trail: whole days in the customer's time zone."""
        since = datetime.combine(self.start, time.min, tzinfo=zone) if self.start else None
        until = (
            datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=zone)
            if self.end
            else None
        )
        return since, until


def read_filters(
    data: QueryDict, people: list[tuple[int, str]]
) -> tuple[AppliedFilters, list[str]]:
    """The filters that parse, and one sentence per ignored value."""
    form = ActivityFilterForm(data, people=people)
    form.is_valid()
    ignored = [
        f"{form.fields[name].label or name}: {errors[0]}"
        for name, errors in form.errors.items()
        if name in form.fields
    ]
    cleaned = form.cleaned_data
    applied = AppliedFilters(
        actor_id=cleaned.get("who"),
        group=cleaned.get("what") or "",
        start=cleaned.get("from"),
        end=cleaned.get("to"),
        before=cleaned.get("before"),
    )
    return applied, ignored


def display_form(applied: AppliedFilters, people: list[tuple[int, str]]) -> ActivityFilterForm:
    """An unbound form showing the filters in force (ignored values are not echoed)."""
    return ActivityFilterForm(
        people=people,
        initial={
            "who": applied.actor_id if applied.actor_id is not None else "",
            "what": applied.group,
            "from": applied.start,
            "to": applied.end,
        },
    )


@dataclass(frozen=True)
class EntryView:
    entry: TrailEntry
    source_label: str
    source_icon: str

    @property
    def detailed(self) -> bool:
        return self.entry.detailed


def entry_views(entries: list[TrailEntry]) -> list[EntryView]:
    views = []
    for entry in entries:
        label, icon = SOURCE_BADGES.get(entry.source, (entry.source, "cog-6-tooth"))
        views.append(EntryView(entry, label, icon))
    return views
