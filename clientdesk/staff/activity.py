"""The staff console's activity view: everything recorded, across every customer.

What the customer 360's Activity tab shows for one account, this page shows for all of them,
plus the entries that belong to no customer (tax rules, customer-list exports). Newest
first in keyset pages; filters by kind of entry and by who acted. Sensitive values stay
masked.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse, QueryDict
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views import View

from clientdesk.customers import trail
from clientdesk.users.models import User

from .mixins import StaffRequiredMixin

MAX_ID = 2**63 - 1
WHAT_CHOICES = [("", "Anything"), *trail.GROUPS.items(), *trail.STAFF_GROUPS.items()]


class StaffActivityFilterForm(forms.Form):
    what = forms.ChoiceField(
        required=False,
        label="What",
        choices=WHAT_CHOICES,
        error_messages={"invalid_choice": "Choose a kind of entry from the list."},
    )
    who = forms.ModelChoiceField(
        required=False,
        label="Staff member",
        queryset=User.objects.filter(is_staff=True).order_by("full_name", "email"),
        empty_label="Anyone",
        error_messages={"invalid_choice": "Choose a member of staff from the list."},
    )
    before = forms.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, widget=forms.HiddenInput
    )


class StaffActivityView(StaffRequiredMixin, View):
    """``/staff/activity/``: every Activity row, newest first."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = StaffActivityFilterForm(request.GET)
        form.is_valid()  # invalid filters are dropped and listed, never an error page
        ignored = [f"{form.fields[n].label or n}: {e[0]}" for n, e in form.errors.items()]
        group = form.cleaned_data.get("what") or ""
        who = form.cleaned_data.get("who")
        before = form.cleaned_data.get("before")
        entries, next_before = trail.staff_wide_trail(
            group=group, actor_id=who.pk if who else None, before=before
        )
        base = reverse("staff:activity")
        older_url = newest_url = ""
        if next_before is not None:
            older_url = f"{base}?{_query(group, who, next_before)}"
        if before is not None:
            query = _query(group, who, None)
            newest_url = f"{base}?{query}" if query else base
        context = {
            "entries": entries,
            "filter_form": StaffActivityFilterForm(
                initial={"what": group, "who": who.pk if who else None}
            ),
            "filtered": bool(group or who),
            "ignored": ignored,
            "older_url": older_url,
            "newest_url": newest_url,
            "clear_url": base,
            "paged": before is not None,
            "staff_roles": sorted(self.staff_roles),
        }
        return TemplateResponse(request, "staff/activity.html", context)


def _query(group: str, who: User | None, before: int | None) -> str:
    query = QueryDict(mutable=True)
    if group:
        query["what"] = group
    if who is not None:
        query["who"] = str(who.pk)
    if before is not None:
        query["before"] = str(before)
    return query.urlencode()
