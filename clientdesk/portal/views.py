"""Portal pages for customers."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from clientdesk.customers import access

from .mixins import CustomerMixin


class HomeView(LoginRequiredMixin, View):
    """After sign-in: straight into the only customer, or a choice between several.
    Staff are not contacts; their home is the staff console."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_staff:
            return HttpResponseRedirect(reverse("staff:home"))
        memberships = list(access.portal_memberships(request.user))
        if len(memberships) == 1:
            number = memberships[0].customer.number
            return HttpResponseRedirect(reverse("portal:customer-home", args=[number]))
        return render(request, "portal/choose_customer.html", {"memberships": memberships})


class CustomerHomeView(CustomerMixin, TemplateView):
    """The customer's overview: the account at a glance and where to go next."""

    template_name = "portal/customer_home.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["contact_count"] = self.customer.contacts.count()
        return context
