"""Presents the customer's user to portal pages while a Login As session is open.

The session stores only the ``LoginAsSession`` id; the staff member stays the signed-in
user. On each request:

- no open session for this staff member (ended elsewhere, or not theirs): the key is dropped;
- past ``expires_at``: the session is ended ("expired"), the key dropped, the session key
  cycled, and the staff member sent back to the customer's contacts in the console;
- staff console pages (``/staff/``) and static files: the staff member as themselves (the
  console shows the banner with its End button);
- signing out ends the session first;
- sensitive pages (password, two-factor, sessions, login email, ownership, closing, the data
  admin) are refused with a page that says why;
- everything else: ``request.user`` is the customer's user and ``request.impersonator`` the
  staff member, so every action records "<staff> as <user>"; a portal URL of another customer
  is a 404 and the portal's home goes straight to the session's customer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django_htmx.http import HttpResponseClientRedirect

from clientdesk.core.actor import Actor, Source, client_ip
from clientdesk.customers.access import parse_customer_number
from clientdesk.users.roles import SUPPORT, has_staff_role

from .actions import EndReason, end_login_as
from .models import LoginAsSession

SESSION_KEY = "clientdesk_login_as"
# Paths that are the staff member's own (no swap).
OWN_PREFIXES = ("/staff/", "/static/", "/healthz", "/readyz")
# Paths refused while signed in as a customer: the user's credentials and the data admin.
BLOCKED_PREFIXES = ("/accounts/", "/account/security/", "/admin/")
LOGOUT_PATH = "/accounts/logout/"
# Portal pages refused while signed in as a customer (DESIGN §3: sensitive actions).
BLOCKED_VIEWS = frozenset(
    {
        "portal:login-email-change",
        "portal:login-email-confirm",
        "portal:login-email-not-me",
        "portal:primary-email-request",
        "portal:ownership-transfer",
        "portal:close-account",
        # A staff member acting as a customer must not mint or revoke its credentials.
        "portal:api-key-create",
        "portal:api-key-revoke",
        # Invitation links would link the customer's user to another contact.
        "portal:invitation",
        "portal:invitation-renew",
    }
)

Handler = Callable[[HttpRequest], HttpResponse]


def staff_actor(request: HttpRequest, session: LoginAsSession) -> Actor:
    return Actor(
        user=session.staff,
        source=Source.STAFF,
        ip=client_ip(request),
        request_id=getattr(request, "request_id", ""),
    )


def leave(request: HttpRequest) -> None:
    """Forget the Login As session and give the staff member a fresh session key."""
    request.session.pop(SESSION_KEY, None)
    request.session.cycle_key()


class LoginAsMiddleware:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.impersonator = None  # type: ignore[attr-defined]
        request.login_as = None  # type: ignore[attr-defined]
        session_id = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
        if session_id is None or not request.user.is_authenticated:
            return self.get_response(request)
        login_as = (
            LoginAsSession.objects.select_related("user", "customer", "staff")
            .filter(pk=session_id, staff_id=request.user.pk, ended_at__isnull=True)
            .first()
        )
        if login_as is None:
            request.session.pop(SESSION_KEY, None)
            return self.get_response(request)
        path = request.path_info
        expired = login_as.expires_at <= timezone.now()
        # A staff member who lost the support role meanwhile loses the session at once.
        revoked = (
            not expired
            and not path.startswith(OWN_PREFIXES)
            and not has_staff_role(login_as.staff, SUPPORT)
        )
        if expired or revoked:
            why = EndReason.EXPIRED if expired else EndReason.ENDED
            end_login_as(login_as, why=why, actor=staff_actor(request, login_as))
            leave(request)
            messages.info(
                request,
                f"Your Login As session for {login_as.customer.client_id} "
                + (
                    "reached its time limit and has ended."
                    if expired
                    else "has ended: your staff role no longer allows Login As."
                ),
            )
            # The staff member's own pages, and signing out, carry on as themselves.
            if path.startswith(OWN_PREFIXES) or path == LOGOUT_PATH:
                return self.get_response(request)
            console = reverse("staff:contacts", args=[login_as.customer.number])
            if getattr(request, "htmx", False):
                # An htmx request would swap the console's page into a portal fragment.
                return HttpResponseClientRedirect(console)
            return HttpResponseRedirect(console)
        request.login_as = login_as  # type: ignore[attr-defined]
        if path == LOGOUT_PATH and request.method == "POST":
            end_login_as(login_as, why=EndReason.SIGNED_OUT, actor=staff_actor(request, login_as))
            request.login_as = None  # type: ignore[attr-defined]
            return self.get_response(request)
        if path.startswith(OWN_PREFIXES):
            return self.get_response(request)
        if path.startswith(BLOCKED_PREFIXES):
            return blocked(request, login_as)
        request.user = login_as.user
        request.impersonator = login_as.staff  # type: ignore[attr-defined]
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Any, args: Any, kwargs: dict[str, Any]
    ) -> HttpResponse | None:
        login_as: LoginAsSession | None = getattr(request, "login_as", None)
        if login_as is None or getattr(request, "impersonator", None) is None:
            return None
        match = request.resolver_match
        name = match.view_name if match is not None else ""
        if name in BLOCKED_VIEWS:
            return blocked(request, login_as)
        if name == "portal:home":
            return HttpResponseRedirect(
                reverse("portal:customer-home", args=[login_as.customer.number])
            )
        number = kwargs.get("number")
        if number is not None and parse_customer_number(str(number)[:40]) != (
            login_as.customer.number
        ):
            raise Http404("No such customer.")
        return None


def blocked(request: HttpRequest, login_as: LoginAsSession) -> HttpResponse:
    return render(request, "remote_support/blocked.html", {"login_as": login_as}, status=403)
