"""Verified self-service change of the login email (issue 7 item 9): the owner's form, the
verification link's page and the old address's "this was not me" page.

Every page is a 404 unless ``CLIENTDESK_SELF_SERVICE_EMAIL_CHANGE`` is on. The form is for
the customer's owner only and needs a fresh re-authentication: allauth's
``reauthentication_required`` (password, or an authenticator code), and when the owner has
two-factor authentication, an authenticator code as well. The link pages work signed in or
not and never change anything on GET (mail scanners open links); a button POSTs.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from clientdesk.change_requests import self_service
from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.customers.roles import Role
from clientdesk.users.models import User

from .invitations import masked_email
from .mixins import CustomerMixin
from .reauth import ReauthenticatedMixin

# A link that cannot be used: the page's status code.
LINK_STATUS = {"unknown": 404, "expired": 410, "used": 410, "superseded": 410, "cancelled": 410}


class NewLoginEmailForm(forms.Form):
    new_email = forms.CharField(
        label="New login email",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
        help_text="We send a link to this address. Your login changes only when you open it.",
    )
    confirm_spelling = forms.BooleanField(
        label="The address is spelled correctly; use it as typed",
        required=False,
    )


class _SelfServiceOn:
    """Every page here: 404 while the setting is off (before anything else is looked at)."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not self_service.enabled():
            raise Http404("Not available.")
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]


class _OwnerReauthenticated(ReauthenticatedMixin):
    """After ``CustomerMixin`` resolved the membership: the owner only (403 otherwise),
    re-authenticated recently (``ReauthenticatedMixin``: the password, and an authenticator
    code too when the owner has one — "password, plus MFA if enrolled")."""

    membership: Any

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if self.membership.role != Role.OWNER:
            raise PermissionDenied("Only the account owner changes the login email.")
        return super().dispatch(request, *args, **kwargs)


class LoginEmailChangeView(_SelfServiceOn, CustomerMixin, _OwnerReauthenticated, TemplateView):
    """The owner's form: a new address (a likely typo needs a tick) → the link is sent →
    "Check your inbox at …". A pending change is shown with its expiry."""

    template_name = "login_email/change.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self.show(NewLoginEmailForm())

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = NewLoginEmailForm(request.POST)
        if not form.is_valid():
            return self.show(form, status=400)
        try:
            result = self_service.request_login_email_change(
                self.customer,
                new_email=form.cleaned_data["new_email"],
                actor=request.actor,  # type: ignore[attr-defined]
                warnings_accepted=form.cleaned_data["confirm_spelling"],
            )
        except self_service.UnconfirmedWarning as warning:
            return self.show(form, warning=warning.message, suggestion=warning.suggestion)
        except DomainError as error:
            error.add_to_form(form)
            status = 429 if error.code == ErrorCode.RATE_LIMITED else error.http_status
            return self.show(form, status=status)
        messages.success(request, f"We sent a confirmation link to {result.change.new_email}.")
        return HttpResponseRedirect(request.path)

    def show(
        self,
        form: NewLoginEmailForm,
        *,
        status: int = 200,
        warning: str = "",
        suggestion: str = "",
    ) -> TemplateResponse:
        context = self.get_context_data(
            form=form,
            warning=warning,
            suggestion=suggestion,
            pending=self_service.pending_for(self.request.user),
            current_email=self.request.user.email,  # type: ignore[union-attr]
            account_url=reverse("portal:account", args=[self.customer.number]),
        )
        return TemplateResponse(self.request, self.template_name, context, status=status)


class LoginEmailConfirmView(_SelfServiceOn, View):
    """The link sent to the new address. GET: what confirming does and a button; POST:
    confirm, then "Your login email is now … — sign in with it"."""

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        change = self_service.find(token)
        state = self_service.link_state(change)
        if change is None or state != "valid":
            return _unusable(request, state, kind="confirm")
        context = {
            "customer": None,
            "change": change,
            "link_customer": change.customer,
            "masked_old": masked_email(change.old_email),
        }
        return TemplateResponse(request, "login_email/confirm.html", context)

    def post(self, request: HttpRequest, token: str) -> HttpResponse:
        try:
            done = self_service.confirm_login_email_change(
                token,
                actor=request.actor,  # type: ignore[attr-defined]
            )
        except DomainError as error:
            change = self_service.find(token)
            state = self_service.link_state(change)
            if state == "valid":  # refused for another reason: the address was taken…
                return _unusable(request, "refused", kind="confirm", message=error.message)
            return _unusable(request, state, kind="confirm")
        _sign_out_if(request, done.change.user_id)
        context = {
            "customer": None,
            "new_email": done.new_email,
            "link_customer": done.change.customer,
            "login_url": reverse("account_login"),
        }
        return TemplateResponse(request, "login_email/confirmed.html", context)


class LoginEmailNotMeView(_SelfServiceOn, View):
    """The link in the notice to the old address. GET explains; POST reports: the pending
    change is cancelled, everyone is signed out and staff are asked to check the account."""

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        change = self_service.find_by_not_me(token)
        state = self_service.not_me_state(change)
        if change is None or state == "unknown":
            return _unusable(request, "unknown", kind="not_me")
        if state == "not_me_expired":
            return _unusable(request, state, kind="not_me")
        context = {
            "customer": None,
            "change": change,
            "link_customer": change.customer,
            "reported": state == "reported",
            "applied": change.status == change.Status.CONFIRMED,
        }
        return TemplateResponse(request, "login_email/not_me.html", context)

    def post(self, request: HttpRequest, token: str) -> HttpResponse:
        try:
            report = self_service.report_not_me(
                token,
                actor=request.actor,  # type: ignore[attr-defined]
            )
        except DomainError as error:
            change = self_service.find_by_not_me(token)
            state = self_service.not_me_state(change)
            return _unusable(request, state, kind="not_me", message=error.message)
        _sign_out_if(request, report.change.user_id)
        context = {
            "customer": None,
            "change": report.change,
            "link_customer": report.change.customer,
            "already_reported": report.already_reported,
            "applied": report.change.status == report.change.Status.CONFIRMED,
            "reset_url": reverse("account_reset_password"),
            "support_email": settings.CLIENTDESK_SUPPORT_EMAIL,
        }
        return TemplateResponse(request, "login_email/not_me_done.html", context)


def _unusable(
    request: HttpRequest, state: str, *, kind: str, message: str = ""
) -> TemplateResponse:
    status = {"refused": 409, "not_me_expired": 410}.get(state) or LINK_STATUS.get(state, 404)
    context = {
        "customer": None,
        "state": state,
        "kind": kind,
        "message": message or self_service.LINK_MESSAGES.get(state, ""),
        "account_login_url": reverse("account_login"),
    }
    return TemplateResponse(request, "login_email/unusable.html", context, status=status)


def _sign_out_if(request: HttpRequest, user_id: int) -> None:
    """The change ended the person's sessions; this browser's too, if it was theirs."""
    user = request.user
    if isinstance(user, User) and user.pk == user_id:
        logout(request)
