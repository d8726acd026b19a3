"""Change requests in the staff console (seed 002, DESIGN §3 "Change request").

- The queue (``staff:change-requests``): requests oldest first in keyset pages, filtered by
  status, kind, age and customer, with the number of requests in each status as tabs. Every
  staff group reads it.
- One request (``staff:change-request``): what is asked against what the account holds *now*
  (and what it held when the request was sent, where that differs), a conflict banner when
  the section moved since, the conversation, and the forms this staff member may use:
  comment (every group), approve and reject (managers; the action has the last word and its
  refusal is shown, never a 500), cancel (support and managers).

Views stay thin: every change goes through ``change_requests.actions``; reads come from
``change_requests.queries`` and ``change_requests.values``. A primary-email request is not
approved here: it links to the email-change procedure (``staff:customer-email-change``),
which records how the client's identity was verified.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, ClassVar, cast

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.timesince import timesince
from django.views import View

from clientdesk.audit.models import Activity
from clientdesk.change_requests import actions, queries, values
from clientdesk.change_requests.models import (
    OPEN_STATUSES,
    ChangeRequest,
    Kind,
    Status,
)
from clientdesk.change_requests.primary_email import PROCEDURE_GROUPS
from clientdesk.core.actor import Source
from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.customers import policy
from clientdesk.customers.models import Customer
from clientdesk.customers.sections import section_etag

from .customer_list import customer_url, safe_customer_number
from .mixins import StaffRequiredMixin

MAX_ID = 2**62
APPROVERS = frozenset({"manager", "superuser"})
CANCELLERS = {"support", "manager"}
MASKED = "•••• (masked — reveal it on the Profile tab)"

AGES: tuple[tuple[int, str], ...] = (
    (1, "Older than 1 day"),
    (3, "Older than 3 days"),
    (7, "Older than 7 days"),
    (14, "Older than 14 days"),
)
STATUS_CHOICES: list[tuple[str, str]] = [
    ("open", "Open"),
    (Status.AWAITING_CUSTOMER.value, Status.AWAITING_CUSTOMER.label),
    (Status.APPROVED.value, Status.APPROVED.label),
    (Status.PARTLY_APPROVED.value, Status.PARTLY_APPROVED.label),
    (Status.REJECTED.value, Status.REJECTED.label),
    (Status.CANCELLED.value, Status.CANCELLED.label),
    ("all", "All"),
]


def open_total(counts: dict[str, int]) -> int | str:
    """Open requests (open + awaiting customer) from ``queries.counts_by_status()``."""
    return queries.shown_count(sum(counts.get(status.value, 0) for status in OPEN_STATUSES))


def nav_open_requests(request: HttpRequest) -> dict[str, Any]:
    """Context for the staff nav's "Change requests" badge: the number of open requests,
    counted only when a page renders it (one grouped query). Usable as a context processor
    (``clientdesk.staff.change_requests.nav_open_requests``); the pages here add it
    themselves."""
    return {"nav_open_requests": SimpleLazyObject(queries.open_total)}


def age_of(moment: datetime, now: datetime | None = None) -> str:
    """The age in its largest unit: "3 days", "5 hours", "just now"."""
    now = now or timezone.now()
    if (now - moment).total_seconds() < 60:
        return "just now"
    return timesince(moment, now, depth=1)


def status_tone(status: str) -> str:
    return values.STATUS_TONES.get(status, "neutral")


def detail_url(number: int) -> str:
    return reverse("staff:change-request", args=[number])


# --- the queue ------------------------------------------------------------------------------


class QueueFilterForm(forms.Form):
    status = forms.ChoiceField(required=False, label="Status", choices=STATUS_CHOICES)
    kind = forms.ChoiceField(
        required=False, label="What", choices=[("", "Anything"), *Kind.choices]
    )
    age = forms.TypedChoiceField(
        required=False,
        label="Age",
        coerce=int,
        empty_value=None,
        choices=[("", "Any age"), *((str(days), text) for days, text in AGES)],
    )
    customer = forms.CharField(
        required=False,
        label="Client ID",
        widget=forms.TextInput(attrs={"placeholder": "C-100042", "class": "input input-mono"}),
    )
    after = forms.IntegerField(
        required=False, label="Page", min_value=1, max_value=MAX_ID, widget=forms.HiddenInput
    )

    def clean_customer(self) -> Customer | None:
        raw = str(self.cleaned_data.get("customer") or "").strip()
        if not raw:
            return None
        number = safe_customer_number(raw) if len(raw) <= 30 else None
        customer = (
            Customer.objects.only("pk", "number", "display_name").filter(number=number).first()
            if number is not None
            else None
        )
        if customer is None:
            raise forms.ValidationError("No customer has that client ID. Check it and try again.")
        return customer


@dataclass(frozen=True)
class QueueRow:
    request: ChangeRequest
    url: str
    customer_url: str
    age: str
    tone: str


@dataclass(frozen=True)
class StatusTab:
    label: str
    url: str
    current: bool
    count: int | str | None  # "1000+" past the cap


class QueueView(StaffRequiredMixin, View):
    """The queue: every staff group reads it. Unknown filter values are ignored (and said
    so); a client ID that names nobody shows nothing, with the reason by the field."""

    template_name = "staff/change_requests/queue.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = QueueFilterForm(request.GET)
        form.is_valid()
        data = form.cleaned_data
        ignored = [
            str(form.fields[name].label)
            for name in form.errors
            if name in ("status", "kind", "age", "after")
        ]
        status = data.get("status") or "open"
        kind = data.get("kind") or ""
        age: int | None = data.get("age")
        customer: Customer | None = data.get("customer")
        after: int | None = data.get("after")
        counts = queries.counts_by_status()
        if "customer" in form.errors:
            rows: list[QueueRow] = []
            next_after = None
        else:
            filters = queries.QueueFilters(
                status=status, kind=kind, older_than_days=age, customer=customer
            )
            page, next_after = queries.queue(filters, after=after)
            now = timezone.now()
            rows = [
                QueueRow(
                    request=item,
                    url=detail_url(item.number),
                    customer_url=customer_url(item.customer.number),
                    age=age_of(item.created_at, now),
                    tone=status_tone(item.status),
                )
                for item in page
            ]
        state = {
            "status": status,
            "kind": kind,
            "age": age,
            "customer": customer.client_id if customer else "",
        }
        if "customer" in form.errors:
            state["customer"] = str(request.GET.get("customer", ""))[:30]
        tab_counts = {
            **{key: queries.shown_count(value) for key, value in counts.items()},
            "open": open_total(counts),
        }
        tabs = [
            StatusTab(
                label=label,
                url=self.list_url({**state, "status": value}),
                current=value == status,
                count=tab_counts.get(value),
            )
            for value, label in STATUS_CHOICES
        ]
        filtered = bool(kind or age or customer or "customer" in form.errors)
        context = {
            "filter_form": QueueFilterForm(
                initial={"status": status, "kind": kind, "age": age or "", **state}
            )
            if "customer" not in form.errors
            else form,
            "status": status,
            "status_label": dict(STATUS_CHOICES).get(status, ""),
            "rows": rows,
            "tabs": tabs,
            "ignored": ignored,
            "filtered": filtered,
            "filter_customer": customer,
            "next_url": self.list_url(state, after=next_after) if next_after else "",
            "first_url": self.list_url(state) if after else "",
            "clear_url": self.list_url({"status": status}),
            "nav_open_requests": open_total(counts),
            "staff_roles": sorted(self.staff_roles),
        }
        return TemplateResponse(request, self.template_name, context)

    @staticmethod
    def list_url(state: dict[str, Any], *, after: int | None = None) -> str:
        query = QueryDict(mutable=True)
        if state.get("status") and state["status"] != "open":
            query["status"] = state["status"]
        for name in ("kind", "age", "customer"):
            if state.get(name):
                query[name] = str(state[name])
        if after is not None:
            query["after"] = str(after)
        encoded = query.urlencode()
        return reverse("staff:change-requests") + (f"?{encoded}" if encoded else "")


# --- one request ----------------------------------------------------------------------------


class CommentForm(forms.Form):
    body = forms.CharField(
        label="Message",
        required=False,  # the action says what is missing or too long
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Plain text. The customer is emailed a link to it.",
    )
    awaiting_reply = forms.BooleanField(
        label="Wait for the customer's reply",
        required=False,
        initial=True,
        help_text="The request shows as awaiting the customer until they answer.",
    )


class ApproveForm(forms.Form):
    apply = forms.MultipleChoiceField(
        label="Apply these changes",
        required=False,  # the action says "choose at least one"
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": "Choose fields from this request only."},
    )
    reason = forms.CharField(
        label="Why the unticked changes are rejected",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Needed only when you leave a change out; the customer is told.",
    )
    reviewed_etag = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args: Any, request: ChangeRequest, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(name, values.label(name)) for name in request.requested]
        field = self.fields["apply"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = choices
        if not self.is_bound:
            self.initial["apply"] = [name for name, _ in choices]


class RejectForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        required=False,  # the action requires it, with its own message
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The customer reads this in the email and on the request.",
    )


@dataclass(frozen=True)
class CompareRow:
    name: str
    label: str
    current: str
    requested: str
    snapshot: str
    asked: bool  # the request asks to change this field
    moved: bool  # the account's value changed since the request was sent


@dataclass(frozen=True)
class Decision:
    title: str
    tone: str
    by: str
    at: datetime | None
    reason: str
    approved: list[str]
    rejected: list[str]


def compare_rows(
    request: ChangeRequest, customer: Customer, *, flag_moved: bool = True
) -> list[CompareRow]:
    """Every field of the request's section: the value now, the value asked for (where the
    request asks) and the value when it was sent; ``moved`` flags the fields that changed
    since (only meaningful while the request is open: a decision changes them itself)."""
    current = values.current_values(customer, request.kind)
    names = list(dict.fromkeys([*current, *request.requested]))
    rows = []
    for name in names:
        now = current.get(name)
        then = request.snapshot.get(name, now)
        asked = name in request.requested
        words = partial(_in_words, customer, name)
        rows.append(
            CompareRow(
                name=name,
                label=values.label(name),
                current=words(now),
                requested=words(request.requested[name]) if asked else "",
                snapshot=words(then),
                asked=asked,
                moved=flag_moved and name in request.snapshot and then != now,
            )
        )
    return rows


def _in_words(customer: Customer, name: str, value: Any) -> str:
    """A value as the profile shows it; identity numbers and birth dates stay masked here
    (staff reveal them on the Profile tab, where the reveal is recorded)."""
    spec = policy.FIELDS_BY_NAME.get(name)
    if spec is not None and spec.sensitive:
        return MASKED
    return values.shown(customer, name, value)


def decision_of(request: ChangeRequest) -> Decision | None:
    """Who decided (or cancelled), when and why; None while the request is open."""
    if request.is_open:
        return None
    if request.status == Status.CANCELLED:
        activity = (
            Activity.objects.filter(
                customer_id=request.customer_id,
                verb="change_request.cancelled",
                target_id=str(request.pk),
            )
            .only("actor_label")
            .first()
        )
        by = activity.actor_label if activity else ""
    else:
        by = str(request.decided_by) if request.decided_by else ""
    return Decision(
        title=request.get_status_display(),
        tone=status_tone(request.status),
        by=by,
        at=request.decided_at,
        reason=request.decision_reason,
        approved=[values.label(n) for n in request.approved_fields],
        rejected=[values.label(n) for n in request.rejected_fields],
    )


class RequestMixin(StaffRequiredMixin, View):
    """Resolves ``request_number`` (any staff member may open any request; unknown → 404)
    and renders the detail page, with bound forms and an error after a refused POST."""

    change_request: ChangeRequest

    def load(self, number: Any) -> ChangeRequest:
        found = queries.get_for_staff(int(number)) if 0 < int(number) <= MAX_ID else None
        if found is None:
            raise Http404("No such change request.")
        self.change_request = found
        return found

    @property
    def is_approver(self) -> bool:
        return bool(self.staff_roles & APPROVERS)

    @property
    def may_cancel(self) -> bool:
        return bool(self.staff_roles & (CANCELLERS | {"superuser"}))

    def render_detail(
        self,
        *,
        bound: dict[str, forms.Form] | None = None,
        error: str = "",
        status: int = 200,
    ) -> TemplateResponse:
        """The page; ``bound``: a posted form by its context name, shown with its errors."""
        bound = bound or {}
        cr = self.change_request
        customer = cr.customer
        rows = compare_rows(cr, customer, flag_moved=cr.is_open)
        moved = values.moved_since_submission(cr, customer) if cr.is_open else []
        section = cr.section
        etag = section_etag(customer, section) if section is not None and cr.is_open else ""
        user = self.request.user
        raised_here = cr.submitted_source == Source.STAFF and cr.submitted_by_id == getattr(
            user, "pk", None
        )
        approve_form = bound.get("approve_form") or ApproveForm(
            request=cr, initial={"reviewed_etag": etag}
        )
        if approve_form.is_bound:
            # The page shows the values as they are now: the approval is confirmed against them.
            data = cast(QueryDict, approve_form.data).copy()
            data["reviewed_etag"] = etag
            approve_form.data = data
        may_run_procedure = bool(self.staff_roles & (PROCEDURE_GROUPS | {"superuser"}))
        context = {
            "cr": cr,
            "customer": customer,
            "customer_url": customer_url(customer.number),
            "tone": status_tone(cr.status),
            "age_text": age if (age := age_of(cr.created_at)) == "just now" else f"{age} ago",
            "rows": rows,
            # Open: "when sent" only where the account moved since. Decided or cancelled: the
            # values before the request, for every field (history, not a conflict).
            "history": not cr.is_open,
            "any_moved": not cr.is_open or any(row.moved for row in rows),
            "moved": [values.label(name) for name in moved],
            "thread": queries.thread(cr),
            "decision": decision_of(cr),
            "comment_form": bound.get("comment_form") or CommentForm(),
            "approve_form": approve_form,
            "reject_form": bound.get("reject_form") or RejectForm(),
            "may_comment": cr.is_open,
            "may_decide": cr.is_open and self.is_approver,
            "may_approve": cr.is_open
            and self.is_approver
            and not cr.is_primary_email
            and not raised_here,
            "raised_here": raised_here and cr.is_open and self.is_approver,
            "may_cancel": cr.is_open and self.may_cancel,
            "email_change_url": (
                reverse("staff:customer-email-change", args=[customer.number])
                + f"?request={cr.number}"
                if cr.is_primary_email and cr.is_open and may_run_procedure
                else ""
            ),
            "error": error,
            "queue_url": reverse("staff:change-requests"),
            "nav_open_requests": queries.open_total(),
            "staff_roles": sorted(self.staff_roles),
        }
        return TemplateResponse(
            self.request, "staff/change_requests/detail.html", context, status=status
        )


class DetailView(RequestMixin):
    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.load(kwargs["request_number"])
        return self.render_detail()


class _ActionView(RequestMixin):
    """POST only: validate the form, call the action, then back to the request with a
    message; a refusal re-renders the page with the action's message (never a 500)."""

    form_name: ClassVar[str] = ""
    field_names: ClassVar[dict[str, str]] = {}  # the action's field name → the form's

    def build_form(self, data: QueryDict) -> forms.Form:
        raise NotImplementedError

    def act(self, form: forms.Form) -> str:
        """Call the action; return the confirmation to show."""
        raise NotImplementedError

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.load(kwargs["request_number"])
        form = self.build_form(request.POST)
        if form.is_valid():
            try:
                text = self.act(form)
            except DomainError as error:
                if error.code == ErrorCode.NOT_FOUND:
                    raise Http404(error.message) from None
                self.reload()
                shown_by_field = self.add_field_errors(form, error)
                return self.render_detail(
                    bound={self.form_name: form},
                    error="" if shown_by_field else error.message,
                    status=error.http_status,
                )
            messages.success(request, text)
            return HttpResponseRedirect(detail_url(self.change_request.number))
        self.reload()
        return self.render_detail(bound={self.form_name: form}, status=400)

    def add_field_errors(self, form: forms.Form, error: DomainError) -> bool:
        """Put the action's field errors next to the form's fields; False when the error
        belongs to no field (it is then shown at the top of the page)."""
        placed = False
        for name, texts in error.errors.items():
            name = self.field_names.get(name, name)
            if name in form.fields:
                for text in texts:
                    form.add_error(name, text)
                placed = True
        return placed

    def reload(self) -> None:
        self.load(self.change_request.number)

    @property
    def actor(self) -> Any:
        return self.request.actor  # type: ignore[attr-defined]

    def already(self, verb: str) -> str:
        cr = self.change_request
        by = f" by {cr.decided_by}" if cr.decided_by else ""
        return f"{cr.reference} was already {verb}{by}; nothing changed."


