"""Portal settings & contacts (seed 004) and "Your contact details" for every contact.

The pages themselves are shared with the staff console (``clientdesk.web.contacts``); here
they sit behind the portal's access check: owner and admin (``contacts.manage``) get in,
other roles get 403, and a customer you are not a contact of is a 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.generic.base import ContextMixin, View

from clientdesk.core.errors import DomainError
from clientdesk.customers import contact_actions, contact_forms, contact_rules
from clientdesk.customers.roles import Capability
from clientdesk.customers.validators import format_phone
from clientdesk.web import contacts as shared

from .mixins import CustomerMixin


class PortalContacts(CustomerMixin):
    capability = Capability.MANAGE_CONTACTS
    url_namespace = "portal"
    base_template = "portal/base.html"


class ContactsView(PortalContacts, shared.ContactListView):
    pass


class ContactCreateView(PortalContacts, shared.ContactCreateView):
    pass


class ContactEditView(PortalContacts, shared.ContactEditView):
    pass


class ContactDeleteView(PortalContacts, shared.ContactDeleteView):
    pass


class ContactAccessView(PortalContacts, shared.ContactAccessView):
    pass


class InvitationResendView(PortalContacts, shared.InvitationResendView):
    pass


class InvitationCancelView(PortalContacts, shared.InvitationCancelView):
    pass


class MyContactView(CustomerMixin, ContextMixin, View):
    """Your contact details on this customer: name, phone and what you want to hear about.
    Every role may keep these right; the email is your sign-in and changes elsewhere."""

    capability = Capability.EDIT_OWN_CONTACT
    template_name = "portal/my_contact.html"

    def form(self, data: Any = None) -> contact_forms.ContactForm:
        contact = self.membership
        fields = sorted(contact_rules.OWN_FIELDS)
        initial = {name: getattr(contact, name) for name in fields}
        initial["phone"] = format_phone(contact.phone, country=str(self.customer.country))
        return contact_forms.ContactForm(
            data, customer=self.customer, fields=fields, initial=initial
        )

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self.show(self.form())

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = self.form(request.POST)
        values = shared.posted(request, form)
        try:
            result = contact_actions.update_contact(
                self.membership,
                values=values,
                actor=request.actor,  # type: ignore[attr-defined]
                version=shared.int_or_none(request.POST.get("version")),
            )
        except DomainError as error:
            shared.show_errors(form, error)
            response = self.show(form)
            response.status_code = 409 if error.code == "stale_version" else 400
            return response
        changed = result.version != self.membership.version
        messages.success(request, "Your details were saved." if changed else "Nothing changed.")
        return HttpResponseRedirect(reverse("portal:my-contact", args=[self.customer.number]))

    def show(self, form: contact_forms.ContactForm) -> TemplateResponse:
        context = self.get_context_data(form=form, contact=self.membership)
        return TemplateResponse(self.request, self.template_name, context)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(**kwargs)
