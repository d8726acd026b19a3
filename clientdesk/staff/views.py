"""The staff console's start page: search for a customer."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from clientdesk.customers.access import parse_customer_number
from clientdesk.customers.models import Customer
from clientdesk.customers.search import MAX_TERM_LENGTH, search_customers

from .mixins import StaffRequiredMixin


def _term(request: HttpRequest) -> str:
    return request.GET.get("q", "")[: MAX_TERM_LENGTH * 4]


class StaffHomeView(StaffRequiredMixin, TemplateView):
    """Search customers by name, email, client ID, phone, registration number or TIN.

    Results arrive as the agent types (htmx asks ``staff:search`` for the results list);
    without JavaScript the form's "Search" button shows the same list on this page.
    """

    template_name = "staff/home.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        term = _term(self.request)
        cursor = self.request.GET.get("cursor", "")[:2000]
        context["term"] = term
        context["results"] = search_customers(term, cursor=cursor) if term.strip() else None
        return context


class SearchResultsView(StaffRequiredMixin, TemplateView):
    """The results list alone (for htmx): the first page, or the next one after ``cursor``,
    which the "More results" button appends."""

    def get_template_names(self) -> list[str]:
        if self.request.GET.get("cursor"):
            return ["staff/partials/search_more.html"]
        return ["staff/partials/search_results.html"]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        term = _term(self.request)
        cursor = self.request.GET.get("cursor", "")[:2000]
        context["term"] = term
        context["results"] = search_customers(term, cursor=cursor) if term.strip() else None
        return context


class SearchOpenView(StaffRequiredMixin, View):
    """Enter in the search box: open the best match's page (or show that nothing matched)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        term = _term(request)
        page = search_customers(term, limit=1) if term.strip() else None
        # Enter opens a customer the term matched, never a guess: similar names are listed.
        if page and page.hits and not page.similar_only:
            number = page.hits[0].customer.number
            return HttpResponseRedirect(reverse("staff:customer", args=[number]))
        if term.strip() and not (page and page.hits):
            messages.info(request, "No customer matches that search.")
        url = reverse("staff:home")
        return HttpResponseRedirect(f"{url}?{request.GET.urlencode()}" if term.strip() else url)


class CustomerLookupView(StaffRequiredMixin, View):
    """Open a customer by client ID (``C-100042`` or ``100042``)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        number = parse_customer_number(request.GET.get("number", "")[:30])
        if number is None or not Customer.objects.filter(number=number).exists():
            messages.error(request, "No customer has that client ID. Check it and try again.")
            return HttpResponseRedirect(reverse("staff:home"))
        return HttpResponseRedirect(reverse("staff:customer", args=[number]))
