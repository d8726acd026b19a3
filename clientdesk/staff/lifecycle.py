"""The customer 360's Status & ownership tab (issue 8, Part B): the account's status, the
close checklist shown live, and the managers' forms — suspend / lift the suspension, close,
reopen within the retention period, transfer ownership.

Every staff role sees the status, the checklist and the owner; only managers (and
superusers) get the forms, and the action routes answer 403 to anyone else before the
action is even called (the actions check the role again). Each form posts to its own route
and goes through one action of ``clientdesk.lifecycle.actions``; a refusal (``DomainError``)
is shown on the tab next to the form, and nothing changes.

The checklist refreshes itself: ``staff:customer-lifecycle-checklist`` answers htmx with the
list and, out of band, the Close button (enabled only while every item is green). When the
account's status changed meanwhile (another manager acted), it tells htmx to reload the page.
The close action checks the list again inside its transaction, so a stale page cannot close
an account that has money on it.

Queries: the tab costs the frame's two plus a fixed handful (checklist three, owner and
transfer candidates, the last status change), whatever the customer's size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views import View

from clientdesk.audit.models import Activity
from clientdesk.core.errors import DomainError
from clientdesk.customers.models import Contact, Customer
from clientdesk.customers.roles import Role
from clientdesk.lifecycle import actions as lifecycle
from clientdesk.users.roles import MANAGER
from clientdesk.web.ownership import NewOwnerForm

from .customer360 import CustomerFrameMixin

STATUS_VERBS = (
    "customer.suspended",
    "customer.unsuspended",
    "customer.closed",
    "customer.reopened",
    "customer.anonymised",
)
REFRESH_SECONDS = 10


def tab_url(customer: Customer) -> str:
    return reverse("staff:customer-lifecycle", args=[customer.number])


# --- forms ------------------------------------------------------------------------------------


class ReasonForm(forms.Form):
    """One reason, recorded in Activity and the outbox event (and in the owner's email)."""

    reason = forms.CharField(
        label="Reason",
        max_length=lifecycle.REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={
            "required": "Give a reason; it is recorded.",
            "max_length": f"Keep the reason under {lifecycle.REASON_MAX} characters.",
        },
    )

    def __init__(self, *args: Any, help_text: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if help_text:
            self.fields["reason"].help_text = help_text


# Each form of the tab: its prefix (unique field ids on one page) and its reason's help.
FORM_HELP: dict[str, str] = {
    "suspend": "Why the account is suspended. The owner reads it in their email.",
    "unsuspend": "Why the suspension is lifted (for example: the invoice was paid).",
    "close": "Why the account closes (for example: the client's written request).",
    "reopen": "Why the account reopens (for example: the client changed their mind).",
}


def reason_form(prefix: str, data: Any = None) -> ReasonForm:
    return ReasonForm(data, prefix=prefix, help_text=FORM_HELP[prefix])


class TransferForm(NewOwnerForm):
    """The new owner, and the manager's reason (recorded in Activity)."""

    reason = forms.CharField(
        label="Reason",
        max_length=lifecycle.REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why ownership moves (for example: the client's signed request). Recorded "
        "in Activity.",
        error_messages={
            "required": "Give a reason; it is recorded.",
            "max_length": f"Keep the reason under {lifecycle.REASON_MAX} characters.",
        },
    )


# --- what the tab shows -----------------------------------------------------------------------


@dataclass(frozen=True)
class StatusFacts:
    status: str
    label: str
    closed_at: datetime | None
    retained_until: datetime | None
    anonymised_at: datetime | None
    reopenable: bool
    last_change: Activity | None


def status_facts(customer: Customer) -> StatusFacts:
    """The status, its dates, and the last status change (who, when, why): one query."""
    last = (
        Activity.objects.filter(customer=customer, verb__in=STATUS_VERBS)
        .only("verb", "occurred_at", "actor_label", "reason")
        .order_by("-id")
        .first()
    )
    ends = lifecycle.retention_ends(customer)
    reopenable = (
        customer.status == Customer.Status.CLOSED
        and customer.anonymised_at is None
        and (ends is None or ends > timezone.now())
    )
    return StatusFacts(
        status=customer.status,
        label=customer.get_status_display(),
        closed_at=customer.closed_at,
        retained_until=ends,
        anonymised_at=customer.anonymised_at,
        reopenable=reopenable,
        last_change=last,
    )


def owner_of(customer: Customer) -> Contact | None:
    return Contact.objects.filter(customer=customer, role=Role.OWNER).select_related("user").first()


def _vary_on_htmx(response: HttpResponse) -> HttpResponse:
    patch_vary_headers(response, ["HX-Request"])
    return response


# --- the tab ------------------------------------------------------------------------------------


class LifecycleView(CustomerFrameMixin, View):
    """``staff:customer-lifecycle``: every staff role; forms for managers only."""

    frame_tab = "account"
    template_name = "staff/lifecycle/tab.html"

    @property
    def may_manage(self) -> bool:
        return MANAGER in self.staff_roles

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self.page()

    def page(
        self, *, bound: dict[str, forms.Form] | None = None, status: int = 200
    ) -> HttpResponse:
        """The whole tab; ``bound``: forms sent back with their errors (by prefix)."""
        customer = self.customer
        facts = status_facts(customer)
        closed = customer.status == Customer.Status.CLOSED
        checklist = None if closed else lifecycle.close_checklist(customer)
        owner = owner_of(customer)
        candidates = (
            lifecycle.transfer_candidates(customer)
            if customer.status == Customer.Status.ACTIVE
            else []
        )
        forms_by_prefix: dict[str, forms.Form] = {}
        if self.may_manage:
            wanted = []
            if customer.status == Customer.Status.ACTIVE:
                wanted = ["suspend", "close"]
            elif customer.status == Customer.Status.SUSPENDED:
                wanted = ["unsuspend", "close"]
            elif facts.reopenable:
                wanted = ["reopen"]
            for prefix in wanted:
                forms_by_prefix[prefix] = reason_form(prefix)
            for prefix, form in (bound or {}).items():
                forms_by_prefix[prefix] = form
        context = self.frame(
            facts=facts,
            checklist=checklist,
            owner=owner,
            candidates=candidates,
            may_manage=self.may_manage,
            forms=forms_by_prefix,
            checklist_url=reverse("staff:customer-lifecycle-checklist", args=[customer.number]),
            transfer_url=reverse("staff:customer-transfer", args=[customer.number]),
            refresh_seconds=REFRESH_SECONDS,
            retention_days=_retention_days(),
            what_stays=lifecycle.WHAT_STAYS,
        )
        return _vary_on_htmx(
            TemplateResponse(self.request, self.template_name, context, status=status)
        )


def _retention_days() -> int:
    return int(settings.CLIENTDESK_CLOSED_RETENTION_DAYS)


class ChecklistView(CustomerFrameMixin, View):
    """``staff:customer-lifecycle-checklist``: the checklist as an htmx fragment (every
    staff role), with the Close button out of band for managers. ``?shown=<status>`` is the
    status the page was drawn with: if it changed, htmx reloads the whole page."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        customer = self.customer
        shown = str(request.GET.get("shown", ""))[:20]
        response: HttpResponse
        if shown and shown != customer.status:
            response = HttpResponse(status=204)
            response["HX-Refresh"] = "true"
            return _vary_on_htmx(response)
        closed = customer.status == Customer.Status.CLOSED
        context = {
            "customer": customer,
            "checklist": None if closed else lifecycle.close_checklist(customer),
            "may_manage": MANAGER in self.staff_roles,
            "oob": bool(request.htmx),  # type: ignore[attr-defined]
            "checklist_url": reverse("staff:customer-lifecycle-checklist", args=[customer.number]),
            "refresh_seconds": REFRESH_SECONDS,
        }
        response = TemplateResponse(request, "staff/lifecycle/checklist.html", context)
        return _vary_on_htmx(response)


# --- the managers' actions ------------------------------------------------------------------------


class _StatusAction(LifecycleView):
    """POST a reason; the action changes the status. Managers only (403 for other staff)."""

    required_roles: ClassVar[set[str]] = {MANAGER}
    http_method_names = ["post"]
    prefix: ClassVar[str] = ""
    done_text: ClassVar[str] = ""

    def act(self, *, reason: str) -> Customer:
        raise NotImplementedError

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = reason_form(self.prefix, request.POST)
        if not form.is_valid():
            return self.page(bound={self.prefix: form}, status=400)
        before = self.customer.status
        try:
            after = self.act(reason=form.cleaned_data["reason"])
        except DomainError as error:
            error.add_to_form(form)
            self.reload_customer()
            return self.page(bound={self.prefix: form}, status=error.http_status)
        if after.status == before:  # e.g. a second click, or another manager was first
            messages.info(
                request,
                f"Nothing changed: the account is already {after.get_status_display().lower()}.",
            )
        else:
            messages.success(request, self.done_text)
        return HttpResponseRedirect(tab_url(self.customer))

    @property
    def actor(self) -> Any:
        return self.request.actor  # type: ignore[attr-defined]


class SuspendView(_StatusAction):
    prefix = "suspend"
    done_text = (
        "The account is suspended: its users are refused from their next request on. The "
        "owner has been emailed."
    )

    def act(self, *, reason: str) -> Customer:
        return lifecycle.suspend_customer(self.customer, reason=reason, actor=self.actor)


class UnsuspendView(_StatusAction):
    prefix = "unsuspend"
    done_text = (
        "The suspension is lifted: the account's users can sign in again. The owner has been "
        "emailed."
    )

    def act(self, *, reason: str) -> Customer:
        return lifecycle.unsuspend_customer(self.customer, reason=reason, actor=self.actor)


class CloseView(_StatusAction):
    prefix = "close"
    done_text = (
        "The account is closed. It no longer appears in the portal or the customer list; its "
        "data is kept until the retention period ends."
    )

    def act(self, *, reason: str) -> Customer:
        return lifecycle.close_customer(self.customer, reason=reason, actor=self.actor)


class ReopenView(_StatusAction):
    prefix = "reopen"
    done_text = "The account is reopened and active again. The owner has been emailed."

    def act(self, *, reason: str) -> Customer:
        return lifecycle.reopen_customer(self.customer, reason=reason, actor=self.actor)


# --- ownership transfer ---------------------------------------------------------------------------


class TransferView(CustomerFrameMixin, View):
    """``staff:customer-transfer`` (managers): choose the new owner among the contacts with a
    portal sign-in and give a reason → a confirmation screen that says what moves and what
    stays → POST with ``confirm`` makes the transfer."""

    frame_tab = "account"
    required_roles: ClassVar[set[str]] = {MANAGER}

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        initial: dict[str, Any] = {}
        chosen = str(request.GET.get("new_owner", ""))[:20]
        if chosen.isdecimal():
            initial["new_owner"] = int(chosen)
        form = TransferForm(initial=initial, candidates=self.candidates())
        return self.choose(form)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        candidates = self.candidates()
        form = TransferForm(request.POST, candidates=candidates)
        if not form.is_valid():
            return self.choose(form, status=400)
        new_owner_id = form.cleaned_data["new_owner"]
        reason = form.cleaned_data["reason"]
        if request.POST.get("edit") == "yes":  # "Change" on the confirmation screen
            initial = {"new_owner": new_owner_id, "reason": reason}
            return self.choose(TransferForm(initial=initial, candidates=candidates))
        if request.POST.get("confirm") != "yes":
            chosen = next(c for c in candidates if c.pk == new_owner_id)
            return self.confirm(form, chosen)
        try:
            new_owner = lifecycle.transfer_ownership(
                self.customer,
                new_owner_id=new_owner_id,
                reason=reason,
                actor=request.actor,  # type: ignore[attr-defined]
            )
        except DomainError as error:
            error.add_to_form(form)
            self.reload_customer()
            return self.choose(form, status=error.http_status)
        messages.success(
            request,
            f"{new_owner.full_name} is now the owner; the previous owner is an admin. Both "
            "have been emailed.",
        )
        return HttpResponseRedirect(tab_url(self.customer))

    def candidates(self) -> list[Contact]:
        if self.customer.status != Customer.Status.ACTIVE:
            return []
        return lifecycle.transfer_candidates(self.customer)

    def choose(self, form: TransferForm, *, status: int = 200) -> HttpResponse:
        context = self.frame(
            form=form,
            owner=owner_of(self.customer),
            has_candidates=bool(form.fields["new_owner"].choices),  # type: ignore[attr-defined]
            tab_url=tab_url(self.customer),
            contacts_url=reverse("staff:contacts", args=[self.customer.number]),
        )
        return TemplateResponse(
            self.request, "staff/lifecycle/transfer.html", context, status=status
        )

    def confirm(self, form: TransferForm, chosen: Contact) -> HttpResponse:
        context = self.frame(
            form=form,
            owner=owner_of(self.customer),
            chosen=chosen,
            chosen_email=chosen.user.email if chosen.user is not None else chosen.email,
            reason=form.cleaned_data["reason"],
            what_moves=lifecycle.WHAT_MOVES,
            what_stays=lifecycle.WHAT_STAYS,
            action_url=reverse("staff:customer-transfer", args=[self.customer.number]),
            tab_url=tab_url(self.customer),
        )
        return TemplateResponse(self.request, "staff/lifecycle/transfer_confirm.html", context)
