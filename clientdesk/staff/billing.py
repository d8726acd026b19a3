"""The customer 360's Billing tab (issue 8, Part A item 4).

Every staff role sees the summary (balance, billing mode, credit limit, available to spend)
and the statement (filters, keyset pages, CSV). The billing group (and superusers) also
record entries and reverse them; managers (and superusers) change the billing mode and the
credit limit. The actions check the same groups (``ledger.actions``), so a forged POST from
another role is refused twice: 403 here, ``not_allowed`` there.

Recording an entry is two steps: the form → POST ``step=review`` shows the confirmation
page (the signed amount and the resulting balance, from ``preview_entry``; nothing is
written) → POST ``step=confirm`` posts it. The idempotency key is made when the form is
first rendered (uuid4 hex) and carried through both steps in a hidden field, so a double
submit posts once: ``post_entry`` answers the second time with the first posting
(``created=False``) and the page says "already recorded". A refusal (``DomainError``) shows
the form again with the message next to its field and nothing posted.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any, ClassVar

from django import forms
from django.contrib import messages
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
)
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views import View

from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.core.money import format_amount
from clientdesk.customers.models import Customer
from clientdesk.ledger import actions as ledger
from clientdesk.ledger import queries
from clientdesk.ledger.models import Entry
from clientdesk.web import ledger as ledger_pages

from .customer360 import CustomerFrameMixin

POSTERS = {"billing"}  # superusers hold every role
MODE_CHANGERS = {"manager"}
MAX_ENTRY_ID = 2**62

KIND_CHOICES = [
    (Entry.Kind.TOP_UP.value, "Payment received / credit top-up"),
    (Entry.Kind.CHARGE.value, "Charge"),
    (Entry.Kind.WITHDRAWAL.value, "Withdraw credits (refund paid out)"),
    (Entry.Kind.DEBT_PAYMENT.value, "Debt payment"),
    (Entry.Kind.ADJUSTMENT.value, "Adjustment"),
]
DIRECTION_CHOICES = [
    ("credit", "Credit: adds to the balance"),
    ("debit", "Debit: takes from the balance"),
]


class ActionCheckedField(forms.CharField):
    """A field the action requires: shown as required (the asterisk), but an empty value is
    left to the action, which says what is missing together with every other problem."""

    def validate(self, value: Any) -> None:
        if value in self.empty_values:
            return
        super().validate(value)


def new_key() -> str:
    return uuid.uuid4().hex


class EntryForm(forms.Form):
    """What the billing team posts. The form only carries the input: amounts, lengths and
    the rules are the action's to check (``preview_entry`` / ``post_entry``)."""

    kind = forms.ChoiceField(
        label="Kind of entry",
        choices=[("", "Choose…"), *KIND_CHOICES],
        error_messages={
            "required": "Choose the kind of entry.",
            "invalid_choice": "Choose a kind of entry from the list.",
        },
    )
    direction = forms.ChoiceField(
        label="Adjustment direction",
        required=False,
        choices=DIRECTION_CHOICES,
        widget=forms.RadioSelect,
        help_text="Adjustments only; the other kinds have their direction.",
        error_messages={"invalid_choice": "Choose credit or debit."},
    )
    amount = ActionCheckedField(
        label="Amount",
        max_length=40,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        help_text="A positive amount in the customer's currency, such as 120.00.",
    )
    description = ActionCheckedField(
        label="Description",
        max_length=2000,
        widget=forms.TextInput(attrs={"maxlength": ledger.DESCRIPTION_MAX}),
        help_text="The customer reads it on their statement.",
    )
    external_reference = forms.CharField(
        label="External reference",
        required=False,
        max_length=2000,
        widget=forms.TextInput(attrs={"maxlength": ledger.REFERENCE_MAX}),
        help_text="Optional: a payment, invoice or bank reference.",
    )
    reason = forms.CharField(
        label="Reason",
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": ledger.REASON_MAX}),
        help_text="Why this is recorded (required for an adjustment); kept in Activity.",
    )
    idempotency_key = forms.CharField(
        label="Form key", required=False, max_length=400, widget=forms.HiddenInput
    )

    def values(self) -> dict[str, str]:
        data = self.cleaned_data
        return {
            "kind": data.get("kind") or "",
            "direction": data.get("direction") or "",
            "amount": data.get("amount") or "",
            "description": data.get("description") or "",
            "external_reference": data.get("external_reference") or "",
            "reason": data.get("reason") or "",
        }


