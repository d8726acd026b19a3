"""The contacts pages (seed 004), shared by the portal and the staff console.

Each interface subclasses these views behind its own access mixin, which sets
``self.customer`` (a customer the user may see) and decides who gets in; the views then ask
``contact_rules`` what the actor may do and call the contact actions. The same URL names
exist in both namespaces (``portal:contacts``, ``staff:contacts``…), with the customer
number and (where needed) the contact or invitation id as arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied
from django.db.models import Q
from django.forms.utils import ErrorDict
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views import View
from django.views.generic.base import ContextMixin

from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.customers import contact_actions, contact_forms, contact_rules, invitations
from clientdesk.customers.models import DEFAULT_TOPICS, Contact, Customer, Invitation
from clientdesk.customers.roles import Role
from clientdesk.customers.validators import format_phone

PAGE_SIZE = 50
MAX_QUERY = 100


@dataclass
class ContactRow:
    """One line of the contacts table: the contact and what the viewer may do to it."""

    contact: Contact
    is_self: bool
    can_edit: bool
    delete_refusal: str
    access_refusal: str
    invitation: Invitation | None
    edit_url: str
    delete_url: str
    access_url: str

    @property
    def phone(self) -> str:
        return format_phone(self.contact.phone, country=str(self.contact.customer.country))

    @property
    def status(self) -> str:
        """The portal column's words: Active, Invitation sent, Invitation expired, Off."""
        contact = self.contact
        if contact.user_id is not None:
            return "Active"
        if contact.portal_access and self.invitation is not None:
            return "Invitation expired" if self.invitation.is_expired() else "Invitation sent"
        if contact.portal_access:
            return "Not invited"
        return "Off"


class ContactsViewMixin(ContextMixin, View):
    """What every contacts view needs. The interface's mixin sets ``customer``."""

    url_namespace: str = "portal"
    base_template: str = "portal/base.html"
    customer: Customer
    request: HttpRequest

    _who: contact_rules.ContactActor | None = None

    @property
    def who(self) -> contact_rules.ContactActor:
        if self._who is None:
            try:
                self._who = contact_rules.contact_actor(self.request.actor, self.customer)  # type: ignore[attr-defined]
            except DomainError as error:
                raise Http404(error.message) from None
        return self._who

    def url(self, name: str, *args: Any) -> str:
        return reverse(f"{self.url_namespace}:{name}", args=[self.customer.number, *args])

    def contact_or_404(self, contact_id: int) -> Contact:
        """A contact of this customer; another customer's id is simply not found."""
        contact = (
            Contact.objects.filter(customer=self.customer, pk=contact_id)
            .select_related("customer")
            .first()
        )
        if contact is None:
            raise Http404("No such contact.")
        return contact

    def invitation_or_404(self, invitation_id: int) -> Invitation:
        invitation = (
            Invitation.objects.filter(customer=self.customer, pk=invitation_id)
            .select_related("contact", "customer")
            .first()
        )
        if invitation is None:
            raise Http404("No such invitation.")
        return invitation

    def render_page(self, template: str, context: dict[str, Any]) -> TemplateResponse:
        base = self.get_context_data()
        return TemplateResponse(
            self.request,
            template,
            {
                **base,
                **context,
                "customer": self.customer,
                "base_template": self.base_template,
                "contacts_url": self.url("contacts"),
                "url_namespace": self.url_namespace,
            },
        )

    def done(self, text: str, *, level: int = messages.SUCCESS) -> HttpResponse:
        messages.add_message(self.request, level, text)
        return HttpResponseRedirect(self.url("contacts"))

    def refused(self, error: DomainError) -> HttpResponse:
        """A refused change made from the table: nothing changed; say why on the page."""
        if error.code == ErrorCode.NOT_FOUND:
            raise Http404(error.message)
        return self.done(error.message, level=messages.ERROR)


