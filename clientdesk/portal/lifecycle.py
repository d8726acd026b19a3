"""The owner's account lifecycle pages in the portal (issue 8, Part B): transfer ownership and
close the account.

Both are for the owner only (``Capability.TRANSFER_OWNERSHIP`` / ``CLOSE_ACCOUNT``; every other
role gets 403, other people's customers 404) and need a fresh re-authentication — allauth's
``reauthentication_required``, then an authenticator code too when the owner has one (the same
rule as the login email change). Support signed in as the customer (Login As) never reaches
them: the middleware blocks ``portal:ownership-transfer`` and ``portal:close-account``, and
the actions refuse an impersonated actor as well.

- **Transfer** (``portal:ownership-transfer``): choose a contact with a portal sign-in → a
  confirmation screen with what moves and what stays → POST. The previous owner is now an
  admin and lands on ``portal:ownership-transferred``, which says so.
- **Close** (``portal:close-account``): the checklist; when it is all green, type the client
  ID to confirm → POST. The account disappears from the person's portal at once (closed
  customers are not portal memberships) and they see ``portal:account-closed``, which reads
  what was closed from the session (the account itself is no longer theirs to look at).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.views import View
from django.views.generic.base import ContextMixin

from clientdesk.core.errors import DomainError
from clientdesk.customers import access
from clientdesk.customers.models import Contact, Customer
from clientdesk.customers.roles import Capability, Role
from clientdesk.lifecycle import actions as lifecycle
from clientdesk.web.ownership import NewOwnerForm

from .mixins import CustomerMixin
from .reauth import ReauthenticatedMixin

CLOSED_SESSION_KEY = "clientdesk_closed_account"
FEEDBACK_MAX = lifecycle.REASON_MAX


def _account_url(customer: Customer) -> str:
    return reverse("portal:account", args=[customer.number])


# --- ownership transfer -----------------------------------------------------------------------


class OwnershipTransferView(CustomerMixin, ReauthenticatedMixin, ContextMixin, View):
    """``portal:ownership-transfer``: choose → confirm → transfer."""

    capability = Capability.TRANSFER_OWNERSHIP

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self.choose(NewOwnerForm(candidates=self.candidates()))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        candidates = self.candidates()
        form = NewOwnerForm(request.POST, candidates=candidates)
        if not form.is_valid():
            return self.choose(form, status=400)
        new_owner_id = form.cleaned_data["new_owner"]
        chosen = next(c for c in candidates if c.pk == new_owner_id)
        if request.POST.get("edit") == "yes":
            return self.choose(
                NewOwnerForm(initial={"new_owner": chosen.pk}, candidates=candidates)
            )
        if request.POST.get("confirm") != "yes":
            return self.confirm(chosen)
        try:
            lifecycle.transfer_ownership(
                self.customer,
                new_owner_id=new_owner_id,
                actor=request.actor,  # type: ignore[attr-defined]
            )
        except DomainError as error:
            error.add_to_form(form)
            return self.choose(form, status=error.http_status)
        return HttpResponseRedirect(
            reverse("portal:ownership-transferred", args=[self.customer.number])
        )

    def candidates(self) -> list[Contact]:
        return lifecycle.transfer_candidates(self.customer)

    def choose(self, form: NewOwnerForm, *, status: int = 200) -> HttpResponse:
        context = self.get_context_data(
            form=form,
            has_candidates=bool(form.fields["new_owner"].choices),  # type: ignore[attr-defined]
            account_url=_account_url(self.customer),
            contacts_url=reverse("portal:contacts", args=[self.customer.number]),
            what_stays=lifecycle.WHAT_STAYS,
        )
        return TemplateResponse(
            self.request, "portal/lifecycle/transfer.html", context, status=status
        )

    def confirm(self, chosen: Contact) -> HttpResponse:
        context = self.get_context_data(
            chosen=chosen,
            chosen_email=chosen.user.email if chosen.user is not None else chosen.email,
            what_moves=lifecycle.WHAT_MOVES,
            what_stays=lifecycle.WHAT_STAYS,
            account_url=_account_url(self.customer),
        )
        return TemplateResponse(self.request, "portal/lifecycle/transfer_confirm.html", context)


class OwnershipTransferredView(CustomerMixin, ContextMixin, View):
    """``portal:ownership-transferred``: who owns the account now, and the viewer's role (the
    previous owner lands here as an admin). Every role may look."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        owner = (
            Contact.objects.filter(customer=self.customer, role=Role.OWNER)
            .select_related("user")
            .first()
        )
        context = self.get_context_data(
            owner=owner,
            owner_email=(
                owner.user.email if owner and owner.user else owner.email if owner else ""
            ),
            is_owner=self.membership.role == Role.OWNER,
            what_stays=lifecycle.WHAT_STAYS,
            account_url=_account_url(self.customer),
        )
        return TemplateResponse(request, "portal/lifecycle/transferred.html", context)