class ModeForm(forms.Form):
    billing_mode = forms.ChoiceField(
        label="Billing mode",
        choices=Customer.BillingMode.choices,
        error_messages={"invalid_choice": "Choose prepaid or postpaid."},
    )
    credit_limit = forms.CharField(
        label="Credit limit",
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        help_text="Postpaid only: how much the customer may owe. Empty: nothing.",
    )
    reason = ActionCheckedField(
        label="Reason",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": ledger.REASON_MAX}),
        help_text="Why the mode or limit changes; kept in Activity.",
    )


class ReverseForm(forms.Form):
    reason = ActionCheckedField(
        label="Reason",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": ledger.REASON_MAX}),
        help_text="Why the entry is reversed; kept in Activity.",
    )
    idempotency_key = forms.CharField(
        label="Form key", required=False, max_length=400, widget=forms.HiddenInput
    )


def _amount(entry: Entry, *, created: bool) -> str:
    text = f"{entry.get_kind_display()} of {format_amount(entry.amount, entry.currency)}"
    return text if created else f"{text} (entry #{entry.pk})"


# --- the tab -------------------------------------------------------------------------------------


class BillingMixin(CustomerFrameMixin, View):
    frame_tab = "billing"
    template_name = "staff/billing/tab.html"

    @property
    def may_post(self) -> bool:
        return bool(POSTERS & self.staff_roles)

    @property
    def may_change_mode(self) -> bool:
        return bool(MODE_CHANGERS & self.staff_roles)

    def tab_url(self) -> str:
        return reverse("staff:customer-billing", args=[self.customer.number])

    def tab(
        self,
        *,
        entry_form: EntryForm | None = None,
        mode_form: ModeForm | None = None,
        open_entry: bool = False,
        status: int = 200,
    ) -> TemplateResponse:
        number = self.customer.number
        context = ledger_pages.statement_context(
            self.customer,
            self.request,
            base_url=self.tab_url(),
            csv_base=reverse("staff:customer-billing-csv", args=[number]),
        )
        if self.may_post and entry_form is None:
            entry_form = EntryForm(initial={"idempotency_key": new_key()})
        if self.may_change_mode and mode_form is None:
            mode_form = ModeForm(
                initial={
                    "billing_mode": self.customer.billing_mode,
                    "credit_limit": self.customer.credit_limit or "",
                }
            )
        context.update(
            may_post=self.may_post,
            may_change_mode=self.may_change_mode,
            entry_form=entry_form if self.may_post else None,
            mode_form=mode_form if self.may_change_mode else None,
            entry_url=reverse("staff:customer-billing-entry", args=[number]),
            mode_url=reverse("staff:customer-billing-mode", args=[number]),
            reverse_url_base=self.tab_url() + "entries/" if self.may_post else None,
            closed=self.customer.status == Customer.Status.CLOSED,
            open_entry=open_entry or bool(entry_form is not None and entry_form.errors),
            open_mode=bool(mode_form is not None and mode_form.errors),
        )
        return TemplateResponse(
            self.request, self.template_name, self.frame(**context), status=status
        )


class BillingTabView(BillingMixin):
    """GET: the tab (every staff role). An htmx "Older entries" gets just the next rows."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.htmx and request.GET.get("before"):  # type: ignore[attr-defined]
            context = ledger_pages.statement_context(
                self.customer, request, base_url=self.tab_url(), csv_base=self.tab_url()
            )
            context.update(
                staff=True,
                reverse_url_base=self.tab_url() + "entries/" if self.may_post else None,
            )
            return ledger_pages.vary_on_htmx(
                TemplateResponse(request, "components/ledger_more.html", context)
            )
        return ledger_pages.vary_on_htmx(self.tab())


class BillingCSVView(CustomerFrameMixin, View):
    """The statement as CSV, with the tab's filters, the reason and who recorded each."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        return ledger_pages.csv_response(self.customer, request.GET, for_staff=True)


