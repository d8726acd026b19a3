"""A customer's contacts in the staff console: the same pages and actions as the portal's
Portal settings & contacts, behind the staff access check. Every staff role may look;
support, manager and superusers may change (the actions enforce it too)."""

from __future__ import annotations

from typing import Any, ClassVar

from django.http import Http404, HttpRequest, HttpResponseBase

from clientdesk.customers.access import parse_customer_number
from clientdesk.customers.contact_rules import STAFF_CONTACT_MANAGERS
from clientdesk.customers.models import Customer
from clientdesk.web import contacts as shared

from .mixins import StaffRequiredMixin


class StaffCustomerMixin(StaffRequiredMixin):
    """Resolves ``self.customer`` from ``/staff/customers/<number>/`` (unknown: 404)."""

    customer: Customer

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        number = parse_customer_number(str(kwargs.get("number", "")))
        customer = Customer.objects.filter(number=number).first() if number else None
        if customer is None:
            raise Http404("No such customer.")
        self.customer = customer
        return super().dispatch(request, *args, **kwargs)


class StaffContacts(StaffCustomerMixin):
    url_namespace = "staff"
    base_template = "staff/base.html"


class StaffContactsChange(StaffContacts):
    required_roles: ClassVar[set[str]] = set(STAFF_CONTACT_MANAGERS)


class ContactsView(StaffContacts, shared.ContactListView):
    pass


class ContactCreateView(StaffContactsChange, shared.ContactCreateView):
    pass


class ContactEditView(StaffContactsChange, shared.ContactEditView):
    pass


class ContactDeleteView(StaffContactsChange, shared.ContactDeleteView):
    pass


class ContactAccessView(StaffContactsChange, shared.ContactAccessView):
    pass


class InvitationResendView(StaffContactsChange, shared.InvitationResendView):
    pass


class InvitationCancelView(StaffContactsChange, shared.InvitationCancelView):
    pass
