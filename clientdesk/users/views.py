"""Account security pages: sessions, and the allauth pages that Clientdesk closes."""

from __future__ import annotations

from typing import Any

from allauth.mfa.utils import is_mfa_enabled
from allauth.usersessions.models import UserSession
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from clientdesk.core.errors import DomainError

from . import actions
from .devices import describe_user_agent


def signup_closed(request: HttpRequest) -> HttpResponse:
    return render(request, "account/signup_closed.html", status=404)


def email_managed_elsewhere(request: HttpRequest) -> HttpResponse:
    """The login email is changed through the recorded email-change procedure."""
    if not request.user.is_authenticated:
        return HttpResponseRedirect(f"{reverse('account_login')}?next={request.path}")
    return HttpResponseRedirect(reverse("security"))


class SecurityView(LoginRequiredMixin, TemplateView):
    """Password, two-factor authentication and the user's signed-in sessions."""

    template_name = "users/security.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = self.request.user
        current_key = self.request.session.session_key
        sessions = UserSession.objects.purge_and_list(user)
        context["sessions"] = [
            {
                "id": s.pk,
                "device": describe_user_agent(s.user_agent),
                "user_agent": s.user_agent,
                "ip": s.ip,
                "created_at": s.created_at,
                "last_seen_at": s.last_seen_at,
                "is_current": s.session_key == current_key,
            }
            for s in sorted(sessions, key=lambda s: s.last_seen_at, reverse=True)
        ]
        context["mfa_enabled"] = is_mfa_enabled(user)
        return context


class EndSessionView(LoginRequiredMixin, View):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, session_id: int) -> HttpResponse:
        try:
            actions.end_session(
                request.user,
                session_id=session_id,
                current_session_key=request.session.session_key or "",
                actor=request.actor,  # type: ignore[attr-defined]
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "The session was ended. That device is signed out.")
        return HttpResponseRedirect(reverse("security"))


class EndOtherSessionsView(LoginRequiredMixin, View):
    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        ended = actions.end_other_sessions(
            request.user,
            current_session_key=request.session.session_key or "",
            actor=request.actor,  # type: ignore[attr-defined]
        )
        if ended:
            messages.success(request, f"Signed out {ended} other session(s).")
        else:
            messages.info(request, "There were no other sessions to sign out.")
        return HttpResponseRedirect(reverse("security"))