class CommentView(_ActionView):
    """Every staff group may write in the thread (the action checks it too)."""

    form_name = "comment_form"

    def build_form(self, data: QueryDict) -> forms.Form:
        return CommentForm(data)

    def act(self, form: forms.Form) -> str:
        awaiting = bool(form.cleaned_data.get("awaiting_reply"))
        actions.comment_on_change_request(
            self.change_request,
            body=str(form.cleaned_data.get("body") or ""),
            actor=self.actor,
            awaiting_reply=awaiting,
        )
        if awaiting:
            return "Message sent. The request now waits for the customer's reply."
        return "Message sent to the customer."


class ApproveView(_ActionView):
    """Managers approve; anyone else gets the action's refusal on the page."""

    form_name = "approve_form"
    field_names: ClassVar[dict[str, str]] = {"fields": "apply"}

    def build_form(self, data: QueryDict) -> forms.Form:
        return ApproveForm(data, request=self.change_request)

    def act(self, form: forms.Form) -> str:
        before = self.change_request.status
        result = actions.approve_change_request(
            self.change_request,
            actor=self.actor,
            fields=form.cleaned_data.get("apply") or [],
            reason=str(form.cleaned_data.get("reason") or ""),
            reviewed_etag=str(form.cleaned_data.get("reviewed_etag") or "") or None,
        )
        self.change_request = result
        if before in (Status.APPROVED, Status.PARTLY_APPROVED):
            return self.already("approved")
        if result.status == Status.PARTLY_APPROVED:
            return (
                f"{result.reference} partly approved: the ticked changes are live, the others "
                "rejected. The customer has been emailed."
            )
        return f"{result.reference} approved: the changes are live. The customer has been emailed."


