"""API keys in the portal: the customer's owner and admins make and revoke the keys their own
programs use (issue 9, part B 7).

``portal:api-keys`` lists the customer's keys (name, visible prefix, permissions in words,
who made it, when, last use, expiry, revoked). ``portal:api-key-create`` is the "New key"
form; the answer to its POST is the one time the token is shown (``Cache-Control:
no-store``, never in a URL, a redirect or the session), with a copy button and a ``curl``
example. A refreshed answer does not make a second key (a one-time form token).
``portal:api-key-revoke`` confirms (GET) and revokes (POST); another customer's key, or a
staff key, is a 404.

Owner and admin only (``Capability.MANAGE_API_KEYS``): other roles get 403, other people's
customers 404. During Login As the list is readable but ``apikeys.actions`` refuses to make
or revoke a key, and the pages say so.

The forms, the create and revoke handling and most of the templates are shared with the
staff console's key pages (``clientdesk.web.api_keys``, ``templates/web/api_keys/``).
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic.base import ContextMixin

from clientdesk.apikeys import actions as keys
from clientdesk.apikeys.models import ApiKey
from clientdesk.apikeys.scopes import CUSTOMER_SCOPES, SCOPES
from clientdesk.customers.models import Customer
from clientdesk.customers.roles import Capability
from clientdesk.web import api_keys as shared
from clientdesk.web.api_keys import KEYS_SHOWN

from .mixins import CustomerMixin


def scope_choices(allowed: frozenset[str] | set[str]) -> list[tuple[str, str]]:
    """``(scope, words)`` in the catalogue's order."""
    return [(scope, words) for scope, words in SCOPES.items() if scope in allowed]


class KeyForm(shared.KeyForm):
    name_placeholder = "Our ERP"
    name_help = "The program that uses it, so you know which key to revoke later."
    scopes_help = (
        "What programs using this key may do. They never get more than the person "
        "who made the key: if your role changes, so does the key."
    )
    scope_refused = "A key made here cannot hold the permission “%(value)s”. Choose from the list."

    def __init__(
        self, *args: Any, allowed: frozenset[str] | set[str], zone: str, **kwargs: Any
    ) -> None:
        super().__init__(
            *args,
            choices=scope_choices(allowed),
            zone=ZoneInfo(zone),
            zone_label=f"{zone.replace('_', ' ')} time",
            **kwargs,
        )


class PortalKeysMixin(CustomerMixin, ContextMixin):
    capability = Capability.MANAGE_API_KEYS

    @property
    def impersonated(self) -> bool:
        return getattr(self.request, "impersonator", None) is not None

    def list_url(self) -> str:
        return reverse("portal:api-keys", args=[self.customer.number])

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(
            base_template="portal/base.html",
            keys_url=self.list_url(),
            docs_url=reverse("api:openapi-view"),
            impersonated=self.impersonated,
            zone_name=self.customer.timezone.replace("_", " "),
        )
        return context

    def render(
        self, template: str, context: dict[str, Any], *, status: int = 200
    ) -> TemplateResponse:
        return TemplateResponse(
            self.request, template, self.get_context_data(**context), status=status
        )


def customer_keys(customer: Customer) -> QuerySet[ApiKey]:
    return (
        ApiKey.objects.filter(customer=customer, kind=ApiKey.Kind.CUSTOMER)
        .select_related("created_by", "revoked_by")
        .order_by("-created_at", "-id")
    )


class ApiKeysView(PortalKeysMixin, View):
    """``portal:api-keys``: the customer's keys, newest first."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        customer = self.customer
        found = list(customer_keys(customer)[: KEYS_SHOWN + 1])
        rows = shared.key_rows(
            found[:KEYS_SHOWN],
            revoke_url=lambda key: reverse("portal:api-key-revoke", args=[customer.number, key.pk]),
            now=timezone.now(),
        )
        context = {"rows": rows, "more": len(found) > KEYS_SHOWN, "keys_shown": KEYS_SHOWN}
        return self.render("portal/api_keys/list.html", context)


class ApiKeyCreateView(PortalKeysMixin, shared.KeyCreateFlow, View):
    """``portal:api-key-create``: the "New key" form; POST makes a key and answers with its
    token, shown this once."""

    form_template = "portal/api_keys/form.html"
    key_made_template = "portal/api_keys/token.html"
    session_tokens = "api_keys.portal_create_tokens"

    def make_form(self, data: Any = None, **kwargs: Any) -> KeyForm:
        return KeyForm(data, allowed=CUSTOMER_SCOPES, zone=self.customer.timezone, **kwargs)

    def make_key(self, form: shared.KeyForm) -> tuple[ApiKey, str]:
        return keys.create_customer_key(
            actor=self.request.actor,  # type: ignore[attr-defined]
            customer=self.customer,
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            expires_at=form.expires_at(),
        )


class ApiKeyRevokeView(PortalKeysMixin, shared.KeyRevokeFlow, View):
    """``portal:api-key-revoke``: "Revoke this key?" (GET), then revoke (POST)."""

    revoke_template = "portal/api_keys/revoke.html"

    def revocable_keys(self) -> QuerySet[ApiKey]:
        return customer_keys(self.customer)
