"""How allauth fits Clientdesk: no public sign-up, links from SITE_URL, mail via the log."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from clientdesk.notifications.actions import queue_email


def site_url(path: str) -> str:
    """An absolute link for emails. Built from SITE_URL, never from the request's Host
    header, so a forged Host cannot plant a link to another site in a reset mail."""
    return settings.SITE_URL + path


class _Site:
    """Stand-in for ``current_site`` in allauth's mail templates, fixed by settings."""

    def __init__(self) -> None:
        self.name = settings.SITE_NAME
        self.domain = settings.SITE_URL.split("://", 1)[-1]


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Customers are created by staff or invited; nobody signs themselves up.
        return False

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        if request.user.is_authenticated and request.user.is_staff:
            return reverse("staff:home")
        return reverse("portal:home")

    def get_reset_password_from_key_url(self, key: str) -> str:
        path = reverse("account_reset_password_from_key", kwargs={"uidb36": "UID", "key": "KEY"})
        return site_url(path.replace("UID-KEY", quote(key)))

    def get_email_confirmation_url(self, request: HttpRequest, emailconfirmation: Any) -> str:
        return site_url(reverse("account_confirm_email", args=[emailconfirmation.key]))

    def send_account_already_exists_mail(self, email: str) -> None:
        # Sign-up is closed, but should this mail ever go out, its links come from SITE_URL.
        context = {"password_reset_url": site_url(reverse("account_reset_password"))}
        self.send_mail("account/email/account_already_exists", email, context)

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        # Defaults first: allauth's own context (the reset link with its key) wins.
        context = {
            "password_reset_url": site_url(reverse("account_reset_password")),
            "security_url": site_url(reverse("security")),
            **context,
            "email": email,
            "current_site": _Site(),
        }
        context.pop("request", None)
        queue_email(to=email, template=template_prefix, context=context)
