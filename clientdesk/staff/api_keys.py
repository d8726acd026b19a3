"""API keys in the staff console (issue 9, part B 7): every staff member makes and revokes
keys for their own programs; managers also see and revoke every other staff key.

``staff:api-keys`` lists the viewer's keys and, for managers, the other staff members' keys.
``staff:api-key-create`` is the "New key" form (name, permissions from every scope,
optionally only some customers by client ID, optional expiry); the answer to its POST is the
one time the token is shown (``Cache-Control: no-store``, never in a URL, a redirect or the
session). A refreshed answer does not make a second key (a one-time form token).
``staff:api-key-revoke`` confirms (GET) and revokes (POST): your own key, or any staff key
for a manager (``apikeys.actions.may_revoke``); any other id is a 404. Customer keys are
the customers' own and are not handled here.

A staff key acts as its maker with their groups at each request: a scope never widens what
the maker may do, so a support member's key with ``ledger:write`` still cannot post money.

The forms, the create and revoke handling and most of the templates are shared with the
portal's key pages (``clientdesk.web.api_keys``, ``templates/web/api_keys/``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views import View

from clientdesk.apikeys import actions as keys
from clientdesk.apikeys.models import ApiKey
from clientdesk.apikeys.scopes import CUSTOMER_SCOPES, SCOPES
from clientdesk.customers.models import Customer
from clientdesk.users.roles import MANAGER
from clientdesk.web import api_keys as shared
from clientdesk.web.api_keys import KEYS_SHOWN

from .client_ids import CLIENT_IDS_MAX, customers_from_client_ids
from .mixins import StaffRequiredMixin

CUSTOMERS_INPUT_MAX = 20_000  # characters of client IDs
STAFF_ONLY = frozenset(SCOPES) - CUSTOMER_SCOPES


def client_ids(key: ApiKey) -> list[str]:
    return sorted(c.client_id for c in key.customers.all())


class KeyForm(shared.KeyForm):
    """The shared form, with every scope and "Only these customers"; expiry in UTC."""

    name_placeholder = "Billing sync"
    name_help = "The program or script that uses it, so you know which key to revoke later."
    scopes_help = (
        "What programs using this key may do — never more than you may do "
        "yourself: the key acts with your staff groups at each request."
    )
    field_order = ["name", "scopes", "customers", "expires_on", "form_token"]

    customers = forms.CharField(
        label="Only these customers",
        required=False,
        max_length=CUSTOMERS_INPUT_MAX,
        error_messages={"max_length": "That is too many client IDs for one key."},
        widget=forms.Textarea(
            attrs={"rows": 2, "class": "input input-mono", "placeholder": "C-100042, C-100057"}
        ),
        help_text="Optional. Client IDs such as C-100042, separated by commas or spaces. "
        "Leave empty for a key that may reach every customer.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(
            *args,
            choices=list(SCOPES.items()),
            zone=UTC,
            zone_label="UTC",
            staff_only=STAFF_ONLY,
            **kwargs,
        )

    def clean_customers(self) -> list[Customer]:
        return customers_from_client_ids(
            str(self.cleaned_data.get("customers") or ""),
            too_many=f"Limit a key to at most {CLIENT_IDS_MAX} customers, or leave the field "
            "empty for every customer.",
        )


def staff_keys() -> QuerySet[ApiKey]:
    return (
        ApiKey.objects.filter(kind=ApiKey.Kind.STAFF)
        .select_related("created_by", "revoked_by")
        .prefetch_related("customers")
        .order_by("-created_at", "-id")
    )


def key_rows(found: list[ApiKey], now: datetime) -> list[dict[str, Any]]:
    rows = shared.key_rows(
        found, revoke_url=lambda key: reverse("staff:api-key-revoke", args=[key.pk]), now=now
    )
    for row in rows:
        row["client_ids"] = client_ids(row["key"])
    return rows


class StaffKeysMixin(StaffRequiredMixin):
    request: HttpRequest

    @property
    def is_manager(self) -> bool:
        return MANAGER in self.staff_roles

    def list_url(self) -> str:
        return reverse("staff:api-keys")

    def render(
        self, template: str, context: dict[str, Any], *, status: int = 200
    ) -> TemplateResponse:
        context.setdefault("base_template", "staff/base.html")
        context.setdefault("staff_roles", sorted(self.staff_roles))
        context.setdefault("is_manager", self.is_manager)
        context.setdefault("keys_url", self.list_url())
        context.setdefault("docs_url", reverse("api:openapi-view"))
        return TemplateResponse(self.request, template, context, status=status)


class ApiKeysView(StaffKeysMixin, View):
    """``staff:api-keys``: my keys and, for managers, every other staff key."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        now = timezone.now()
        mine = list(staff_keys().filter(created_by_id=user.pk)[: KEYS_SHOWN + 1])
        others: list[ApiKey] = []
        if self.is_manager:
            others = list(staff_keys().exclude(created_by_id=user.pk)[: KEYS_SHOWN + 1])
        context = {
            "rows": key_rows(mine[:KEYS_SHOWN], now),
            "more": len(mine) > KEYS_SHOWN,
            "other_rows": key_rows(others[:KEYS_SHOWN], now),
            "more_others": len(others) > KEYS_SHOWN,
            "keys_shown": KEYS_SHOWN,
        }
        return self.render("staff/api_keys/list.html", context)


class ApiKeyCreateView(StaffKeysMixin, shared.KeyCreateFlow, View):
    """``staff:api-key-create``: the "New key" form; POST makes a key and answers with its
    token, shown this once."""

    form_template = "staff/api_keys/form.html"
    key_made_template = "staff/api_keys/token.html"
    session_tokens = "api_keys.staff_create_tokens"

    def make_form(self, data: Any = None, **kwargs: Any) -> KeyForm:
        return KeyForm(data, **kwargs)

    def make_key(self, form: shared.KeyForm) -> tuple[ApiKey, str]:
        return keys.create_staff_key(
            actor=self.request.actor,  # type: ignore[attr-defined]
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            customers=form.cleaned_data["customers"],
            expires_at=form.expires_at(),
        )

    def token_context(self, key: ApiKey, form: shared.KeyForm) -> dict[str, Any]:
        return {"client_ids": [c.client_id for c in form.cleaned_data["customers"]]}


class ApiKeyRevokeView(StaffKeysMixin, shared.KeyRevokeFlow, View):
    """``staff:api-key-revoke``: "Revoke this key?" (GET), then revoke (POST): your own key,
    or any staff key for a manager."""

    revoke_template = "staff/api_keys/revoke.html"

    def revocable_keys(self) -> QuerySet[ApiKey]:
        return staff_keys()

    def may_revoke(self, key: ApiKey) -> bool:
        return keys.may_revoke(self.request.user, key)

    def revoke_context(self, key: ApiKey) -> dict[str, Any]:
        return {"client_ids": client_ids(key), "own": key.created_by_id == self.request.user.pk}