# --- closing the account ----------------------------------------------------------------------


class CloseForm(forms.Form):
    client_id = forms.CharField(
        label="Type the client ID to confirm",
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    feedback = forms.CharField(
        label="Why are you closing the account?",
        required=False,
        max_length=FEEDBACK_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Optional. It is recorded with the closure.",
        error_messages={"max_length": f"Keep it under {FEEDBACK_MAX} characters."},
    )

    def __init__(self, *args: Any, customer: Customer, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.customer = customer
        self.fields["client_id"].help_text = f"Type {customer.client_id} exactly as shown."
        self.fields["client_id"].error_messages["required"] = (
            f"Type {customer.client_id} to confirm that this is the account to close."
        )

    def clean_client_id(self) -> str:
        typed = str(self.cleaned_data.get("client_id", "")).strip()
        if typed.upper() != self.customer.client_id.upper():
            raise forms.ValidationError(
                f"That is not this account's client ID. Type {self.customer.client_id} to confirm."
            )
        return typed


class CloseAccountView(CustomerMixin, ReauthenticatedMixin, ContextMixin, View):
    """``portal:close-account``: the checklist, and when it is green the confirmation form."""

    capability = Capability.CLOSE_ACCOUNT

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self.page(CloseForm(customer=self.customer))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = CloseForm(request.POST, customer=self.customer)
        if not form.is_valid():
            return self.page(form, status=400)
        try:
            closed = lifecycle.close_customer(
                self.customer,
                reason=form.cleaned_data["feedback"],
                actor=request.actor,  # type: ignore[attr-defined]
            )
        except DomainError as error:
            error.add_to_form(form)
            return self.page(form, status=error.http_status)
        ends = lifecycle.retention_ends(closed)
        request.session[CLOSED_SESSION_KEY] = {
            "client_id": closed.client_id,
            "name": closed.display_name,
            "retained_until": ends.isoformat() if ends else "",
            "timezone": closed.timezone,
        }
        return HttpResponseRedirect(reverse("portal:account-closed"))

    def page(self, form: CloseForm, *, status: int = 200) -> HttpResponse:
        context = self.get_context_data(
            form=form,
            checklist=lifecycle.close_checklist(self.customer),
            account_url=_account_url(self.customer),
            retention_days=settings.CLIENTDESK_CLOSED_RETENTION_DAYS,
            support_email=settings.CLIENTDESK_SUPPORT_EMAIL,
        )
        return TemplateResponse(self.request, "portal/lifecycle/close.html", context, status=status)


class AccountClosedView(LoginRequiredMixin, View):
    """``portal:account-closed``: the confirmation after closing (the closed account is no
    longer a membership, so this page is not under ``/c/<number>/``)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        closed = request.session.get(CLOSED_SESSION_KEY)
        if not isinstance(closed, dict):
            messages.info(request, "There is no recently closed account to show.")
            return HttpResponseRedirect(reverse("portal:home"))
        retained = parse_datetime(str(closed.get("retained_until") or ""))
        context = {
            "customer": None,
            "closed": closed,
            "retained_until": retained,
            "memberships": list(access.portal_memberships(request.user)),
            "support_email": settings.CLIENTDESK_SUPPORT_EMAIL,
            "support_phone": settings.CLIENTDESK_SUPPORT_PHONE,
        }
        return TemplateResponse(request, "portal/lifecycle/closed.html", context)
