"""Login As from the staff console (seed 001, "Login As or Remote Support").

``staff:login-as-start`` (a contact of the customer, from the Contacts tab): GET shows the
form — who, for which customer, for how long, and that the customer will see it — and never
starts anything; POST (CSRF) calls ``start_login_as`` with the reason, keeps the session's id
in the staff member's session (``remote_support.middleware.SESSION_KEY``), gives them a new
session key and sends them to the customer's portal. Support group and superusers only (the
action checks it too); another customer's contact is a 404.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views import View

from clientdesk.core.errors import DomainError
from clientdesk.customers.models import Contact, Customer
from clientdesk.remote_support.actions import REASON_MAX, start_login_as
from clientdesk.remote_support.middleware import SESSION_KEY
from clientdesk.users.roles import SUPPORT

from .customer360 import CustomerFrameMixin


class LoginAsForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=(
            "Why you need to see the portal as this person, e.g. the ticket number and what "
            "the customer asked. The customer will read this in their Activity."
        ),
        error_messages={
            "required": "Give the reason for signing in as the customer; they will see it."
        },
    )


class LoginAsStartView(CustomerFrameMixin, View):
    template_name = "remote_support/start.html"
    frame_tab = "contacts"
    required_roles: ClassVar[set[str]] = {SUPPORT}

    def contact(self, contact_id: int) -> Contact:
        contact = (
            Contact.objects.filter(customer=self.customer, pk=contact_id)
            .select_related("user")
            .first()
        )
        if contact is None:
            raise Http404("No such contact.")
        return contact

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self.page(self.contact(kwargs["contact_id"]), LoginAsForm())

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        contact = self.contact(kwargs["contact_id"])
        form = LoginAsForm(request.POST)
        if not form.is_valid():
            return self.page(contact, form, status=400)
        try:
            session = start_login_as(
                contact,
                reason=form.cleaned_data["reason"],
                actor=request.actor,  # type: ignore[attr-defined]
            )
        except DomainError as error:
            error.add_to_form(form)
            return self.page(contact, form, status=error.http_status)
        request.session[SESSION_KEY] = session.pk
        request.session.cycle_key()
        messages.info(
            request,
            f"You are now signed in as {session.contact_name} for "
            f"{self.customer.display_name}. End the session from the banner when you are done.",
        )
        return HttpResponseRedirect(reverse("portal:customer-home", args=[self.customer.number]))

    def page(self, contact: Contact, form: LoginAsForm, *, status: int = 200) -> TemplateResponse:
        context = self.frame(
            contact=contact,
            form=form,
            minutes=settings.CLIENTDESK_LOGIN_AS_MINUTES,
            contacts_url=reverse("staff:contacts", args=[self.customer.number]),
        )
        return TemplateResponse(self.request, self.template_name, context, status=status)


def add_login_as_urls(rows: Iterable[Any], customer: Customer, roles: set[str]) -> None:
    """Give the staff contacts table's rows a ``login_as_url`` where Login As may start: the
    viewer is support (or superuser), the customer is active, and the contact has a portal
    sign-in. No query: the page's query budget stays as it was. A staff account linked to a
    contact (never through the product's flows) gets the button, and the action's refusal."""
    if SUPPORT not in roles or customer.status != Customer.Status.ACTIVE:
        return
    for row in rows:
        contact = row.contact
        if contact.user_id is not None and contact.portal_access:
            row.login_as_url = reverse("staff:login-as-start", args=[customer.number, contact.pk])