# --- recording an entry --------------------------------------------------------------------------


class EntryView(BillingMixin):
    """POST only, billing group: ``step`` = ``review`` (the confirmation page), ``confirm``
    (post it) or ``edit`` (back to the form with the values)."""

    required_roles: ClassVar[set[str]] = POSTERS

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = EntryForm(request.POST)
        step = str(request.POST.get("step", "review"))[:20]
        if not form.is_valid():
            return self.tab(entry_form=form, status=400)
        sent_key = form.cleaned_data.get("idempotency_key") or ""
        actor = request.actor  # type: ignore[attr-defined]
        if step == "confirm":  # the key as sent: the action refuses a missing one
            return self.confirm(form, sent_key, actor)
        key = sent_key
        if not key or len(key) > ledger.KEY_MAX or not key.isprintable():
            key = new_key()
        if step == "edit":
            values = {**form.values(), "idempotency_key": key}
            return self.tab(entry_form=EntryForm(initial=values), open_entry=True)
        try:
            preview = ledger.preview_entry(self.customer, actor=actor, **form.values())
        except DomainError as error:
            error.add_to_form(form)
            return self.tab(entry_form=form, status=400)
        currency = self.customer.currency
        kind_label = dict(KIND_CHOICES).get(form.values()["kind"], "")
        context = self.frame(
            values=form.values(),
            key=key,
            kind_label=kind_label,
            direction_label=dict(DIRECTION_CHOICES).get(form.values()["direction"], ""),
            amount_text=format_amount(preview.amount, currency),
            is_debit=preview.amount < 0,
            before_text=format_amount(preview.balance_before, currency),
            after_text=format_amount(preview.balance_after, currency),
            after_state=_state(preview.balance_after),
            entry_url=reverse("staff:customer-billing-entry", args=[self.customer.number]),
            tab_url=self.tab_url(),
        )
        return TemplateResponse(request, "staff/billing/confirm.html", context)

    def confirm(self, form: EntryForm, key: str, actor: Any) -> HttpResponse:
        try:
            posting = ledger.post_entry(
                self.customer, actor=actor, idempotency_key=key, **form.values()
            )
        except DomainError as error:
            # The key was used for another posting (a form sent back after a change), or it
            # is missing: the form comes back with a fresh key and says so above the fields.
            stale_key = "idempotency_key" in error.errors
            data = self.request.POST.dict()
            if stale_key:
                data["idempotency_key"] = new_key()
            retry = EntryForm(data)
            retry.is_valid()
            if stale_key:
                retry.add_error(
                    None,
                    "This form was already used to record a different entry. Check the "
                    "statement below; review again to record this one as a new entry."
                    if error.code == ErrorCode.CONFLICT
                    else "This form has expired. Review the entry again, then confirm.",
                )
            others = {k: v for k, v in error.errors.items() if k != "idempotency_key"}
            if others or not error.errors:
                DomainError(error.code, error.message, errors=others).add_to_form(retry)
            return self.tab(entry_form=retry, status=400)
        balance = format_amount(posting.balance, self.customer.currency)
        if posting.created:
            messages.success(
                self.request,
                f"Recorded: {_amount(posting.entry, created=True)} (entry #{posting.entry.pk}). "
                f"The balance is now {balance}.",
            )
        else:
            messages.info(
                self.request,
                f"Already recorded: {_amount(posting.entry, created=False)} was posted "
                "before; nothing was posted twice.",
            )
        return HttpResponseRedirect(self.tab_url())


def _state(amount: Decimal) -> str:
    return "credit" if amount > 0 else "debt" if amount < 0 else "zero"


# --- reversing an entry --------------------------------------------------------------------------


