"""The invitation link's page: accept as a new person, as a signed-in person, or be told
clearly why not (expired, used, cancelled, signed in as somebody else)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode
from django.views import View

from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.customers import invitations
from clientdesk.customers.invitations import LinkState
from clientdesk.customers.models import Invitation
from clientdesk.users.emails import email_key
from clientdesk.users.models import User

TEMPLATE = "portal/invitation.html"

# A link that cannot be used: the page's status code.
STATE_STATUS = {
    LinkState.UNKNOWN: 404,
    LinkState.EXPIRED: 410,
    LinkState.USED: 410,
    LinkState.CANCELLED: 410,
}


class NewSignInForm(forms.Form):
    full_name = forms.CharField(label="Your name", max_length=150)
    password1 = forms.CharField(
        label="Choose a password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 10 characters; not a common password.",
    )
    password2 = forms.CharField(
        label="Repeat the password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", "The two passwords differ.")
        return data


def masked_email(email: str) -> str:
    """``j•••@example.org``: enough to recognise one's own address, not to harvest it."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}•••@{domain}"


class InvitationView(View):
    """GET explains what the link can do for whoever opens it; POST accepts."""

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        invitation = invitations.find(token)
        state = invitations.link_state(invitation)
        if invitation is None or state != LinkState.VALID:
            return self.unusable(token, state)
        return self.page(token, invitation)

    def post(self, request: HttpRequest, token: str) -> HttpResponse:
        invitation = invitations.find(token)
        state = invitations.link_state(invitation)
        if invitation is None or state != LinkState.VALID:
            return self.unusable(token, state)
        mode = self.mode(invitation)
        actor = request.actor  # type: ignore[attr-defined]
        form = None
        try:
            if mode == "join":
                user = request.user
                assert isinstance(user, User)  # "join" means signed in
                contact = invitations.accept_invitation(token, actor=actor, user=user)
            elif mode == "new":
                form = NewSignInForm(request.POST)
                if not form.is_valid():
                    return self.page(token, invitation, form=form, status=400)
                contact = invitations.accept_invitation(
                    token,
                    actor=actor,
                    password=form.cleaned_data["password1"],
                    full_name=form.cleaned_data["full_name"],
                )
                assert contact.user is not None
                login(request, contact.user, backend="django.contrib.auth.backends.ModelBackend")
            else:
                return self.page(token, invitation, status=409)
        except DomainError as error:
            if form is not None and error.code == ErrorCode.INVALID:
                error.add_to_form(form)
                return self.page(token, invitation, form=form, status=400)
            messages.error(request, error.message)
            return HttpResponseRedirect(request.path)
        customer = contact.customer
        messages.success(
            request, f"Welcome! You can now use the portal for {customer.display_name}."
        )
        return HttpResponseRedirect(reverse("portal:customer-home", args=[customer.number]))

    def mode(self, invitation: Invitation) -> str:
        """What the person holding the link can do: join (signed in as the invited address),
        wrong_user (signed in as somebody else), sign_in (the address has a sign-in: use
        it), new (set a password)."""
        user = self.request.user
        if user.is_authenticated:
            if user.is_staff or email_key(user.email) != email_key(invitation.email):
                return "wrong_user"
            return "join"
        if User.objects.filter(email_key=email_key(invitation.email)).exists():
            return "sign_in"
        return "new"

    def page(
        self,
        token: str,
        invitation: Invitation,
        *,
        form: NewSignInForm | None = None,
        status: int = 200,
    ) -> TemplateResponse:
        mode = self.mode(invitation)
        if mode == "new" and form is None:
            form = NewSignInForm(initial={"full_name": invitation.contact.full_name})
        login_url = reverse("account_login") + "?" + urlencode({"next": self.request.path})
        context = {
            "invitation": invitation,
            "customer": None,
            "invited_customer": invitation.customer,
            "mode": mode,
            "form": form,
            "email": invitation.email,
            "masked_email": masked_email(invitation.email),
            "login_url": login_url,
            "logout_next": self.request.path,
        }
        return TemplateResponse(self.request, TEMPLATE, context, status=status)

    def unusable(self, token: str, state: LinkState) -> TemplateResponse:
        context = {
            "customer": None,
            "state": state.value,
            "message": invitations.LINK_MESSAGES[state],
            "can_renew": state in (LinkState.EXPIRED, LinkState.CANCELLED),
            "renew_url": reverse("portal:invitation-renew", args=[token]),
        }
        return TemplateResponse(
            self.request, "portal/invitation_unusable.html", context, status=STATE_STATUS[state]
        )


class InvitationRenewView(View):
    """ "Ask for a new invitation" from an expired or cancelled link. The answer is the same
    whether or not a request went out (no probing)."""

    def post(self, request: HttpRequest, token: str) -> HttpResponse:
        invitations.request_new_invitation(token, actor=request.actor)  # type: ignore[attr-defined]
        context = {"customer": None, "state": "renewal_requested"}
        return TemplateResponse(request, "portal/invitation_unusable.html", context)