class ContactListView(ContactsViewMixin):
    """Portal settings & contacts: the contacts table with the portal toggle, edit and
    delete; the pending invitations with resend and cancel. Keyset pages of ``PAGE_SIZE``
    in name order; ``q`` filters by name or email."""

    template_name = "contacts/list.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        query = request.GET.get("q", "").strip()[:MAX_QUERY]
        contacts = Contact.objects.filter(customer=self.customer)
        if query:
            contacts = contacts.filter(
                Q(first_name__icontains=query)
                | Q(last_name__icontains=query)
                | Q(email__icontains=query)
            )
        after = int_or_none(request.GET.get("after"))
        if after is not None:
            anchor = Contact.objects.filter(customer=self.customer, pk=after).first()
            if anchor is not None:
                contacts = contacts.filter(
                    Q(first_name__gt=anchor.first_name)
                    | Q(first_name=anchor.first_name, last_name__gt=anchor.last_name)
                    | Q(first_name=anchor.first_name, last_name=anchor.last_name, pk__gt=anchor.pk)
                )
        page = list(contacts.order_by("first_name", "last_name", "id")[: PAGE_SIZE + 1])
        pending = invitations.pending_for(self.customer.pk)
        pending_by_contact = {inv.contact_id: inv for inv in pending}
        rows = [
            self.row(contact, pending_by_contact.get(contact.pk)) for contact in page[:PAGE_SIZE]
        ]
        more_url = ""
        if len(page) > PAGE_SIZE:
            params: dict[str, str | int] = {"after": page[PAGE_SIZE - 1].pk}
            if query:
                params["q"] = query
            more_url = "?" + urlencode(params)
        return self.render_page(
            self.template_name,
            {
                "rows": rows,
                "query": query,
                "more_url": more_url,
                "paged": after is not None,
                "pending": pending,
                "now": timezone.now(),
                "manages": self.who.manages,
                "add_url": self.url("contact-create"),
            },
        )

    def row(self, contact: Contact, invitation: Invitation | None) -> ContactRow:
        who = self.who
        contact.customer = self.customer
        return ContactRow(
            contact=contact,
            is_self=who.is_self(contact),
            can_edit=bool(contact_rules.editable_fields(who, contact)),
            delete_refusal=contact_rules.delete_refusal(who, contact),
            access_refusal=contact_rules.access_refusal(
                who, contact, enable=not contact.portal_access
            ),
            invitation=invitation,
            edit_url=self.url("contact-edit", contact.pk),
            delete_url=self.url("contact-delete", contact.pk),
            access_url=self.url("contact-access", contact.pk),
        )


class ContactCreateView(ContactsViewMixin):
    """Add Contact → form → Save Contact (seed 004 step 3). Portal access starts on: the new
    contact is invited at once."""

    template_name = "contacts/form.html"

    def form(self, data: Any = None) -> contact_forms.ContactForm:
        return contact_forms.ContactForm(
            data,
            customer=self.customer,
            roles=self.who.grantable_roles,
            initial={
                "portal_access": True,
                "role": Role.MEMBER,
                "notification_topics": DEFAULT_TOPICS,
            },
        )

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        forbid(self.refusal())
        return self.show(self.form())

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        forbid(self.refusal())
        form = self.form(request.POST)
        values = posted(request, form)
        try:
            contact = contact_actions.create_contact(
                self.customer,
                values=values,
                actor=request.actor,  # type: ignore[attr-defined]
            )
        except DomainError as error:
            if error.code == ErrorCode.NOT_FOUND:
                raise Http404(error.message) from None
            show_errors(form, error)
            return self.show(form, status=400 if error.code != ErrorCode.RATE_LIMITED else 429)
        text = f"{contact.full_name} was added."
        if contact.portal_access:
            text += f" An invitation to the portal was sent to {contact.email}."
        return self.done(text)

    def refusal(self) -> str:
        return contact_rules.create_refusal(self.who)

    def show(self, form: contact_forms.ContactForm, *, status: int = 200) -> HttpResponse:
        response = self.render_page(
            self.template_name,
            {"form": form, "title": "Add Contact", "contact": None, "locked": []},
        )
        response.status_code = status
        return response


class ContactEditView(ContactsViewMixin):
    """Edit a contact (seed 004 step 5, seed 001 "update member info"): the fields the
    viewer may change as inputs, the rest shown locked with the reason and where to go."""

    template_name = "contacts/form.html"

    def form(self, contact: Contact, data: Any = None) -> contact_forms.ContactForm:
        fields = contact_rules.editable_fields(self.who, contact)
        if not fields:
            forbid(contact_rules.locked_reason("first_name", self.who, contact))
        initial = {name: getattr(contact, name) for name in fields}
        if "phone" in initial:
            initial["phone"] = format_phone(contact.phone, country=str(self.customer.country))
        return contact_forms.ContactForm(
            data,
            customer=self.customer,
            fields=fields,
            roles=[*self.who.grantable_roles, contact.role],
            initial=initial,
        )

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        contact = self.contact_or_404(kwargs["contact_id"])
        return self.show(contact, self.form(contact))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        contact = self.contact_or_404(kwargs["contact_id"])
        form = self.form(contact, request.POST)
        try:
            contact_actions.update_contact(
                contact,
                values=posted(request, form),
                actor=request.actor,  # type: ignore[attr-defined]
                version=int_or_none(request.POST.get("version")),
            )
        except DomainError as error:
            if error.code == ErrorCode.NOT_FOUND:
                raise Http404(error.message) from None
            show_errors(form, error)
            return self.show(
                contact, form, status=409 if error.code == ErrorCode.STALE_VERSION else 400
            )
        return self.done(f"{contact.full_name or contact.email}'s details were saved.")

    def show(
        self, contact: Contact, form: contact_forms.ContactForm, *, status: int = 200
    ) -> HttpResponse:
        locked = [
            (
                contact_forms.LABELS[name],
                _display(contact, name),
                contact_rules.locked_reason(name, self.who, contact),
            )
            for name in ("email", "role")
            if name not in form.fields
        ]
        response = self.render_page(
            self.template_name,
            {
                "form": form,
                "title": f"Edit {contact.full_name or contact.email}",
                "contact": contact,
                "locked": locked,
            },
        )
        response.status_code = status
        return response


