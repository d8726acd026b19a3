"""A customer's contacts in the staff console: the same pages and actions as the portal's
Portal settings & contacts, behind the staff access check, inside the customer 360's frame
(the Contacts tab). Every staff role may look; support, manager and superusers may change
(the actions enforce it too)."""

from __future__ import annotations

from typing import Any, ClassVar

from django.template.response import TemplateResponse

from clientdesk.customers.contact_rules import STAFF_CONTACT_MANAGERS
from clientdesk.web import contacts as shared

# StaffCustomerMixin lives with the 360 (it loads what the frame's header shows); it is
# re-exported here for the staff pages that import it from this module.
from .customer360 import CustomerFrameMixin, StaffCustomerMixin
from .login_as import add_login_as_urls

__all__ = ["StaffCustomerMixin"]


class StaffContacts(CustomerFrameMixin):
    url_namespace = "staff"
    base_template = "staff/customer/contacts_frame.html"
    frame_tab = "contacts"


class StaffContactsChange(StaffContacts):
    required_roles: ClassVar[set[str]] = set(STAFF_CONTACT_MANAGERS)


class ContactsView(StaffContacts, shared.ContactListView):
    def render_page(self, template: str, context: dict[str, Any]) -> TemplateResponse:
        # Support staff get a Login As button on contacts with a portal sign-in.
        add_login_as_urls(context.get("rows", ()), self.customer, self.staff_roles)
        return super().render_page(template, context)


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
