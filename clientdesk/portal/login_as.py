"""End Login As (``portal:login-as-end``): the banner's End session button.

POST only (CSRF). The session ends as the staff member themselves (not "as" the customer's
user), their own session continues under a new key, and they go back to the customer's
contacts in the staff console. Without an open session (already ended, expired, or never
started) it is simply the portal's home.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views import View

from clientdesk.remote_support.actions import EndReason, end_login_as
from clientdesk.remote_support.middleware import leave, staff_actor
from clientdesk.remote_support.models import LoginAsSession


class LoginAsEndView(View):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        login_as: LoginAsSession | None = getattr(request, "login_as", None)
        if login_as is None:
            return HttpResponseRedirect(reverse("portal:home"))
        end_login_as(login_as, why=EndReason.ENDED, actor=staff_actor(request, login_as))
        leave(request)
        messages.success(
            request,
            f"The Login As session for {login_as.contact_name} "
            f"({login_as.customer.client_id}) has ended. You are signed in as yourself again.",
        )
        return HttpResponseRedirect(reverse("staff:contacts", args=[login_as.customer.number]))