class RejectView(_ActionView):
    form_name = "reject_form"

    def build_form(self, data: QueryDict) -> forms.Form:
        return RejectForm(data)

    def act(self, form: forms.Form) -> str:
        before = self.change_request.status
        result = actions.reject_change_request(
            self.change_request,
            reason=str(form.cleaned_data.get("reason") or ""),
            actor=self.actor,
        )
        self.change_request = result
        if before == Status.REJECTED:
            return self.already("rejected")
        return f"{result.reference} rejected. The customer has been emailed the reason."


class CancelView(_ActionView):
    """Support and managers may withdraw a request (e.g. the customer asked by phone)."""

    required_roles = CANCELLERS

    def act(self, form: forms.Form) -> str:
        before = self.change_request.status
        result = actions.cancel_change_request(self.change_request, actor=self.actor)
        self.change_request = result
        if before == Status.CANCELLED:
            return f"{result.reference} was already cancelled; nothing changed."
        return f"{result.reference} cancelled. The customer has been emailed."

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.load(kwargs["request_number"])
        try:
            text = self.act(forms.Form())
        except DomainError as error:
            if error.code == ErrorCode.NOT_FOUND:
                raise Http404(error.message) from None
            self.reload()
            return self.render_detail(error=error.message, status=error.http_status)
        messages.success(request, text)
        return HttpResponseRedirect(detail_url(self.change_request.number))


# --- the customer 360's tab (the view lives in customer360.py) ------------------------------


@dataclass(frozen=True)
class CustomerRow:
    request: ChangeRequest
    url: str
    age: str
    tone: str


def customer_rows(customer: Customer) -> list[CustomerRow]:
    """The customer's requests, newest first (one query), for the 360's tab."""
    now = timezone.now()
    return [
        CustomerRow(
            request=item,
            url=detail_url(item.number),
            age=age_of(item.created_at, now),
            tone=status_tone(item.status),
        )
        for item in queries.for_customer(customer)
    ]
