"""Staff console pages."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from clientdesk.customers.access import parse_customer_number
from clientdesk.customers.models import Customer

from .mixins import StaffRequiredMixin


class StaffHomeView(StaffRequiredMixin, TemplateView):
    """The console's start page: find a customer."""

    template_name = "staff/home.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(**kwargs)


class CustomerLookupView(StaffRequiredMixin, View):
    """Open a customer by client ID (``C-100042`` or ``100042``) until search arrives."""

    def get(self, request: HttpRequest) -> HttpResponse:
        number = parse_customer_number(request.GET.get("number", "")[:30])
        if number is None or not Customer.objects.filter(number=number).exists():
            messages.error(request, "No customer has that client ID. Check it and try again.")
            return HttpResponseRedirect(reverse("staff:home"))
        return HttpResponseRedirect(reverse("staff:contacts", args=[number]))
