"""The one entry point for customer-scoped portal pages."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.urls import reverse

from clientdesk.customers import access
from clientdesk.customers.models import Contact, Customer
from clientdesk.customers.roles import CAPABILITIES, Capability, Role


class CustomerMixin(LoginRequiredMixin):
    """Resolves ``self.customer`` and ``self.membership`` from ``/c/<number>/``.

    Not a contact of that customer: 404. The view's ``capability`` missing from the
    contact's role: 403. Every lookup below this goes through ``self.customer``.
    """

    capability: Capability = Capability.VIEW_PROFILE
    customer: Customer
    membership: Contact
    request: HttpRequest

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.membership = access.get_membership(request.user, kwargs["number"])
        self.customer = self.membership.customer
        if self.customer.status == Customer.Status.SUSPENDED:
            return suspended(request, self.customer)
        if not access.can(self.membership, self.capability):
            raise PermissionDenied("Your role on this account does not allow this.")
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)  # type: ignore[misc]
        capabilities = CAPABILITIES[Role(self.membership.role)]
        context.update(
            customer=self.customer,
            membership=self.membership,
            capabilities={c.name: c in capabilities for c in Capability},
            memberships=access.portal_memberships(self.request.user),
            # The username menu shows "My Account" when it has this (seed 000).
            my_account_url=reverse("portal:account", args=[self.customer.number]),
        )
        return context


def suspended(request: HttpRequest, customer: Customer) -> HttpResponse:
    """Every page of a suspended customer: what happened and how to reach support (403).
    The user's other customers stay reachable from the account switcher."""
    return render(
        request,
        "portal/suspended.html",
        {
            "suspended_customer": customer,
            "memberships": access.portal_memberships(request.user),
            "support_email": settings.CLIENTDESK_SUPPORT_EMAIL,
            "support_phone": settings.CLIENTDESK_SUPPORT_PHONE,
            "support_hours": settings.CLIENTDESK_SUPPORT_HOURS,
        },
        status=403,
    )
