"""The portal's "Billing & credits" page (issue 8, Part A item 4): the balance, the billing
mode and credit limit, what is available to spend, and the statement — entries newest
first in keyset pages, filtered by kind and dates — with a CSV download of the same filters.

Roles with ``Capability.VIEW_BILLING`` (owner, admin, billing) see it; other roles get a
403 and another customer's number a 404 (``CustomerMixin``). Customers never post money:
postings come from the provider (staff Billing tab, API, jobs). An htmx "Older entries"
request gets just the next rows and the new page links.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views import View
from django.views.generic.base import ContextMixin

from clientdesk.customers.roles import Capability
from clientdesk.web import ledger as ledger_pages

from .mixins import CustomerMixin


class BillingView(CustomerMixin, ContextMixin, View):
    """``/c/<number>/billing/``: the summary and the statement."""

    capability = Capability.VIEW_BILLING
    template_name = "portal/billing/billing.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        number = self.customer.number
        context = ledger_pages.statement_context(
            self.customer,
            request,
            base_url=reverse("portal:billing", args=[number]),
            csv_base=reverse("portal:billing-csv", args=[number]),
        )
        if request.htmx and context["filters"].before is not None:  # type: ignore[attr-defined]
            return ledger_pages.vary_on_htmx(
                TemplateResponse(request, "components/ledger_more.html", context)
            )
        context = self.get_context_data(**context)
        return ledger_pages.vary_on_htmx(TemplateResponse(request, self.template_name, context))


class BillingCSVView(CustomerMixin, View):
    """``/c/<number>/billing/statement.csv``: the statement with the page's filters."""

    capability = Capability.VIEW_BILLING

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        return ledger_pages.csv_response(self.customer, request.GET)
