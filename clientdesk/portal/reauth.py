"""A fresh re-authentication before sensitive portal pages (login email, ownership, closing).

allauth's ``reauthentication_required`` asks for the password *or* an authenticator code;
these pages ask for both when the user has two-factor authentication ("password, plus MFA if
enrolled").
"""

from __future__ import annotations

import time
from typing import Any

from allauth.account import app_settings as account_settings
from allauth.account.decorators import reauthentication_required
from allauth.account.internal.flows.login import get_authentication_records
from allauth.account.internal.flows.reauthentication import suspend_request
from allauth.mfa.utils import is_mfa_enabled
from django.http import HttpRequest, HttpResponseBase
from django.urls import reverse

from clientdesk.users.models import User


class ReauthenticatedMixin:
    """Put after the mixin that checks who may see the page: re-authentication comes last."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        parent = super().dispatch  # type: ignore[misc]

        @reauthentication_required
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            missing = missing_second_factor(request)
            if missing:
                return suspend_request(request, missing)
            return parent(request, *args, **kwargs)

        return guarded(request, *args, **kwargs)


def missing_second_factor(request: HttpRequest) -> str:
    """The re-authentication page still to visit ("" when none): after a password, an
    authenticator code when the user has one; after a code, the password."""
    user = request.user
    if not isinstance(user, User):
        return reverse("account_login")
    now = time.time()
    recent = {
        record.get("method")
        for record in get_authentication_records(request, user)
        if record.get("reauthenticated")
        and now - float(record.get("at", 0)) < account_settings.REAUTHENTICATION_TIMEOUT
    }
    if user.has_usable_password() and "password" not in recent:
        return reverse("account_reauthenticate")
    if is_mfa_enabled(user) and "mfa" not in recent:
        return reverse("mfa_reauthenticate")
    return ""