class ContactDeleteView(ContactsViewMixin):
    """The trash can (seed 004 step 4): a confirmation naming the person, then removal."""

    template_name = "contacts/delete.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        contact = self.contact_or_404(kwargs["contact_id"])
        forbid(contact_rules.delete_refusal(self.who, contact))
        return self.render_page(self.template_name, {"contact": contact})

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        contact = self.contact_or_404(kwargs["contact_id"])
        try:
            contact_actions.delete_contact(contact, actor=request.actor)  # type: ignore[attr-defined]
        except DomainError as error:
            return self.refused(error)
        return self.done(f"{contact.full_name or contact.email} was removed.")


class ContactAccessView(ContactsViewMixin):
    """The "Customer Portal Enabled" toggle: ``enabled=on`` grants (and invites),
    ``enabled=off`` revokes. The posted state, not a flip, so a double submit is harmless."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        contact = self.contact_or_404(kwargs["contact_id"])
        enable = request.POST.get("enabled") == "on"
        actor = request.actor  # type: ignore[attr-defined]
        name = contact.full_name or contact.email
        try:
            if enable:
                contact_actions.grant_portal_access(contact, actor=actor)
            else:
                contact_actions.revoke_portal_access(contact, actor=actor)
        except DomainError as error:
            return self.refused(error)
        if enable:
            return self.done(
                f"Portal access for {name} is on. An invitation was sent to {contact.email}."
            )
        return self.done(f"Portal access for {name} is off. They can no longer use this account.")


class InvitationResendView(ContactsViewMixin):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        invitation = self.invitation_or_404(kwargs["invitation_id"])
        try:
            invitations.send_invitation(invitation.contact, actor=request.actor)  # type: ignore[attr-defined]
        except DomainError as error:
            return self.refused(error)
        return self.done(
            f"A new invitation was sent to {invitation.contact.email}. "
            "The earlier link no longer works."
        )


class InvitationCancelView(ContactsViewMixin):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        invitation = self.invitation_or_404(kwargs["invitation_id"])
        try:
            invitations.cancel_invitation(invitation, actor=request.actor)  # type: ignore[attr-defined]
        except DomainError as error:
            return self.refused(error)
        return self.done(
            f"The invitation to {invitation.email} was cancelled and portal access switched off.",
            level=messages.INFO,
        )


# --- helpers ------------------------------------------------------------------------------


def posted(request: HttpRequest, form: contact_forms.ContactForm) -> dict[str, Any]:
    """The submitted values of the form's fields (an absent checkbox list is an empty one).
    Posted keys outside the form are passed on too, so a forged field is refused by the
    action rather than silently dropped."""
    values: dict[str, Any] = {}
    for name in form.fields:
        if name == "notification_topics":
            values[name] = request.POST.getlist(name)
        elif name == "portal_access":
            values[name] = request.POST.get(name) == "on"
        else:
            values[name] = request.POST.get(name, "")
    for name in contact_rules.MANAGED_FIELDS:
        if name in request.POST and name not in values:
            values[name] = request.POST.get(name, "")
    return values


def show_errors(form: contact_forms.ContactForm, error: DomainError) -> None:
    """Put the action's verdict on the form instead of validating it a second time."""
    errors = ErrorDict()
    for name, texts in (error.errors or {NON_FIELD_ERRORS: [error.message]}).items():
        key = name if name in form.fields else NON_FIELD_ERRORS
        css = "nonfield" if key == NON_FIELD_ERRORS else None
        errors.setdefault(key, form.error_class(error_class=css)).extend(texts)
    form.cleaned_data = {}
    form._errors = errors  # type: ignore[attr-defined]  # Django's own slot for the verdict


def forbid(refusal: str) -> None:
    """A refusal known before anything is posted: 403 with the reason."""
    if refusal:
        raise PermissionDenied(refusal)


def _display(contact: Contact, name: str) -> str:
    if name == "role":
        return contact.get_role_display()
    return str(getattr(contact, name))


def int_or_none(value: str | None) -> int | None:
    if value is None or not value.strip().isdecimal() or len(value) > 18:
        return None
    return int(value)