class ReverseView(BillingMixin):
    """GET: the confirmation page (the entry, the reversal's amount, the resulting balance,
    the reason); POST: reverse it. Billing group only."""

    required_roles: ClassVar[set[str]] = POSTERS

    def entry(self) -> Entry:
        entry_id = int(self.kwargs["entry_id"])
        if not 0 < entry_id <= MAX_ENTRY_ID:
            raise Http404("No such entry.")
        entry = queries.entry_for(self.customer, entry_id)
        if entry is None:
            raise Http404("No such entry.")
        return entry

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self.page(self.entry(), ReverseForm(initial={"idempotency_key": new_key()}))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        entry = self.entry()
        form = ReverseForm(request.POST)
        if not form.is_valid():
            return self.page(entry, form, status=400)
        key = form.cleaned_data.get("idempotency_key") or ""
        try:
            posting = ledger.reverse_entry(
                entry,
                reason=form.cleaned_data.get("reason") or "",
                idempotency_key=key,
                actor=request.actor,  # type: ignore[attr-defined]
            )
        except DomainError as error:
            error.add_to_form(form)
            return self.page(entry, form, status=400)
        balance = format_amount(posting.balance, self.customer.currency)
        if posting.created:
            messages.success(
                request,
                f"Entry #{entry.pk} was reversed by entry #{posting.entry.pk}. "
                f"The balance is now {balance}.",
            )
        else:
            messages.info(
                request,
                f"Already recorded: entry #{entry.pk} was reversed by entry "
                f"#{posting.entry.pk}; nothing was posted twice.",
            )
        return HttpResponseRedirect(self.tab_url())

    def page(self, entry: Entry, form: ReverseForm, *, status: int = 200) -> TemplateResponse:
        currency = self.customer.currency
        summary = queries.summary(self.customer)
        row = ledger_pages.entry_row(Entry.objects.select_related("reversed_by").get(pk=entry.pk))
        after = summary.balance - entry.amount
        blocked = ""
        if entry.kind == Entry.Kind.REVERSAL:
            blocked = "A reversal is not reversed; record a new entry instead."
        elif row.reversed_by is not None:
            blocked = f"Entry #{entry.pk} has already been reversed by entry #{row.reversed_by}."
        context = self.frame(
            row=row,
            form=form,
            blocked=blocked,
            reversal_text=format_amount(-entry.amount, currency),
            reversal_is_debit=entry.amount > 0,
            before_text=format_amount(summary.balance, currency),
            after_text=format_amount(after, currency),
            after_state=_state(after),
            zone=ledger_pages.customer_zone(self.customer),
            tab_url=self.tab_url(),
        )
        return TemplateResponse(self.request, "staff/billing/reverse.html", context, status=status)


# --- billing mode and credit limit ---------------------------------------------------------------


class ModeView(BillingMixin):
    """POST only, managers: ``change_billing_mode`` (postpaid → prepaid refused while the
    customer owes money; the message shows next to the field)."""

    required_roles: ClassVar[set[str]] = MODE_CHANGERS

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = ModeForm(request.POST)
        if not form.is_valid():
            return self.tab(mode_form=form, status=400)
        data = form.cleaned_data
        before = (self.customer.billing_mode, self.customer.credit_limit)
        try:
            customer = ledger.change_billing_mode(
                self.customer,
                billing_mode=data["billing_mode"],
                credit_limit=data.get("credit_limit") or "",
                reason=data.get("reason") or "",
                actor=request.actor,  # type: ignore[attr-defined]
            )
        except DomainError as error:
            error.add_to_form(form)
            return self.tab(mode_form=form, status=400)
        if (customer.billing_mode, customer.credit_limit) == before:
            messages.info(request, "Nothing changed: the billing mode and limit were already so.")
        else:
            mode = Customer.BillingMode(customer.billing_mode).label
            limit = (
                f", credit limit {format_amount(customer.credit_limit, customer.currency)}"
                if customer.credit_limit is not None
                else ""
            )
            messages.success(request, f"Billing mode changed: {mode}{limit}.")
        return HttpResponseRedirect(self.tab_url())
