"""The mail log in the staff console: every email the product sent, so that staff can see
that a client was notified. Every staff role may read it.

The list is newest first with a keyset "Older emails" link, searchable by recipient,
subject or template, filtered by status and by customer (client ID). One entry shows its
headers and the kept copy of its text, from which single-use links and secrets were removed
when it was queued (``notifications.redaction``); the full bodies are never shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views import View

from clientdesk.customers.models import Customer
from clientdesk.notifications.models import MailLog
from clientdesk.notifications.queries import mail_log_page

from .customer_list import customer_url, safe_customer_number
from .mixins import StaffRequiredMixin

MAX_ID = 2**62
SEARCH_MAX = 200


class MailLogFilterForm(forms.Form):
    q = forms.CharField(
        required=False,
        max_length=SEARCH_MAX,
        label="Search",
        help_text="Recipient, subject or template.",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Email, subject, template"}),
    )
    status = forms.ChoiceField(
        required=False,
        label="Status",
        choices=[("", "Any status"), *MailLog.Status.choices],
        error_messages={"invalid_choice": "Choose a status from the list."},
    )
    customer = forms.CharField(
        required=False,
        max_length=30,
        label="Client ID",
        widget=forms.TextInput(attrs={"placeholder": "C-100042", "class": "input input-mono"}),
    )
    before = forms.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, widget=forms.HiddenInput
    )

    def clean_q(self) -> str:
        return " ".join(str(self.cleaned_data.get("q") or "").split())

    def clean_customer(self) -> Customer | None:
        raw = str(self.cleaned_data.get("customer") or "").strip()
        if not raw:
            return None
        number = safe_customer_number(raw)
        customer = (
            Customer.objects.only("pk", "number", "display_name").filter(number=number).first()
            if number is not None
            else None
        )
        if customer is None:
            raise forms.ValidationError("No customer has that client ID. Check it and try again.")
        return customer


@dataclass(frozen=True)
class MailRow:
    mail: MailLog
    customer: Customer | None
    customer_url: str
    url: str


def related_customers(ids: set[int]) -> dict[int, Customer]:
    """The customers the given mail rows name, in one query (none when no row names one)."""
    if not ids:
        return {}
    found = Customer.objects.only("pk", "number", "display_name").filter(pk__in=ids)
    return {customer.pk: customer for customer in found}


class MailLogView(StaffRequiredMixin, View):
    template_name = "staff/maillog/list.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = MailLogFilterForm(request.GET)
        form.is_valid()
        data = form.cleaned_data
        customer: Customer | None = data.get("customer")
        if "customer" in form.errors:
            # A client ID that names nobody: show nobody's mail, and say so by the field.
            rows: list[MailRow] = []
            older_url = ""
        else:
            page = mail_log_page(
                search=data.get("q") or "",
                status=data.get("status") or "",
                customer_id=customer.pk if customer else None,
                before=data.get("before"),
            )
            customers = related_customers({m.customer_id for m in page.rows if m.customer_id})
            rows = [self.row(mail, customers) for mail in page.rows]
            older_url = self.list_url(data, before=page.older_than) if page.older_than else ""
        filtered = bool(data.get("q") or data.get("status") or customer)
        context = {
            "form": form,
            "rows": rows,
            "older_url": older_url,
            "newest_url": self.list_url(data) if data.get("before") else "",
            "clear_url": reverse("staff:mail-log") if filtered else "",
            "filtered": filtered or bool(form.errors),
            "filter_customer": customer,
            "filter_customer_url": customer_url(customer.number) if customer else "",
            "staff_roles": sorted(self.staff_roles),
        }
        return TemplateResponse(request, self.template_name, context)

    def row(self, mail: MailLog, customers: dict[int, Customer]) -> MailRow:
        customer = customers.get(mail.customer_id) if mail.customer_id else None
        return MailRow(
            mail=mail,
            customer=customer,
            customer_url=customer_url(customer.number) if customer else "",
            url=reverse("staff:mail-log-entry", args=[mail.pk]),
        )

    @staticmethod
    def list_url(data: dict[str, Any], *, before: int | None = None) -> str:
        query = QueryDict(mutable=True)
        if data.get("q"):
            query["q"] = data["q"]
        if data.get("status"):
            query["status"] = data["status"]
        if data.get("customer"):
            query["customer"] = data["customer"].client_id
        if before is not None:
            query["before"] = str(before)
        encoded = query.urlencode()
        return reverse("staff:mail-log") + (f"?{encoded}" if encoded else "")


class MailLogEntryView(StaffRequiredMixin, View):
    template_name = "staff/maillog/entry.html"

    def get(self, request: HttpRequest, *args: Any, pk: int, **kwargs: Any) -> HttpResponse:
        # An id past the column's range is simply not found (the database would refuse it).
        mail = (
            MailLog.objects.defer("text_body", "html_body").filter(pk=pk).first()
            if 0 < pk <= MAX_ID
            else None
        )
        if mail is None:
            raise Http404("No such email.")
        customer = (
            related_customers({mail.customer_id}).get(mail.customer_id)
            if mail.customer_id
            else None
        )
        context = {
            "mail": mail,
            "customer": customer,
            "customer_url": customer_url(customer.number) if customer else "",
            "customer_mail_url": (
                reverse("staff:mail-log") + f"?customer={customer.client_id}" if customer else ""
            ),
            "back_url": reverse("staff:mail-log"),
            "staff_roles": sorted(self.staff_roles),
        }
        return TemplateResponse(request, self.template_name, context)
